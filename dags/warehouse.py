"""
### Warehouse: the nightly dbt build, model by model

Builds the dbt project (`dbt_project/`) into the warehouse when sources land, so BI reads
fresh marts in the morning.

**Schedule: any source's Asset.** Each ingest DAG publishes its Asset `raw.<source>` when a
batch loads; this DAG runs when *any* of them has a new event (`asset_a | asset_b | ...`),
not when all have: the sources deliver on different calendars (weekdays only, monthly,
yearly), so an all-of condition would wait for deliveries that never come, and one
ministry's missing file must not hold back the others' data. Events that arrive while a
build is queued are folded into it. Every build is a full, idempotent rebuild as of its
business day, so building a night twice (or once per landed source) gives the same marts.

**Business day.** `conf["business_date"]` if given (a manual run, `sinergi run`); else the
latest `business_date` in the triggering Asset events' extra (asset-triggered runs have no
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
4. `summarise`: each source's batch verdicts for the day and the row count of every mart,
   in the task log and as the task's return value.

**No manifest yet?** The manifest is written by `make install` (`dbt parse`, no database
needed) and refreshed by `sinergi run` when the project changed; DAG parsing never runs dbt.
Without it this DAG shows a single `dbt_manifest_missing` task that fails, saying so.
"""

from __future__ import annotations

import functools
import operator
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from airflow.sdk.exceptions import AirflowFailException

from sinergi import dbt_runner, pipeline
from sinergi.airflow_adapter import (
    FailureNotifier,
    dbt_environment_interceptor,
    source_asset,
    triggering_event_extras,
    warehouse_url,
)
from sinergi.sources.registry import SOURCES

ANY_SOURCE_LANDED = functools.reduce(operator.or_, (source_asset(name) for name in SOURCES))
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
            "interceptors": [dbt_environment_interceptor],
            "install_deps": False,
        },
    )


@dag(
    dag_id=pipeline.WAREHOUSE_DAG_ID,
    description="dbt build of the warehouse when sources land: staging, identity, marts",
    doc_md=__doc__,
    schedule=ANY_SOURCE_LANDED,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Jakarta"),
    catchup=False,
    max_active_runs=1,  # two builds must not rebuild the same tables at once
    tags=["sinergi", "warehouse", "dbt"],
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

    day = business_date()
    if not dbt_runner.MANIFEST_PATH.is_file():
        day >> manifest_missing() >> summarise(day)
        return
    dbt = dbt_task_group()
    day >> dbt >> summarise(day)
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
