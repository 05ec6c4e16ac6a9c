"""Typed configuration: the universe and the sources, from the TOML files beside this module."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

CONFIG_DIR = Path(__file__).parent


VENUES = ("binance", "bybit", "okx")

# Symbols and ids end up in file names and URLs: only plain characters (no path traversal).
SYMBOL = r"^[A-Z0-9]{1,20}$"
SLUG = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class Perp(BaseModel):
    """One asset's perpetual contract on one venue (see the header of universe.toml)."""

    symbol: str = Field(pattern=SLUG)
    multiplier: float = Field(default=1.0, gt=0)
    contract_size: float = Field(default=1.0, gt=0)


class Instrument(BaseModel):
    """A venue's perpetual resolved to its canonical asset."""

    venue: str
    asset: str
    symbol: str
    multiplier: float = 1.0
    contract_size: float = 1.0


class Asset(BaseModel):
    symbol: str = Field(pattern=SYMBOL)
    name: str
    coingecko_id: str = Field(pattern=SLUG)
    role: Literal["member", "reference"] = "member"
    coinmetrics_id: str | None = Field(default=None, pattern=SLUG)
    perps: dict[str, Perp] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_venues(self) -> Asset:
        unknown = sorted(set(self.perps) - set(VENUES))
        if unknown:
            raise ValueError(f"asset {self.symbol}: unknown venues {unknown} (known: {VENUES})")
        return self


class Equity(BaseModel):
    ticker: str = Field(pattern=SYMBOL)
    stooq_symbol: str = Field(pattern=SLUG)


class Sector(BaseModel):
    description: str = ""
    members: list[str]


class Universe(BaseModel):
    """Assets, sectors and the equity basket tokenrisk tracks."""

    sectors: dict[str, Sector]
    assets: list[Asset]
    equities: list[Equity]
    _instrument_index: dict = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _members_are_assets(self) -> Universe:
        known = {a.symbol for a in self.assets}
        for name, sector in self.sectors.items():
            unknown = sorted(set(sector.members) - known)
            if unknown:
                raise ValueError(f"sector {name!r} lists unknown assets {unknown}")
        return self

    @property
    def symbols(self) -> list[str]:
        return [a.symbol for a in self.assets]

    @property
    def tickers(self) -> list[str]:
        return [e.ticker for e in self.equities]

    def asset(self, symbol: str) -> Asset:
        for a in self.assets:
            if a.symbol == symbol:
                return a
        raise KeyError(symbol)

    def sector_of(self, symbol: str) -> str | None:
        for name, sector in self.sectors.items():
            if symbol in sector.members:
                return name
        return None

    def by_coingecko_id(self) -> dict[str, str]:
        return {a.coingecko_id: a.symbol for a in self.assets}

    def by_stooq_symbol(self) -> dict[str, str]:
        return {e.stooq_symbol: e.ticker for e in self.equities}

    def instruments(self, venue: str) -> list[Instrument]:
        """Every asset's perpetual on `venue`, in universe order."""
        return list(self._venue_index(venue)[0].values())

    def _venue_index(self, venue: str) -> tuple[dict[str, Instrument], dict[str, Instrument]]:
        """{asset: instrument} and {SYMBOL: instrument} of one venue, built once per universe
        (parsers resolve an instrument for every response they read)."""
        if venue not in self._instrument_index:
            by_asset = {
                a.symbol: Instrument(venue=venue, asset=a.symbol, **a.perps[venue].model_dump())
                for a in self.assets
                if venue in a.perps
            }
            by_symbol = {i.symbol.upper(): i for i in reversed(by_asset.values())}
            self._instrument_index[venue] = (by_asset, by_symbol)
        return self._instrument_index[venue]

    def instrument(self, venue: str, asset: str) -> Instrument:
        try:
            return self._venue_index(venue)[0][asset]
        except KeyError:
            raise KeyError(f"no {venue} perpetual configured for asset {asset!r}") from None

    def instrument_for_symbol(self, venue: str, symbol: str) -> Instrument:
        try:
            return self._venue_index(venue)[1][symbol.upper()]
        except KeyError:
            raise KeyError(f"unknown {venue} symbol {symbol!r} (not in universe.toml)") from None

    def with_synthetic_assets(self, n: int, sector: str = "ai") -> Universe:
        """A larger universe for benchmarks: n synthetic members added to `sector`."""
        extra = [
            Asset(
                symbol=f"SYN{i:04d}",
                name=f"Synthetic {i}",
                coingecko_id=f"synthetic-{i:04d}",
                perps={
                    "binance": Perp(symbol=f"SYN{i:04d}USDT"),
                    "bybit": Perp(symbol=f"SYN{i:04d}USDT"),
                    "okx": Perp(symbol=f"SYN{i:04d}-USDT-SWAP"),
                },
            )
            for i in range(1, n + 1)
        ]
        sectors = dict(self.sectors)
        sectors[sector] = Sector(
            description=self.sectors[sector].description,
            members=[*self.sectors[sector].members, *(a.symbol for a in extra)],
        )
        return Universe(sectors=sectors, assets=[*self.assets, *extra], equities=self.equities)


class SourceConfig(BaseModel):
    base_url: str
    archive_url: str | None = None  # bulk archive of older history, where the source has one
    rate_limit_per_minute: float = Field(gt=0)
    history_days: int | None = None  # how far back the API serves history (None: no limit)
    page_limit: int | None = None  # rows per page where the API paginates
    max_pages: int = 200  # a safety stop for pagination loops
    assets: list[str] | None = None  # assets the (free tier of the) source covers
    api_key_env: str | None = None
    api_key_header: str | None = None
    api_key_param: str | None = None
    api_key_prefix: str = ""  # sent before the key, e.g. "Bearer " for an authorization header
    # the higher limit a key buys (None: the same as without one)
    keyed_rate_limit_per_minute: float | None = Field(default=None, gt=0)


class Settings(BaseSettings):
    """Run-time settings from the environment (TOKENRISK_*)."""

    model_config = SettingsConfigDict(env_prefix="TOKENRISK_")

    # a local path or s3://bucket/prefix (endpoint and keys: the AWS_* environment variables)
    data_dir: str = "data"
    # the local working copy of an s3:// data dir (default ~/.cache/tokenrisk/<hash of the URL>)
    cache_dir: Path | None = None
    source: str = "demo"
    http_timeout_seconds: float = 30.0
    http_max_attempts: int = 5
    http_max_wait_seconds: float = 120.0
    demo_seed: int = 20260205
    # DuckDB storage version of the published file: v1.1.0 opens in DuckDB 1.1 and later
    storage_version: str = Field(default="v1.1.0", pattern=r"^v\d+\.\d+\.\d+$")
    # DuckDB's memory limit for the build: past it DuckDB spills to disk (a temp directory
    # beside the build file), so a long backfill stays within a modest machine
    # `run` extracts and stages a long range this many days at a time (memory stays flat)
    stage_chunk_days: int = Field(default=31, ge=1)
    # a build recomputing more days than this goes in windows of this many days, each an
    # incremental build on the one before, so its memory does not grow with the history
    build_chunk_days: int = Field(default=180, ge=1)
    build_memory_limit: str = Field(
        default="2GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$"
    )
    # the run's clock for request builders (history limits, snapshots); unset: the real UTC
    # date for live runs, the day after each day for the demo market. For tests and replays.
    today: date | None = None


def _read_toml(name: str) -> dict:
    with open(CONFIG_DIR / name, "rb") as fh:
        return tomllib.load(fh)


@cache
def _configured_universe() -> Universe:
    return Universe.model_validate(_read_toml("universe.toml"))


_override: list[Universe] = []


def load_universe() -> Universe:
    """The universe of universe.toml, or the one a benchmark put in place (`use_universe`)."""
    return _override[-1] if _override else _configured_universe()


@contextmanager
def use_universe(universe: Universe) -> Iterator[None]:
    """Run with another universe (e.g. synthetic assets for benchmarks): parsers resolve
    instruments through `load_universe`."""
    _override.append(universe)
    try:
        yield
    finally:
        _override.pop()


@cache
def load_sources() -> dict[str, SourceConfig]:
    return {k: SourceConfig.model_validate(v) for k, v in _read_toml("sources.toml").items()}


@cache
def load_risk_model() -> dict:
    """Parameters of the liquidation-risk method (risk_model.toml)."""
    return _read_toml("risk_model.toml")
