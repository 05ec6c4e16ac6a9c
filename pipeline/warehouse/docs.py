"""Render docs/tables.md from the SQL models' YAML (`python -m pipeline.warehouse.docs`)."""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.warehouse.models import LAYERS, MATERIALIZATION, load_docs

HEADER = """# Warehouse tables

Generated from `sql/*/_models.yml` by `python -m pipeline.warehouse.docs`; do not edit by hand.
The same descriptions are applied to the DuckDB file with `COMMENT ON`, so BI tools show them.
Only the `marts` schema is published in `warehouse/tokenrisk.duckdb`; `staging` and
`intermediate` exist in the build file.
"""


def render() -> str:
    docs = load_docs()
    parts = [HEADER]
    for layer in LAYERS:
        entries = {k: v for k, v in docs.items() if k.startswith(f"{layer}.")}
        if not entries:
            continue
        parts.append(f"\n## {layer} ({MATERIALIZATION[layer]}s)\n")
        for name, doc in entries.items():
            parts.append(f"\n### `{name}`\n\n{doc['description']}\n\n")
            parts.append("| column | description |\n|---|---|\n")
            parts.extend(f"| `{col}` | {text} |\n" for col, text in doc["columns"].items())
    return "".join(parts)


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/tables.md")
    target.write_text(render())
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
