"""Plotly figures of the report, built from the frames in `ReportData` (pure: no I/O)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

SECTOR_COLOR = "#6d28d9"
BTC_COLOR = "#f59e0b"
EQUITY_COLOR = "#0284c7"
LONG_COLOR = "#dc2626"
SHORT_COLOR = "#16a34a"
PALETTE = ["#6d28d9", "#0284c7", "#db2777", "#059669", "#ea580c", "#4f46e5", "#65a30d"]
HEIGHT = 340
PRICE_BINS = 40  # rows of a liquidation heatmap


def _layout(fig: go.Figure, title: str, height: int = HEIGHT, **kw) -> go.Figure:
    layout = {
        "template": "plotly_white",
        "title": {"text": title, "x": 0.01, "font": {"size": 15}},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 40},
        # below the plot: above it, legends collide with titles and subplot titles
        "legend": {"orientation": "h", "y": -0.12, "yanchor": "top", "x": 0, "xanchor": "left"},
        "hovermode": "x unified",
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
    }
    fig.update_layout(**{**layout, **kw})
    return fig


def _line(frame: pl.DataFrame, y: str, name: str, color: str, **kw) -> go.Scatter:
    return go.Scatter(
        x=frame["date"].to_list(),
        y=frame[y].to_list(),
        name=name,
        mode="lines+markers",
        line={"color": color, "width": kw.pop("width", 2), "dash": kw.pop("dash", None)},
        marker={"size": 4},
        **kw,
    )


def market_cap_figure(history: pl.DataFrame, sector: str) -> go.Figure:
    frame = history.with_columns(cap_bn=pl.col("market_cap_usd") / 1e9)
    fig = go.Figure(
        _line(
            frame,
            "cap_bn",
            f"{sector} sector",
            SECTOR_COLOR,
            fill="tozeroy",
            hovertemplate="$%{y:,.2f}B",
        )
    )
    _layout(fig, f"{sector.upper()} sector market cap (USD bn)", showlegend=False)
    fig.update_yaxes(tickprefix="$", ticksuffix="B", rangemode="tozero")
    return fig


def returns_figure(history: pl.DataFrame, sector: str) -> go.Figure:
    fig = go.Figure(
        [
            _line(history, "cum_sector", f"{sector.upper()} sector (cap-weighted)", SECTOR_COLOR),
            _line(history, "cum_btc", "BTC", BTC_COLOR),
            _line(history, "cum_equities", "AI-equity basket", EQUITY_COLOR, dash="dot"),
        ]
    )
    fig.update_traces(hovertemplate="%{y:+.1%}")
    _layout(fig, f"Cumulative return since {history['date'][0]}")
    fig.update_yaxes(tickformat="+.0%", zeroline=True, zerolinecolor="#94a3b8")
    return fig


def breadth_drawdown_figure(history: pl.DataFrame, drawdowns: pl.DataFrame) -> go.Figure:
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.12,
        row_heights=[0.4, 0.6],
        subplot_titles=("Breadth: share of members up on the day", "Drawdown from 30-day high"),
    )
    fig.add_trace(
        go.Bar(
            x=history["date"].to_list(),
            y=history["breadth_up_share"].to_list(),
            name="breadth",
            marker_color=SECTOR_COLOR,
            hovertemplate="%{y:.0%} up",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    for i, (asset, part) in enumerate(drawdowns.group_by("asset", maintain_order=True)):
        fig.add_trace(
            _line(
                part,
                "drawdown_from_30d_high",
                str(asset[0]),
                PALETTE[(i + 1) % len(PALETTE)],
                width=1,
                opacity=0.6,
                hovertemplate="%{y:.1%}",
            ),
            row=2,
            col=1,
        )
    fig.add_trace(
        _line(
            history,
            "drawdown_from_30d_high",
            "sector",
            SECTOR_COLOR,
            width=3,
            hovertemplate="%{y:.1%}",
        ),
        row=2,
        col=1,
    )
    _layout(fig, "", height=460, margin={"l": 60, "r": 20, "t": 40, "b": 40})
    fig.update_yaxes(tickformat=".0%", range=[0, 1], row=1, col=1)
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    return fig


def _per_asset_lines(frame: pl.DataFrame, y: str, hover: str) -> list[go.Scatter]:
    traces = []
    members = frame.filter(pl.col("sector") != "reference")
    for i, (asset, part) in enumerate(members.group_by("asset", maintain_order=True)):
        traces.append(_line(part, y, str(asset[0]), PALETTE[i % len(PALETTE)], hovertemplate=hover))
    for asset, part in frame.filter(pl.col("sector") == "reference").group_by(
        "asset", maintain_order=True
    ):
        color = BTC_COLOR if asset[0] == "BTC" else "#64748b"
        traces.append(_line(part, y, str(asset[0]), color, dash="dash", hovertemplate=hover))
    return traces


def funding_figure(derivatives: pl.DataFrame) -> go.Figure:
    fig = go.Figure(_per_asset_lines(derivatives, "funding_rate_annualized", "%{y:+.1%}"))
    _layout(fig, "Funding rate, annualised (OI-weighted across venues)")
    fig.update_yaxes(tickformat="+.0%", zeroline=True, zerolinecolor="#94a3b8")
    return fig


def open_interest_figure(derivatives: pl.DataFrame) -> go.Figure:
    members = derivatives.filter(pl.col("sector") != "reference").with_columns(
        oi_mn=pl.col("open_interest_usd") / 1e6
    )
    fig = go.Figure()
    for i, (asset, part) in enumerate(members.group_by("asset", maintain_order=True)):
        fig.add_trace(
            go.Scatter(
                x=part["date"].to_list(),
                y=part["oi_mn"].to_list(),
                name=str(asset[0]),
                stackgroup="oi",
                line={"color": PALETTE[i % len(PALETTE)], "width": 1},
                hovertemplate="$%{y:,.1f}M",
            )
        )
    _layout(fig, "Open interest of the sector's members (USD mn, stacked)")
    fig.update_yaxes(tickprefix="$", ticksuffix="M")
    return fig


def liquidations_figure(derivatives: pl.DataFrame) -> go.Figure:
    daily = (
        derivatives.filter(pl.col("sector") != "reference")
        .group_by("date")
        .agg(
            long=pl.col("liquidations_long_usd").sum() / 1e6,
            short=pl.col("liquidations_short_usd").sum() / 1e6,
        )
        .sort("date")
    )
    fig = go.Figure(
        [
            go.Bar(
                x=daily["date"].to_list(),
                y=daily["long"].to_list(),
                name="longs liquidated",
                marker_color=LONG_COLOR,
                hovertemplate="$%{y:,.1f}M",
            ),
            go.Bar(
                x=daily["date"].to_list(),
                y=daily["short"].to_list(),
                name="shorts liquidated",
                marker_color=SHORT_COLOR,
                hovertemplate="$%{y:,.1f}M",
            ),
        ]
    )
    _layout(fig, "Liquidations of the sector's members (USD mn per day)", barmode="group")
    fig.update_yaxes(tickprefix="$", ticksuffix="M")
    return fig


def level_grid(levels: pl.DataFrame, side: str, low: float, high: float, bins: int = PRICE_BINS):
    """Sum notional into `bins` equal price bands between `low` and `high`, per date.

    Returns (dates, band mid prices, z[band][date]) with None where nothing is estimated.
    """
    width = (high - low) / bins if high > low else 1.0
    dates = levels["date"].unique().sort().to_list()
    mids = [low + width * (i + 0.5) for i in range(bins)]
    binned = (
        levels.filter(pl.col("side") == side)
        .with_columns(
            band=((pl.col("price_level") - low) / width).floor().clip(0, bins - 1).cast(pl.Int64)
        )
        .group_by("date", "band")
        .agg(pl.col("est_notional_usd").sum())
    )
    cells = {(r["date"], r["band"]): r["est_notional_usd"] for r in binned.iter_rows(named=True)}
    z = [[cells.get((d, b)) for d in dates] for b in range(bins)]
    return dates, mids, z


def heatmap_figure(asset: str, levels: pl.DataFrame, closes: pl.DataFrame) -> go.Figure:
    """Estimated liquidation notional by price band and day, longs | shorts, with the close."""
    low, high = levels["price_level"].min(), levels["price_level"].max()
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.14,  # room for the long side's colour bar
        subplot_titles=(f"{asset}: long liquidation levels", f"{asset}: short liquidation levels"),
    )
    for col, (side, scale, bar_x) in enumerate(
        [("long", "Reds", 0.44), ("short", "Greens", 1.01)], start=1
    ):
        dates, mids, z = level_grid(levels, side, low, high)
        fig.add_trace(
            go.Heatmap(
                x=dates,
                y=mids,
                z=[[None if v is None else v / 1e6 for v in row] for row in z],
                colorscale=scale,
                colorbar={
                    "title": {"text": "USD mn"},
                    "x": bar_x,
                    "xanchor": "left",
                    "len": 0.9,
                    "thickness": 12,
                },
                name=f"{side}s",
                hovertemplate="%{x}<br>price ~ $%{y:,.4g}<br>$%{z:,.2f}M<extra>"
                + side
                + "s</extra>",
            ),
            row=1,
            col=col,
        )
        fig.add_trace(
            go.Scatter(
                x=closes["date"].to_list(),
                y=closes["close_usd"].to_list(),
                name="close",
                mode="lines",
                line={"color": "#0f172a", "width": 2},
                showlegend=col == 1,
                hovertemplate="close $%{y:,.4g}<extra></extra>",
            ),
            row=1,
            col=col,
        )
    _layout(fig, "", height=400, hovermode="closest", margin={"l": 60, "r": 70, "t": 40, "b": 40})
    fig.update_yaxes(tickprefix="$", row=1, col=1)
    return fig


def risk_figure(risk: pl.DataFrame) -> go.Figure:
    """Estimated liquidations if price moved 5/10/20%: longs on a fall, shorts on a rise."""
    assets = risk["asset"].to_list()
    fig = go.Figure()
    shades = {"5pct": 0.45, "10pct": 0.7, "20pct": 1.0}
    for side, color, sign, label in [
        ("long", LONG_COLOR, -1, "longs if price falls"),
        ("short", SHORT_COLOR, 1, "shorts if price rises"),
    ]:
        for move, opacity in shades.items():
            column = f"est_{side}_liq_usd_{move}"
            fig.add_trace(
                go.Bar(
                    x=assets,
                    y=[None if v is None else sign * v / 1e6 for v in risk[column].to_list()],
                    name=f"{label} {move.removesuffix('pct')}%",
                    marker={"color": color, "opacity": opacity},
                    hovertemplate="$%{y:,.1f}M",
                )
            )
    _layout(
        fig,
        "Sector members: estimated liquidations by price move (USD mn; longs below zero)",
        barmode="group",
        height=380,
    )
    fig.update_yaxes(tickprefix="$", ticksuffix="M", zeroline=True, zerolinecolor="#94a3b8")
    return fig
