-- Hourly perp bars per venue with both ends of the bar: `bar_end` is when the close was seen,
-- which is also the instant the venues' hourly open-interest and ratio snapshots describe.
select
    venue,
    asset,
    date,
    ts as bar_start,
    ts + interval 1 hour as bar_end,
    open,
    high,
    low,
    close,
    volume_usd
from staging.stg_perp_klines
where interval = '1h'
