-- On the latest day, how much leveraged notional would be liquidated within 10% of each
-- asset's close: longs on a fall (levels up to 10% below), shorts on a rise (up to 10% above)?
with latest as (
    select max(date) as day from marts.fct_liquidation_levels
),

closes as (
    select a.asset, a.close_usd
    from marts.fct_asset_daily as a
    inner join latest on a.date = latest.day
)

select
    l.date,
    l.asset,
    c.close_usd,
    sum(l.est_notional_usd) filter (
        where l.side = 'long' and l.price_level between 0.9 * c.close_usd and c.close_usd
    ) as longs_within_10pct_below_usd,
    sum(l.est_notional_usd) filter (
        where l.side = 'short' and l.price_level between c.close_usd and 1.1 * c.close_usd
    ) as shorts_within_10pct_above_usd
from marts.fct_liquidation_levels as l
inner join latest on l.date = latest.day
inner join closes as c on c.asset = l.asset
group by l.date, l.asset, c.close_usd
order by longs_within_10pct_below_usd desc nulls last, l.asset;
