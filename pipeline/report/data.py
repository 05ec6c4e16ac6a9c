"""The report's data: one query per panel against the published marts, nothing rendered here.

Each panel names the mart tables it needs; a panel whose table is absent from the warehouse
gets None (the page then says so) instead of failing the whole report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import polars as pl

from pipeline.errors import UsageError
from pipeline.warehouse import mart_tables, query_frame
from pipeline.warehouse.status import Provenance

LOOKBACK_DAYS = 60  # the charts show the report day and the 59 days before it
HEATMAP_ASSETS = 3  # liquidation heatmaps for the sector's largest assets
REFERENCE_ASSETS = ("BTC", "ETH")

DERIVATIVES = "fct_derivatives_daily"
FLOWS = "fct_exchange_flows_daily"
LEVELS = "fct_liquidation_levels"
RISK = "fct_liquidation_risk_daily"


@dataclass
class ReportData:
    day: date
    start: date
    sector: str
    tables: list[str]
    provenance: Provenance
    kpis: dict
    history: pl.DataFrame  # the sector by day, with cumulative returns
    drawdowns: pl.DataFrame  # date, asset, drawdown_from_30d_high of the members
    assets: pl.DataFrame  # one row per asset on the report day
    rows_on_day: dict[str, int]
    days_available: tuple[date, date]
    derivatives: pl.DataFrame | None = None
    levels: dict[str, pl.DataFrame] | None = None  # per heatmap asset
    closes: pl.DataFrame | None = None  # date, asset, close_usd of the heatmap assets
    risk: pl.DataFrame | None = None


def sector_days(con: duckdb.DuckDBPyConnection, sector: str) -> list[date]:
    rows = con.execute(
        "select distinct date from marts.fct_sector_daily where sector = ? order by 1", [sector]
    ).fetchall()
    return [r[0] for r in rows]


def cumulative_returns(history: pl.DataFrame) -> pl.DataFrame:
    """Compound each daily return from the window's first close (0 on the first day).

    A missing return (no equity trading that day, no previous close) counts as flat.
    """
    first = pl.int_range(pl.len()) == 0

    def compound(column: str) -> pl.Expr:
        step = pl.when(first).then(0.0).otherwise(pl.col(column).fill_null(0.0))
        return (1 + step).cum_prod() - 1

    return history.sort("date").with_columns(
        cum_sector=compound("return_1d"),
        cum_btc=compound("btc_return_1d"),
        cum_equities=compound("equity_basket_return_1d"),
    )


def sector_history(
    con: duckdb.DuckDBPyConnection, sector: str, start: date, end: date
) -> pl.DataFrame:
    frame = query_frame(
        con,
        """
        select date, n_assets, market_cap_usd, volume_usd, return_1d, return_7d,
            breadth_up_share, drawdown_from_30d_high, btc_return_1d, equity_basket_return_1d,
            corr_btc_30d, beta_btc_30d, corr_equities_30d, best_asset, worst_asset
        from marts.fct_sector_daily
        where sector = ? and date between ? and ?
        order by date
        """,
        [sector, start, end],
    )
    return cumulative_returns(frame)


def member_drawdowns(
    con: duckdb.DuckDBPyConnection, sector: str, start: date, end: date
) -> pl.DataFrame:
    return query_frame(
        con,
        """
        select date, asset, drawdown_from_30d_high
        from marts.fct_asset_daily
        where sector = ? and date between ? and ?
        order by asset, date
        """,
        [sector, start, end],
    )


def asset_table(con: duckdb.DuckDBPyConnection, day: date, tables: list[str]) -> pl.DataFrame:
    """Every asset on `day`: members by market cap, then the references; derivatives, flows
    and risk columns only when their marts exist."""
    columns = [
        "a.asset",
        "coalesce(a.sector, 'reference') as sector",
        "a.close_usd",
        "a.return_1d",
        "a.return_7d",
        "a.market_cap_usd",
        "a.volume_usd",
        "a.volatility_30d",
        "a.drawdown_from_30d_high",
    ]
    joins = []
    if DERIVATIVES in tables:
        columns += [
            "d.open_interest_usd",
            "d.oi_change_1d",
            "d.funding_rate_annualized",
            "d.long_short_ratio",
            "d.liquidations_long_usd",
            "d.liquidations_short_usd",
        ]
        joins.append(f"left join marts.{DERIVATIVES} as d on d.date = a.date and d.asset = a.asset")
    if FLOWS in tables:
        columns.append("f.netflow_7d_usd")
        joins.append(f"left join marts.{FLOWS} as f on f.date = a.date and f.asset = a.asset")
    if RISK in tables:
        columns += ["r.risk_score", "r.risk_tier"]
        joins.append(f"left join marts.{RISK} as r on r.date = a.date and r.asset = a.asset")
    sql = (
        f"select {', '.join(columns)}\nfrom marts.fct_asset_daily as a\n"
        + "\n".join(joins)
        + "\nwhere a.date = ?\norder by a.sector is null, a.market_cap_usd desc nulls last, a.asset"
    )
    return query_frame(con, sql, [day])


def derivatives_history(
    con: duckdb.DuckDBPyConnection, sector: str, start: date, end: date
) -> pl.DataFrame:
    """OI, funding and liquidations by day of the sector's members and the references."""
    return query_frame(
        con,
        f"""
        select d.date, d.asset, coalesce(a.sector, 'reference') as sector,
            d.open_interest_usd, d.funding_rate_annualized,
            d.liquidations_long_usd, d.liquidations_short_usd
        from marts.{DERIVATIVES} as d
        left join marts.fct_asset_daily as a on a.date = d.date and a.asset = d.asset
        where d.date between ? and ?
            and (a.sector = ? or d.asset in ({", ".join("?" for _ in REFERENCE_ASSETS)}))
        order by d.asset, d.date
        """,
        [start, end, sector, *REFERENCE_ASSETS],
    )


def largest_members(
    con: duckdb.DuckDBPyConnection, sector: str, day: date, start: date, n: int
) -> list[str]:
    """The sector's `n` largest assets on `day` that have liquidation levels in the window."""
    rows = con.execute(
        f"""
        select a.asset
        from marts.fct_asset_daily as a
        where a.date = ? and a.sector = ?
            and a.asset in (select asset from marts.{LEVELS} where date between ? and ?)
        order by a.market_cap_usd desc, a.asset
        limit ?
        """,
        [day, sector, start, day, n],
    ).fetchall()
    return [r[0] for r in rows]


def liquidation_levels(
    con: duckdb.DuckDBPyConnection, asset: str, start: date, end: date
) -> pl.DataFrame:
    return query_frame(
        con,
        f"""
        select date, side, price_level, est_notional_usd
        from marts.{LEVELS}
        where asset = ? and date between ? and ?
        order by date, side, price_level
        """,
        [asset, start, end],
    )


def closes(
    con: duckdb.DuckDBPyConnection, assets: list[str], start: date, end: date
) -> pl.DataFrame:
    return query_frame(
        con,
        f"""
        select date, asset, close_usd from marts.fct_asset_daily
        where asset in ({", ".join("?" for _ in assets)}) and date between ? and ?
        order by asset, date
        """,
        [*assets, start, end],
    )


def risk_table(con: duckdb.DuckDBPyConnection, day: date) -> pl.DataFrame:
    return query_frame(
        con,
        f"""
        select asset, risk_score, risk_tier, top_drivers, open_interest_usd, oi_to_market_cap,
            estimated_leverage_ratio, funding_z_30d, oi_z_30d, long_short_ratio,
            est_long_liq_usd_5pct, est_long_liq_usd_10pct, est_long_liq_usd_20pct,
            est_short_liq_usd_5pct, est_short_liq_usd_10pct, est_short_liq_usd_20pct
        from marts.{RISK}
        where date = ?
        order by risk_score desc nulls last, asset
        """,
        [day],
    )


def rows_on_day(con: duckdb.DuckDBPyConnection, tables: list[str], day: date) -> dict[str, int]:
    # fetchall, not fetchone: DuckDB 2 keeps a fetchone() result open and the next query fails
    return {
        t: con.execute(f"select count(*) from marts.{t} where date = ?", [day]).fetchall()[0][0]
        for t in tables
    }


def load_report_data(
    con: duckdb.DuckDBPyConnection,
    provenance: Provenance,
    day: date,
    sector: str = "ai",
    lookback_days: int = LOOKBACK_DAYS,
) -> ReportData:
    """Everything the page shows for `day`; a UsageError if the warehouse has no such day."""
    tables = mart_tables(con)
    if "fct_sector_daily" not in tables or "fct_asset_daily" not in tables:
        raise UsageError("the published warehouse has no marts.fct_sector_daily/fct_asset_daily")
    days = sector_days(con, sector)
    if day not in days:
        span = f"{days[0]}..{days[-1]}" if days else "none"
        raise UsageError(f"no data for {day} in the published warehouse (days available: {span})")
    start = max(day - timedelta(days=lookback_days - 1), days[0])
    history = sector_history(con, sector, start, day)
    data = ReportData(
        day=day,
        start=start,
        sector=sector,
        tables=tables,
        provenance=provenance,
        kpis=history.filter(pl.col("date") == day).row(0, named=True),
        history=history,
        drawdowns=member_drawdowns(con, sector, start, day),
        assets=asset_table(con, day, tables),
        rows_on_day=rows_on_day(con, tables, day),
        days_available=(days[0], days[-1]),
    )
    if DERIVATIVES in tables:
        data.derivatives = derivatives_history(con, sector, start, day)
    if LEVELS in tables:
        largest = largest_members(con, sector, day, start, HEATMAP_ASSETS)
        data.levels = {a: liquidation_levels(con, a, start, day) for a in largest}
        data.closes = closes(con, largest, start, day) if largest else None
    if RISK in tables:
        data.risk = risk_table(con, day)
    return data
