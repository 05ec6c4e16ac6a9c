-- One row per (asset, hourly bar) across venues: price path, new open interest, long share.
-- New open interest is the hour's net increase per venue (venue by venue, so a venue missing an
-- hour loses that hour only), summed over venues; the long share of it is the venues' top-trader
-- position share (global account share where a venue has no position ratio), weighted by OI.
with bars as (
    select
        asset,
        date,
        bar_start,
        bar_end,
        median(close) as close,
        min(low) as low,
        max(high) as high
    from intermediate.int_perp_hourly
    group by asset, date, bar_start, bar_end
),

venue_oi as (
    select
        venue,
        asset,
        date_trunc('hour', ts) as at,
        open_interest_base,
        open_interest_base - lag(open_interest_base) over w as delta_base,
        date_trunc('hour', ts) - lag(date_trunc('hour', ts)) over w as gap
    from staging.stg_open_interest
    window w as (partition by venue, asset order by ts)
),

ratios as (
    select
        venue,
        asset,
        date_trunc('hour', ts) as at,
        coalesce(
            max(long_share) filter (where kind = 'top_positions'),
            max(long_share) filter (where kind = 'global_accounts'),
            max(long_share)
        ) as long_share
    from staging.stg_long_short_ratio
    group by venue, asset, date_trunc('hour', ts)
),

oi_hourly as (
    select
        o.asset,
        o.at,
        sum(o.open_interest_base) as oi_base,
        sum(case when o.gap = interval 1 hour then o.delta_base end) as oi_delta_base,
        sum(o.open_interest_base * r.long_share) / nullif(
            sum(case when r.long_share is not null then o.open_interest_base end), 0
        ) as long_share
    from venue_oi as o
    left join ratios as r on r.venue = o.venue and r.asset = o.asset and r.at = o.at
    group by o.asset, o.at
)

select
    b.asset,
    b.date,
    b.bar_start,
    b.bar_end,
    b.close,
    b.low,
    b.high,
    -- the lowest low / highest high from the next bar to the end of the day
    min(b.low) over rest as rest_low,
    max(b.high) over rest as rest_high,
    o.oi_base,
    o.oi_delta_base,
    coalesce(o.long_share, 0.5) as long_share
from bars as b
left join oi_hourly as o on o.asset = b.asset and o.at = b.bar_end
window rest as (
    partition by b.asset, b.date order by b.bar_start
    rows between 1 following and unbounded following
)
