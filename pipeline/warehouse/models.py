"""SQL models: discovered from sql/<layer>/*.sql, ordered by the references in their SQL."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import yaml

from pipeline.errors import TokenriskError

# libyaml's loader when the wheel has it (ten times faster than the pure-Python one)
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

LAYERS = ("staging", "intermediate", "marts")
MATERIALIZATION = {"staging": "view", "intermediate": "table", "marts": "table"}
REF = re.compile(r"\b(staging|intermediate|marts)\.([a-z_][a-z0-9_]*)\b")
SEEDS = {
    "staging.seed_sector_members",
    "staging.seed_leverage_tiers",
    "staging.seed_risk_model",
}


def sql_dir() -> Path:
    override = os.environ.get("TOKENRISK_SQL_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "sql"


@dataclass(frozen=True)
class Model:
    layer: str
    name: str
    sql: str
    path: Path

    @property
    def qualified(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def materialization(self) -> str:
        return MATERIALIZATION[self.layer]

    def refs(self) -> set[str]:
        body = re.sub(r"--[^\n]*", "", self.sql)
        return {f"{a}.{b}" for a, b in REF.findall(body)} - {self.qualified}


def discover(root: Path | None = None) -> list[Model]:
    root = root or sql_dir()
    models = [
        Model(layer, path.stem, path.read_text(), path)
        for layer in LAYERS
        for path in sorted((root / layer).glob("*.sql"))
    ]
    if not models:
        raise TokenriskError(f"no SQL models found under {root}")
    return models


def build_order(models: list[Model]) -> list[Model]:
    """Topological order from the `layer.name` references in each model's SQL."""
    by_name = {m.qualified: m for m in models}
    graph: dict[str, set[str]] = {}
    for m in models:
        unknown = m.refs() - by_name.keys() - SEEDS
        if unknown:
            raise TokenriskError(
                f"model {m.qualified} ({m.path.name}) references unknown {sorted(unknown)}"
            )
        graph[m.qualified] = m.refs() - SEEDS
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise TokenriskError(f"SQL models form a cycle: {exc.args[1]}") from None
    return [by_name[name] for name in order]


def load_docs(root: Path | None = None) -> dict[str, dict]:
    """Descriptions from sql/<layer>/_models.yml: {"layer.name": {"description", "columns"}}."""
    root = root or sql_dir()
    docs: dict[str, dict] = {}
    for layer in LAYERS:
        path = root / layer / "_models.yml"
        if not path.exists():
            continue
        for entry in yaml.load(path.read_text(), Loader=YAML_LOADER).get("models", []):
            docs[f"{layer}.{entry['name']}"] = {
                "description": entry.get("description", ""),
                "columns": entry.get("columns", {}) or {},
            }
    return docs


def models_fingerprint(root: Path | None = None) -> str:
    """A hash of everything the marts are computed from besides the data: the SQL models, their
    docs and the configuration loaded as seeds. Incremental builds reuse published rows only
    when it is unchanged."""
    from pipeline.config import CONFIG_DIR

    root = root or sql_dir()
    digest = hashlib.sha256()
    files = sorted(root.glob("*/*.sql")) + sorted(root.glob("*/_models.yml"))
    files += [CONFIG_DIR / "risk_model.toml", CONFIG_DIR / "universe.toml"]
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
