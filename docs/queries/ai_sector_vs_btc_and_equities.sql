-- Day by day, how did the AI sector move against BTC and the AI-equity basket, and how closely
-- does it follow them (trailing 30-day correlation and beta)? Last 30 days.
select
    date,
    market_cap_usd,
    return_1d as sector_return_1d,
    btc_return_1d,
    equity_basket_return_1d,  -- NULL on days without equity trading
    corr_btc_30d,
    beta_btc_30d,
    corr_equities_30d,
    best_asset,
    worst_asset
from marts.fct_sector_daily
where sector = 'ai'
    and date > (select max(date) from marts.fct_sector_daily) - interval 30 days
order by date;
