-- Staged daily on-chain activity (Coin Metrics community API; covered assets only).
select
    date,
    asset,
    source,
    active_addresses,
    tx_count
from read_parquet(getvariable('staged_onchain_activity'))
