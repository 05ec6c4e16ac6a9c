-- Staged daily exchange flows and reserves (Coin Metrics community API: BTC and ETH only).
select
    date,
    asset,
    source,
    inflow_native,
    outflow_native,
    reserve_native
from read_parquet(getvariable('staged_exchange_flows'))
