"""tokenrisk_daily_report: an example consumer of the nightly DAG's assets.

It has no time schedule: Airflow runs it when `tokenrisk_nightly` has published both the
asset and the sector marts (asset events `tokenrisk.marts.fct_asset_daily` and
`tokenrisk.marts.fct_sector_daily`), and it reads the day and the data dir from those events.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

from airflow.sdk import Asset, dag, get_current_context, task

from pipeline import orchestration as orch

log = logging.getLogger("tokenrisk.dags.daily_report")

ASSET_MART = Asset(*orch.mart_asset("fct_asset_daily"))
SECTOR_MART = Asset(*orch.mart_asset("fct_sector_daily"))

DOC_MD = """
### tokenrisk daily report (example asset consumer)

Scheduled on the assets `tokenrisk.marts.fct_asset_daily` **and**
`tokenrisk.marts.fct_sector_daily`: it runs after each publish of the nightly DAG (a backfill's
publishes may be batched into one run). It logs the sector line of every day it was triggered
for, read from the published warehouse in the data dir named by the asset events.
"""


@dag(
    dag_id="tokenrisk_daily_report",
    schedule=ASSET_MART & SECTOR_MART,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    doc_md=DOC_MD,
    tags=["tokenrisk"],
)
def tokenrisk_daily_report():
    @task
    def sector_report() -> list[dict]:
        """The published sector rows of the days the triggering publishes exported."""
        events = [
            event
            for by_asset in get_current_context()["triggering_asset_events"].values()
            for event in by_asset
        ]
        extras = [event.extra for event in events if event.extra.get("day")]
        data_dir = (
            extras[-1]["data_dir"] if extras else os.environ.get("TOKENRISK_DATA_DIR", "data")
        )
        days = sorted({extra["day"] for extra in extras})
        rows = orch.sector_report(data_dir, days)
        for row in rows:
            log.info("%s", orch.describe_sector_row(row))
        return rows

    sector_report()


tokenrisk_daily_report()
