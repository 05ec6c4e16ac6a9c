-- Estimated position cohorts: each hour's net open-interest increase of an asset, split into
-- longs and shorts by the long share and over the leverage tiers, with the price at which each
-- would be liquidated: entry * (1 - 1/leverage + mm) for longs, entry * (1 + 1/leverage - mm)
-- for shorts. One row per (asset, bar_end, side, leverage).
with params as (select maintenance_margin as mm from staging.seed_risk_model),

increases as (
    select asset, date, bar_end, close, rest_low, rest_high, oi_delta_base, long_share
    from intermediate.int_asset_hourly
    where oi_delta_base > 0
),

sides as (
    select *, 'long' as side, long_share as side_share from increases
    union all
    select *, 'short' as side, 1 - long_share as side_share from increases
)

select
    s.asset,
    s.date,
    s.bar_end as opened_at,
    s.side,
    t.leverage,
    s.close as entry_price,
    case
        when s.side = 'long' then s.close * (1 - 1 / t.leverage + p.mm)
        else s.close * (1 + 1 / t.leverage - p.mm)
    end as liq_price,
    s.oi_delta_base * s.side_share * t.weight * s.close as notional_usd,
    s.rest_low,
    s.rest_high
from sides as s
cross join staging.seed_leverage_tiers as t
cross join params as p
