-- Staged daily equity bars, one row per (date, ticker); trading days only.
select
    date,
    ticker,
    open,
    high,
    low,
    close,
    volume
from read_parquet(getvariable('lake_root') || '/staged/equity_prices/date=*/part-0.parquet')
