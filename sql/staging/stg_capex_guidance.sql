-- Staged capex guidance reference (reference/capex_guidance.csv) as known on each day.
select
    as_of_date,
    company,
    ticker,
    fiscal_period,
    capex_guidance_usd,
    capex_guidance_low_usd,
    capex_guidance_high_usd,
    announcement_date,
    source_title,
    source_url,
    note
from read_parquet(getvariable('staged_capex_guidance'))
