"""The warehouse DAG: rendered by Cosmos from a manifest, and run with ``dag.test()`` after a
night of ingest on a fresh database, building the marts."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from sinergi import dbt_runner
from sinergi.simulate.config import SimulationConfig
from sinergi.simulate.kp2mi_api import serve_in_background
from sinergi.simulate.simulator import Simulator
from sinergi.sources.registry import SOURCES

pytestmark = pytest.mark.integration

DAGS = Path(__file__).resolve().parents[2] / "dags"
WIB = ZoneInfo("Asia/Jakarta")
WORLD = SimulationConfig(persons=200, start=date(2026, 1, 1), end=date(2026, 1, 2), seed=5)
TOKEN = "test-token"
PII_KEY = "integration-test-hmac-key-0123456789"


def _has_models() -> bool:
    return any((dbt_runner.DBT_PROJECT_DIR / "models" / "marts").glob("*.sql"))


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    """The project's manifest, built by ``dbt parse`` in a temporary target directory."""
    if not _has_models():
        pytest.skip("dbt_project/models/marts has no models yet: nothing to render or build")
    try:
        return dbt_runner.build_manifest(tmp_path_factory.mktemp("target"))
    except dbt_runner.DbtError as error:
        pytest.fail(f"the dbt project does not parse: {error}")


def load_warehouse_dag(monkeypatch, manifest_path: Path):
    """Parse dags/warehouse.py as the dag-processor would, with the manifest at this path."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setattr(dbt_runner, "MANIFEST_PATH", manifest_path)
    bag = DagBag(dag_folder=str(DAGS / "warehouse.py"))
    assert bag.import_errors == {}
    return bag.dags["warehouse"]


def test_without_a_manifest_the_dag_says_so(monkeypatch, tmp_path):
    dag = load_warehouse_dag(monkeypatch, tmp_path / "missing" / "manifest.json")
    assert sorted(dag.task_ids) == [
        "business_date",
        "check_source_freshness",
        "dbt_manifest_missing",
        "record_source_status",
        "summarise",
    ]
    assert "No manifest yet" in dag.doc_md


def test_renders_a_run_and_a_test_task_per_model(monkeypatch, manifest):
    dag = load_warehouse_dag(monkeypatch, manifest)
    nodes = json.loads(manifest.read_text())["nodes"].values()
    models = {n["name"] for n in nodes if n["resource_type"] == "model"}
    tested = {
        parent.split(".")[-1]
        for n in nodes
        if n["resource_type"] == "test" and len(set(n["depends_on"]["nodes"])) == 1
        for parent in n["depends_on"]["nodes"]
        if parent.startswith("model.")
    }
    task_ids = set(dag.task_ids)
    assert {f"dbt.{m}.run" for m in models} <= task_ids
    assert {f"dbt.{m}.test" for m in tested} <= task_ids
    assert tested, "the project's models have tests"
    run_task = dag.get_task("dbt.dim_worker.run")
    assert run_task.vars == {"logical_date": "{{ ti.xcom_pull(task_ids='business_date') }}"}
    assert run_task.env in (None, {}), "no connection details or key at parse time"
    assert dag.get_task("dbt.dim_worker.run") in dag.get_task("business_date").get_flat_relatives(
        upstream=False
    )


@pytest.fixture
def deployment(tmp_path, fresh_database, airflow_db, monkeypatch):
    world = tmp_path / "world"
    Simulator(WORLD, world).run()
    landing = tmp_path / "landing"
    shutil.copytree(world / "landing", landing)
    import cosmos.settings

    monkeypatch.setattr(cosmos.settings, "enable_telemetry", False)
    with serve_in_background(world, TOKEN, rate_limit_per_second=0) as api_url:
        monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", fresh_database)
        monkeypatch.setenv("AIRFLOW_CONN_KP2MI_API", f"http://:{TOKEN}@{api_url[7:]}")
        monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("SINERGI_LANDING_DIR", str(landing))
        monkeypatch.setenv("SINERGI_SETTLE_SECONDS", "0")
        monkeypatch.setenv("SINERGI_PII_KEY", PII_KEY)
        yield fresh_database


def test_a_night_of_ingest_then_the_warehouse_builds_the_marts(deployment, manifest, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.asset import AssetEvent
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    url = deployment
    night = datetime.combine(date(2026, 1, 1), time(2), WIB)
    ingest = DagBag(dag_folder=str(DAGS / "ingest.py"))
    for name in SOURCES:
        assert str(ingest.dags[f"ingest_{name}"].test(logical_date=night).state) == "success"
    with create_session() as session:
        extras = [event.extra for event in session.query(AssetEvent).all()]
    assert {"business_date": "2026-01-01"}.items() <= extras[-1].items(), "the day travels"

    dag = load_warehouse_dag(monkeypatch, manifest)
    run = dag.test(logical_date=None, run_conf={"business_date": "2026-01-01"})
    assert str(run.state) == "success"

    with psycopg.connect(url) as conn:
        counts = {
            table: conn.execute(f"SELECT count(*) FROM marts.{table}").fetchone()[0]
            for table in ("dim_worker", "fct_enrollment", "dim_program", "dim_region")
        }
        hashes = conn.execute("SELECT nik_hash FROM marts.dim_worker WHERE nik_hash IS NOT NULL")
        assert all(len(h) == 64 for (h,) in hashes), "HMAC-SHA256, hex"
        status = conn.execute(
            "SELECT source_system, outcome, is_stale FROM dq.source_status "
            "WHERE business_date = '2026-01-01'"
        ).fetchall()
    assert sorted(status) == [(name, "landed", False) for name in sorted(SOURCES)], status
    assert all(counts.values()), counts

    with create_session() as session:
        rendered = [
            json.dumps(row.rendered_fields, default=str)
            for row in session.query(RenderedTaskInstanceFields).filter_by(dag_id="warehouse")
        ]
    assert rendered and not [text for text in rendered if PII_KEY in text], "key in the UI"
    logs = Path(os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"])
    leaked = [
        p for p in logs.rglob("*") if p.is_file() and PII_KEY in p.read_text("utf-8", "ignore")
    ]
    assert not leaked


def test_business_date_of_an_asset_triggered_run():
    """A run the scheduler makes from Asset events has no logical date: the events' extra
    (written by the ingest DAGs' report_outcome task) says which day to build."""
    from types import SimpleNamespace

    from sinergi import pipeline
    from sinergi.airflow_adapter import source_outcome_asset, triggering_event_extras

    context = {
        "triggering_asset_events": {
            source_outcome_asset("umkm_penerima"): [
                SimpleNamespace(extra={"business_date": "2026-01-05"})
            ],
            source_outcome_asset("kp2mi_pmi"): [
                SimpleNamespace(extra={"business_date": "2026-01-06", "batch_id": 7}),
                SimpleNamespace(extra=None),
            ],
        }
    }
    extras = triggering_event_extras(context)
    assert pipeline.business_date_for_build(None, extras, None) == date(2026, 1, 6)
    assert triggering_event_extras({}) == []
