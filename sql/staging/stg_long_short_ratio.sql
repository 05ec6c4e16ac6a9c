-- Staged long/short ratios per venue, hourly.
select
    ts,
    venue,
    asset,
    kind,
    long_share,
    short_share,
    long_short_ratio,
    cast(ts as date) as date
from read_parquet(getvariable('staged_long_short_ratio'))
