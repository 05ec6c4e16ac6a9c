-- One row per (date, asset) for every tracked asset: exchange flows and reserves in USD (valued
-- at the day's close). Only assets with free Coin Metrics coverage (BTC, ETH) have numbers;
-- the others are NULL with the reason in coverage_note, never estimated.
with flows as (
    select date, asset, inflow_native, outflow_native, reserve_native
    from staging.stg_exchange_flows
),

valued as (
    select
        a.date,
        a.asset,
        f.inflow_native * a.close_usd as inflow_usd,
        f.outflow_native * a.close_usd as outflow_usd,
        (f.inflow_native - f.outflow_native) * a.close_usd as netflow_usd,
        f.reserve_native * a.close_usd as reserve_usd,
        f.asset is not null as covered
    from marts.fct_asset_daily as a
    left join flows as f on f.date = a.date and f.asset = a.asset
)

select
    date,
    asset,
    inflow_usd,
    outflow_usd,
    netflow_usd,
    case
        when count(netflow_usd) over w7 = 7 then sum(netflow_usd) over w7
    end as netflow_7d_usd,
    reserve_usd,
    case
        when not covered then 'no free exchange-flow coverage for this asset (Coin Metrics community API covers BTC and ETH)'
    end as coverage_note
from valued
window w7 as (partition by asset order by date range between interval 6 days preceding and current row)
order by date, asset
