"""Expectation suites, kept as data: one per dataset per stage.

Each check names a Great Expectations 1.x expectation class, its arguments, a severity
(`error` stops the run; `warn` is reported), and the frame it validates: `rows` (the data
itself; failing rows are quarantined) or a derived frame such as `daily_counts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pipeline.config import Universe
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


# Completeness: hourly series should have about 24 points per asset-day (CoinGecko's
# automatic granularity can drop or add one around the day's edges).
MIN_POINTS_PER_DAY = 20
MAX_POINTS_PER_DAY = 30


def staged_suite(dataset: str, universe: Universe) -> list[Check]:
    """Checks on staged canonical rows of one dataset (one day or many)."""
    if dataset == "spot_prices":
        return [
            *_not_null("ts", "asset", "source", "price_usd"),
            Check("ExpectCompoundColumnsToBeUnique", {"column_list": ["ts", "asset", "source"]}),
            Check(
                "ExpectColumnValuesToBeInSet", {"column": "asset", "value_set": universe.symbols}
            ),
            Check(
                "ExpectColumnValuesToBeBetween",
                {"column": "price_usd", "min_value": 0, "strict_min": True},
            ),
            Check("ExpectColumnValuesToBeBetween", {"column": "market_cap_usd", "min_value": 0}),
            Check("ExpectColumnValuesToBeBetween", {"column": "volume_usd", "min_value": 0}),
            Check(
                "ExpectColumnPairValuesToBeEqual",
                {"column_A": "_ts_date", "column_B": "_partition_date"},
            ),
            Check(
                "ExpectColumnValuesToBeBetween",
                {
                    "column": "n_points",
                    "min_value": MIN_POINTS_PER_DAY,
                    "max_value": MAX_POINTS_PER_DAY,
                },
                frame="daily_counts",
            ),
            Check(
                "ExpectColumnValuesToBeBetween",
                {"column": "abs_log_return_1h", "max_value": 0.5},
                severity="warn",
                frame="hourly_moves",
            ),
        ]
    if dataset == "equity_prices":
        return [
            *_not_null("date", "ticker", "close"),
            Check("ExpectCompoundColumnsToBeUnique", {"column_list": ["date", "ticker"]}),
            Check(
                "ExpectColumnValuesToBeInSet", {"column": "ticker", "value_set": universe.tickers}
            ),
            Check(
                "ExpectColumnValuesToBeBetween",
                {"column": "close", "min_value": 0, "strict_min": True},
            ),
            Check(
                "ExpectColumnValuesToBeBetween",
                {"column": "open", "min_value": 0, "strict_min": True},
            ),
            Check("ExpectColumnValuesToBeBetween", {"column": "volume", "min_value": 0}),
            Check(
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": "high", "column_B": "low", "or_equal": True},
            ),
            Check(
                "ExpectColumnPairValuesToBeEqual",
                {"column_A": "_ts_date", "column_B": "_partition_date"},
            ),
        ]
    return generic_staged_suite(dataset, universe)


def generic_staged_suite(dataset: str, universe: Universe) -> list[Check]:
    """Keys not null and unique, assets known, rows inside their partition."""
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
        checks.append(
            Check("ExpectColumnValuesToBeInSet", {"column": "asset", "value_set": universe.symbols})
        )
    return checks


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
    raise KeyError(f"no mart suite for table {table!r}")
