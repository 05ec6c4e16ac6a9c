"""Run under *other* library versions (uv run --no-project --with ...): dump what they read.

Usage: python read_with_old_clients.py DATA_DIR -> JSON on stdout:
{"duckdb_version", "tables": {table: {"comment", "column_comments", "rows"}}, "parquet": {...}}
"""

import json
import sys
from pathlib import Path

import duckdb

data = Path(sys.argv[1])
con = duckdb.connect(str(data / "warehouse" / "tokenrisk.duckdb"), read_only=True)
out = {"duckdb_version": duckdb.__version__, "tables": {}, "parquet": {}}
for table, comment in con.execute(
    "select table_name, comment from duckdb_tables() where schema_name = 'marts' order by 1"
).fetchall():
    columns = dict(
        con.execute(
            "select column_name, comment from duckdb_columns() where schema_name = 'marts' and table_name = ?",
            [table],
        ).fetchall()
    )
    rows = con.execute(f"select * from marts.{table} order by all").fetchall()
    out["tables"][table] = {
        "comment": comment,
        "column_comments": columns,
        "rows": [[str(v) for v in r] for r in rows],
    }
con.close()
reader = duckdb.connect()
for table in out["tables"]:
    pattern = str(data / "marts" / table / "*" / "part-0.parquet")
    rows = reader.execute(
        f"select * from read_parquet('{pattern}', hive_partitioning = true) order by all"
    ).fetchall()
    out["parquet"][table] = [[str(v) for v in r] for r in rows]
import pyarrow  # noqa: E402  (the old client under test)
import pyarrow.dataset as ds  # noqa: E402

out["pyarrow_version"] = pyarrow.__version__
out["pyarrow_rows"] = {
    t: ds.dataset(str(data / "marts" / t), format="parquet", partitioning="hive").count_rows()
    for t in out["tables"]
}
print(json.dumps(out))
