"""Perpetual-futures venues of the demo market: leveraged position cohorts and their fate.

Every hour, on every venue, agents open positions in an asset: a notional split over leverage
tiers and between longs and shorts (more longs after a fall: dip buying). Each cohort is closed
voluntarily at a steady hazard (mean holding time) and is liquidated in the first hourly bar
whose low (longs) or high (shorts) crosses its liquidation price
`entry * (1 - 1/leverage + mm)` (longs) or `entry * (1 + 1/leverage - mm)` (shorts).

Open interest is the sum of open notional, funding follows the long/short imbalance, the perp
trades at a premium that follows the flow, and order books widen and thin with volatility.
Nothing is stored: a block of days is computed from the spot path with `max_holding_hours` of
warm-up, so any day has the same values whatever range was requested, and the simulator's
ground truth (true liquidations, true long and short open interest) is available to tests.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from pipeline.config import CONFIG_DIR
from pipeline.demo import rng
from pipeline.demo.market import EPOCH, HOUR_S, DemoMarket

BLOCK_DAYS = 16


def _by_asset(table: dict, asset: str) -> float:
    return float(table.get(asset, table["default"]))


def _interp_days(anchors: list, days: np.ndarray) -> np.ndarray:
    """Piecewise-linear schedule over day numbers, 0 outside its anchors."""
    xs = np.array([(date.fromisoformat(d) - EPOCH).days for d, _ in anchors], dtype=float)
    ys = np.array([float(v) for _, v in anchors])
    return np.interp(days.astype(float), xs, ys, left=0.0, right=0.0)


@dataclass(frozen=True)
class PerpDay:
    """One venue, asset and UTC day: 24 hourly bars (start hours `hours`) and liquidations."""

    venue: str
    asset: str
    day: date
    hours: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume_base: np.ndarray
    buy_volume_base: np.ndarray
    sell_volume_base: np.ndarray
    long_oi_base: np.ndarray  # at the end of each bar
    short_oi_base: np.ndarray
    funding_rate: np.ndarray  # the rate settled at the start of each bar (NaN: no settlement)
    global_account_long_share: np.ndarray
    top_account_long_share: np.ndarray
    top_position_long_share: np.ndarray
    liq_ms: np.ndarray  # one row per liquidation order
    liq_side: np.ndarray  # "long" / "short": the side of the liquidated position
    liq_price: np.ndarray
    liq_qty_base: np.ndarray

    @property
    def oi_base(self) -> np.ndarray:
        return self.long_oi_base + self.short_oi_base

    @property
    def funding_hours(self) -> np.ndarray:
        return self.hours[~np.isnan(self.funding_rate)]


class PerpMarket:
    """The perp venues of a `DemoMarket` (same universe, seed and spot paths)."""

    def __init__(self, market: DemoMarket) -> None:
        self.market = market
        with open(CONFIG_DIR / "demo_market.toml", "rb") as fh:
            cfg = tomllib.load(fh)
        self.cfg = cfg["perps"]
        self.flow_cfg = cfg["flows"]
        self.venues: list[str] = list(self.cfg["venues"])
        self._share = dict(zip(self.venues, self.cfg["venue_share"], strict=True))
        self._tiers = np.array(self.cfg["leverage_tiers"], dtype=float)
        self._weights = np.array(self.cfg["tier_weights"], dtype=float)
        self._weights /= self._weights.sum()
        self._block = lru_cache(maxsize=4096)(self._compute_block)

    # -- public API ----------------------------------------------------------------------
    def day(self, venue: str, asset: str, day: date) -> PerpDay:
        block_no = (day - EPOCH).days // BLOCK_DAYS
        b = self._block(venue, asset, block_no)
        first = (day - EPOCH).days * 24
        i0 = first - b["t0"]
        sl = slice(i0, i0 + 24)
        ms0, ms1 = first * HOUR_S * 1000, (first + 24) * HOUR_S * 1000
        in_day = (b["liq_ms"] >= ms0) & (b["liq_ms"] < ms1)
        return PerpDay(
            venue=venue,
            asset=asset,
            day=day,
            hours=np.arange(first, first + 24, dtype=np.int64),
            **{k: b[k][sl] for k in _BAR_FIELDS},
            liq_ms=b["liq_ms"][in_day],
            liq_side=b["liq_side"][in_day],
            liq_price=b["liq_price"][in_day],
            liq_qty_base=b["liq_qty"][in_day],
        )

    def order_book(
        self, venue: str, asset: str, at: datetime, levels: int = 50
    ) -> tuple[list[list[float]], list[list[float]]]:
        """A depth snapshot at `at`: (bids, asks) as [price, qty_base], best first.

        Levels are spread over 2% of mid; the quantity within 1% of mid on each side equals
        the venue's 1% depth, which thins (and the spread widens) with 24h volatility.
        """
        hour = int(at.timestamp()) // HOUR_S
        day = datetime.fromtimestamp(hour * HOUR_S, UTC).date()
        pday = self.day(venue, asset, day)
        i = hour - int(pday.hours[0])
        prev = self.day(venue, asset, day - timedelta(days=1))
        closes = np.concatenate([prev.close, pday.close[: i + 1]])[-25:]
        rv = float(np.std(np.diff(np.log(closes))))
        sens = self.cfg["volatility_sensitivity"]
        mid = float(pday.open[i])
        spread = _by_asset(self.cfg["spread_bps"], asset) * (1 + sens * rv) / 1e4
        cap = self.market.spot(asset, at - timedelta(hours=1), at)["market_cap"]
        depth_usd = (
            _by_asset(self.cfg["depth_1pct_to_cap"], asset)
            * float(cap[-1] if len(cap) else 0.0)
            * self._share[venue]
            / (1 + sens * rv)
        )
        stream = rng.stream_id("book", venue, asset)
        u = rng.uniform(
            self.market.seed, stream, np.arange(hour * 2 * levels, (hour + 1) * 2 * levels)
        )
        offsets = spread / 2 + np.arange(levels) * (0.02 / levels)
        inside = offsets <= 0.01
        weights = (0.5 + u).reshape(2, levels) * np.exp(-np.arange(levels) / levels)
        books = []
        for side, w in ((-1, weights[0]), (1, weights[1])):
            usd = w / w[inside].sum() * depth_usd
            prices = mid * (1 + side * offsets)
            books.append([[float(p), float(q / p)] for p, q in zip(prices, usd, strict=True)])
        return books[0], books[1]

    def exchange_flows(self, asset: str, day: date) -> tuple[float, float, float]:
        """(inflow, outflow, reserve at end of day), native units, for one UTC day."""
        spec = self.market.crypto[asset]
        anchor = (date(2025, 1, 1) - EPOCH).days
        d = (day - EPOCH).days
        lo, hi = min(anchor, d - 1), max(anchor, d)
        days = np.arange(lo, hi + 1)
        stream = rng.stream_id("flows", asset)
        net = _interp_days(self.flow_cfg["stress"], days) + 0.002 * rng.normal(
            self.market.seed, stream, days
        )
        cum = np.concatenate([[0.0], np.cumsum(net[1:])])  # log reserve relative to day lo
        log_r = cum - cum[anchor - lo]
        years = (days - anchor) / 365.0
        supply = spec.supply * (1 + spec.supply_growth_per_year * years)
        reserve = _by_asset(self.flow_cfg["reserve_share"], asset) * supply * np.exp(log_r)
        r_prev, r_now = float(reserve[d - 1 - lo]), float(reserve[d - lo])
        turnover = self.flow_cfg["daily_turnover"] * np.exp(
            0.2 * float(rng.normal(self.market.seed, stream + 1, np.array([d]))[0])
        )
        outflow = turnover * r_prev
        inflow = outflow + (r_now - r_prev)
        if inflow < 0:  # a large net outflow: nothing came in
            outflow, inflow = outflow - inflow, 0.0
        return inflow, outflow, r_now

    def truth_liquidations(self, day: date) -> dict[str, list]:
        """Every liquidation order of the day on every venue (the ground truth)."""
        rows: dict[str, list] = {k: [] for k in ("ms", "venue", "asset", "side", "price", "qty")}
        for venue in self.venues:
            for asset in self.market.universe.symbols:
                p = self.day(venue, asset, day)
                n = len(p.liq_ms)
                rows["ms"] += p.liq_ms.tolist()
                rows["venue"] += [venue] * n
                rows["asset"] += [asset] * n
                rows["side"] += p.liq_side.tolist()
                rows["price"] += p.liq_price.tolist()
                rows["qty"] += p.liq_qty_base.tolist()
        return rows

    # -- the simulation --------------------------------------------------------------------
    def _compute_block(self, venue: str, asset: str, block_no: int) -> dict[str, np.ndarray]:
        cfg, seed = self.cfg, self.market.seed
        spec = self.market.crypto[asset]
        W = int(cfg["max_holding_hours"])
        tau = float(cfg["mean_holding_hours"])
        t0 = block_no * BLOCK_DAYS * 24
        t1 = t0 + BLOCK_DAYS * 24
        o = t0 - W  # first cohort hour: enough warm-up that every bar of the block is exact
        lead = 72  # extra hours of price for the 72h return
        start = datetime.fromtimestamp((o - lead) * HOUR_S, UTC)
        end = datetime.fromtimestamp((t1 + 1) * HOUR_S, UTC)
        spot = self.market.spot(asset, start, end)  # hours o-lead .. t1 inclusive
        sp = spot["price"]
        hours = np.arange(o - lead, t1 + 1, dtype=np.int64)
        stream = rng.stream_id("perp", venue, asset)

        # flow of new positions: long share leans against the 72h move (dip buying)
        ret72 = np.log(sp[lead:] / sp[:-lead])  # for hours o .. t1
        z = rng.normal(seed, stream, hours[lead:])
        long_share = np.clip(
            cfg["long_bias"] + cfg["dip_buying"] * np.tanh(-5 * ret72) + 0.03 * z, 0.15, 0.85
        )
        perp = sp[lead:] * (1 + cfg["premium_per_imbalance"] * (2 * long_share - 1))
        n_bars = t1 - o  # bars o .. t1-1; perp has one more point (the last close)
        p_open, p_close = perp[:-1], perp[1:]
        wick = spec.hourly_vol * 0.6
        hi = np.maximum(p_open, p_close) * np.exp(
            np.abs(rng.normal(seed, stream + 1, hours[lead:-1])) * wick
        )
        lo = np.minimum(p_open, p_close) * np.exp(
            -np.abs(rng.normal(seed, stream + 2, hours[lead:-1])) * wick
        )
        ret1 = np.abs(np.log(p_close / p_open))
        cap = spot["market_cap"][lead:-1]
        oi_target = _by_asset(cfg["oi_to_cap"], asset) * cap * self._share[venue]
        open_usd = (
            oi_target
            / tau
            * (1 + 10 * ret1)
            * np.exp(0.2 * rng.normal(seed, stream + 3, hours[lead:-1]))
        )
        open_qty = open_usd / p_open  # cohorts open at the bar's open price

        # first passage: the first bar (offset k from opening) that crosses each cohort's
        # liquidation price; W means "not within the holding horizon"
        pad_lo = np.concatenate([lo, np.full(W - 1, np.inf)])
        pad_hi = np.concatenate([hi, np.full(W - 1, -np.inf)])
        run_min = np.minimum.accumulate(sliding_window_view(pad_lo, W), axis=1)
        run_max = np.maximum.accumulate(sliding_window_view(pad_hi, W), axis=1)
        mm = cfg["maintenance_margin"]
        bar = np.arange(n_bars)
        alive_diff = {"long": np.zeros(n_bars + W + 1), "short": np.zeros(n_bars + W + 1)}
        liq_bar, liq_side, liq_price, liq_qty = [], [], [], []
        for lev, weight in zip(self._tiers, self._weights, strict=True):
            for side in ("long", "short"):
                share = long_share[:-1] if side == "long" else 1 - long_share[:-1]
                qty = open_qty * weight * share
                if side == "long":
                    thr = p_open * (1 - 1 / lev + mm)
                    k = (run_min > thr[:, None]).sum(axis=1)
                else:
                    thr = p_open * (1 + 1 / lev - mm)
                    k = (run_max < thr[:, None]).sum(axis=1)
                # alive at the end of bar t for bar <= t < bar + k; its size decays at rate 1/tau
                amount = qty * np.exp(bar / tau)
                np.add.at(alive_diff[side], bar, amount)
                np.add.at(alive_diff[side], bar + k, -amount)
                hit = (k < W) & (bar + k < n_bars)
                liq_bar.append(bar[hit] + k[hit])
                liq_side.append(np.full(hit.sum(), side))
                liq_price.append(thr[hit])
                liq_qty.append(qty[hit] * np.exp(-(k[hit] + 0.5) / tau))
        decay = np.exp(-(bar + 1) / tau)
        long_oi = np.cumsum(alive_diff["long"])[:n_bars] * decay
        short_oi = np.cumsum(alive_diff["short"])[:n_bars] * decay

        lb = np.concatenate(liq_bar)
        order = np.argsort(lb, kind="stable")
        lb = lb[order]
        ls = np.concatenate(liq_side)[order]
        lp = np.concatenate(liq_price)[order]
        lq = np.concatenate(liq_qty)[order]
        keep = lb >= W  # only the block's own bars (warm-up bars miss older cohorts)
        lb, ls, lp, lq = lb[keep], ls[keep], lp[keep], lq[keep]
        # each cohort's liquidation is a few orders at distinct instants within the bar
        idx = np.arange(len(lb)) + block_no * 1_000_003
        pieces = 2
        u = rng.uniform(
            seed, stream + 4, np.repeat(idx * pieces, pieces) + np.tile(np.arange(pieces), len(lb))
        ).reshape(-1, pieces)
        frac = u / u.sum(axis=1, keepdims=True)
        when = rng.uniform(
            seed, stream + 5, np.repeat(idx * pieces, pieces) + np.tile(np.arange(pieces), len(lb))
        ).reshape(-1, pieces)
        liq_ms = (o + lb)[:, None] * HOUR_S * 1000 + (when * HOUR_S * 1000).astype(np.int64)
        liq_usd_by_bar = np.zeros((2, n_bars))
        np.add.at(liq_usd_by_bar, ((ls == "short").astype(int), lb), lq * lp)

        # funding settles every interval from the open-interest imbalance at the bar before
        total = long_oi + short_oi
        imbalance = np.where(total > 0, (long_oi - short_oi) / np.maximum(total, 1e-12), 0.0)
        rate = np.clip(
            cfg["base_funding"] + cfg["funding_per_imbalance"] * imbalance,
            -cfg["funding_cap"],
            cfg["funding_cap"],
        )
        settles = (o + bar) % int(cfg["funding_interval_hours"]) == 0
        funding = np.full(n_bars, np.nan)
        funding[1:][settles[1:]] = rate[:-1][settles[1:]]

        # volume: a multiple of spot turnover, plus the forced orders of liquidations
        spot_hourly = spot["volume_24h"][lead:-1] / 24 * (1 + 15 * ret1)
        volume_usd = cfg["perp_volume_multiple"] * spot_hourly * self._share[
            venue
        ] + liq_usd_by_bar.sum(axis=0)
        mid = (p_open + p_close) / 2
        buy_share = np.clip(0.5 + 0.35 * np.tanh(40 * np.log(p_close / p_open)), 0.1, 0.9)
        buy_usd = (volume_usd - liq_usd_by_bar.sum(axis=0)) * buy_share + liq_usd_by_bar[1]
        sell_usd = volume_usd - buy_usd
        pos_share = np.where(total > 0, long_oi / np.maximum(total, 1e-12), 0.5)
        z_acc = rng.normal(seed, stream + 6, hours[lead:-1])
        sl = slice(W, None)
        return {
            "t0": t0,
            "open": p_open[sl],
            "high": hi[sl],
            "low": lo[sl],
            "close": p_close[sl],
            "volume_base": (volume_usd / mid)[sl],
            "buy_volume_base": (buy_usd / mid)[sl],
            "sell_volume_base": (sell_usd / mid)[sl],
            "long_oi_base": long_oi[sl],
            "short_oi_base": short_oi[sl],
            "funding_rate": funding[sl],
            "top_position_long_share": pos_share[sl],
            "top_account_long_share": np.clip(0.5 + 1.2 * (pos_share - 0.5), 0.05, 0.95)[sl],
            "global_account_long_share": np.clip(
                0.5 + 1.6 * (pos_share - 0.5) + 0.02 * z_acc, 0.05, 0.95
            )[sl],
            "liq_ms": liq_ms.ravel(),
            "liq_side": np.repeat(ls, pieces),
            "liq_price": np.repeat(lp, pieces),
            "liq_qty": (lq[:, None] * frac).ravel(),
        }


_BAR_FIELDS = (
    "open",
    "high",
    "low",
    "close",
    "volume_base",
    "buy_volume_base",
    "sell_volume_base",
    "long_oi_base",
    "short_oi_base",
    "funding_rate",
    "global_account_long_share",
    "top_account_long_share",
    "top_position_long_share",
)
