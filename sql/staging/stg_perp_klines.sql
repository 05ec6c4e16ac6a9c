-- Staged hourly perpetual-futures bars per venue (Binance, Bybit, OKX).
select
    ts,
    venue,
    asset,
    interval,
    open,
    high,
    low,
    close,
    volume_base,
    volume_usd,
    cast(ts as date) as date
from read_parquet(getvariable('staged_perp_klines'))
