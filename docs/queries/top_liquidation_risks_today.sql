-- Which assets carry the most liquidation risk on the latest day, and why?
-- est_*_liq_usd_10pct: long notional liquidated if price fell 10% / short notional if it rose 10%.
select
    date,
    asset,
    risk_score,
    risk_tier,
    top_drivers,
    open_interest_usd,
    oi_to_market_cap,
    funding_z_30d,
    est_long_liq_usd_10pct,
    est_short_liq_usd_10pct
from marts.fct_liquidation_risk_daily
where date = (select max(date) from marts.fct_liquidation_risk_daily)
order by risk_score desc, asset
limit 10;
