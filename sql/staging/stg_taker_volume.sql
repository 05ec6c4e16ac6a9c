-- Staged taker buy and sell volume per venue, hourly.
select
    ts,
    venue,
    asset,
    buy_volume_usd,
    sell_volume_usd,
    cast(ts as date) as date
from read_parquet(getvariable('staged_taker_volume'))
