-- Staged open interest per venue, hourly.
select
    ts,
    venue,
    asset,
    open_interest_base,
    open_interest_usd,
    cast(ts as date) as date
from read_parquet(getvariable('lake_root') || '/staged/open_interest/date=*/part-0.parquet')
