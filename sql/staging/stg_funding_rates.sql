-- Staged funding-rate settlements per venue.
select
    ts,
    venue,
    asset,
    funding_rate,
    interval_hours,
    mark_price,
    cast(ts as date) as date
from read_parquet(getvariable('staged_funding_rates'))
