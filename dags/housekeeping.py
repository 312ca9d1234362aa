"""
### Housekeeping: retention, planner statistics, published docs

Runs daily at 06:00 Asia/Jakarta, after the night's ingest (02:00) and warehouse build, for
business day `D` (the run's logical date). Its tasks are independent: one failing does not
stop the others.

1. **prune_archive**: deletes archived deliveries of nights older than the retention
   (`SINERGI_ARCHIVE_RETENTION_DAYS`, default 400 days before `D`), never one a batch in
   force needs (current for its night in `dq.batch`, or its source's latest accepted
   batch): superseded resends, failed, duplicate and incomplete deliveries go;
2. **prune_lineage_events**: OpenLineage event files older than
   `SINERGI_LINEAGE_RETENTION_DAYS` (default 90);
3. **analyze_warehouse**: `ANALYZE` of every table in `raw` and `marts`;
4. **publish_data_docs**: the Great Expectations Data Docs copied to
   `$SINERGI_HOME/docs/data_docs` (or `SINERGI_DOCS_DIR`), swapped in whole;
5. **generate_dbt_docs**: `dbt docs generate --static` into `$SINERGI_HOME/docs/dbt`;
6. **write_docs_index**: `$SINERGI_HOME/docs/index.html` linking both.

Re-running a day is safe: every step is idempotent. Logic: `include/sinergi/housekeeping.py`.
"""

from __future__ import annotations

from datetime import date, timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task

from sinergi import housekeeping
from sinergi.airflow_adapter import FailureNotifier, warehouse_url
from sinergi.extract.window import business_date

DAILY_AT_0600_WIB = CronDataIntervalTimetable("0 6 * * *", timezone="Asia/Jakarta")


def _business_date(context) -> date:
    return business_date(context["logical_date"])


@dag(
    dag_id="housekeeping",
    description="Archive retention, ANALYZE, Data Docs and dbt docs publishing",
    doc_md=__doc__,
    schedule=DAILY_AT_0600_WIB,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Jakarta"),
    catchup=False,
    max_active_runs=1,
    tags=["sinergi", "housekeeping"],
    default_args={
        "owner": "sinergi-data",
        "retries": 1,
        "retry_delay": timedelta(minutes=10),
        "on_failure_callback": FailureNotifier(),
    },
)
def housekeeping_dag():
    @task
    def prune_archive(**context) -> dict:
        """Delete expired archived deliveries that no batch in force needs."""
        result = housekeeping.prune_archive(warehouse_url(), _business_date(context))
        return result.to_dict()

    @task
    def prune_lineage_events(**context) -> int:
        """Delete expired OpenLineage event files."""
        return housekeeping.prune_lineage_events(_business_date(context))

    @task
    def analyze_warehouse() -> int:
        """ANALYZE raw and marts."""
        return len(housekeeping.analyze(warehouse_url()))

    @task
    def publish_data_docs() -> str | None:
        """Copy the Data Docs site to the published docs folder."""
        index = housekeeping.publish_data_docs()
        return str(index) if index else None

    @task
    def generate_dbt_docs(**context) -> str:
        """dbt docs generate --static, published."""
        return str(housekeeping.generate_dbt_docs(warehouse_url(), _business_date(context)))

    @task(trigger_rule="all_done")
    def write_docs_index(**context) -> str:
        """The docs folder's index page, whatever the docs steps did."""
        return str(housekeeping.write_docs_index(_business_date(context)))

    prune_archive()
    prune_lineage_events()
    analyze_warehouse()
    [publish_data_docs(), generate_dbt_docs()] >> write_docs_index()


housekeeping_dag()
