"""The demo market: a deterministic, seeded simulator of spot and equity prices.

Prices pass exactly through calibration anchors (pipeline/config/demo_market.toml) with seeded
Brownian-bridge noise between them and a seeded random walk outside them, so any date range
can be simulated and the February 2026 crash is reproduced. Everything is a pure function of
(seed, asset, hour): the same hour always has the same price, whatever range was requested.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from pipeline.config import CONFIG_DIR, Universe
from pipeline.demo import rng

HOUR_S = 3600
EPOCH = date(1970, 1, 1)


def hour_index(ts: datetime) -> int:
    return int(ts.timestamp()) // HOUR_S


def close_hour(day: date) -> int:
    """The hour index of a day's close: its last hourly point, 23:00 UTC."""
    return (day - EPOCH).days * 24 + 23


@dataclass(frozen=True)
class CryptoSpec:
    symbol: str
    supply: float
    supply_growth_per_year: float
    hourly_vol: float
    turnover: float
    anchors: tuple[tuple[date, float], ...]


@dataclass(frozen=True)
class EquitySpec:
    ticker: str
    avg_volume: float
    daily_vol: float
    anchors: tuple[tuple[date, float], ...]


def _anchors(rows: list) -> tuple[tuple[date, float], ...]:
    return tuple(sorted((date.fromisoformat(d), float(v)) for d, v in rows))


def _bridge(
    seed: int, stream: int, knots_t: np.ndarray, knots_y: np.ndarray, t: np.ndarray, vol: float
) -> np.ndarray:
    """Log-path through (knots_t, knots_y) at integer times t: bridge inside, walk outside."""
    out = np.empty(len(t), dtype=np.float64)
    lo, hi = int(min(t.min(), knots_t[0])), int(max(t.max(), knots_t[-1]))
    steps = rng.normal(seed, stream, np.arange(lo, hi + 1)) * vol  # step k is the move into k
    walk = np.concatenate([[0.0], np.cumsum(steps)])  # walk[k - lo + 1] = sum of steps lo..k

    def w(k: np.ndarray) -> np.ndarray:
        return walk[np.asarray(k) - lo + 1]

    pos = np.searchsorted(knots_t, t, side="right")  # knots_t[pos-1] <= t < knots_t[pos]
    before = pos == 0
    after = pos == len(knots_t)
    inside = ~before & ~after
    out[before] = knots_y[0] - (w(knots_t[0]) - w(t[before]))
    out[after] = knots_y[-1] + (w(t[after]) - w(knots_t[-1]))
    i0 = pos[inside] - 1
    t0, t1 = knots_t[i0], knots_t[i0 + 1]
    y0, y1 = knots_y[i0], knots_y[i0 + 1]
    frac = (t[inside] - t0) / (t1 - t0)
    noise = (w(t[inside]) - w(t0)) - frac * (w(t1) - w(t0))
    out[inside] = y0 + frac * (y1 - y0) + noise
    return out


@dataclass
class DemoMarket:
    """Seeded simulator for the universe in config (plus synthetic assets for benchmarks)."""

    universe: Universe
    seed: int
    crypto: dict[str, CryptoSpec] = field(default_factory=dict)
    equities: dict[str, EquitySpec] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @classmethod
    def from_config(cls, universe: Universe, seed: int | None = None) -> DemoMarket:
        with open(CONFIG_DIR / "demo_market.toml", "rb") as fh:
            cfg = tomllib.load(fh)
        seed = cfg["seed"] if seed is None else seed
        crypto: dict[str, CryptoSpec] = {}
        syn = cfg["synthetic"]
        for asset in universe.assets:
            spec = cfg["crypto"].get(asset.symbol)
            if spec is not None:
                crypto[asset.symbol] = CryptoSpec(
                    symbol=asset.symbol,
                    supply=spec["supply"],
                    supply_growth_per_year=spec["supply_growth_per_year"],
                    hourly_vol=spec["hourly_vol"],
                    turnover=spec["turnover"],
                    anchors=_anchors(spec["anchors"]),
                )
                continue
            s = rng.stream_id("synthetic", asset.symbol)
            u = rng.uniform(seed, s, np.arange(3))
            base = 10 ** (-1 + 4 * u[0])  # $0.1 .. $1000
            beta = 0.6 + 0.8 * u[1]
            crypto[asset.symbol] = CryptoSpec(
                symbol=asset.symbol,
                supply=float(10 ** (7 + 2 * u[2])),
                supply_growth_per_year=0.02,
                hourly_vol=syn["hourly_vol"],
                turnover=syn["turnover"],
                anchors=tuple((d, base * lvl**beta) for d, lvl in _anchors(syn["shape"])),
            )
        eq = cfg["equity"]
        equities = {
            e.ticker: EquitySpec(
                ticker=e.ticker,
                avg_volume=eq[e.ticker]["avg_volume"],
                daily_vol=eq["daily_vol"],
                anchors=_anchors(eq[e.ticker]["anchors"]),
            )
            for e in universe.equities
        }
        holidays = frozenset(date.fromisoformat(d) for d in eq["holidays"])
        return cls(universe, seed, crypto, equities, holidays)

    # -- crypto ------------------------------------------------------------------------
    def _log_price(self, spec: CryptoSpec, hours: np.ndarray) -> np.ndarray:
        knots_t = np.array([close_hour(d) for d, _ in spec.anchors], dtype=np.int64)
        knots_y = np.log([p for _, p in spec.anchors])
        return _bridge(
            self.seed, rng.stream_id("price", spec.symbol), knots_t, knots_y, hours, spec.hourly_vol
        )

    def spot(self, symbol: str, start: datetime, end: datetime) -> dict[str, np.ndarray]:
        """Hourly points in [start, end): hour index, price, market cap and rolling 24h volume."""
        spec = self.crypto[symbol]
        h0, h1 = -(-int(start.timestamp()) // HOUR_S), -(-int(end.timestamp()) // HOUR_S)
        hours = np.arange(h0, h1, dtype=np.int64)
        if len(hours) == 0:
            empty = np.array([], dtype=np.float64)
            return {"hour": hours, "price": empty, "market_cap": empty, "volume_24h": empty}
        ext = np.arange(h0 - 24, h1, dtype=np.int64)  # 24 h more for the rolling volume
        logp = self._log_price(spec, ext)
        price = np.exp(logp)
        years = (ext - close_hour(spec.anchors[0][0])) / (24 * 365.0)
        cap = price * spec.supply * (1 + spec.supply_growth_per_year * years)
        move = np.abs(np.diff(logp, prepend=logp[0]))
        z = rng.normal(self.seed, rng.stream_id("volume", symbol), ext)
        hourly_volume = spec.turnover / 24 * cap * (1 + 25 * move) * np.exp(0.25 * z)
        rolling = np.convolve(hourly_volume, np.ones(24), mode="full")[: len(ext)]
        return {
            "hour": hours,
            "price": price[24:],
            "market_cap": cap[24:],
            "volume_24h": rolling[24:],
        }

    def close(self, symbol: str, day: date) -> float:
        """True daily close (the 23:00 UTC hourly point), for tests."""
        start = datetime(day.year, day.month, day.day, 23, tzinfo=UTC)
        return float(self.spot(symbol, start, start + timedelta(hours=1))["price"][0])

    # -- equities ----------------------------------------------------------------------
    def is_trading_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def _trading_index(self, days: list[date]) -> np.ndarray:
        hol = sorted(self.holidays)
        return np.busday_count(
            np.datetime64(EPOCH), np.array(days, dtype="datetime64[D]"), holidays=hol
        )

    def equity_bars(self, ticker: str, first: date, last: date) -> list[dict]:
        """Daily OHLCV bars for trading days in [first, last]."""
        spec = self.equities[ticker]
        days = [
            first + timedelta(days=i)
            for i in range((last - first).days + 1)
            if self.is_trading_day(first + timedelta(days=i))
        ]
        if not days:
            return []
        idx = self._trading_index(days)
        knot_days = [d for d, _ in spec.anchors]
        knots_t = self._trading_index(knot_days)
        knots_y = np.log([p for _, p in spec.anchors])
        stream = rng.stream_id("equity", ticker)
        closes = np.exp(_bridge(self.seed, stream, knots_t, knots_y, idx, spec.daily_vol))
        prev = np.exp(_bridge(self.seed, stream, knots_t, knots_y, idx - 1, spec.daily_vol))
        gap = rng.normal(self.seed, stream + 1, idx) * spec.daily_vol * 0.4
        opens = prev * np.exp(gap)
        wick = np.abs(rng.normal(self.seed, stream + 2, 2 * idx)) * spec.daily_vol * 0.5
        highs = np.maximum(opens, closes) * np.exp(wick)
        lows = np.minimum(opens, closes) * np.exp(
            -np.abs(rng.normal(self.seed, stream + 3, idx)) * spec.daily_vol * 0.5
        )
        move = np.abs(np.log(closes / prev))
        vol = (
            spec.avg_volume * (1 + 15 * move) * np.exp(0.2 * rng.normal(self.seed, stream + 4, idx))
        )
        return [
            {
                "date": d,
                "open": round(float(o), 2),
                "high": round(float(h), 2),
                "low": round(float(lo), 2),
                "close": round(float(c), 2),
                "volume": int(v),
            }
            for d, o, h, lo, c, v in zip(days, opens, highs, lows, closes, vol, strict=True)
        ]
