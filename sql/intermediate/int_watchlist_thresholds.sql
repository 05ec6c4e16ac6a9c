-- The thresholds of the watch-list flags, one row (docs/methodology.md, "Watch-list").
-- Changes and drawdowns are fractions (-0.15 = down 15%); shares are fractions of volume.
select
    -0.15 as drawdown_7d,
    -0.25 as drawdown_30d,
    0.60 as put_volume_share,
    1.00 as options_volume_chg_7d,
    0.30 as dvol_chg_7d,
    0.01 as reserve_chg_7d,
    0.50 as spread_chg_7d,
    -0.20 as onchain_chg_30d,
    -0.30 as dev_commits_chg,
    0.05 as capex_chg_30d,
    -0.15 as sector_return_7d
