-- Staged daily equity bars, one row per (date, ticker); trading days only.
select
    date,
    ticker,
    open,
    high,
    low,
    close,
    volume
from read_parquet(getvariable('staged_equity_prices'))
