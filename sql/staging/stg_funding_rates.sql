-- Staged funding-rate settlements per venue.
select
    ts,
    venue,
    asset,
    funding_rate,
    interval_hours,
    mark_price,
    cast(ts as date) as date
from read_parquet(getvariable('lake_root') || '/staged/funding_rates/date=*/part-0.parquet')
