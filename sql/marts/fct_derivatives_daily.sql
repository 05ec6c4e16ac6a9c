-- One row per (date, asset): leverage and positioning across the perp venues.
-- Open interest is each venue's last observation of the day, summed (valued at the venue's perp
-- close where a venue reports tokens only); funding is annualised per venue
-- (rate * 24 / interval_hours * 365, averaged over the day's settlements) and weighted by the
-- venues' open interest; liquidations are those the venues publish (OKX only: see docs).
with venue_oi as (
    select
        date,
        venue,
        asset,
        arg_max(open_interest_base, ts) as oi_base,
        arg_max(open_interest_usd, ts) as oi_usd_reported,
        max(ts) as last_ts
    from staging.stg_open_interest
    group by date, venue, asset
),

venue_oi_usd as (
    select
        v.date,
        v.venue,
        v.asset,
        coalesce(v.oi_usd_reported, v.oi_base * p.close) as oi_usd
    from venue_oi as v
    left join intermediate.int_perp_hourly as p
        on p.venue = v.venue and p.asset = v.asset and p.bar_end = date_trunc('hour', v.last_ts)
),

venue_funding as (
    select date, venue, asset, funding_annualized from intermediate.int_venue_funding_daily
),

venues as (
    select
        o.date,
        o.asset,
        sum(o.oi_usd) as open_interest_usd,
        sum(f.funding_annualized * o.oi_usd) / nullif(
            sum(case when f.funding_annualized is not null then o.oi_usd end), 0
        ) as funding_rate_annualized,
        count(distinct o.venue) as n_venues
    from venue_oi_usd as o
    left join venue_funding as f on f.date = o.date and f.venue = o.venue and f.asset = o.asset
    group by o.date, o.asset
),

ratios as (
    select date, asset, avg(long_short_ratio) as long_short_ratio
    from staging.stg_long_short_ratio
    where kind = 'global_accounts'
    group by date, asset
),

taker as (
    select date, asset, sum(buy_volume_usd) / nullif(sum(sell_volume_usd), 0) as taker_buy_sell_ratio
    from staging.stg_taker_volume
    group by date, asset
),

spot_hourly as (
    select asset, date_trunc('hour', ts) as at, arg_min(price_usd, ts) as spot_price
    from staging.stg_spot_prices
    group by asset, date_trunc('hour', ts)
),

basis as (
    select p.date, p.asset, avg((p.close / s.spot_price - 1) * 1e4) as basis_bps
    from intermediate.int_perp_hourly as p
    join spot_hourly as s on s.asset = p.asset and s.at = p.bar_end
    group by p.date, p.asset
),

liquidations as (
    select
        date,
        asset,
        sum(notional_usd) filter (where side = 'long') as liquidations_long_usd,
        sum(notional_usd) filter (where side = 'short') as liquidations_short_usd
    from staging.stg_liquidations
    group by date, asset
)

select
    v.date,
    v.asset,
    v.open_interest_usd,
    v.open_interest_usd / d1.open_interest_usd - 1 as oi_change_1d,
    v.open_interest_usd / d7.open_interest_usd - 1 as oi_change_7d,
    v.funding_rate_annualized,
    r.long_short_ratio,
    t.taker_buy_sell_ratio,
    b.basis_bps,
    coalesce(l.liquidations_long_usd, 0) as liquidations_long_usd,
    coalesce(l.liquidations_short_usd, 0) as liquidations_short_usd,
    v.n_venues
from venues as v
left join venues as d1 on d1.asset = v.asset and d1.date = v.date - 1
left join venues as d7 on d7.asset = v.asset and d7.date = v.date - 7
left join ratios as r on r.date = v.date and r.asset = v.asset
left join taker as t on t.date = v.date and t.asset = v.asset
left join basis as b on b.date = v.date and b.asset = v.asset
left join liquidations as l on l.date = v.date and l.asset = v.asset
order by v.date, v.asset
