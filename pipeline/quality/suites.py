"""Expectation suites, kept as data: one per dataset per stage.

Each check names a Great Expectations 1.x expectation class, its arguments, a severity
(`error` stops the run; `warn` is reported), and the frame it validates: `rows` (the data
itself; failing rows are quarantined) or a derived frame such as `daily_counts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pipeline.config import VENUES, Universe
from pipeline.quality.frames import EXPECTED_ROWS
from pipeline.schemas import KEYS, SCHEMAS


@dataclass(frozen=True)
class Check:
    expectation: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    severity: Literal["error", "warn"] = "error"
    frame: str = "rows"

    @property
    def label(self) -> str:
        target = self.kwargs.get("column") or self.kwargs.get("column_list") or ""
        if "column_A" in self.kwargs:
            target = f"{self.kwargs['column_A']} vs {self.kwargs['column_B']}"
        return f"{self.expectation}({target})" if target else self.expectation


def _not_null(*columns: str) -> list[Check]:
    return [Check("ExpectColumnValuesToNotBeNull", {"column": c}) for c in columns]


def _between(column: str, lo: float | None = None, hi: float | None = None, **kw) -> Check:
    args: dict[str, Any] = {"column": column}
    if lo is not None:
        args["min_value"] = lo
    if hi is not None:
        args["max_value"] = hi
    strict = {k: kw.pop(k) for k in ("strict_min", "strict_max") if k in kw}
    return Check("ExpectColumnValuesToBeBetween", {**args, **strict}, **kw)


def _positive(*columns: str) -> list[Check]:
    return [_between(c, 0, strict_min=True) for c in columns]


def _non_negative(*columns: str) -> list[Check]:
    return [_between(c, 0) for c in columns]


def _in_set(column: str, values: list[str]) -> Check:
    return Check("ExpectColumnValuesToBeInSet", {"column": column, "value_set": values})


def _completeness(dataset: str, severity: str = "error") -> Check:
    lo, hi = EXPECTED_ROWS[dataset]
    return _between("n_points", lo, hi, severity=severity, frame="daily_counts")


# Funding beyond +-5% per interval is not a market, it is a broken feed (venues cap it far lower).
MAX_ABS_FUNDING = 0.05
# A perp close and the spot price of the same hour differ by more than this only on bad data.
MAX_PERP_SPOT_DIFF = 0.05


def generic_staged_suite(dataset: str, universe: Universe) -> list[Check]:
    """Keys not null and unique, assets and venues known, rows inside their partition."""
    keys = KEYS[dataset]
    checks = [
        *_not_null(*keys),
        Check("ExpectCompoundColumnsToBeUnique", {"column_list": keys}),
        Check(
            "ExpectColumnPairValuesToBeEqual",
            {"column_A": "_ts_date", "column_B": "_partition_date"},
        ),
    ]
    if "asset" in SCHEMAS[dataset]:
        checks.append(_in_set("asset", universe.symbols))
    if "venue" in SCHEMAS[dataset]:
        checks.append(_in_set("venue", list(VENUES)))
    return checks


def staged_suite(dataset: str, universe: Universe) -> list[Check]:
    """Checks on staged canonical rows of one dataset (one day or many)."""
    base = generic_staged_suite(dataset, universe)
    if dataset == "spot_prices":
        return [
            *base,
            *_not_null("price_usd"),
            *_positive("price_usd"),
            *_non_negative("market_cap_usd", "volume_usd"),
            _completeness(dataset),
            _between("abs_log_return_1h", hi=0.5, severity="warn", frame="hourly_moves"),
        ]
    if dataset == "equity_prices":
        return [
            *base[:3],
            *_not_null("close"),
            _in_set("ticker", universe.tickers),
            *_positive("close", "open"),
            *_non_negative("volume"),
            Check(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": "high", "column_B": "low", "or_equal": True},
            ),
        ]
    if dataset == "perp_klines":
        return [
            *base,
            *_not_null("close"),
            *_positive("open", "high", "low", "close"),
            *_non_negative("volume_base", "volume_usd"),
            Check(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": "high", "column_B": "low", "or_equal": True},
            ),
            _completeness(dataset),
        ]
    if dataset == "funding_rates":
        return [
            *base,
            *_not_null("funding_rate"),
            _between("funding_rate", -MAX_ABS_FUNDING, MAX_ABS_FUNDING),
            _between("interval_hours", 1, 8),
            *_positive("mark_price"),
            _completeness(dataset),
        ]
    if dataset == "open_interest":
        return [
            *base,
            *_non_negative("open_interest_base", "open_interest_usd"),
            # open interest never moves 10x between two observations: a unit or feed error
            _between("oi_ratio_1h", 0.1, 10, frame="oi_jumps"),
            _completeness(dataset),
        ]
    if dataset == "long_short_ratio":
        return [
            *base,
            _in_set("kind", ["global_accounts", "top_accounts", "top_positions"]),
            _between("long_share", 0, 1),
            _between("short_share", 0, 1),
            *_non_negative("long_short_ratio"),
            _between("share_sum", 0.98, 1.02, severity="warn", frame="share_sums"),
            _completeness(dataset, severity="warn"),
        ]
    if dataset == "taker_volume":
        return [
            *base,
            *_non_negative("buy_volume_usd", "sell_volume_usd"),
            _completeness(dataset, severity="warn"),
        ]
    if dataset == "liquidations":
        return [
            *base,
            _in_set("side", ["long", "short"]),
            *_positive("price", "qty_base"),
            *_non_negative("notional_usd"),
        ]
    if dataset == "exchange_flows":
        return [
            *base,
            *_not_null("inflow_native", "outflow_native", "reserve_native"),
            *_non_negative("inflow_native", "outflow_native", "reserve_native"),
            _completeness(dataset),
        ]
    if dataset == "order_book":
        return [
            *base,
            *_positive("best_bid", "best_ask"),
            Check(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": "best_ask", "column_B": "best_bid", "or_equal": True},
            ),
            _between("spread_bps", 0, 500),
            *_non_negative("bid_depth_usd_1pct", "ask_depth_usd_1pct"),
            _completeness(dataset, severity="warn"),
        ]
    if dataset in WATCHLIST_DATASETS:  # watch-list datasets (issue 9)
        return watchlist_staged_suite(dataset, universe)
    return base


def cross_source_suite() -> list[Check]:
    """Checks across datasets of the same days (frame `perp_vs_spot`)."""
    return [
        _between("rel_diff", 0, MAX_PERP_SPOT_DIFF, frame="perp_vs_spot"),
    ]


MART_KEYS = {
    "fct_derivatives_daily": ["date", "asset"],
    "fct_exchange_flows_daily": ["date", "asset"],
    "fct_liquidity_daily": ["date", "asset", "venue"],
    "fct_liquidation_levels": ["date", "asset", "side", "price_level"],
    "fct_liquidation_risk_daily": ["date", "asset"],
}


def mart_suite(table: str, universe: Universe) -> list[Check]:
    """Checks on published mart tables (validated as DataFrames queried from the build)."""
    if table == "fct_asset_daily":
        return [
            *_not_null("date", "asset", "close_usd"),
            Check("ExpectCompoundColumnsToBeUnique", {"column_list": ["date", "asset"]}),
            Check(
                "ExpectColumnValuesToBeBetween",
                {"column": "close_usd", "min_value": 0, "strict_min": True},
            ),
            Check(
                "ExpectColumnValuesToBeBetween",
                {"column": "return_1d", "min_value": -0.95, "max_value": 20},
            ),
            Check(
                "ExpectColumnValuesToBeBetween",
                {"column": "drawdown_from_30d_high", "min_value": -1, "max_value": 0},
            ),
        ]
    if table == "fct_sector_daily":
        return [
            *_not_null("date", "sector", "market_cap_usd", "n_assets"),
            Check("ExpectCompoundColumnsToBeUnique", {"column_list": ["date", "sector"]}),
            Check(
                "ExpectColumnValuesToBeBetween",
                {"column": "market_cap_usd", "min_value": 0, "strict_min": True},
            ),
            Check(
                "ExpectColumnValuesToBeBetween",
                {"column": "breadth_up_share", "min_value": 0, "max_value": 1},
            ),
            Check(
                "ExpectColumnValuesToBeBetween",
                {"column": "corr_btc_30d", "min_value": -1, "max_value": 1},
            ),
            Check(
                "ExpectColumnValuesToBeBetween",
                {"column": "corr_equities_30d", "min_value": -1, "max_value": 1},
            ),
            Check(
                "ExpectColumnValuesToBeBetween",
                {"column": "drawdown_from_30d_high", "min_value": -1, "max_value": 0},
            ),
            # the sector's cap is the sum of its members' caps (checked against fct_asset_daily)
            Check(
                "ExpectColumnValuesToBeBetween",
                {"column": "cap_relative_diff", "min_value": -1e-9, "max_value": 1e-9},
                frame="cap_reconciliation",
            ),
            # every member present on every day
            Check(
                "ExpectColumnPairValuesToBeEqual", {"column_A": "n_assets", "column_B": "n_members"}
            ),
        ]
    if table == "fct_watchlist_daily":  # watch-list mart (issue 9)
        return watchlist_mart_suite(universe)
    key = MART_KEYS.get(table)
    if key is None:
        raise KeyError(f"no mart suite for table {table!r}")
    checks = [
        *_not_null(*key),
        Check("ExpectCompoundColumnsToBeUnique", {"column_list": key}),
        _in_set("asset", universe.symbols),
    ]
    if table == "fct_derivatives_daily":
        return [
            *checks,
            *_non_negative("open_interest_usd", "liquidations_long_usd", "liquidations_short_usd"),
            _between("n_venues", 1, len(VENUES)),
            Check(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": "funding_rate_annualized", "column_B": "venue_min"},
                frame="funding_bounds",
            ),
            Check(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": "venue_max", "column_B": "funding_rate_annualized"},
                frame="funding_bounds",
            ),
        ]
    if table == "fct_exchange_flows_daily":
        return [*checks, *_non_negative("inflow_usd", "outflow_usd", "reserve_usd")]
    if table == "fct_liquidity_daily":
        return [
            *checks,
            _in_set("venue", list(VENUES)),
            _between("spread_bps", 0, 500),
            *_non_negative("bid_depth_usd_1pct", "ask_depth_usd_1pct"),
        ]
    if table == "fct_liquidation_levels":
        return [
            *checks,
            _in_set("side", ["long", "short"]),
            *_positive("price_level"),
            *_non_negative("est_notional_usd"),
        ]
    if table == "fct_liquidation_risk_daily":
        return [
            *checks,
            *_not_null("risk_score", "risk_tier"),
            _between("risk_score", 0, 100),
            _in_set("risk_tier", ["low", "elevated", "high", "extreme"]),
            *_non_negative(
                "open_interest_usd",
                "est_long_liq_usd_5pct",
                "est_long_liq_usd_10pct",
                "est_long_liq_usd_20pct",
                "est_short_liq_usd_5pct",
                "est_short_liq_usd_10pct",
                "est_short_liq_usd_20pct",
            ),
            # a bigger move liquidates at least as much
            Check(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {
                    "column_A": "est_long_liq_usd_20pct",
                    "column_B": "est_long_liq_usd_10pct",
                    "or_equal": True,
                },
            ),
            Check(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {
                    "column_A": "est_long_liq_usd_10pct",
                    "column_B": "est_long_liq_usd_5pct",
                    "or_equal": True,
                },
            ),
        ]
    return checks


# --- watch-list (issue 9): staged datasets and the mart --------------------------------------

WATCHLIST_DATASETS = frozenset(
    {
        "options_activity",
        "options_volatility",
        "developer_activity",
        "onchain_activity",
        "capex_guidance",
    }
)
# DVOL (annualised implied volatility, percent) outside this range is a broken feed
DVOL_RANGE = (1.0, 400.0)
FLAG_SEPARATOR = "; "


def watchlist_staged_suite(dataset: str, universe: Universe) -> list[Check]:
    """Staged checks of the watch-list datasets (their venue is Deribit, not a perp venue)."""
    keys = KEYS[dataset]
    base = [
        *_not_null(*keys),
        Check("ExpectCompoundColumnsToBeUnique", {"column_list": keys}),
        Check(
            "ExpectColumnPairValuesToBeEqual",
            {"column_A": "_ts_date", "column_B": "_partition_date"},
        ),
    ]
    if dataset == "options_activity":
        return [
            *base,
            _in_set("venue", ["deribit"]),
            _in_set("asset", universe.symbols),
            *_non_negative(
                "volume_base",
                "volume_usd",
                "put_volume_usd",
                "call_volume_usd",
                "open_interest_base",
                "open_interest_usd",
                "put_open_interest_usd",
                "call_open_interest_usd",
            ),
            _between("n_instruments", 1, strict_min=False),
            _between("mark_iv_oi_weighted", *DVOL_RANGE),
            _completeness(dataset, severity="warn"),
        ]
    if dataset == "options_volatility":
        return [
            *base,
            _in_set("venue", ["deribit"]),
            _in_set("asset", universe.symbols),
            *_not_null("close"),
            *(_between(c, *DVOL_RANGE) for c in ("open", "high", "low", "close")),
            Check(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": "high", "column_B": "low", "or_equal": True},
            ),
            _completeness(dataset),
        ]
    if dataset == "developer_activity":
        return [
            *base,
            _in_set("asset", universe.symbols),
            *_not_null("author", "is_merge"),
            Check("ExpectColumnValuesToMatchRegex", {"column": "sha", "regex": r"^[0-9a-f]{40}$"}),
        ]
    if dataset == "onchain_activity":
        return [
            *base,
            _in_set("asset", universe.symbols),
            *_not_null("active_addresses", "tx_count"),
            *_non_negative("active_addresses", "tx_count"),
            _completeness(dataset),
        ]
    if dataset == "capex_guidance":
        # the key is (as_of_date, company, fiscal_period): one guidance per company-period
        return [
            *base,
            *_not_null("announcement_date", "source_title", "source_url", "ticker"),
            _positive("capex_guidance_usd")[0],
            Check(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": "as_of_date", "column_B": "announcement_date", "or_equal": True},
            ),
            Check(
                "ExpectColumnValuesToMatchRegex",
                {"column": "source_url", "regex": r"^https?://[^ ]+$"},
            ),
            Check(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {
                    "column_A": "capex_guidance_high_usd",
                    "column_B": "capex_guidance_low_usd",
                    "or_equal": True,
                },
            ),
        ]
    return base


def watchlist_mart_suite(universe: Universe) -> list[Check]:
    """marts.fct_watchlist_daily: one row per day and key, known keys, bounded measures."""
    keys = [*universe.symbols, *universe.sectors]
    return [
        *_not_null("date", "key", "key_kind", "n_flags"),
        Check("ExpectCompoundColumnsToBeUnique", {"column_list": ["date", "key"]}),
        _in_set("key", keys),
        _in_set("key_kind", ["asset", "sector"]),
        _between("drawdown_7d", -1, 0),
        _between("put_volume_share", 0, 1),
        _between("risk_score", 0, 100),
        _between("n_flags", 0, 20),
        *_non_negative(
            "options_volume_usd",
            "dev_commits_7d",
            "dev_contributors_30d",
            "active_addresses",
            "capex_guidance_usd",
        ),
    ]
