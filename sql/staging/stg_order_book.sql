-- Staged order-book snapshots, one per venue and asset for each day, taken right after the day closed.
select
    ts,
    venue,
    asset,
    best_bid,
    best_ask,
    spread_bps,
    bid_depth_usd_1pct,
    ask_depth_usd_1pct,
    date
from read_parquet(getvariable('lake_root') || '/staged/order_book/date=*/part-0.parquet', hive_partitioning = true)
