"""Every DAG file imports cleanly, quickly, with no database or network at parse time, and
follows the house rules (tags, owner, retries, doc_md, catchup explicit, Jakarta time)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sinergi.sources.registry import SOURCES

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dag_bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_no_import_errors(dag_bag):
    assert dag_bag.import_errors == {}


def test_one_ingest_dag_per_registered_source(dag_bag):
    assert {f"ingest_{name}" for name in SOURCES} <= set(dag_bag.dag_ids)


def test_house_rules(dag_bag):
    for dag_id, dag in dag_bag.dags.items():
        assert dag.tags and "sinergi" in dag.tags, dag_id
        assert dag.doc_md, dag_id
        assert dag.catchup is False, dag_id
        assert str(dag.timezone) in ("Asia/Jakarta", "Timezone('Asia/Jakarta')"), dag_id
        for task in dag.tasks:
            assert task.owner == "sinergi-data", (dag_id, task.task_id)
            assert task.retries >= 1 or task.task_type.endswith("Sensor"), (dag_id, task.task_id)
            assert task.on_failure_callback, (dag_id, task.task_id)


def test_task_groups_have_no_cycles(dag_bag):
    """The UI's grid sorts each task group as a node: a task outside a group that is both
    downstream and upstream of it makes the grid fail (HTTP 500) although tasks run."""

    def sort_every_group(group):
        group.topological_sort()  # raises on a cycle
        for child in group.children.values():
            if hasattr(child, "children"):
                sort_every_group(child)

    for dag in dag_bag.dags.values():
        sort_every_group(dag.task_group)


PARSE_WITHOUT_IO = """
import socket, sys
import psycopg

def refuse(*args, **kwargs):
    raise RuntimeError("database or network access at DAG parse time")

psycopg.connect = refuse
socket.socket.connect = refuse
socket.create_connection = refuse
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
"""


def test_parsing_touches_no_database_or_network():
    """In a fresh interpreter (as the dag-processor does), with connections refused. How long
    parsing takes is measured by `make bench-dag-parse`, not asserted here."""
    result = subprocess.run(
        [sys.executable, "-c", PARSE_WITHOUT_IO, str(DAGS_FOLDER)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_warehouse_runs_when_every_source_has_reported(dag_bag):
    """Scheduled on the AND of every source's outcome Asset (not on any raw Asset)."""
    from airflow.sdk import AssetAll

    from sinergi.airflow_adapter import source_outcome_asset

    condition = dag_bag.dags["warehouse"].timetable.asset_condition
    assert isinstance(condition, AssetAll)
    assert list(condition.objects) == [source_outcome_asset(name) for name in SOURCES]
    # Its hash is cached (parse time), and still equals that of a plain AssetAll.
    plain = AssetAll(*(source_outcome_asset(name) for name in SOURCES))
    assert condition == plain and hash(condition) == hash(plain)


def test_warehouse_records_the_source_status_of_its_day(dag_bag):
    dag = dag_bag.dags["warehouse"]
    record = dag.get_task("record_source_status")
    assert record.upstream_task_ids == {"business_date"}
    assert "summarise" in record.downstream_task_ids


def test_warehouse_checks_source_freshness_beside_the_build(dag_bag):
    """A leaf: a stale source turns the run red without holding back the marts."""
    check = dag_bag.dags["warehouse"].get_task("check_source_freshness")
    assert check.upstream_task_ids == {"business_date"}
    assert check.downstream_task_ids == set()


def test_warehouse_full_refresh_is_a_run_parameter(dag_bag):
    """Off by default; when on, every dbt run task of an incremental model gets it."""
    dag = dag_bag.dags["warehouse"]
    assert dag.params["full_refresh"] is False
    task = dag.get_task("dbt.stg_umkm__beneficiaries.run")
    assert task.full_refresh == "{{ params.full_refresh }}"
    assert "full_refresh" in task.template_fields


def test_every_ingest_run_ends_by_reporting_its_outcome(dag_bag):
    """``report_outcome`` runs after everything else, whatever happened (a teardown: all
    done, left out of the run's state), and updates the source's outcome Asset; ``publish``
    still updates ``raw.<source>``."""
    from sinergi.airflow_adapter import source_asset, source_outcome_asset

    for name in SOURCES:
        dag = dag_bag.dags[f"ingest_{name}"]
        report = dag.get_task("report_outcome")
        assert report.is_teardown and not report.on_failure_fail_dagrun, name
        assert report.upstream_task_ids == {"publish"} and not report.downstream_task_ids
        assert report.outlets == [source_outcome_asset(name)], name
        assert dag.get_task("publish").outlets == [source_asset(name)], name
        assert set(dag.task_ids) - report.get_flat_relative_ids(upstream=True) == {
            "report_outcome"
        }, "every other task is upstream of the report"
