-- The watch-list measures of every tracked asset and day, before changes and flags: price
-- stability, liquidation risk, options activity, on-chain and developer activity, exchange
-- reserves and spreads. Grain: one row per (date, asset) of marts.fct_asset_daily; a measure
-- the asset has no source for is NULL (its note says why).
with spine as (
    select date, asset, sector, close_usd, return_7d, drawdown_from_30d_high
    from marts.fct_asset_daily
),

highs as (
    select
        date,
        asset,
        max(close_usd) over w7 as high_7d,
        count(*) over w7 as n_days_7d
    from spine
    window w7 as (partition by asset order by date range between interval 6 days preceding and current row)
),

options as (
    select
        date,
        asset,
        volume_usd as options_volume_usd,
        put_volume_usd / nullif(volume_usd, 0) as put_volume_share,
        put_open_interest_usd / nullif(call_open_interest_usd, 0) as put_call_oi_ratio,
        open_interest_usd as options_open_interest_usd
    from staging.stg_options_activity
),

dvol as (
    select date, asset, arg_max(close, ts) as dvol
    from staging.stg_options_volatility
    group by date, asset
),

repos as (
    select distinct asset from staging.stg_developer_activity
),

commit_days as (
    select s.date, s.asset, count(c.sha) filter (where not c.is_merge) as commits
    from spine as s
    join repos as r on r.asset = s.asset
    left join staging.stg_developer_activity as c on c.asset = s.asset and c.date = s.date
    group by s.date, s.asset
),

dev as (
    select
        date,
        asset,
        case when count(*) over w7 = 7 then sum(commits) over w7 end as dev_commits_7d
    from commit_days
    window w7 as (partition by asset order by date range between interval 6 days preceding and current row)
),

contributors as (
    -- distinct authors over the 30 days up to each day (NULL until 30 days are staged)
    select
        s.date,
        s.asset,
        count(distinct c.author) as dev_contributors_30d,
        (select count(*) from commit_days as k
         where k.asset = s.asset and k.date between s.date - 29 and s.date) as n_days
    from commit_days as s
    left join staging.stg_developer_activity as c
        on c.asset = s.asset and c.date between s.date - 29 and s.date and not c.is_merge
    group by s.date, s.asset
),

risk as (
    select date, asset, risk_score, risk_tier
    from marts.fct_liquidation_risk_daily
),

flows as (
    select date, asset, reserve_native
    from staging.stg_exchange_flows
),

spreads as (
    select date, asset, avg(spread_bps) as spread_bps
    from marts.fct_liquidity_daily
    group by date, asset
)

select
    s.date,
    s.asset,
    s.sector,
    s.close_usd,
    s.return_7d,
    case when h.n_days_7d = 7 then s.close_usd / h.high_7d - 1 end as drawdown_7d,
    s.drawdown_from_30d_high as drawdown_30d,
    k.risk_score,
    k.risk_tier,
    o.options_volume_usd,
    o.put_volume_share,
    o.put_call_oi_ratio,
    o.options_open_interest_usd,
    v.dvol,
    n.active_addresses,
    n.tx_count,
    d.dev_commits_7d,
    case when c.n_days = 30 then c.dev_contributors_30d end as dev_contributors_30d,
    f.reserve_native,
    e.spread_bps,
    case
        when s.asset not in (select asset from staging.stg_onchain_activity)
            then 'no free Coin Metrics network data for this asset (community API)'
    end as onchain_note,
    case
        when d.asset is null then 'no protocol repositories configured for this asset'
    end as dev_note
from spine as s
join highs as h on h.date = s.date and h.asset = s.asset
left join risk as k on k.date = s.date and k.asset = s.asset
left join options as o on o.date = s.date and o.asset = s.asset
left join dvol as v on v.date = s.date and v.asset = s.asset
left join staging.stg_onchain_activity as n on n.date = s.date and n.asset = s.asset
left join dev as d on d.date = s.date and d.asset = s.asset
left join contributors as c on c.date = s.date and c.asset = s.asset
left join flows as f on f.date = s.date and f.asset = s.asset
left join spreads as e on e.date = s.date and e.asset = s.asset
order by s.date, s.asset
