-- Staged open interest per venue, hourly.
select
    ts,
    venue,
    asset,
    open_interest_base,
    open_interest_usd,
    cast(ts as date) as date
from read_parquet(getvariable('staged_open_interest'))
