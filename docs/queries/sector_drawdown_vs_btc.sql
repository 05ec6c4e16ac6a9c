-- How far below its 30-day high is the AI sector, next to BTC, over the last 30 days?
-- (drawdown -0.25 = 25% below the high; negative sector_minus_btc = the sector fell further)
with latest as (
    select max(date) as last_day from marts.fct_sector_daily
)

select
    s.date,
    s.drawdown_from_30d_high as sector_drawdown,
    btc.drawdown_from_30d_high as btc_drawdown,
    s.drawdown_from_30d_high - btc.drawdown_from_30d_high as sector_minus_btc,
    s.return_1d as sector_return_1d,
    btc.return_1d as btc_return_1d
from marts.fct_sector_daily as s
inner join marts.fct_asset_daily as btc on btc.date = s.date and btc.asset = 'BTC'
cross join latest
where s.sector = 'ai'
    and s.date > latest.last_day - interval 30 days
    and s.drawdown_from_30d_high is not null
order by s.date;
