-- Daily close per asset: the last point of each UTC day (CoinGecko's volume is a rolling 24h
-- figure, so the value at the close is the day's volume).
select
    date,
    asset,
    arg_max(price_usd, ts) as close_usd,
    arg_max(market_cap_usd, ts) as market_cap_usd,
    arg_max(volume_usd, ts) as volume_usd,
    count(*) as n_points
from staging.stg_spot_prices
group by date, asset
