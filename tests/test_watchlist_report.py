"""The watch-list report section on a small hand-made mart."""

from __future__ import annotations

from datetime import date

import duckdb

from pipeline.watchlist_report import COLUMNS, render_watchlist_html, watchlist_section


def test_section_lists_flags_first_and_renders_every_key():
    con = duckdb.connect()
    cols = ", ".join(f"{c} {'varchar' if k == 'text' else 'double'}" for c, _, k in COLUMNS)
    con.execute(
        f"create schema marts; create table marts.fct_watchlist_daily "
        f"(date date, key_kind varchar, n_flags int, {cols})"
    )
    con.execute(
        "insert into marts.fct_watchlist_daily (date, key_kind, n_flags, key, drawdown_7d, flags,"
        " capex_guidance_usd) values "
        "('2026-02-05', 'asset', 2, 'BTC', -0.28, 'BTC 7d drawdown > 15%; exchange reserves rising', null),"
        "('2026-02-05', 'asset', 0, 'ICP', -0.05, null, null),"
        "('2026-02-05', 'sector', 1, 'ai', null, 'hyperscaler capex guidance raised 75% over 30d', 5.05e11),"
        "('2026-02-04', 'asset', 1, 'BTC', -0.12, 'x', null)"
    )
    section = watchlist_section(con, date(2026, 2, 5))
    assert [r["key"] for r in section.rows] == ["ai", "BTC", "ICP"]
    assert section.flagged[0] == (
        "BTC",
        "BTC 7d drawdown &gt; 15%; exchange reserves rising".replace("&gt;", ">"),
    )
    html = render_watchlist_html(section)
    assert "Watch-list, 2026-02-05" in html
    assert "BTC 7d drawdown &gt; 15%" in html
    assert "-28.0%" in html and "$505B" in html
