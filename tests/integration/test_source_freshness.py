"""dbt source freshness on a real warehouse, and the warehouse DAG's check_source_freshness:
a source past its error threshold fails the task, one past its warn threshold alerts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
import pytest

from sinergi import dbt_runner, source_freshness
from sinergi.ingest.schema import ensure_schema
from sinergi.sources.registry import SOURCES

pytestmark = pytest.mark.integration

DAGS = Path(__file__).resolve().parents[2] / "dags"
PII_KEY = "integration-test-hmac-key-0123456789"
YEARLY = {"kemendes_idm", "bps_penduduk"}  # no freshness threshold: judged by the calendar


def _loaded_hours_ago(url: str, hours: dict[str, float]) -> None:
    """One row in each raw table, loaded ``hours[source]`` ago (default: 1 h)."""
    with psycopg.connect(url) as conn:
        ensure_schema(conn)
        for source in SOURCES:
            conn.execute(
                f"INSERT INTO raw.{source} (_batch_id, _source_row_number, _loaded_at) "
                "VALUES (1, 1, now() - make_interval(hours => %s))",
                (hours.get(source, 1),),
            )


def test_dbt_freshness_per_source_against_its_cadence(fresh_database):
    _loaded_hours_ago(
        fresh_database,
        {"kp2mi_pmi": 40, "umkm_penerima": 60, "parekraf_pelatihan": 60, "bps_wilayah": 800},
    )
    report = source_freshness.check_source_freshness(fresh_database, PII_KEY)
    status = {s.source: s.status for s in report.sources}
    assert status == {
        "kp2mi_pmi": "warn",  # a night late (daily: warn after 30 h)
        "umkm_penerima": "error",  # two nights missed (error after 54 h)
        "parekraf_pelatihan": "pass",  # weekdays only: a weekend is not late (warn after 78 h)
        "bps_wilayah": "warn",  # monthly: warn after 33 days
        **{s: "pass" for s in SOURCES.keys() - YEARLY - {"kp2mi_pmi", "umkm_penerima",
                                                       "parekraf_pelatihan", "bps_wilayah"}},
    }  # fmt: skip


def _run_freshness_task(day: str):
    """``business_date`` and ``check_source_freshness`` of the warehouse DAG, run by
    ``dag.test()``; the task's state and the run."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / "warehouse.py"))
    assert bag.import_errors == {}
    dag = bag.dags["warehouse"].partial_subset(
        task_ids=["business_date", "check_source_freshness"], include_upstream=True
    )
    run = dag.test(logical_date=None, run_conf={"business_date": day})
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    return run, states["check_source_freshness"]


@pytest.fixture
def warehouse_env(fresh_database, airflow_db, monkeypatch, alert_webhook, tmp_path):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", fresh_database)
    monkeypatch.setenv("SINERGI_PII_KEY", PII_KEY)
    monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(dbt_runner, "MANIFEST_PATH", tmp_path / "no-manifest.json")
    return fresh_database, alert_webhook


def test_the_task_fails_on_a_stale_source_and_alerts_on_a_late_one(warehouse_env, monkeypatch):
    url, alerts = warehouse_env
    # business day 2026-01-05 is "last night" for this test (the check reads the clock)
    monkeypatch.setattr(source_freshness, "applies_to", lambda day, today: True)
    _loaded_hours_ago(url, {"kp2mi_pmi": 40, "umkm_penerima": 60})

    run, state = _run_freshness_task("2026-01-05")

    assert (str(run.state), state) == ("failed", "failed")
    by_level = {alert["level"]: alert for alert in alerts}
    assert by_level["warning"]["task_id"] == "check_source_freshness"
    assert "kp2mi_pmi: warn, last loaded 40.0 h ago (limit 30 h)" in by_level["warning"]["reason"]
    assert by_level["failed"]["reason"] == (
        "stale sources: umkm_penerima: error, last loaded 60.0 h ago (limit 54 h)"
    )


def test_a_rebuild_of_an_earlier_day_skips_the_check(warehouse_env, monkeypatch):
    url, alerts = warehouse_env
    _loaded_hours_ago(url, {"umkm_penerima": 60})  # would fail if it were checked

    run, state = _run_freshness_task(date(2026, 1, 5).isoformat())

    assert (str(run.state), state, alerts) == ("success", "skipped", [])
