-- One row per (date, asset): daily close, returns, size and risk of every tracked asset.
-- Trailing-30-day statistics need at least 14 daily observations in the window, else NULL.
with daily as (
    select date, asset, close_usd, market_cap_usd, volume_usd
    from intermediate.int_spot_daily
),

with_history as (
    select
        d.date,
        d.asset,
        d.close_usd,
        d.market_cap_usd,
        d.volume_usd,
        d.close_usd / d1.close_usd - 1 as return_1d,
        d.close_usd / d7.close_usd - 1 as return_7d,
        ln(d.close_usd / d1.close_usd) as log_return_1d
    from daily as d
    left join daily as d1 on d1.asset = d.asset and d1.date = d.date - 1
    left join daily as d7 on d7.asset = d.asset and d7.date = d.date - 7
),

windowed as (
    select
        *,
        stddev_samp(log_return_1d) over w30 * sqrt(365) as volatility_raw,
        count(log_return_1d) over w30 as n_returns_30d,
        max(close_usd) over w30 as high_30d,
        count(*) over w30 as n_days_30d
    from with_history
    window w30 as (partition by asset order by date range between interval 29 days preceding and current row)
)

select
    w.date,
    w.asset,
    m.sector,
    w.close_usd,
    w.return_1d,
    w.return_7d,
    w.market_cap_usd,
    w.volume_usd,
    case when w.n_returns_30d >= 14 then w.volatility_raw end as volatility_30d,
    case when w.n_days_30d >= 14 then w.close_usd / w.high_30d - 1 end as drawdown_from_30d_high
from windowed as w
left join staging.seed_sector_members as m on m.asset = w.asset
order by w.date, w.asset
