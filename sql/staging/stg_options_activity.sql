-- Staged Deribit options book summaries (BTC, ETH), one snapshot per asset taken right after
-- the day closed: a snapshot taken during day D+1 describes day D.
select
    ts,
    venue,
    asset,
    n_instruments,
    volume_base,
    volume_usd,
    put_volume_usd,
    call_volume_usd,
    open_interest_base,
    open_interest_usd,
    put_open_interest_usd,
    call_open_interest_usd,
    mark_iv_oi_weighted,
    cast(ts - interval 1 day as date) as date
from read_parquet(getvariable('staged_options_activity'))
