-- The analysts' watch-list: the four things to watch after a crash, side by side, each with
-- its change over 7 and 30 days and plain-language flags (docs/methodology.md, "Watch-list").
-- Grain: one row per (date, key): every tracked asset (key_kind 'asset') and every sector
-- (key_kind 'sector') on every day of marts.fct_asset_daily. Changes are relative
-- (0.10 = +10%) except risk_score_chg_* (points); NULL where the history or the source is
-- missing (a 30-day change needs 30 staged days before the date).
with t as (
    select * from intermediate.int_watchlist_thresholds
),

a as (
    select * from intermediate.int_watchlist_asset_daily
),

asset_changes as (
    select
        a.*,
        a.risk_score - a7.risk_score as risk_score_chg_7d,
        a.risk_score - a30.risk_score as risk_score_chg_30d,
        a.options_volume_usd / nullif(a7.options_volume_usd, 0) - 1 as options_volume_chg_7d,
        a.options_volume_usd / nullif(a30.options_volume_usd, 0) - 1 as options_volume_chg_30d,
        a.dvol / nullif(a7.dvol, 0) - 1 as dvol_chg_7d,
        a.dvol / nullif(a30.dvol, 0) - 1 as dvol_chg_30d,
        a.active_addresses / nullif(a7.active_addresses, 0) - 1 as active_addresses_chg_7d,
        a.active_addresses / nullif(a30.active_addresses, 0) - 1 as active_addresses_chg_30d,
        a.dev_commits_7d / nullif(a7.dev_commits_7d, 0) - 1 as dev_commits_chg_7d,
        a.dev_commits_7d / nullif(a30.dev_commits_7d, 0) - 1 as dev_commits_chg_30d,
        a.reserve_native / nullif(a7.reserve_native, 0) - 1 as reserve_chg_7d,
        a.reserve_native / nullif(a30.reserve_native, 0) - 1 as reserve_chg_30d,
        a.spread_bps / nullif(a7.spread_bps, 0) - 1 as spread_chg_7d,
        a.spread_bps / nullif(a30.spread_bps, 0) - 1 as spread_chg_30d,
        a.close_usd / nullif(a30.close_usd, 0) - 1 as return_30d
    from a
    left join a as a7 on a7.asset = a.asset and a7.date = a.date - 7
    left join a as a30 on a30.asset = a.asset and a30.date = a.date - 30
),

asset_rows as (
    select
        c.date,
        c.asset as key,
        'asset' as key_kind,
        c.sector,
        -- 1. capex guidance is a sector-level item
        cast(null as double) as capex_guidance_usd,
        cast(null as double) as capex_chg_7d,
        cast(null as double) as capex_chg_30d,
        cast(null as varchar) as capex_note,
        -- 2. price stability, liquidation risk, options
        c.close_usd,
        c.return_7d,
        c.return_30d,
        c.drawdown_7d,
        c.drawdown_30d,
        c.risk_score,
        c.risk_tier,
        c.risk_score_chg_7d,
        c.risk_score_chg_30d,
        c.options_volume_usd,
        c.options_volume_chg_7d,
        c.options_volume_chg_30d,
        c.put_volume_share,
        c.put_call_oi_ratio,
        c.dvol,
        c.dvol_chg_7d,
        c.dvol_chg_30d,
        -- 3. on-chain and developer activity
        c.active_addresses,
        c.active_addresses_chg_7d,
        c.active_addresses_chg_30d,
        c.tx_count,
        c.onchain_note,
        c.dev_commits_7d,
        c.dev_commits_chg_7d,
        c.dev_commits_chg_30d,
        c.dev_contributors_30d,
        c.dev_note,
        -- 4. liquidity and exchange flows
        c.reserve_chg_7d,
        c.reserve_chg_30d,
        c.spread_bps,
        c.spread_chg_7d,
        c.spread_chg_30d,
        list_filter(
            [
                case when c.drawdown_7d <= t.drawdown_7d
                    then format('{} 7d drawdown > {}%', c.asset, cast(-t.drawdown_7d * 100 as int)) end,
                case when c.drawdown_30d <= t.drawdown_30d
                    then format('{} 30d drawdown > {}%', c.asset, cast(-t.drawdown_30d * 100 as int)) end,
                case when c.risk_tier in ('high', 'extreme')
                    then format('liquidation risk {}', c.risk_tier) end,
                case when c.put_volume_share > t.put_volume_share
                    then format('options: puts > {}% of volume', cast(t.put_volume_share * 100 as int)) end,
                case when c.options_volume_chg_7d > t.options_volume_chg_7d
                    then format('options volume up > {}% over 7d', cast(t.options_volume_chg_7d * 100 as int)) end,
                case when c.dvol_chg_7d > t.dvol_chg_7d
                    then format('implied volatility (DVOL) up > {}% over 7d', cast(t.dvol_chg_7d * 100 as int)) end,
                case when c.reserve_chg_7d > t.reserve_chg_7d then 'exchange reserves rising' end,
                case when c.spread_chg_7d > t.spread_chg_7d
                    then format('spreads widened > {}% over 7d', cast(t.spread_chg_7d * 100 as int)) end,
                case when c.active_addresses_chg_30d <= t.onchain_chg_30d
                    then format('active addresses down {}% over 30d', cast(-t.onchain_chg_30d * 100 as int)) end,
                case when c.dev_commits_chg_30d <= t.dev_commits_chg
                    then format('developer activity down {}% over 30d', cast(-t.dev_commits_chg * 100 as int)) end,
                case when c.dev_commits_chg_7d <= t.dev_commits_chg
                    then format('developer activity down {}% over 7d', cast(-t.dev_commits_chg * 100 as int)) end
            ],
            lambda f: f is not null
        ) as flag_list
    from asset_changes as c
    cross join t
),

capex_known as (
    -- per company, the newest fiscal period with a dollar figure known on the date, and the
    -- same 7 and 30 days earlier (from the same as-of partition: announcements are dated)
    select
        g.as_of_date as date,
        g.company,
        lag_days,
        arg_max(g.capex_guidance_usd, g.fiscal_period) as guidance_usd,
        arg_max(g.fiscal_period, g.fiscal_period) as fiscal_period
    from staging.stg_capex_guidance as g
    cross join (values (0), (7), (30)) as lags(lag_days)
    where g.capex_guidance_usd is not null
        and g.announcement_date <= g.as_of_date - lag_days
    group by g.as_of_date, g.company, lag_days
),

capex as (
    select
        date,
        sum(guidance_usd) filter (where lag_days = 0) as capex_guidance_usd,
        sum(guidance_usd) filter (where lag_days = 0)
            / nullif(sum(guidance_usd) filter (where lag_days = 7), 0) - 1 as capex_chg_7d,
        sum(guidance_usd) filter (where lag_days = 0)
            / nullif(sum(guidance_usd) filter (where lag_days = 30), 0) - 1 as capex_chg_30d,
        string_agg(
            format('{} {} ${}B', company, fiscal_period, cast(round(guidance_usd / 1e9) as bigint)),
            '; ' order by company
        ) filter (where lag_days = 0) as capex_note
    from capex_known
    group by date
),

sector_assets as (
    select
        date,
        sector,
        sum(dev_commits_7d) as dev_commits_7d
    from asset_changes
    where sector is not null
    group by date, sector
),

sectors as (
    select
        s.date,
        s.sector,
        s.return_7d,
        s.drawdown_from_30d_high,
        d.dev_commits_7d,
        d.dev_commits_7d / nullif(d7.dev_commits_7d, 0) - 1 as dev_commits_chg_7d,
        d.dev_commits_7d / nullif(d30.dev_commits_7d, 0) - 1 as dev_commits_chg_30d,
        s.market_cap_usd / nullif(s30.market_cap_usd, 0) - 1 as cap_chg_30d
    from marts.fct_sector_daily as s
    left join sector_assets as d on d.date = s.date and d.sector = s.sector
    left join sector_assets as d7 on d7.sector = s.sector and d7.date = s.date - 7
    left join sector_assets as d30 on d30.sector = s.sector and d30.date = s.date - 30
    left join marts.fct_sector_daily as s30 on s30.sector = s.sector and s30.date = s.date - 30
),

sector_rows as (
    select
        s.date,
        s.sector as key,
        'sector' as key_kind,
        s.sector,
        x.capex_guidance_usd,
        x.capex_chg_7d,
        x.capex_chg_30d,
        x.capex_note,
        cast(null as double) as close_usd,
        s.return_7d,
        s.cap_chg_30d as return_30d,
        cast(null as double) as drawdown_7d,
        s.drawdown_from_30d_high as drawdown_30d,
        cast(null as double) as risk_score,
        cast(null as varchar) as risk_tier,
        cast(null as double) as risk_score_chg_7d,
        cast(null as double) as risk_score_chg_30d,
        cast(null as double) as options_volume_usd,
        cast(null as double) as options_volume_chg_7d,
        cast(null as double) as options_volume_chg_30d,
        cast(null as double) as put_volume_share,
        cast(null as double) as put_call_oi_ratio,
        cast(null as double) as dvol,
        cast(null as double) as dvol_chg_7d,
        cast(null as double) as dvol_chg_30d,
        cast(null as double) as active_addresses,
        cast(null as double) as active_addresses_chg_7d,
        cast(null as double) as active_addresses_chg_30d,
        cast(null as double) as tx_count,
        cast(null as varchar) as onchain_note,
        s.dev_commits_7d,
        s.dev_commits_chg_7d,
        s.dev_commits_chg_30d,
        cast(null as bigint) as dev_contributors_30d,
        cast(null as varchar) as dev_note,
        cast(null as double) as reserve_chg_7d,
        cast(null as double) as reserve_chg_30d,
        cast(null as double) as spread_bps,
        cast(null as double) as spread_chg_7d,
        cast(null as double) as spread_chg_30d,
        list_filter(
            [
                case when s.return_7d <= t.sector_return_7d
                    then format('{} sector down > {}% over 7d', s.sector, cast(-t.sector_return_7d * 100 as int)) end,
                case when x.capex_chg_30d >= t.capex_chg_30d
                    then format('hyperscaler capex guidance raised {}% over 30d', cast(round(x.capex_chg_30d * 100) as int)) end,
                case when x.capex_chg_30d <= -t.capex_chg_30d
                    then format('hyperscaler capex guidance cut {}% over 30d', cast(round(-x.capex_chg_30d * 100) as int)) end,
                case when s.dev_commits_chg_30d <= t.dev_commits_chg
                    then format('developer activity down {}% over 30d', cast(-t.dev_commits_chg * 100 as int)) end,
                case when s.dev_commits_chg_7d <= t.dev_commits_chg
                    then format('developer activity down {}% over 7d', cast(-t.dev_commits_chg * 100 as int)) end
            ],
            lambda f: f is not null
        ) as flag_list
    from sectors as s
    left join capex as x on x.date = s.date
    cross join t
),

unioned as (
    select * from asset_rows
    union all by name
    select * from sector_rows
)

select
    date,
    key,
    key_kind,
    sector,
    capex_guidance_usd,
    capex_chg_7d,
    capex_chg_30d,
    capex_note,
    close_usd,
    return_7d,
    return_30d,
    drawdown_7d,
    drawdown_30d,
    risk_score,
    risk_tier,
    risk_score_chg_7d,
    risk_score_chg_30d,
    options_volume_usd,
    options_volume_chg_7d,
    options_volume_chg_30d,
    put_volume_share,
    put_call_oi_ratio,
    dvol,
    dvol_chg_7d,
    dvol_chg_30d,
    active_addresses,
    active_addresses_chg_7d,
    active_addresses_chg_30d,
    tx_count,
    onchain_note,
    dev_commits_7d,
    dev_commits_chg_7d,
    dev_commits_chg_30d,
    dev_contributors_30d,
    dev_note,
    reserve_chg_7d,
    reserve_chg_30d,
    spread_bps,
    spread_chg_7d,
    spread_chg_30d,
    cast(len(flag_list) as integer) as n_flags,
    nullif(array_to_string(flag_list, '; '), '') as flags
from unioned
order by date, key_kind, key
