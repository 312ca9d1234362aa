"""
### Warehouse: the nightly dbt build, model by model

Builds the dbt project (`dbt_project/`) into the warehouse once every source has reported
its night, so BI reads fresh marts in the morning, and records which sources were stale.

**Schedule: every source has reported its night.** Each ingest DAG ends, whatever
happened, by updating its source's outcome Asset `outcome.<source>` once per night, with
`{business_date, outcome, ...}` in the event's extra: `landed`, `duplicate`, `not_expected`
(the calendar has no delivery that night: Parekraf's weekends, the off days of monthly and
yearly sources), `missing` (the deadline passed, or the API could not be read) or `failed`.
This DAG is scheduled on the AND of all of them (`AssetAll(outcome.kp2mi_pmi, ...)`), so it
runs once a night, when every source has landed, passed its deadline or was not expected;
a ministry's missing file holds the build back only until its deadline, never forever.
Events that arrive while a build is queued are folded into it. Every build is a full,
idempotent rebuild as of its business day, so building a night twice gives the same marts.
(`raw.<source>`, published when a batch loads, is kept for lineage; nothing is scheduled on
it.)

**Business day.** `conf["business_date"]` if given (a manual run, `sinergi run`); else the
latest `business_date` in the triggering outcome events' extra (asset-triggered runs have no
logical date); else the run's logical date in Asia/Jakarta. It reaches dbt as
`--vars '{"logical_date": "YYYY-MM-DD"}'`: open periods run to it, nothing reads the clock.

**Tasks.**

1. `business_date`: which day this run builds (above);
2. `dbt`: one Cosmos task group per dbt node, rendered from the manifest
   `dbt_project/target/airflow/manifest.json`: a `run` task and a `test` task per model
   (tests right after their model, so a failing test stops what depends on it), a task per
   seed and snapshot. Executed locally with the project's own dbt; the warehouse comes from
   Airflow connection `warehouse` and the HMAC key from `SINERGI_PII_KEY`, both handed to
   dbt at run time only (the key as a session setting through `PGOPTIONS`, masked in logs);
3. `dbt.resolve_identities`, inside the dbt graph: after `dbt.int_source_records__unioned.test`,
   before the models that read its tables (`int_source_records__identified`,
   `worker_key_history`, `match_review`; include/sinergi/identity, docs/IDENTITY.md). It
   links the records that changed against the people that exist with the committed Splink
   model, keeps keys stable, queues uncertain pairs for review and records linkage measures
   in `dq.linkage_metric` (a sudden change is logged as a warning);
4. `record_source_status`, beside the dbt build: one row per source for the day in
   `dq.source_status` (`outcome`, `latest_accepted_date`: its newest passed or warned batch
   up to the day, `last_due_date`: the latest night its calendar has a delivery due,
   `is_stale`: the former is older than the latter, so the marts lack a due delivery;
   `recorded_at`), upserted, so a re-run rewrites the same rows. The outcome is the
   source's event for the day, else what `dq.batch` says, else `not_expected` or
   `not_reported`. Stale sources are logged as warnings and returned
   (`include/sinergi/source_status.py`). Engineers' table: `bi_reader` reads only `dq.batch`;
5. `check_source_freshness`, beside the dbt build, for last night's build only (a rebuild of
   an earlier day skips it): `dbt source freshness` on the raw tables, with the thresholds
   of `_staging__sources.yml` (a daily source warns 30 h after its last load, errors after
   54 h). A source at `error` **fails this task**, naming the source, its age and the limit;
   one at `warn` sends a **warning alert** (log, webhook, e-mail as configured) and the task
   succeeds. The marts are built either way (`include/sinergi/source_freshness.py`);
6. `summarise`: each source's batch verdicts for the day and the row count of every mart,
   in the task log and as the task's return value.

**Alerts.** Every task's failure goes to `FailureNotifier`: the task log always,
`SINERGI_ALERT_WEBHOOK` (a JSON POST) and `SINERGI_ALERT_EMAIL` (addresses, through Airflow
connection `smtp_default`) when set. A missing delivery fails its ingest DAG's
`wait_for_delivery` at the source's deadline, which alerts the same way.

**No manifest yet?** The manifest is written by `make install` (`dbt parse`, no database
needed) and refreshed by `sinergi run` when the project changed; DAG parsing never runs dbt.
Without it this DAG shows a `dbt_manifest_missing` task that fails, saying so (in place of
the dbt group; `record_source_status` still runs).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from sinergi import dbt_runner, pipeline
from sinergi.airflow_adapter import (
    FailureNotifier,
    dbt_environment_interceptor,
    every_source_reported,
    send_alert,
    triggering_event_extras,
    warehouse_url,
)
from sinergi.sources.registry import SOURCES

EVERY_SOURCE_REPORTED = every_source_reported(SOURCES)
BUSINESS_DATE = "{{ ti.xcom_pull(task_ids='business_date') }}"


def manifest_missing():
    @task(task_id="dbt_manifest_missing")
    def manifest_missing() -> None:
        raise AirflowFailException(
            f"no dbt manifest at {dbt_runner.MANIFEST_PATH}: run `make install` (or "
            "`sinergi run`, which builds it) and let Airflow parse this DAG again"
        )

    return manifest_missing()


def dbt_task_group():
    """The Cosmos task group of every dbt node."""

    from cosmos import (
        DbtTaskGroup,
        ExecutionConfig,
        ExecutionMode,
        LoadMode,
        ProfileConfig,
        ProjectConfig,
        RenderConfig,
        TestBehavior,
        TestIndirectSelection,
    )

    return DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=dbt_runner.DBT_PROJECT_DIR,
            manifest_path=dbt_runner.MANIFEST_PATH,
            install_dbt_deps=False,
        ),
        profile_config=ProfileConfig(
            profile_name=dbt_runner.PROFILE_NAME,
            target_name=dbt_runner.TARGET_NAME,
            profiles_yml_filepath=dbt_runner.DBT_PROJECT_DIR / "profiles.yml",
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_EACH,
            enable_owner_inheritance=False,  # every task is owned by sinergi-data
            # A test across models (relationships) runs once all its models are built.
            should_detach_multiple_parents_tests=True,
            emit_datasets=False,  # the marts' consumers are BI tools, not DAGs
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            dbt_executable_path=str(dbt_runner.dbt_executable()),
            # A model's test task runs only the tests of that model alone.
            test_indirect_selection=TestIndirectSelection.CAUTIOUS,
        ),
        operator_args={
            "vars": {"logical_date": BUSINESS_DATE},
            # Trigger with {"full_refresh": true} after changing an incremental staging
            # model's columns (dbt_project/README.md); run and seed tasks pass --full-refresh.
            "full_refresh": "{{ params.full_refresh }}",
            "interceptors": [dbt_environment_interceptor],
        },
    )


@dag(
    dag_id=pipeline.WAREHOUSE_DAG_ID,
    description="dbt build of the warehouse once every source reported its night",
    doc_md=__doc__,
    schedule=EVERY_SOURCE_REPORTED,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Jakarta"),
    catchup=False,
    max_active_runs=1,  # two builds must not rebuild the same tables at once
    tags=["sinergi", "warehouse", "dbt"],
    params={
        "full_refresh": Param(
            False,
            type="boolean",
            description="Rebuild the incremental models from every accepted batch (dbt "
            "--full-refresh); needed after a staging model's columns changed",
        )
    },
    default_args={
        "owner": "sinergi-data",
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
        "on_failure_callback": FailureNotifier(),
    },
)
def warehouse():
    @task
    def business_date(**context) -> str:
        """The business day to build: conf, else the Asset events, else the logical date."""
        day = pipeline.business_date_for_build(
            context["dag_run"].conf,
            triggering_event_extras(context),
            context.get("logical_date"),
        )
        return day.isoformat()

    @task
    def resolve_identities(day: str) -> dict:
        """Identity resolution of the night (between the two halves of the dbt build)."""
        from datetime import date

        from sinergi.identity.resolve import resolve_identities

        return resolve_identities(warehouse_url(), date.fromisoformat(day)).as_dict()

    @task
    def summarise(day: str) -> dict:
        """Batch verdicts of the day and row counts of the marts."""
        from datetime import date

        summary = pipeline.night_summary(warehouse_url(), date.fromisoformat(day))
        print(summary)
        return summary

    @task
    def record_source_status(day: str, **context) -> dict:
        """Each source's outcome for the day, and which were stale (dq.source_status)."""
        from datetime import date

        from sinergi import source_status

        return source_status.record_source_status(
            warehouse_url(), date.fromisoformat(day), triggering_event_extras(context)
        )

    @task
    def check_source_freshness(day: str, ti=None) -> dict:
        """dbt source freshness of the raw tables, for last night's build only: a source past
        its error threshold fails this task, one past its warn threshold sends a warning."""
        from datetime import date

        from sinergi import source_freshness
        from sinergi.dbt_runner import pii_key

        today = pendulum.now("Asia/Jakarta").date()
        if not source_freshness.applies_to(date.fromisoformat(day), today):
            raise AirflowSkipException(
                f"building {day} on {today}: freshness measures load times against the clock, "
                "so it is checked for last night only (dq.source_status covers every day)"
            )
        report = source_freshness.check_source_freshness(warehouse_url(), pii_key())
        for source in report.sources:
            print(source.describe())
        if report.warning:
            send_alert("warning", ti.dag_id, ti.task_id, day, report.summary(report.warning))
        if report.failing:
            # no retry: a retry would find the same load times
            raise AirflowFailException(f"stale sources: {report.summary(report.failing)}")
        return report.as_dict()

    day = business_date()
    summary = summarise(day)
    record_source_status(day) >> summary
    # a leaf beside the build: a stale source turns the run red, the marts are built anyway
    check_source_freshness(day)
    if not dbt_runner.MANIFEST_PATH.is_file():
        day >> manifest_missing() >> summary
        return
    dbt = dbt_task_group()
    day >> dbt >> summary
    # identity resolution reads one model (after its tests) and writes the tables some others
    # read; everything else of the dbt graph runs around it in parallel
    tasks = {t.task_id: t for t in dbt}
    identity_input = dbt_runner.IDENTITY_INPUT_MODEL
    # inside the dbt group: edges into and out of the group would make the group itself a
    # cycle in the UI's grid (the group is a node there)
    with dbt:
        identities = resolve_identities(day)
    tasks.get(f"dbt.{identity_input}.test", tasks[f"dbt.{identity_input}.run"]) >> identities
    for model in dbt_runner.models_reading_identity():
        identities >> tasks[f"dbt.{model}.run"]


warehouse()
