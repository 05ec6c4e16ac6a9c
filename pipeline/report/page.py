"""The report page: one self-contained HTML file (plotly.js inlined once, no network access).

Every chart sits in `<figure class="chart" data-chart="NAME">`; a panel whose mart is missing
shows `<p class="na">` instead. The browser test relies on both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

import plotly
import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
from plotly.offline import get_plotlyjs

from pipeline.report import charts
from pipeline.report.data import DERIVATIVES, LEVELS, RISK, ReportData
from pipeline.report.style import CSS
from pipeline.warehouse import METHODOLOGY_VERSION

# no Plotly logo link: nothing on the page points off the machine
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
TIER_ORDER = ("low", "elevated", "high", "extreme")


def usd(v: float | None) -> str:
    if v is None:
        return "–"
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(v) >= div:
            return f"${v / div:,.2f}{suffix}"
    return f"${v:,.2f}"


def price(v: float | None) -> str:
    return "–" if v is None else f"${v:,.4g}" if v < 1000 else f"${v:,.0f}"


def pct(v: float | None, sign: bool = True) -> str:
    return "–" if v is None else f"{v * 100:+.1f}%" if sign else f"{v * 100:.1f}%"


def num(v: float | None, fmt: str = ".2f") -> str:
    return "–" if v is None else format(v, fmt)


def signed_class(v: float | None) -> str:
    return "" if v is None or v == 0 else "up" if v > 0 else "down"


def chart(name: str, fig: go.Figure) -> str:
    div = pio.to_html(
        fig,
        include_plotlyjs=False,
        full_html=False,
        config=PLOTLY_CONFIG,
        div_id=f"chart-{name}",
        default_width="100%",
        default_height=f"{fig.layout.height}px",
    )
    return f'<figure class="chart" data-chart="{escape(name)}">{div}</figure>'


def not_available(what: str, table: str) -> str:
    return (
        f'<p class="na">{escape(what)}: <code>marts.{escape(table)}</code> is not available '
        "in this warehouse.</p>"
    )


def table_html(headers: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    head = "".join(
        f'<th class="{"num" if i >= numeric_from else ""}">{escape(h)}</th>'
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if i >= numeric_from else ""}">{cell}</td>'
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


def colored(text: str, value: float | None) -> str:
    return f'<span class="{signed_class(value)}">{escape(text)}</span>'


def tier_badge(tier: str | None) -> str:
    if tier is None:
        return "–"
    css = tier if tier in TIER_ORDER else "unknown"
    return f'<span class="tier {css}">{escape(tier)}</span>'


def kpi_cards(data: ReportData) -> str:
    k = data.kpis
    cards = [
        ("Sector market cap", usd(k["market_cap_usd"]), None),
        ("1-day return", pct(k["return_1d"]), k["return_1d"]),
        ("7-day return", pct(k["return_7d"]), k["return_7d"]),
        ("BTC 1-day", pct(k["btc_return_1d"]), k["btc_return_1d"]),
        ("AI equities 1-day", pct(k["equity_basket_return_1d"]), k["equity_basket_return_1d"]),
        ("Drawdown from 30d high", pct(k["drawdown_from_30d_high"]), k["drawdown_from_30d_high"]),
        ("Breadth (members up)", pct(k["breadth_up_share"], sign=False), None),
        ("Corr. / beta to BTC 30d", f"{num(k['corr_btc_30d'])} / {num(k['beta_btc_30d'])}", None),
        ("Best / worst", f"{k['best_asset'] or '–'} / {k['worst_asset'] or '–'}", None),
    ]
    return (
        '<div class="kpis">'
        + "".join(
            f'<div class="kpi"><div class="label">{escape(label)}</div>'
            f'<div class="value {signed_class(v)}">{escape(text)}</div></div>'
            for label, text, v in cards
        )
        + "</div>"
    )


def asset_rows(assets: pl.DataFrame) -> tuple[list[str], list[list[str]]]:
    headers = [
        "asset",
        "sector",
        "close",
        "1d",
        "7d",
        "market cap",
        "volume",
        "vol 30d",
        "drawdown",
    ]
    cols = set(assets.columns)
    if "open_interest_usd" in cols:
        headers += ["OI", "OI 1d", "funding (ann.)", "L/S", "liq. longs", "liq. shorts"]
    if "netflow_7d_usd" in cols:
        headers.append("netflow 7d")
    if "risk_tier" in cols:
        headers += ["risk", "tier"]
    rows = []
    for r in assets.iter_rows(named=True):
        row = [
            f"<b>{escape(r['asset'])}</b>",
            escape(r["sector"]),
            price(r["close_usd"]),
            colored(pct(r["return_1d"]), r["return_1d"]),
            colored(pct(r["return_7d"]), r["return_7d"]),
            usd(r["market_cap_usd"]),
            usd(r["volume_usd"]),
            pct(r["volatility_30d"], sign=False),
            colored(pct(r["drawdown_from_30d_high"]), r["drawdown_from_30d_high"]),
        ]
        if "open_interest_usd" in cols:
            row += [
                usd(r["open_interest_usd"]),
                colored(pct(r["oi_change_1d"]), r["oi_change_1d"]),
                colored(pct(r["funding_rate_annualized"]), r["funding_rate_annualized"]),
                num(r["long_short_ratio"]),
                usd(r["liquidations_long_usd"]),
                usd(r["liquidations_short_usd"]),
            ]
        if "netflow_7d_usd" in cols:
            row.append(usd(r["netflow_7d_usd"]))
        if "risk_tier" in cols:
            row += [num(r["risk_score"], ".0f"), tier_badge(r["risk_tier"])]
        rows.append(row)
    return headers, rows


def risk_rows(risk: pl.DataFrame) -> tuple[list[str], list[list[str]]]:
    headers = [
        "asset", "score", "tier", "top drivers", "OI", "OI / cap", "est. leverage", "funding z",
        "OI z", "L/S", "longs liq. -5%", "-10%", "-20%", "shorts liq. +5%", "+10%", "+20%",
    ]  # fmt: skip
    rows = []
    for r in risk.iter_rows(named=True):
        score = r["risk_score"]
        bar = (
            f'<span class="score"><span style="width:{max(0.0, min(score, 100.0)):.0f}%"></span>'
            f"</span> {score:.0f}"
            if score is not None
            else "–"
        )
        rows.append(
            [
                f"<b>{escape(r['asset'])}</b>",
                bar,
                tier_badge(r["risk_tier"]),
                f'<span class="drivers">{escape(r["top_drivers"] or "–")}</span>',
                usd(r["open_interest_usd"]),
                pct(r["oi_to_market_cap"], sign=False),
                num(r["estimated_leverage_ratio"], ".3f"),
                num(r["funding_z_30d"], "+.2f"),
                num(r["oi_z_30d"], "+.2f"),
                num(r["long_short_ratio"]),
                *(usd(r[f"est_long_liq_usd_{m}pct"]) for m in (5, 10, 20)),
                *(usd(r[f"est_short_liq_usd_{m}pct"]) for m in (5, 10, 20)),
            ]
        )
    return headers, rows


def derivatives_section(data: ReportData) -> str:
    if data.derivatives is None:
        return not_available("Funding, open interest and liquidations", DERIVATIVES)
    if data.derivatives.is_empty():
        return '<p class="na">No derivatives rows in this window.</p>'
    return (
        '<div class="grid2">'
        + chart("funding", charts.funding_figure(data.derivatives))
        + chart("open-interest", charts.open_interest_figure(data.derivatives))
        + "</div>"
        + chart("liquidations", charts.liquidations_figure(data.derivatives))
    )


def heatmap_section(data: ReportData) -> str:
    if data.levels is None:
        return not_available("Liquidation-levels heatmap", LEVELS)
    parts = [
        chart(
            f"heatmap-{asset}",
            charts.heatmap_figure(asset, levels, data.closes.filter(pl.col("asset") == asset)),
        )
        for asset, levels in data.levels.items()
        if not levels.is_empty()
    ]
    if not parts:
        return '<p class="na">No liquidation levels for the sector\'s assets in this window.</p>'
    return "".join(parts)


def risk_section(data: ReportData) -> str:
    if data.risk is None:
        return not_available("Liquidation-risk table", RISK)
    if data.risk.is_empty():
        return f'<p class="na">No liquidation-risk rows for {data.day}.</p>'
    headers, rows = risk_rows(data.risk)
    members = data.assets.filter(pl.col("sector") == data.sector)["asset"]
    in_sector = data.risk.filter(pl.col("asset").is_in(members.implode()))
    figure = chart("risk", charts.risk_figure(in_sector)) if not in_sector.is_empty() else ""
    return table_html(headers, rows, numeric_from=4) + figure


def quality_section(data: ReportData) -> str:
    p = data.provenance
    run = p.run or {}
    facts = [
        ("gate status", f'<span class="status {p.status}">{escape(p.status)}</span>'),
        ("run id", f"<code>{escape(p.run_id or 'unknown')}</code>"),
        ("run status", escape(str(run.get("status") or "–"))),
        ("source", escape(str(run.get("source") or "–"))),
        ("published at", escape(p.published_at or "–")),
        ("methodology version", escape(p.methodology_version or "–")),
        ("days in warehouse", f"{data.days_available[0]} .. {data.days_available[1]}"),
    ]
    dl = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in facts)
    gates = (
        table_html(
            ["stage", "datasets / tables", "checks", "failed", "warnings"],
            [
                [escape(s.stage), str(s.datasets), str(s.checks), str(s.failed), str(s.warnings)]
                for s in p.stages
            ],
        )
        if p.stages
        else '<p class="na">No gate results recorded for this run.</p>'
    )
    problems = [line for s in p.stages for line in s.problems]
    problem_list = (
        '<ul class="problems">' + "".join(f"<li>{escape(x)}</li>" for x in problems[:20]) + "</ul>"
        if problems
        else "<p>Every recorded check passed.</p>"
    )
    counts = table_html(
        ["mart table", f"rows on {data.day}"],
        [[f"<code>marts.{escape(t)}</code>", str(n)] for t, n in data.rows_on_day.items()],
    )
    facts_html = f'<dl class="facts">{dl}</dl>'
    return f'<div class="grid2">{facts_html}<div>{gates}{problem_list}</div></div>{counts}'


def render_page(data: ReportData) -> str:
    """The whole page as one string."""
    sector = data.sector.upper()
    headers, rows = asset_rows(data.assets)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = f"""
<header>
  <h1>{escape(sector)} sector risk report <span class="day">{data.day}</span></h1>
  <p class="sub">Window {data.start} .. {data.day} · data quality
    <span class="status {data.provenance.status}">{escape(data.provenance.status)}</span>
    · run <code>{escape(data.provenance.run_id or "unknown")}</code></p>
  {kpi_cards(data)}
</header>
<section id="market"><h2>Market cap and returns against BTC and AI equities</h2>
  <div class="grid2">
    {chart("market-cap", charts.market_cap_figure(data.history, data.sector))}
    {chart("returns", charts.returns_figure(data.history, data.sector))}
  </div>
</section>
<section id="breadth"><h2>Breadth and drawdown</h2>
  {chart("breadth-drawdown", charts.breadth_drawdown_figure(data.history, data.drawdowns))}
</section>
<section id="assets"><h2>Assets on {data.day}</h2>
  {table_html(headers, rows, numeric_from=2)}</section>
<section id="derivatives"><h2>Funding, open interest and liquidations</h2>
  {derivatives_section(data)}</section>
<section id="levels"><h2>Liquidation levels of the sector's largest assets</h2>
  {heatmap_section(data)}</section>
<section id="risk"><h2>Liquidation risk on {data.day}</h2>{risk_section(data)}</section>
<section id="quality"><h2>Data quality of the published run</h2>{quality_section(data)}</section>
<footer>Generated {generated} by tokenrisk from the published warehouse (marts schema);
  methodology {METHODOLOGY_VERSION}; charts by Plotly {plotly.__version__}, embedded, so this
  file works offline.</footer>
"""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tokenrisk report {data.day}</title>
<style>{CSS}</style>
<script>window.PlotlyConfig = {{MathJaxConfig: 'local'}};</script>
<script>{get_plotlyjs()}</script>
</head><body><main>{body}</main></body></html>
"""
