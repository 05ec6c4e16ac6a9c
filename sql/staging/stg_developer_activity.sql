-- Staged commits of the AI protocols' core repositories (GitHub), one row per commit.
select
    ts,
    asset,
    repo,
    sha,
    author,
    is_merge,
    cast(ts as date) as date
from read_parquet(getvariable('staged_developer_activity'))
