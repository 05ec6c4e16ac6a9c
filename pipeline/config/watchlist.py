"""The watch-list configuration (watchlist.toml): protocol repositories and on-chain coverage."""

from __future__ import annotations

import re
import tomllib
from functools import cache

from pydantic import BaseModel, field_validator

from pipeline.config import CONFIG_DIR

REPO_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,38}/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class Onchain(BaseModel):
    assets: list[str]


class Watchlist(BaseModel):
    developer_repos: dict[str, list[str]]
    onchain: Onchain

    @field_validator("developer_repos")
    @classmethod
    def _repos_are_owner_name(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for asset, repos in value.items():
            bad = [r for r in repos if not REPO_PATTERN.match(r)]
            if bad:
                raise ValueError(f"developer_repos.{asset}: not an owner/name: {bad}")
        return value

    def repos(self) -> list[tuple[str, str]]:
        """(asset, owner/name) for every configured repository, in file order."""
        return [(a, r) for a, repos in self.developer_repos.items() for r in repos]

    def asset_of_repo(self, repo: str) -> str:
        for asset, name in self.repos():
            if name.lower() == repo.lower():
                return asset
        raise KeyError(f"repository {repo!r} is not in watchlist.toml")


@cache
def load_watchlist() -> Watchlist:
    with open(CONFIG_DIR / "watchlist.toml", "rb") as fh:
        return Watchlist.model_validate(tomllib.load(fh))
