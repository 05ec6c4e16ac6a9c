"""Watch-list simulators of the demo market: options activity, DVOL, commits, on-chain activity.

Everything is a pure function of (seed, asset or repository, time), like the spot market it
is driven by, so any day can be produced on its own and the routes and the tests agree:

- options: a Deribit-like chain per currency whose 24h notional volume and put share jump
  with the size of the last 24 hours' move (a crash brings heavy put buying), and whose open
  interest builds up with stress;
- DVOL: implied volatility that follows the realised volatility of the day;
- commits: per repository, a slowly varying daily rate (weekends quieter) over a fixed pool
  of contributors, a few of them without a GitHub account;
- on-chain: active addresses and transactions, busier on days of large moves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from pipeline.demo import rng
from pipeline.demo.market import EPOCH, HOUR_S, DemoMarket

# options: daily notional volume as a share of spot 24h volume; open interest in coins as a
# share of supply; the put share of calm markets; DVOL at zero realised volatility (percent)
OPTIONS = {
    "BTC": {"volume_share": 0.08, "oi_share": 0.0135, "iv_floor": 38.0},
    "ETH": {"volume_share": 0.05, "oi_share": 0.0085, "iv_floor": 48.0},
}
BASE_PUT_SHARE = 0.42
EXPIRY_DAYS = (1, 2, 7, 14, 28, 56, 91)
STRIKE_STEPS = np.linspace(-0.3, 0.3, 13)
# on-chain: daily active addresses and transactions on a calm day
NETWORK = {"BTC": (780_000.0, 430_000.0), "ETH": (520_000.0, 1_250_000.0)}
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def deribit_expiry(day: date) -> str:
    return f"{day.day}{MONTHS[day.month - 1]}{day.year % 100:02d}"


@dataclass(frozen=True)
class Commit:
    sha: str
    ts: datetime
    login: str | None  # None: the author has no GitHub account linked
    name: str
    email: str
    parents: tuple[str, ...]


class WatchlistSim:
    """The watch-list side of one demo market (same seed and spot paths)."""

    def __init__(self, market: DemoMarket) -> None:
        self.market = market
        self.seed = market.seed

    # -- spot-driven state -----------------------------------------------------------------
    def _last_day(self, asset: str, at: datetime) -> dict[str, np.ndarray]:
        return self.market.spot(asset, at - timedelta(hours=24), at)

    def stress(self, asset: str, at: datetime) -> tuple[float, float]:
        """(24h log return, annualised realised volatility) of the 24 hours before `at`."""
        s = self._last_day(asset, at)
        logp = np.log(s["price"])
        ret = float(logp[-1] - logp[0]) if len(logp) > 1 else 0.0
        rv = float(np.std(np.diff(logp)) * np.sqrt(24 * 365)) if len(logp) > 2 else 0.0
        return ret, rv

    # -- options -------------------------------------------------------------------------
    def option_chain(self, asset: str, at: datetime) -> list[dict]:
        """Every listed option of `asset` at `at`: strike, type, expiry, 24h volume and open
        interest in coins, mark IV in percent, underlying price (the spot at `at`)."""
        cfg = OPTIONS[asset]
        spot = self._last_day(asset, at)
        price = float(spot["price"][-1])
        ret, rv = self.stress(asset, at)
        crash = max(0.0, -ret)
        volume_usd = cfg["volume_share"] * float(spot["volume_24h"][-1]) * (1 + 12 * abs(ret))
        put_share = min(0.85, BASE_PUT_SHARE + 2.5 * crash)
        supply = float(spot["market_cap"][-1]) / price
        oi_coins = cfg["oi_share"] * supply * (1 + 1.5 * crash)
        oi_put_share = min(0.7, BASE_PUT_SHARE + 0.8 * crash)
        iv = self.dvol_level(asset, rv)
        day_no = (at.date() - EPOCH).days
        expiries = [at.date() + timedelta(days=d) for d in EXPIRY_DAYS]
        instruments = [(e, k, kind) for e in expiries for k in STRIKE_STEPS for kind in ("C", "P")]
        n = len(instruments)
        stream = rng.stream_id("options", asset)
        u = rng.uniform(self.seed, stream, np.arange(day_no * 2 * n, (day_no + 1) * 2 * n))
        rows = []
        vol_w = np.empty(n)
        oi_w = np.empty(n)
        for i, (_, k, _) in enumerate(instruments):
            near = np.exp(-abs(k) * 8)  # activity concentrates near the money
            vol_w[i] = near * (0.3 + u[2 * i])
            oi_w[i] = near * (0.3 + u[2 * i + 1])
        is_put = np.array([kind == "P" for _, _, kind in instruments])
        vol_coins = np.zeros(n)
        oi = np.zeros(n)
        for mask, share in ((is_put, put_share), (~is_put, 1 - put_share)):
            vol_coins[mask] = vol_w[mask] / vol_w[mask].sum() * volume_usd * share / price
        for mask, share in ((is_put, oi_put_share), (~is_put, 1 - oi_put_share)):
            oi[mask] = oi_w[mask] / oi_w[mask].sum() * oi_coins * share
        for i, (expiry, k, kind) in enumerate(instruments):
            strike = round(price * (1 + k), -2 if asset == "BTC" else 0)
            skew = 6 * max(0.0, -k) * (1 + 4 * crash)  # puts dearer, more so after a fall
            rows.append(
                {
                    "name": f"{asset}-{deribit_expiry(expiry)}-{int(strike)}-{kind}",
                    "expiry": expiry,
                    "strike": float(strike),
                    "kind": kind,
                    "volume": round(float(vol_coins[i]), 1),
                    "open_interest": round(float(oi[i]), 1),
                    "mark_iv": round(iv + 100 * abs(k) * 0.4 + skew, 2),
                    "underlying_price": price,
                }
            )
        return rows

    def dvol_level(self, asset: str, rv: float) -> float:
        """Implied volatility index (percent) for an annualised realised volatility."""
        return OPTIONS[asset]["iv_floor"] + 55.0 * rv

    def dvol_day(self, asset: str, day: date) -> tuple[float, float, float, float]:
        """DVOL (open, high, low, close) of one UTC day."""
        start = datetime.combine(day, time(0), tzinfo=UTC)
        levels = [
            self.dvol_level(asset, self.stress(asset, start + timedelta(hours=h))[1])
            for h in (0, 6, 12, 18, 24)
        ]
        return levels[0], max(levels), min(levels), levels[-1]

    # -- developer activity --------------------------------------------------------------
    def _repo_params(self, repo: str) -> tuple[float, int]:
        u = rng.uniform(self.seed, rng.stream_id("repo", repo.lower()), np.arange(2))
        base_rate = 2.0 + 14.0 * float(u[0])  # commits a working day
        contributors = 6 + int(20 * float(u[1]))
        return base_rate, contributors

    def commit_rate(self, repo: str, day: date) -> float:
        """Expected commits on `day`: a slow seeded weekly walk, quieter at weekends."""
        base_rate, _ = self._repo_params(repo)
        week = ((day - EPOCH).days + 3) // 7  # weeks start on Monday
        steps = rng.normal(
            self.seed, rng.stream_id("repo-walk", repo.lower()), np.arange(week - 60, week + 1)
        )
        level = float(np.exp(0.12 * steps.sum() / np.sqrt(len(steps)) * 3))
        weekend = 0.3 if day.weekday() >= 5 else 1.0
        return base_rate * level * weekend

    def commits(self, repo: str, day: date) -> list[Commit]:
        """The commits of `repo` on `day`, oldest first."""
        _, n_contrib = self._repo_params(repo)
        d = (day - EPOCH).days
        stream = rng.stream_id("commits", repo.lower())
        u = rng.uniform(self.seed, stream, np.arange(d * 4, d * 4 + 4))
        n = int(self.commit_rate(repo, day) * (0.5 + float(u[0])))
        if n == 0:
            return []
        draws = rng.uniform(self.seed, stream + 1, np.arange(d * 1000, d * 1000 + 3 * n))
        seconds = np.sort((draws[:n] * 86_400).astype(int))
        start = datetime.combine(day, time(0), tzinfo=UTC)
        owner, name = repo.split("/", 1)
        out = []
        prev = hashlib.sha1(f"{repo}|{day - timedelta(days=1)}|tip".encode()).hexdigest()
        for i in range(n):
            who = int(n_contrib * float(draws[n + i]) ** 2)  # a few contributors do most
            linked = who % 5 != 4  # one in five commits without a GitHub account
            sha = hashlib.sha1(f"{repo}|{day}|{i}".encode()).hexdigest()
            merge = float(draws[2 * n + i]) < 0.1
            parents = (
                (prev, hashlib.sha1(f"{sha}|branch".encode()).hexdigest()) if merge else (prev,)
            )
            out.append(
                Commit(
                    sha=sha,
                    ts=start + timedelta(seconds=int(seconds[i])),
                    login=f"{owner}-dev{who}" if linked else None,
                    name=f"{name} developer {who}",
                    email=f"dev{who}@{owner}.example",
                    parents=parents,
                )
            )
            prev = sha
        return out

    # -- on-chain activity ---------------------------------------------------------------
    def network(self, asset: str, day: date) -> tuple[float, float]:
        """(active addresses, transactions) of one UTC day: busier when prices move."""
        adr, tx = NETWORK[asset]
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
        ret, _ = self.stress(asset, end)
        d = (day - EPOCH).days
        z = rng.normal(self.seed, rng.stream_id("network", asset), np.array([2 * d, 2 * d + 1]))
        weekend = 0.88 if day.weekday() >= 5 else 1.0
        busy = 1 + 3.0 * abs(ret)
        return (
            round(adr * weekend * busy * float(np.exp(0.04 * z[0]))),
            round(tx * weekend * busy * float(np.exp(0.05 * z[1]))),
        )


def hour_of(at: datetime) -> int:
    return int(at.timestamp()) // HOUR_S
