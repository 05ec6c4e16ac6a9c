-- For every asset, day and each later day within the look-back: the lowest low and highest high
-- of the days strictly after `from_date` up to `to_date`. Used to tell which estimated
-- liquidation levels the price has already traded through.
with days as (
    select asset, date, min(low) as day_low, max(high) as day_high, arg_max(close, bar_end) as close
    from intermediate.int_asset_hourly
    group by asset, date
),

params as (select cast(lookback_days as integer) as lookback_days from staging.seed_risk_model)

select
    f.asset,
    f.date as from_date,
    t.date as to_date,
    t.close as to_close,
    min(m.day_low) as low_after,
    max(m.day_high) as high_after
from days as f
cross join params as p
join days as t
    on t.asset = f.asset
    and t.date >= f.date
    and t.date < f.date + p.lookback_days
left join days as m
    on m.asset = f.asset
    and m.date > f.date
    and m.date <= t.date
group by f.asset, f.date, t.date, t.close
