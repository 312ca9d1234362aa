"""
### Nightly ingest: one DAG per ministry source

Generated from the source registry (`include/sinergi/sources/registry.py`): adding a ministry
feed is one registry entry plus its parser and expectation suite, not a new DAG file.

Each run handles one business day `D` (the run's logical date, Asia/Jakarta) at 02:00 WIB on
`D+1`:

1. **expected?** weekday-only, monthly and yearly sources skip the nights they deliver
   nothing (skipped, not failed);
2. **extract** the KemenP2MI API window `[D, D+1)` / **wait** for the file drop until the
   source's deadline (UMKM: the CSV *and* an agreeing `.ok`); after the deadline the night
   is recorded as `missing` or `incomplete` in `dq.batch` and the run fails;
3. **land** the delivery as received in the archive (keyed by source, date, content hash);
4. **load** it with `COPY` into `raw.<source>` with lineage columns;
5. **validate** it with the source's Great Expectations suite: `fail` stops the batch,
   `warn` quarantines rows in `dq.quarantine`, `flag` only records;
6. **publish** the source's Asset `raw.<source>` when a batch loaded (lineage: the Asset
   graph shows which DAG writes which raw table);
7. **report_outcome**, whatever happened before (a teardown task: it runs when every other
   task is done, failed or skipped, and does not decide the run's state): updates the
   source's outcome Asset `outcome.<source>` once per night with the extra
   `{source, business_date, outcome, verdict, batch_id, reason}`, where `outcome` is
   `landed` (a batch passed or warned), `duplicate` (an earlier night's extract sent again,
   not loaded), `not_expected` (no delivery due that night), `missing` (nothing complete by
   the deadline, or the KemenP2MI API could not be read all night) or `failed` (the delivery
   was rejected, or the run broke before a verdict). The warehouse DAG is scheduled on every
   source's outcome Asset. A KemenP2MI extract that failed after its retries is recorded
   here in `dq.batch` as `missing` with what to do; the next night's run still catches its
   window up.

A missing or failed night stays **red** (the failed task decides the run's state), and the
outcome is reported all the same. Clearing a failed task clears `report_outcome` with it, so
a night run again reports again.

**Lineage.** The `load` task reports OpenLineage inputs (the delivery: the file drop or the
KemenP2MI API endpoint, and its archived copy) and its output (`raw.<source>` in the
warehouse); where the events go is set in `docs/OPERATIONS.md` (a JSON file per event under
`$SINERGI_HOME/lineage` by default, Marquez with the compose profile `lineage`).

Re-running a night is safe: every step is idempotent by source, business day and content.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pendulum
from airflow.providers.common.compat.lineage.entities import File, Table
from airflow.sdk import BaseHook, CronDataIntervalTimetable, PokeReturnValue, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from sinergi import settings
from sinergi.airflow_adapter import (
    KP2MI_CONN_ID,
    FailureNotifier,
    annotate_asset_event,
    annotate_outcome_event,
    source_asset,
    source_outcome_asset,
    warehouse_url,
)
from sinergi.ingest import nightly
from sinergi.sources.registry import SOURCES, SourceSpec

NIGHTLY_AT_0200_WIB = CronDataIntervalTimetable("0 2 * * *", timezone="Asia/Jakarta")


def declare_lineage(task_instance, spec: SourceSpec, batch: dict) -> None:
    """Set the load task's inlets (delivery, archived copy) and outlet (``raw.<source>``) for
    this run; the OpenLineage listener reads them when the task completes. Table, not Asset,
    so no Asset event is published here (``publish`` does that)."""
    if spec.kind == "api":
        api = BaseHook.get_connection(KP2MI_CONN_ID)
        port = f":{api.port}" if api.port else ""
        origin = f"{api.schema or 'http'}://{api.host}{port}{spec.endpoint}"
    else:
        origin = (settings.landing_dir() / batch["location"]).as_uri()
    warehouse = urlsplit(warehouse_url())
    host = warehouse.hostname if warehouse.hostname else "localhost"  # unix socket: local
    task_instance.task.inlets = [File(url=origin), File(url=Path(batch["archive_path"]).as_uri())]
    task_instance.task.outlets = [
        Table(
            cluster=f"postgres://{host}:{warehouse.port or 5432}",
            database=warehouse.path.lstrip("/") or "warehouse",
            name=f"raw.{spec.name}",
        )
    ]


def build_ingest_dag(spec: SourceSpec):
    @dag(
        dag_id=f"ingest_{spec.name}",
        description=spec.description,
        doc_md=__doc__,
        schedule=NIGHTLY_AT_0200_WIB,
        start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Jakarta"),
        catchup=False,
        max_active_runs=1,  # nights of one source load in order
        tags=["sinergi", "ingest", spec.ministry.lower(), spec.cadence, spec.kind],
        default_args={
            "owner": "sinergi-data",
            "retries": 2,
            "retry_delay": timedelta(minutes=5),
            "on_failure_callback": FailureNotifier(),
        },
    )
    def ingest():
        @task
        def plan_night(ti=None, **context) -> dict:
            """Which business day this run carries, and whether a delivery is due."""
            night = nightly.plan(spec, context["logical_date"], warehouse_url())
            ti.xcom_push(key="night", value=night)  # for report_outcome, also when skipping
            if not night["expected"]:
                raise AirflowSkipException(night["reason"])
            return night

        if spec.kind == "api":

            @task(retries=3, retry_delay=timedelta(minutes=2))
            def extract_from_api(night: dict, ti=None) -> dict:
                """All pages of the KemenP2MI window [D, D+1), honouring 429/5xx."""
                try:
                    return nightly.extract_api(spec, night, KP2MI_CONN_ID)
                except Exception as error:
                    # report_outcome records the last attempt's error in dq.batch (missing)
                    ti.xcom_push(key="error", value=f"{type(error).__name__}: {error}"[:1000])
                    if isinstance(error, nightly.NotRetryable):  # a wrong token stays wrong
                        raise AirflowFailException(str(error)) from error
                    raise

            delivery = extract_from_api(plan_night())
        else:

            @task.sensor(poke_interval=300, timeout=timedelta(hours=30), mode="reschedule")
            def wait_for_delivery(night: dict) -> PokeReturnValue:
                """The file drop, until the source's deadline; then `missing`/`incomplete`."""
                try:
                    found = nightly.poke_file_drop(spec, night, warehouse_url())
                except nightly.NotRetryable as error:
                    raise AirflowFailException(str(error)) from error
                return PokeReturnValue(is_done=found is not None, xcom_value=found)

            delivery = wait_for_delivery(plan_night())

        @task
        def land(delivery: dict) -> dict:
            """Archive the delivery as received; open (or find) its batch in dq.batch."""
            return nightly.land(spec, delivery, warehouse_url())

        @task
        def load(batch: dict, ti=None) -> dict:
            """COPY the rows into raw with lineage; unreadable rows to dq.quarantine."""
            try:
                loaded = nightly.load(spec, batch, warehouse_url())
            except nightly.NotRetryable as error:  # a broken file stays broken on retry
                raise AirflowFailException(str(error)) from error
            declare_lineage(ti, spec, loaded)
            return loaded

        @task
        def validate(batch: dict) -> dict:
            """The source's expectation suite; quarantine warn rows; the batch verdict."""
            try:
                return nightly.validate(spec, batch, warehouse_url())
            except nightly.NotRetryable as error:
                raise AirflowFailException(str(error)) from error

        @task(outlets=[source_asset(spec.name)])
        def publish(batch: dict, outlet_events=None) -> str:
            """Announce the loaded batch to the warehouse build (the Asset event)."""
            if not batch.get("publish", True):
                raise AirflowSkipException(batch.get("reason", "nothing new to publish"))
            annotate_asset_event(outlet_events, spec.name, batch)
            return f"{spec.name} {batch['business_date']}: {batch['verdict']}"

        @task(outlets=[source_outcome_asset(spec.name)])
        def report_outcome(outlet_events=None, ti=None, **context) -> dict:
            """How the night ended, whatever happened: the source's outcome Asset event."""
            extract_task = "extract_from_api" if spec.kind == "api" else "wait_for_delivery"
            report = nightly.report_outcome(
                spec,
                context["logical_date"],
                warehouse_url(),
                night=ti.xcom_pull(task_ids="plan_night", key="night"),
                batch=ti.xcom_pull(task_ids="validate"),
                extracted=ti.xcom_pull(task_ids=extract_task) is not None,
                extract_error=ti.xcom_pull(task_ids=extract_task, key="error"),
            )
            annotate_outcome_event(outlet_events, spec.name, report)
            print(f"{spec.name} {report['business_date']}: {report['outcome']} {report['reason']}")
            return report

        # A teardown without setups runs once every upstream task is done (all_done) and is
        # left out of the run's state: a missing or failed night stays red, and reports.
        publish(validate(load(land(delivery)))) >> report_outcome().as_teardown()

    return ingest()


for _spec in SOURCES.values():
    build_ingest_dag(_spec)
