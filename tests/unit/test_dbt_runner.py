"""dbt's environment from a warehouse URL, the HMAC key, and the warehouse build's business
day (plain Python: no dbt, no database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from sinergi import airflow_home, dbt_runner, pipeline
from sinergi.settings import SettingsError

KEY = "k" * 32


def test_tcp_url():
    env = dbt_runner.dbt_environment("postgresql://sinergi:s%40cret@db.example:6543/dwh", KEY)
    assert env == {
        "SINERGI_DBT_HOST": "db.example",
        "SINERGI_DBT_PORT": "6543",
        "SINERGI_DBT_USER": "sinergi",
        "SINERGI_DBT_PASSWORD": "s@cret",
        "SINERGI_DBT_DBNAME": "dwh",
        "PGOPTIONS": f"-c sinergi.pii_key={KEY}",
    }


def test_unix_socket_url_without_password():
    env = dbt_runner.dbt_environment(
        "postgresql://postgres@/warehouse?host=/tmp/sinergi-pg-abc&port=55432", KEY
    )
    assert env["SINERGI_DBT_HOST"] == "/tmp/sinergi-pg-abc"
    assert env["SINERGI_DBT_PORT"] == "55432"
    assert env["SINERGI_DBT_USER"] == "postgres"
    assert env["SINERGI_DBT_PASSWORD"] == ""
    assert env["SINERGI_DBT_DBNAME"] == "warehouse"


def test_percent_encoded_socket_host_default_port_and_sslmode():
    env = dbt_runner.dbt_environment(
        "postgres://u@%2Fvar%2Frun%2Fpostgresql/w?sslmode=require", KEY
    )
    assert env["SINERGI_DBT_HOST"] == "/var/run/postgresql"
    assert env["SINERGI_DBT_PORT"] == "5432"
    assert env["PGSSLMODE"] == "require"


@pytest.mark.parametrize(
    "url",
    ["mysql://u@h/db", "postgresql://u@h:5432/", "postgresql://h/db", "postgresql://u@h:x/db"],
)
def test_bad_urls_say_what_is_wrong(url):
    with pytest.raises(SettingsError):
        dbt_runner.dbt_environment(url, KEY)


def test_key_with_spaces_is_escaped_for_libpq():
    env = dbt_runner.dbt_environment("postgresql://u@h/db", "a key with\\ spaces!")
    assert env["PGOPTIONS"] == "-c sinergi.pii_key=a\\ key\\ with\\\\\\ spaces!"


def test_key_reaches_the_session_setting_only_through_pgoptions():
    env = dbt_runner.dbt_environment("postgresql://u:p@h/db", KEY)
    assert [name for name, value in env.items() if KEY in value] == ["PGOPTIONS"]


def test_pii_key_from_environment(monkeypatch):
    monkeypatch.setenv("SINERGI_PII_KEY", KEY)
    monkeypatch.setenv("SINERGI_DEMO", "1")
    assert dbt_runner.pii_key() == KEY, "a configured key wins over the demo key"


def test_no_key_refuses_to_run(monkeypatch):
    monkeypatch.delenv("SINERGI_PII_KEY", raising=False)
    monkeypatch.delenv("SINERGI_DEMO", raising=False)
    with pytest.raises(dbt_runner.PiiKeyMissingError, match="SINERGI_PII_KEY is not set"):
        dbt_runner.pii_key()


def test_short_key_is_refused(monkeypatch):
    monkeypatch.setenv("SINERGI_PII_KEY", "short")
    with pytest.raises(dbt_runner.PiiKeyMissingError, match="at least 16"):
        dbt_runner.pii_key()


def test_demo_mode_uses_the_named_demo_key(monkeypatch):
    monkeypatch.delenv("SINERGI_PII_KEY", raising=False)
    monkeypatch.setenv("SINERGI_DEMO", "1")
    assert dbt_runner.pii_key() == dbt_runner.DEMO_PII_KEY
    assert "demo" in dbt_runner.DEMO_PII_KEY and "not-secret" in dbt_runner.DEMO_PII_KEY


def test_dbt_parse_needs_no_database(tmp_path):
    """The placeholder profile points at a host that cannot exist: parse must not connect."""
    if not any((dbt_runner.DBT_PROJECT_DIR / "models").rglob("*.sql")):
        pytest.skip("the dbt project has no models yet")
    try:
        manifest = dbt_runner.build_manifest(tmp_path / "target")
    except dbt_runner.DbtError as error:  # a model being written right now may not compile
        if "Compilation Error" in str(error) or "Parsing Error" in str(error):
            pytest.skip(f"the dbt project does not parse right now: {str(error)[-300:]}")
        raise
    nodes = json.loads(manifest.read_text())["nodes"]
    assert any(node["resource_type"] == "model" for node in nodes.values())
    assert list((tmp_path / "target").glob("building*")) == []


def test_two_manifest_builds_at_once_both_succeed(tmp_path):
    """`make install` beside a `sinergi run` that found the project changed: each build parses
    in a directory of its own (a shared one was deleted under the other; seen in a bench)."""
    from concurrent.futures import ThreadPoolExecutor

    if not any((dbt_runner.DBT_PROJECT_DIR / "models").rglob("*.sql")):
        pytest.skip("the dbt project has no models yet")
    with ThreadPoolExecutor(2) as pool:
        built = list(pool.map(lambda _: dbt_runner.build_manifest(tmp_path / "target"), [1, 2]))
    assert built == [tmp_path / "target" / "manifest.json"] * 2
    assert json.loads(built[0].read_text())["nodes"]
    assert list((tmp_path / "target").glob("building*")) == []


def test_business_date_precedence():
    jakarta_evening = datetime(2026, 1, 5, 19, 0, tzinfo=UTC)  # 6 Jan 02:00 WIB
    extras = [{"business_date": "2026-01-03"}, {"business_date": "2026-01-04"}, None, {}]
    build = pipeline.business_date_for_build
    assert build({"business_date": "2026-01-02"}, extras, jakarta_evening) == date(2026, 1, 2)
    assert build({}, extras, jakarta_evening) == date(2026, 1, 4), "latest landed day"
    assert build(None, [], jakarta_evening) == date(2026, 1, 6), "logical date in WIB"
    with pytest.raises(ValueError, match="business date"):
        build(None, [], None)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        build({"business_date": "next tuesday"}, [], None)


def test_nights_in_order_and_not_before_they_are_over():
    assert pipeline.nights(date(2026, 1, 30), date(2026, 2, 2)) == [
        date(2026, 1, 30), date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 2),
    ]  # fmt: skip
    with pytest.raises(pipeline.PipelineError):
        pipeline.nights(date(2026, 1, 2), date(2026, 1, 1))
    with pytest.raises(pipeline.PipelineError, match="not over yet"):
        pipeline.check_nights_have_happened(date(2026, 3, 1), today=date(2026, 3, 1))
    pipeline.check_nights_have_happened(date(2026, 2, 28), today=date(2026, 3, 1))


def test_airflow_connections_from_settings(monkeypatch):
    warehouse = json.loads(
        airflow_home.warehouse_connection("postgresql://postgres@/warehouse?host=/s/dir&port=5")
    )
    assert warehouse == {
        "conn_type": "postgres", "host": "/s/dir", "port": 5, "login": "postgres",
        "schema": "warehouse",
    }  # fmt: skip
    monkeypatch.setenv("SINERGI_KP2MI_URL", "http://127.0.0.1:8765")
    monkeypatch.setenv("SINERGI_KP2MI_TOKEN", "tok")
    assert json.loads(airflow_home.kp2mi_connection()) == {
        "conn_type": "http", "host": "127.0.0.1", "schema": "http", "port": 8765,
        "password": "tok",
    }  # fmt: skip
    assert airflow_home.sqlalchemy_url("postgresql://u:p@h:1/airflow") == (
        "postgresql+psycopg2://u:p@h:1/airflow"
    )


def test_airflow_json_connection_round_trips_to_the_same_libpq_url():
    """What `sinergi run` puts in AIRFLOW_CONN_WAREHOUSE is what the DAGs read back."""
    from sinergi.settings import airflow_conn_to_libpq

    for url in (
        "postgresql://postgres@/warehouse?host=/tmp/sinergi-pg-abc&port=55432",
        "postgresql://u:p%40ss@127.0.0.1:55432/warehouse",
    ):
        back = airflow_conn_to_libpq(airflow_home.warehouse_connection(url))
        assert dbt_runner.dbt_environment(back, KEY) == dbt_runner.dbt_environment(url, KEY)


def test_sinergi_run_without_a_key_stops_before_anything_runs(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SINERGI_", "AIRFLOW"))}
    env["SINERGI_HOME"] = str(tmp_path)
    result = subprocess.run(
        [str(Path(sys.executable).with_name("sinergi")), "run", "--from", "2026-01-01",
         "--to", "2026-01-02"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "SINERGI_PII_KEY is not set" in result.stderr
    assert not (tmp_path / "postgres").exists(), "nothing started"
