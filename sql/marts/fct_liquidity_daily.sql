-- One row per (date, asset, venue): the order book right after the day closed (the nightly
-- snapshot): spread and USD depth within 1% of mid on each side.
select
    date,
    asset,
    venue,
    arg_max(spread_bps, ts) as spread_bps,
    arg_max(bid_depth_usd_1pct, ts) as bid_depth_usd_1pct,
    arg_max(ask_depth_usd_1pct, ts) as ask_depth_usd_1pct
from staging.stg_order_book
group by date, asset, venue
order by date, asset, venue
