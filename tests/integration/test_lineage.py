"""OpenLineage: the provider is configured by ``sinergi.airflow_home`` (a JSON file per event
below ``$SINERGI_HOME/lineage`` by default), and an ingest run emits events naming its
delivery as input and ``raw.<source>`` as output.

The DAG runs as an engineer would run it, ``airflow dags test`` in a fresh process (the
provider reads its configuration once per process), on the tests' throwaway metadata
database and a fresh warehouse.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sinergi import airflow_home
from sinergi.simulate.config import SimulationConfig
from sinergi.simulate.kp2mi_api import serve_in_background
from sinergi.simulate.simulator import Simulator

WORLD = SimulationConfig(persons=60, start=date(2026, 1, 1), end=date(2026, 1, 1), seed=3)
TOKEN = "lineage-token"
DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


def _clean_lineage_env(monkeypatch, home: Path) -> None:
    monkeypatch.setenv("SINERGI_HOME", str(home))
    for name in ("AIRFLOW__OPENLINEAGE__TRANSPORT", "SINERGI_LINEAGE", "SINERGI_LINEAGE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_file_transport_by_default(monkeypatch, tmp_path):
    _clean_lineage_env(monkeypatch, tmp_path)
    env = airflow_home.lineage_environment()
    assert env["AIRFLOW__OPENLINEAGE__NAMESPACE"] == "sinergi"
    transport = json.loads(env["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    assert transport == {
        "type": "file",
        "log_file_path": str(tmp_path / "lineage" / "events"),
        "append": False,
    }
    assert (tmp_path / "lineage").is_dir(), "the transport needs the folder to exist"


def test_marquez_by_url_explicit_transport_wins_and_off(monkeypatch, tmp_path):
    _clean_lineage_env(monkeypatch, tmp_path)
    monkeypatch.setenv("SINERGI_LINEAGE_URL", "http://127.0.0.1:5000/")
    transport = json.loads(airflow_home.lineage_environment()["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    assert transport == {
        "type": "http",
        "url": "http://127.0.0.1:5000",
        "endpoint": "api/v1/lineage",
    }
    monkeypatch.setenv("SINERGI_LINEAGE_URL", "marquez:5000")
    with pytest.raises(airflow_home.AirflowHomeError, match="SINERGI_LINEAGE_URL"):
        airflow_home.lineage_environment()
    explicit = '{"type": "console"}'
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", explicit)
    assert airflow_home.lineage_environment()["AIRFLOW__OPENLINEAGE__TRANSPORT"] == explicit
    monkeypatch.setenv("SINERGI_LINEAGE", "off")
    assert airflow_home.lineage_environment() == {"AIRFLOW__OPENLINEAGE__DISABLED": "True"}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    Simulator(WORLD, out).run()
    return out


def _events(folder: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(folder.glob("events-*.json"))]


# Both nights in one fresh process, as the scheduler's task runner would emit them.
RUN_TWO_INGEST_NIGHTS = """
import sys
from datetime import datetime
from zoneinfo import ZoneInfo
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
night = datetime(2026, 1, 1, 2, tzinfo=ZoneInfo("Asia/Jakarta"))
for dag_id in ("ingest_bps_penduduk", "ingest_kp2mi_pmi"):
    print(dag_id, bag.get_dag(dag_id).test(logical_date=night).state)
"""


@pytest.fixture(scope="module")
def emitted(world, postgres_admin_url, airflow_db, tmp_path_factory):
    """The events of one night of a file-drop source and of the API source, a fresh
    warehouse; (events, warehouse URL, SINERGI_HOME, API URL)."""
    from tests.conftest import _create_database, _drop_database, url_with_database

    home = tmp_path_factory.mktemp("home")
    name = _create_database(postgres_admin_url, "sinergi_test_lineage")
    warehouse = url_with_database(postgres_admin_url, name)
    with pytest.MonkeyPatch.context() as patch:
        _clean_lineage_env(patch, home)
        lineage = airflow_home.lineage_environment()
        clean = dict(os.environ)
    try:
        with serve_in_background(world, TOKEN, rate_limit_per_second=0) as api_url:
            env = {
                **clean,
                **lineage,
                "SINERGI_HOME": str(home),
                "SINERGI_LANDING_DIR": str(world / "landing"),
                "SINERGI_SETTLE_SECONDS": "0",
                "AIRFLOW_CONN_WAREHOUSE": warehouse,
                "AIRFLOW_CONN_KP2MI_API": f"http://:{TOKEN}@{api_url[7:]}",
            }
            result = subprocess.run(
                [sys.executable, "-c", RUN_TWO_INGEST_NIGHTS, str(DAGS_FOLDER)],
                env=env, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "ingest_bps_penduduk success" in result.stdout, result.stdout[-3000:]
        assert "ingest_kp2mi_pmi success" in result.stdout, result.stdout[-3000:]
        yield _events(home / "lineage"), warehouse, home, api_url
    finally:
        _drop_database(postgres_admin_url, name)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("source", "origin"),
    [("bps_penduduk", "file"), ("kp2mi_pmi", "api")],
)
def test_an_ingest_run_emits_its_input_and_raw_table(source, origin, emitted, world):
    events, warehouse_url, home, api_url = emitted
    assert events, "no OpenLineage event was written to the file transport"
    jobs = {(e["job"]["namespace"], e["job"]["name"], e["eventType"]) for e in events}
    assert ("sinergi", f"ingest_{source}", "COMPLETE") in jobs, "the DAG run's own events"
    (load,) = [
        e
        for e in events
        if e["job"]["name"] == f"ingest_{source}.load" and e["eventType"] == "COMPLETE"
    ]
    warehouse = urlsplit(warehouse_url)
    database = warehouse.path.lstrip("/")
    assert [(o["namespace"], o["name"]) for o in load["outputs"]] == [
        (f"postgres://{warehouse.hostname}:{warehouse.port}", f"{database}.raw.{source}")
    ]
    inputs = [(i["namespace"], i["name"]) for i in load["inputs"]]
    archive = str(home / "archive" / source / "2026-01-01").lstrip("/")
    assert any(name.startswith(archive) for _, name in inputs), inputs
    if origin == "file":
        landing = str(world / "landing").lstrip("/")
        assert any(ns == "file://" and name.startswith(landing) for ns, name in inputs), inputs
    else:
        api = urlsplit(api_url)
        assert ("http", f"{api.hostname}:{api.port}/api/v1/pmi") in inputs, inputs


@pytest.mark.integration
def test_events_carry_no_row_values(emitted):
    events = emitted[0]
    # Names and metadata only: no NIK (16 digits) anywhere.
    assert not re.search(r"(?<!\d)\d{16}(?!\d)", json.dumps(events))
