-- Staged liquidation orders as published by venues with a public liquidation endpoint (OKX): a subset of all liquidations.
select
    ts,
    venue,
    asset,
    side,
    price,
    qty_base,
    notional_usd,
    cast(ts as date) as date
from read_parquet(getvariable('staged_liquidations'))
