"""Every example query in docs/queries/ runs against the demo warehouse and returns rows.

A query on a mart the demo warehouse does not have yet (the derivatives and risk marts) is
skipped with the name of that mart; tests/docs/test_queries.py runs it on a synthetic warehouse.
"""

from __future__ import annotations

import duckdb
import pytest

from pipeline.warehouse import mart_tables
from tests.docs.test_queries import QUERIES, required_tables, run_query

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_query_returns_rows_on_the_demo_warehouse(demo_dir, path):
    database = demo_dir / "warehouse" / "tokenrisk.duckdb"
    with duckdb.connect(str(database), read_only=True) as con:
        present = set(mart_tables(con))
    missing = sorted(required_tables(path.read_text()) - present)
    if missing:
        pytest.skip(
            f"{path.name} needs marts.{', marts.'.join(missing)}: not in the demo warehouse yet"
        )
    _, rows = run_query(database, path)
    assert rows, f"{path.name} returned no rows on the demo warehouse"
