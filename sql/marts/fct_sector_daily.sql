-- One row per (date, sector): size, returns and co-movement of each sector with BTC and the
-- AI-equity basket. Weights are the members' market caps at the start of each return period.
-- Trailing-30-day statistics need at least 14 daily (10 trading-day) pairs, else NULL.
with members as (
    select a.date, a.asset, a.sector, a.close_usd, a.market_cap_usd, a.volume_usd, a.return_1d
    from marts.fct_asset_daily as a
    where a.sector is not null
),

with_start_caps as (
    select m.*, p1.market_cap_usd as cap_1d_ago, p7.market_cap_usd as cap_7d_ago,
        p7.close_usd as close_7d_ago
    from members as m
    left join members as p1 on p1.asset = m.asset and p1.date = m.date - 1
    left join members as p7 on p7.asset = m.asset and p7.date = m.date - 7
),

sector_day as (
    select
        date,
        sector,
        count(*) as n_assets,
        sum(market_cap_usd) as market_cap_usd,
        sum(volume_usd) as volume_usd,
        sum(cap_1d_ago * return_1d) / sum(case when return_1d is not null then cap_1d_ago end)
            as return_1d,
        avg(return_1d) as return_1d_equal_weight,
        sum(cap_7d_ago * (close_usd / close_7d_ago - 1))
            / sum(case when close_7d_ago is not null then cap_7d_ago end) as return_7d,
        avg(case when return_1d > 0 then 1.0 when return_1d is not null then 0.0 end)
            as breadth_up_share,
        arg_max(asset, return_1d) filter (where return_1d is not null) as best_asset,
        arg_min(asset, return_1d) filter (where return_1d is not null) as worst_asset
    from with_start_caps
    group by date, sector
),

btc as (
    select date, return_1d as btc_return_1d
    from marts.fct_asset_daily
    where asset = 'BTC'
),

-- the sector's cap-weighted return between the same trading days as the equity basket
trading_day_returns as (
    select
        e.date,
        m.sector,
        sum(p.market_cap_usd * (m.close_usd / p.close_usd - 1)) / sum(p.market_cap_usd)
            as sector_return_td,
        e.basket_return_1d
    from intermediate.int_equity_returns as e
    inner join members as m on m.date = e.date
    inner join members as p on p.asset = m.asset and p.date = e.prev_trading_date
    group by e.date, m.sector, e.basket_return_1d
),

equity_corr as (
    select
        date,
        sector,
        basket_return_1d,
        corr(sector_return_td, basket_return_1d) over w30 as corr_raw,
        regr_count(sector_return_td, basket_return_1d) over w30 as n_pairs
    from trading_day_returns
    window w30 as (partition by sector order by date range between interval 29 days preceding and current row)
),

joined as (
    select
        s.*,
        b.btc_return_1d,
        max(s.market_cap_usd) over w30 as cap_high_30d,
        count(*) over w30 as n_days_30d,
        corr(s.return_1d, b.btc_return_1d) over w30 as corr_btc_raw,
        regr_slope(s.return_1d, b.btc_return_1d) over w30 as beta_btc_raw,
        regr_count(s.return_1d, b.btc_return_1d) over w30 as n_btc_pairs
    from sector_day as s
    left join btc as b on b.date = s.date
    window w30 as (partition by s.sector order by s.date range between interval 29 days preceding and current row)
)

select
    j.date,
    j.sector,
    j.n_assets,
    j.market_cap_usd,
    j.volume_usd,
    j.return_1d,
    j.return_1d_equal_weight,
    j.return_7d,
    j.breadth_up_share,
    case when j.n_days_30d >= 14 then j.market_cap_usd / j.cap_high_30d - 1 end
        as drawdown_from_30d_high,
    j.btc_return_1d,
    -- clamped: a perfectly (anti-)correlated window can round to 1.0000000000000002
    case when j.n_btc_pairs >= 14 then greatest(-1.0, least(1.0, j.corr_btc_raw)) end as corr_btc_30d,
    case when j.n_btc_pairs >= 14 then j.beta_btc_raw end as beta_btc_30d,
    e.basket_return_1d as equity_basket_return_1d,
    case when e.n_pairs >= 10 then greatest(-1.0, least(1.0, e.corr_raw)) end as corr_equities_30d,
    j.best_asset,
    j.worst_asset
from joined as j
left join equity_corr as e on e.date = j.date and e.sector = j.sector
order by j.date, j.sector
