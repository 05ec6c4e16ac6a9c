-- Estimated liquidation levels at the end of each day (the data behind a liquidation heatmap).
-- Every cohort of int_liquidation_cohorts opened within the look-back is kept while the price
-- has not traded through its liquidation price since it opened (longs: no low at or below it;
-- shorts: no high at or above it), faded by voluntary closing (exp(-age / mean holding time)),
-- then scaled so that all of an asset's surviving levels add up to its open interest that day
-- (net OI increases miss positions opened while others closed; the scaling keeps the shape and
-- restores the size), and bucketed on a 0.5% log grid. Levels within +-30% of the day's close.
with params as (
    select mean_holding_hours, price_bucket, level_range from staging.seed_risk_model
),

alive as (
    select
        w.to_date as date,
        c.asset,
        c.side,
        c.liq_price,
        w.to_close as close,
        c.notional_usd * exp(
            -((epoch(cast(w.to_date as timestamp)) + 86400 - epoch(c.opened_at)) / 3600.0)
            / p.mean_holding_hours
        ) as est_notional_usd
    from intermediate.int_liquidation_cohorts as c
    join intermediate.int_price_windows as w on w.asset = c.asset and w.from_date = c.date
    cross join params as p
    where case
        when c.side = 'long'
            then least(coalesce(c.rest_low, 'inf'::double), coalesce(w.low_after, 'inf'::double))
            > c.liq_price
        else greatest(
            coalesce(c.rest_high, '-inf'::double), coalesce(w.high_after, '-inf'::double)
        ) < c.liq_price
    end
),

scale as (
    select a.date, a.asset, max(d.open_interest_usd) / sum(a.est_notional_usd) as factor
    from alive as a
    join marts.fct_derivatives_daily as d on d.date = a.date and d.asset = a.asset
    group by a.date, a.asset
)

select
    a.date,
    a.asset,
    a.side,
    exp(round(ln(a.liq_price) / ln(1 + p.price_bucket)) * ln(1 + p.price_bucket)) as price_level,
    sum(a.est_notional_usd * s.factor) as est_notional_usd
from alive as a
join scale as s on s.date = a.date and s.asset = a.asset
cross join params as p
where a.liq_price between a.close * (1 - p.level_range) and a.close * (1 + p.level_range)
group by all
order by a.date, a.asset, a.side, price_level
