"""``sinergi run --from D1 --to D2``: the nightly pipeline, night by night, through Airflow.

For each logical date ``D`` in order: every source's ingest DAG, then the warehouse DAG, each
as one Airflow DAG run executed in this process with ``dag.test()`` on the project's Airflow
metadata database (the embedded PostgreSQL's ``airflow`` database by default, migrated on
first use), so the runs are in the Airflow UI afterwards. The runs carry the logical date the
scheduler would give them (``D`` 02:00 WIB); the warehouse run also gets
``conf={"business_date": D}``.

Failure policy:

* one source's failed night does not stop the others: every source of the night runs, and
  the warehouse is built from what did load (a ministry's missing file must not hold the
  other ministries' data back);
* later nights run too (each night is idempotent and independent; a backfill of a month
  should show every red night at once, not stop at the first), unless ``--fail-fast``;
* the exit code is 1 when any run failed, and the failed runs are listed at the end.

``--warehouse-build last-night`` (catch-up) runs the ingest DAGs for every night but the
warehouse DAG only after the last one. The final warehouse is the same, because every build
is a full rebuild from raw as of its business day (no snapshots, no incremental models: the
option refuses otherwise), and a month's backfill takes minutes instead of hours: the
per-model Cosmos tasks cost about a second of dbt start-up each, some 80 per build. Identity
resolution keeps state, but its clusters depend only on the records (a full re-link equals
the incremental nights, docs/IDENTITY.md): catching up in one build gives the same people;
only merges and splits that happened between the skipped nights are not in
``worker_key_history``, since they never showed in the marts.

Re-running a night changes nothing: every ingest step is idempotent by source, business day
and content, identity resolution finds no changed record, and the dbt build rebuilds the same
tables from the same rows and date.

This module imports Airflow only inside ``run()``, after ``airflow_home.configure()``; the
small helpers at the top are also used by the warehouse DAG's tasks.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")
NIGHTLY_RUN_AT = clock_time(2, 0)  # the ingest DAGs' cron: D+1 02:00 WIB, logical date D 02:00
WAREHOUSE_DAG_ID = "warehouse"
WAREHOUSE_BUILDS = ("every-night", "last-night")
# `sinergi run` runs in the foreground: a retry waits seconds, not the DAGs' minutes.
FOREGROUND_RETRY_DELAY = timedelta(seconds=5)

# The marts the night summary counts (contracts/WAREHOUSE.md).
MARTS = (
    "dim_worker",
    "bridge_worker_source_record",
    "dim_program",
    "dim_region",
    "fct_enrollment",
    "fct_enrollment_overlap",
    "mart_returnee_pathways",
    "mart_program_reach_regency_month",
)

log = logging.getLogger(__name__)


# -- helpers shared with the warehouse DAG --------------------------------------------------


def logical_date_of(day: date) -> datetime:
    """The logical date the scheduler gives the nightly runs of business day ``day``."""
    return datetime.combine(day, NIGHTLY_RUN_AT, tzinfo=WIB)


def business_date_for_build(
    conf: Mapping | None,
    event_extras: Iterable[Mapping | None],
    logical_date: datetime | None,
) -> date:
    """Which business day a warehouse run builds.

    1. ``conf["business_date"]`` (a manual or ``sinergi run`` run says so explicitly);
    2. else the latest ``business_date`` among the triggering Asset events (a run the
       scheduler made because sources landed; asset-triggered runs have no logical date);
    3. else the run's logical date in Asia/Jakarta (a manual run without conf).
    """
    if conf and conf.get("business_date"):
        return _parse_day(conf["business_date"], "dag_run.conf['business_date']")
    days = [
        _parse_day(extra["business_date"], "the Asset event's extra['business_date']")
        for extra in event_extras
        if extra and extra.get("business_date")
    ]
    if days:
        return max(days)
    if logical_date is not None:
        return logical_date.astimezone(WIB).date()
    raise ValueError(
        'no business date: trigger the warehouse DAG with conf {"business_date": '
        '"YYYY-MM-DD"}, a logical date, or through the sources\' Asset events'
    )


def _parse_day(value, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValueError(f"{where} is {value!r}; expected YYYY-MM-DD") from None


def night_summary(warehouse_url: str, day: date) -> dict:
    """What a night left behind: each source's batch verdicts for ``day`` and the row count
    of every mart (the warehouse DAG's last step logs it; ``sinergi run`` prints it)."""
    import psycopg

    with psycopg.connect(warehouse_url, application_name="sinergi-summary") as conn:
        batches = conn.execute(
            "SELECT source_system, verdict, rows_received, rows_loaded, rows_quarantined "
            "FROM dq.batch WHERE logical_date = %s AND is_current ORDER BY source_system",
            (day,),
        ).fetchall()
        existing = {
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
            )
        }
        marts = {
            name: conn.execute(f'SELECT count(*) FROM marts."{name}"').fetchone()[0]
            for name in MARTS
            if name in existing
        }
    return {
        "business_date": day.isoformat(),
        "batches": [
            {"source": s, "verdict": v, "received": r, "loaded": lo, "quarantined": q}
            for s, v, r, lo, q in batches
        ],
        "marts": marts,
    }


# -- sinergi run ----------------------------------------------------------------------------


@dataclass
class RunOutcome:
    day: date
    dag_id: str
    state: str
    detail: str = ""
    seconds: float = 0.0


@dataclass
class PipelineResult:
    outcomes: list[RunOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.state not in ("success", "skipped")]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


class PipelineError(RuntimeError):
    """``sinergi run`` cannot start; the message says why and what to do."""


def nights(start: date, end: date) -> list[date]:
    if end < start:
        raise PipelineError(f"--to {end} is before --from {start}")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def check_nights_have_happened(end: date, today: date | None = None) -> None:
    """The night of ``D`` runs at ``D+1`` 02:00 WIB: refuse business days not yet over."""
    today = today or datetime.now(WIB).date()
    if end >= today:
        raise PipelineError(
            f"business day {end} is not over yet in Asia/Jakarta (today is {today}); its "
            "deliveries cannot all be there. Run up to yesterday"
        )


def prepare(start_database: bool = True) -> str:
    """Everything before the first run: the database, Airflow's environment and schema, the
    PII key, the dbt manifest. Returns the warehouse URL."""
    from sinergi import airflow_home, dbt_runner, settings

    dbt_runner.pii_key()  # no key, no run: fail before anything loads
    if start_database and airflow_home.uses_embedded_database():
        from sinergi.db.embedded import EmbeddedPostgres

        EmbeddedPostgres.from_settings().start()  # no-op when running
    url = settings.warehouse_url()
    airflow_home.configure(url)
    dbt_runner.ensure_manifest()
    airflow_home.migrate()
    return url


def run(
    start: date,
    end: date,
    *,
    fail_fast: bool = False,
    warehouse_build: str = "every-night",
    say: Callable[[str], None] = print,
    log_path: Path | None = None,
) -> PipelineResult:
    """Run every night from ``start`` to ``end`` (see the module docstring). Airflow's and
    dbt's own output goes to ``log_path`` (default ``$AIRFLOW_HOME/logs/sinergi-run.log``)."""
    if warehouse_build not in WAREHOUSE_BUILDS:
        raise PipelineError(f"--warehouse-build must be one of {', '.join(WAREHOUSE_BUILDS)}")
    days = nights(start, end)
    check_nights_have_happened(end)
    url = prepare()
    if warehouse_build == "last-night":
        check_full_rebuilds_only()
    from airflow.dag_processing.dagbag import BundleDagBag

    from sinergi import settings
    from sinergi.sources.registry import SOURCES

    dags_folder = settings.PROJECT_ROOT / "dags"
    bag = BundleDagBag(dag_folder=dags_folder, bundle_path=dags_folder, bundle_name="dags-folder")
    if bag.import_errors:
        raise PipelineError(f"the DAG files do not import: {bag.import_errors}")
    names = list(SOURCES)
    dags = {name: bag.dags.get(f"ingest_{name}") for name in names}
    dags[WAREHOUSE_DAG_ID] = bag.dags.get(WAREHOUSE_DAG_ID)
    for dag_id, dag in dags.items():
        if dag is None:
            raise PipelineError(f"DAG {dag_id} is not in {settings.PROJECT_ROOT / 'dags'}")
        for task in dag.tasks:
            task.retry_delay = min(task.retry_delay, FOREGROUND_RETRY_DELAY)

    from airflow.configuration import conf

    stack = contextlib.ExitStack()
    stack.enter_context(_parse_dags_folder_once(bag))
    log_path = log_path or Path(conf.get("logging", "base_log_folder")) / "sinergi-run.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    say(f"Airflow and dbt output: {log_path}")
    result = PipelineResult()
    with stack, open(log_path, "a", encoding="utf-8") as log_file:
        for day in days:
            night_failed = False
            for name in names:
                outcome = _run_dag(dags[name], day, None, log_file)
                outcome.detail = _batch_line(url, name, day) or outcome.detail
                result.outcomes.append(outcome)
                night_failed |= outcome.state == "failed"
                say(_format(outcome, name))
            if warehouse_build == "every-night" or day == days[-1]:
                conf_ = {"business_date": day.isoformat()}
                outcome = _run_dag(dags[WAREHOUSE_DAG_ID], day, conf_, log_file)
                if outcome.state == "success":
                    outcome.detail = _marts_line(url, day)
                result.outcomes.append(outcome)
                night_failed |= outcome.state == "failed"
                say(_format(outcome, WAREHOUSE_DAG_ID))
            if night_failed and fail_fast:
                say(f"{day}: stopping here (--fail-fast)")
                break
    return result


@contextlib.contextmanager
def _parse_dags_folder_once(bag):
    """``dag.test()`` re-parses and re-syncs the whole DAGs folder on every call (a second
    each, ten calls a night). The files do not change during ``sinergi run``: hand it the bag
    parsed at the start, synced once; and shorten its one-second waits between steps. Falls
    back to Airflow's own behaviour if the internals it relies on move
    (``airflow.dag_processing.dagbag.BundleDagBag``/``sync_bag_to_db``)."""
    from unittest import mock

    from airflow.dag_processing import dagbag as dagbag_module

    original_sync = getattr(dagbag_module, "sync_bag_to_db", None)
    if original_sync is None or not hasattr(dagbag_module, "BundleDagBag"):
        yield
        return
    synced: set[str] = set()

    def reuse_bag(*args, **kwargs):
        return bag

    def sync_once(dagbag, bundle_name, bundle_version, **kwargs):
        if dagbag is bag and bundle_name in synced:
            return None
        synced.add(bundle_name)
        return original_sync(dagbag, bundle_name, bundle_version, **kwargs)

    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        # dag.test() sleeps a whole second between steps while it propagates skips (a source
        # with no delivery due skips every task); only its own waits are shortened.
        caller = sys._getframe(1).f_code.co_filename
        real_sleep(min(seconds, 0.05) if caller == dag_test_file else seconds)

    dag_test_file = _dag_test_file()
    with (
        mock.patch.object(dagbag_module, "BundleDagBag", reuse_bag),
        mock.patch.object(dagbag_module, "sync_bag_to_db", sync_once),
        mock.patch.object(time, "sleep", sleep),
    ):
        yield


def _dag_test_file() -> str:
    from airflow.sdk.definitions import dag as dag_module

    return dag_module.__file__


def check_full_rebuilds_only(manifest_path: Path | None = None) -> None:
    """Catch-up builds are only equivalent when no model keeps state between builds.

    Incremental models marked ``meta: {equals_full_build: true}`` (the staging models that
    re-stage every record a batch touched since their last build, however many builds were
    skipped) give what a full build gives, so they do not count."""
    import json

    from sinergi import dbt_runner

    manifest = json.loads((manifest_path or dbt_runner.MANIFEST_PATH).read_text())
    stateful = sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "snapshot"
        or (
            node.get("config", {}).get("materialized") == "incremental"
            and not node.get("config", {}).get("meta", {}).get("equals_full_build")
        )
    )
    if stateful:
        raise PipelineError(
            f"--warehouse-build last-night skips the builds of earlier nights, but "
            f"{', '.join(stateful)} keep history from build to build; use every-night"
        )


def _run_dag(dag, day: date, conf: dict | None, log_file) -> RunOutcome:
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(log_file), contextlib.redirect_stderr(log_file):
            dag_run = dag.test(logical_date=logical_date_of(day), run_conf=conf)
        state = str(getattr(dag_run.state, "value", dag_run.state))
        detail = ""
        if state == "success" and _all_skipped(dag_run):
            state = "skipped"
        elif state == "failed":
            detail = "failed tasks: " + ", ".join(_failed_tasks(dag_run))
    except Exception as error:  # a run that cannot even start is a failed run
        log.exception("%s %s could not run", dag.dag_id, day)
        state, detail = "failed", f"{type(error).__name__}: {error}"
    return RunOutcome(day, dag.dag_id, state, detail, time.perf_counter() - started)


def _task_states(dag_run) -> dict[str, str]:
    """task id -> state of a finished run, read back from the metadata database."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskInstance.task_id, TaskInstance.state).filter(
            TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id
        )
        return {task_id: str(getattr(state, "value", state)) for task_id, state in rows}


def _failed_tasks(dag_run) -> list[str]:
    return sorted(task for task, state in _task_states(dag_run).items() if state == "failed")


# The ingest DAGs' last task reports the night's outcome even when every other task skipped
# (no delivery due): such a night is still shown as skipped.
OUTCOME_TASK_ID = "report_outcome"


def _all_skipped(dag_run) -> bool:
    states = {s for task, s in _task_states(dag_run).items() if task != OUTCOME_TASK_ID}
    return bool(states) and states <= {"skipped"}


def _batch_line(url: str, source: str, day: date) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT verdict, rows_loaded, rows_quarantined, verdict_reason FROM dq.batch "
            "WHERE source_system = %s AND logical_date = %s ORDER BY batch_id DESC LIMIT 1",
            (source, day),
        ).fetchall()
    if not rows:
        return ""
    verdict, loaded, quarantined, reason = rows[0]
    line = f"batch {verdict}"
    if loaded is not None:
        line += f", {loaded} rows loaded, {quarantined or 0} quarantined"
    if verdict not in ("passed", "warned") and reason:
        line += f": {reason}"
    return line


def _marts_line(url: str, day: date) -> str:
    try:
        marts = night_summary(url, day)["marts"]
    except Exception as error:  # the summary is a courtesy; the run's state is the verdict
        return f"(no summary: {error})"
    if not marts:
        return "no marts built"
    return ", ".join(f"{name} {count}" for name, count in marts.items())


def _format(outcome: RunOutcome, name: str) -> str:
    text = f"{outcome.day}  {name:<20} {outcome.state:<8} {outcome.seconds:6.1f}s"
    return f"{text}  {outcome.detail}" if outcome.detail else text


# -- the command ----------------------------------------------------------------------------


def register(commands) -> None:
    """Add ``sinergi run`` to the ``sinergi`` command."""
    parser = commands.add_parser(
        "run",
        help="run the nightly pipeline (every ingest DAG, then the warehouse) for a date range",
        description=(
            "For each logical date from --from to --to, in order: run every source's ingest "
            "DAG, then the warehouse DAG, through Airflow (in this process, recorded in the "
            "Airflow metadata database). Prints a line per source and night; exits 1 when "
            "any run failed. Re-running a date changes nothing."
        ),
    )
    parser.add_argument("--from", dest="start", type=date.fromisoformat, required=True,
                        help="first logical date (YYYY-MM-DD)")  # fmt: skip
    parser.add_argument("--to", dest="end", type=date.fromisoformat, required=True,
                        help="last logical date, inclusive (YYYY-MM-DD)")  # fmt: skip
    parser.add_argument("--fail-fast", action="store_true",
                        help="stop after the first night with a failed run")  # fmt: skip
    parser.add_argument(
        "--warehouse-build", choices=WAREHOUSE_BUILDS, default="every-night",
        help="build the warehouse after every night (default) or only after the last one "
        "(catch-up: the same final warehouse, much faster for long ranges)",
    )  # fmt: skip
    parser.add_argument(
        "--verbose", action="store_true", help="Airflow's INFO logs too (in the run log)"
    )
    parser.set_defaults(handler=_command)


def _command(args) -> int:
    import os

    if not args.verbose:
        # Task logs stay in Airflow's log; the terminal gets one line per source and night.
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
    from sinergi.airflow_home import AirflowHomeError
    from sinergi.db.embedded import EmbeddedPostgresError
    from sinergi.settings import SettingsError

    try:
        result = run(
            args.start, args.end, fail_fast=args.fail_fast, warehouse_build=args.warehouse_build
        )
    except (PipelineError, SettingsError, AirflowHomeError, EmbeddedPostgresError) as error:
        print(f"sinergi run: {error}", file=sys.stderr)
        return 2
    if result.failed:
        print(f"\n{len(result.failed)} run(s) failed:", file=sys.stderr)
        for outcome in result.failed:
            print(f"  {outcome.day} {outcome.dag_id}: {outcome.detail}", file=sys.stderr)
    return result.exit_code
