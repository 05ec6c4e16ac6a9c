-- Staged spot prices, one row per (ts, asset, source). Renames nothing: the staged Parquet
-- already has canonical names and types; this view is the one place the lake path is read.
select
    ts,
    asset,
    source,
    price_usd,
    market_cap_usd,
    volume_usd,
    cast(ts as date) as date
from read_parquet(getvariable('staged_spot_prices'))
