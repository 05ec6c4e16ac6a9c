"""The watch-list section of the daily report: the flags of one day, and the table behind them.

`watchlist_section(con, day)` reads marts.fct_watchlist_daily from an open (published)
warehouse connection; `render_watchlist_html(section)` turns it into an HTML fragment the
report embeds. Pure reads, no styling beyond plain tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from html import escape

import duckdb

COLUMNS = (
    ("key", "asset / sector", "text"),
    ("capex_guidance_usd", "capex guidance", "usd"),
    ("capex_chg_30d", "capex 30d", "pct"),
    ("drawdown_7d", "7d drawdown", "pct"),
    ("risk_tier", "liquidation risk", "text"),
    ("options_volume_chg_7d", "options vol 7d", "pct"),
    ("put_volume_share", "put share", "pct"),
    ("dvol", "DVOL", "num"),
    ("active_addresses_chg_7d", "active addr 7d", "pct"),
    ("dev_commits_7d", "commits 7d", "num"),
    ("dev_commits_chg_30d", "commits 30d", "pct"),
    ("reserve_chg_7d", "reserves 7d", "pct"),
    ("spread_chg_7d", "spread 7d", "pct"),
    ("flags", "flags", "text"),
)


@dataclass
class WatchlistSection:
    day: date
    rows: list[dict] = field(default_factory=list)

    @property
    def flagged(self) -> list[tuple[str, str]]:
        """(key, flags) of the keys with at least one flag, most flags first."""
        ranked = sorted(
            (r for r in self.rows if r["n_flags"]), key=lambda r: (-r["n_flags"], r["key"])
        )
        return [(r["key"], r["flags"]) for r in ranked]


def watchlist_section(con: duckdb.DuckDBPyConnection, day: date) -> WatchlistSection:
    names = ", ".join(c for c, _, _ in COLUMNS)
    cursor = con.execute(
        f"select {names}, n_flags, key_kind from marts.fct_watchlist_daily "
        "where date = ? order by key_kind desc, key",
        [day],
    )
    header = [d[0] for d in cursor.description]
    return WatchlistSection(day, [dict(zip(header, row, strict=True)) for row in cursor.fetchall()])


def _fmt(value: object, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "pct":
        return f"{float(value) * 100:+.1f}%"
    if kind == "usd":
        return f"${float(value) / 1e9:,.0f}B"
    if kind == "num":
        return f"{float(value):,.0f}" if abs(float(value)) >= 100 else f"{float(value):,.1f}"
    return str(value)


def render_watchlist_html(section: WatchlistSection) -> str:
    items = "".join(
        f"<li><b>{escape(key)}</b>: {escape(flags)}</li>" for key, flags in section.flagged
    )
    head = "".join(f"<th>{escape(label)}</th>" for _, label, _ in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_fmt(r[c], k))}</td>" for c, _, k in COLUMNS) + "</tr>"
        for r in section.rows
    )
    summary = f"<ul>{items}</ul>" if items else "<p>No flag raised.</p>"
    return (
        f'<section id="watchlist"><h2>Watch-list, {section.day.isoformat()}</h2>'
        "<p>Capex guidance, BTC stability and liquidation risk, on-chain and developer "
        "activity, exchange reserves and spreads, with their 7- and 30-day changes "
        "(docs/methodology.md, Watch-list).</p>"
        f"{summary}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>"
    )
