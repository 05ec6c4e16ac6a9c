"""A small published warehouse with all seven mart tables (DESIGN section 5), deterministic.

40 days (2026-01-01..2026-02-09) of five AI-sector members and BTC/ETH on smooth price paths
with a 20% crash on 2026-02-05, plus a publish record, gate results and a run manifest, so the
report, the snapshot and the BI queries can be tested before the derivatives marts land.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from pipeline.lake import Lake, sha256_file

RUN_ID = "20260210T003000000000Z_abc123"
FIRST_DAY, LAST_DAY, CRASH_DAY = "2026-01-01", "2026-02-09", "2026-02-05"
MEMBERS = ("TAO", "NEAR", "ICP", "RENDER", "FET")
ALL_TABLES = (
    "fct_asset_daily",
    "fct_sector_daily",
    "fct_derivatives_daily",
    "fct_exchange_flows_daily",
    "fct_liquidity_daily",
    "fct_liquidation_levels",
    "fct_liquidation_risk_daily",
)

SQL = f"""
create schema marts;
create temp table assets as select * from (values
    ('TAO', 'ai', 300.0, 9.0e6, 1), ('NEAR', 'ai', 3.0, 1.2e9, 2), ('ICP', 'ai', 8.0, 4.5e8, 3),
    ('RENDER', 'ai', 4.0, 5.0e8, 4), ('FET', 'ai', 0.5, 2.4e9, 5),
    ('BTC', null, 80000.0, 2.0e7, 6), ('ETH', null, 2500.0, 1.2e8, 7)
) as t(asset, sector, p0, supply, k);
create temp table px as
select (date '{FIRST_DAY}' + d.i::integer) as date, d.i, a.asset, a.sector, a.supply, a.k,
    a.p0 * (1 + 0.003 * a.k * sin(d.i / 4.0) + 0.002 * d.i)
        * case when d.i >= 35 then 0.8 else 1 end as close_usd
from range(40) as d(i), assets as a;

create table marts.fct_asset_daily as
select date, asset, sector, close_usd,
    close_usd / lag(close_usd) over w - 1 as return_1d,
    close_usd / lag(close_usd, 7) over w - 1 as return_7d,
    close_usd * supply as market_cap_usd,
    close_usd * supply * 0.05 as volume_usd,
    0.5 + 0.1 * k as volatility_30d,
    close_usd / max(close_usd) over (w rows between 29 preceding and current row) - 1
        as drawdown_from_30d_high
from px window w as (partition by asset order by date)
order by date, asset;

create table marts.fct_sector_daily as
with s as (
    select date, sector, count(*) as n_assets, sum(market_cap_usd) as market_cap_usd,
        sum(volume_usd) as volume_usd, avg(return_1d) as return_1d_equal_weight,
        avg(case when return_1d > 0 then 1.0 when return_1d is not null then 0.0 end)
            as breadth_up_share,
        arg_max(asset, return_1d) filter (where return_1d is not null) as best_asset,
        arg_min(asset, return_1d) filter (where return_1d is not null) as worst_asset
    from marts.fct_asset_daily where sector is not null group by all
)
select s.date, s.sector, s.n_assets, s.market_cap_usd, s.volume_usd,
    s.market_cap_usd / lag(s.market_cap_usd) over w - 1 as return_1d,
    s.return_1d_equal_weight,
    s.market_cap_usd / lag(s.market_cap_usd, 7) over w - 1 as return_7d,
    s.breadth_up_share,
    s.market_cap_usd / max(s.market_cap_usd) over (w rows between 29 preceding and current row) - 1
        as drawdown_from_30d_high,
    b.return_1d as btc_return_1d, 0.8 as corr_btc_30d, 1.2 as beta_btc_30d,
    case when dayofweek(s.date) in (0, 6) then null else 0.01 * sin(epoch(s.date) / 86400.0) end
        as equity_basket_return_1d,
    0.3 as corr_equities_30d, s.best_asset, s.worst_asset
from s join marts.fct_asset_daily as b on b.date = s.date and b.asset = 'BTC'
window w as (partition by s.sector order by s.date)
order by s.date;

create table marts.fct_derivatives_daily as
with d as (
    select date, i, asset, k, market_cap_usd * (0.04 + 0.002 * k) * (1 + 0.01 * i) as oi
    from px join marts.fct_asset_daily using (date, asset)
)
select date, asset, oi as open_interest_usd,
    oi / lag(oi) over w - 1 as oi_change_1d, oi / lag(oi, 7) over w - 1 as oi_change_7d,
    case when date = date '{CRASH_DAY}' then -0.3 else 0.05 + 0.02 * k + 0.01 * (i % 5) end
        as funding_rate_annualized,
    1.0 + 0.05 * k as long_short_ratio, 0.95 + 0.01 * (i % 7) as taker_buy_sell_ratio,
    2.0 * k as basis_bps,
    oi * case when date = date '{CRASH_DAY}' then 0.08 else 0.002 end as liquidations_long_usd,
    oi * 0.001 as liquidations_short_usd, 3 as n_venues
from d window w as (partition by asset order by date)
order by date, asset;

create table marts.fct_exchange_flows_daily as
select date, asset, 1.0e8 * k as inflow_usd, 0.9e8 * k as outflow_usd,
    0.1e8 * k as netflow_usd, 0.7e8 * k as netflow_7d_usd, 1.0e10 * k as reserve_usd
from px where asset in ('BTC', 'ETH') order by date, asset;

create table marts.fct_liquidity_daily as
select date, asset, venue, 1.0 + 0.5 * k as spread_bps, 1.0e6 * (8 - k) as bid_depth_usd_1pct,
    1.1e6 * (8 - k) as ask_depth_usd_1pct
from px, (values ('binance'), ('bybit'), ('okx')) as v(venue) order by date, asset, venue;

create table marts.fct_liquidation_levels as
select p.date, p.asset, s.side,
    p.close_usd * (1 + case when s.side = 'long' then -0.02 else 0.02 end * l.j) as price_level,
    1.0e6 * (11 - l.j) * (8 - p.k) as est_notional_usd
from px as p, (values ('long'), ('short')) as s(side), range(1, 11) as l(j)
where p.asset in ('TAO', 'NEAR', 'ICP', 'RENDER', 'FET', 'BTC')
order by 1, 2, 3, 4;

create table marts.fct_liquidation_risk_daily as
with r as (
    select d.date, d.asset, d.open_interest_usd, d.open_interest_usd / a.market_cap_usd as cap_share,
        d.long_short_ratio, p.k
    from marts.fct_derivatives_daily as d
    join marts.fct_asset_daily as a using (date, asset) join px as p using (date, asset)
), scored as (
    select *, [85.0, 65.0, 40.0, 20.0, 10.0, 35.0, 15.0][k] as risk_score from r
)
select date, asset, open_interest_usd, cap_share as oi_to_market_cap,
    0.02 * k as estimated_leverage_ratio, 2.5 - 0.4 * k as funding_z_30d, 2.0 - 0.3 * k as oi_z_30d,
    long_short_ratio,
    open_interest_usd * 0.05 as est_long_liq_usd_5pct, open_interest_usd * 0.12 as est_long_liq_usd_10pct,
    open_interest_usd * 0.30 as est_long_liq_usd_20pct, open_interest_usd * 0.03 as est_short_liq_usd_5pct,
    open_interest_usd * 0.08 as est_short_liq_usd_10pct, open_interest_usd * 0.20 as est_short_liq_usd_20pct,
    risk_score,
    case when risk_score >= 75 then 'extreme' when risk_score >= 50 then 'high'
        when risk_score >= 25 then 'elevated' else 'low' end as risk_tier,
    'funding z ' || round(2.5 - 0.4 * k, 1) || '; OI/cap ' || round(100 * cap_share, 1) || '%'
        as top_drivers
from scored order by date, asset;
"""


def gate_result(stage: str, dataset: str, warn: bool = False) -> dict:
    checks = [
        {"check": "ExpectColumnValuesToNotBeNull(asset)", "frame": "rows", "severity": "error",
         "success": True, "errored": False, "unexpected_count": 0, "sample": [], "days": [],
         "message": ""},
    ]  # fmt: skip
    if warn:
        checks.append(
            {"check": "ExpectColumnValuesToBeBetween(volume_usd)", "frame": "rows",
             "severity": "warn", "success": False, "errored": False, "unexpected_count": 1,
             "sample": [0.0], "days": [CRASH_DAY], "message": ""}
        )  # fmt: skip
    return {"stage": stage, "dataset": dataset, "n_rows": 10, "success": True, "checks": checks}


def build_data_dir(root: Path, tables: tuple[str, ...] = ALL_TABLES) -> Lake:
    """A data dir at `root` with a published warehouse holding `tables` (default: all seven)."""
    lake = Lake.at(root)
    lake.warehouse.parent.mkdir(parents=True)
    con = duckdb.connect(str(lake.warehouse))
    try:
        con.execute(SQL)
        # the literals above make DECIMAL and INTEGER columns; the real marts hold DOUBLE/BIGINT
        for table, column, dtype in con.execute(
            "select table_name, column_name, data_type from duckdb_columns() "
            "where schema_name = 'marts' and (data_type like 'DECIMAL%' or data_type = 'INTEGER')"
        ).fetchall():
            new = "BIGINT" if dtype == "INTEGER" else "DOUBLE"
            con.execute(f"alter table marts.{table} alter column {column} type {new}")
        counts = {}
        for table in ALL_TABLES:
            if table in tables:
                counts[f"marts.{table}"] = con.execute(
                    f"select count(*) from marts.{table}"
                ).fetchone()[0]
            else:
                con.execute(f"drop table marts.{table}")
        con.execute("comment on table marts.fct_asset_daily is 'Daily close of every asset.'")
        con.execute("comment on column marts.fct_asset_daily.date is 'UTC day.'")
        con.execute("checkpoint")
    finally:
        con.close()
    record = {
        "run_id": RUN_ID,
        "gate": "passed",
        "published_at": "2026-02-10T00:45:00+00:00",
        "sha256": sha256_file(lake.warehouse),
        "tables": counts,
        "storage_version": "v1.1.0",
        "methodology_version": "1.0",
    }
    lake.published_record.write_text(json.dumps(record))
    quality = lake.quality_file(RUN_ID, "staged")
    quality.parent.mkdir(parents=True)
    quality.write_text(json.dumps([gate_result("staged", "spot_prices", warn=True)]))
    lake.quality_file(RUN_ID, "marts").write_text(
        json.dumps([gate_result("marts", t) for t in tables])
    )
    lake.run_manifest(RUN_ID).parent.mkdir(parents=True)
    lake.run_manifest(RUN_ID).write_text(
        json.dumps({"run_id": RUN_ID, "status": "ok", "source": "demo", "finished_at": "x"})
    )
    return lake
