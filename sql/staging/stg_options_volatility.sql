-- Staged Deribit volatility index (DVOL) daily candles.
select
    ts,
    venue,
    asset,
    resolution,
    open,
    high,
    low,
    close,
    cast(ts as date) as date
from read_parquet(getvariable('staged_options_volatility'))
