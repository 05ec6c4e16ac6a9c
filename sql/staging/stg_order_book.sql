-- Staged order-book snapshots, one per venue and asset for each day, taken right after the day
-- closed: a snapshot taken during day D+1 describes day D.
select
    ts,
    venue,
    asset,
    best_bid,
    best_ask,
    spread_bps,
    bid_depth_usd_1pct,
    ask_depth_usd_1pct,
    cast(ts - interval 1 day as date) as date
from read_parquet(getvariable('staged_order_book'))
