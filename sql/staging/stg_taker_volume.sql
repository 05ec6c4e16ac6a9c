-- Staged taker buy and sell volume per venue, hourly.
select
    ts,
    venue,
    asset,
    buy_volume_usd,
    sell_volume_usd,
    cast(ts as date) as date
from read_parquet(getvariable('lake_root') || '/staged/taker_volume/date=*/part-0.parquet')
