"""Configuration from the environment: defaults, overrides and URL resolution (no server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from sinergi import settings
from sinergi.db.embedded import NotInitialisedError

_VARIABLES = [
    "SINERGI_HOME",
    "SINERGI_DB_DIR",
    "SINERGI_DB_PORT",
    "SINERGI_WAREHOUSE_URL",
    "SINERGI_AIRFLOW_DB_URL",
    "AIRFLOW_CONN_WAREHOUSE",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def initialised_db_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir that looks initialised (PG_VERSION and password file), no server."""
    data_dir = tmp_path / "pg"
    data_dir.mkdir()
    (data_dir / "PG_VERSION").write_text("18\n")
    (data_dir / "sinergi_superuser_password").write_text("s3cret/+\n")
    monkeypatch.setenv("SINERGI_DB_DIR", str(data_dir))
    return data_dir


def test_defaults() -> None:
    root = Path(settings.__file__).resolve().parents[2]
    assert settings.sinergi_home() == root / "var"
    assert settings.db_dir() == root / "var" / "postgres"
    assert settings.db_port() == 55432


def test_home_and_db_dir_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
    assert settings.db_dir() == tmp_path / "home" / "postgres"
    monkeypatch.setenv("SINERGI_DB_DIR", str(tmp_path / "elsewhere"))
    assert settings.db_dir() == tmp_path / "elsewhere"


def test_port_override_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINERGI_DB_PORT", "60000")
    assert settings.db_port() == 60000
    monkeypatch.setenv("SINERGI_DB_PORT", "abc")
    with pytest.raises(settings.SettingsError, match="SINERGI_DB_PORT='abc' is not a number"):
        settings.db_port()
    monkeypatch.setenv("SINERGI_DB_PORT", "70000")
    with pytest.raises(settings.SettingsError, match="outside 1-65535"):
        settings.db_port()


def test_explicit_warehouse_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINERGI_WAREHOUSE_URL", "postgresql://a:b@db.example:5432/wh")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", "postgres://x:y@other:5432/other")
    assert settings.warehouse_url() == "postgresql://a:b@db.example:5432/wh"


def test_airflow_uri_is_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE",
        "postgres://etl:p%40ss%2Fw@db.example:5433/warehouse?sslmode=require&cursor=dictcursor",
    )
    url = settings.warehouse_url()
    # libpq scheme, password still percent-encoded, Airflow-only extra dropped.
    assert url == "postgresql://etl:p%40ss%2Fw@db.example:5433/warehouse?sslmode=require"
    parsed = conninfo_to_dict(url)
    assert parsed["password"] == "p@ss/w"
    assert parsed["port"] == "5433"
    assert parsed["dbname"] == "warehouse"


def test_airflow_uri_with_json_extra_and_socket_host() -> None:
    extra = json.dumps({"sslmode": "disable", "aws_conn_id": "x"})
    url = settings.airflow_conn_to_libpq(
        f"postgres://etl@%2Fvar%2Frun%2Fpostgresql:5432/wh?__extra__={extra}"
    )
    parsed = conninfo_to_dict(url)
    assert parsed == {
        "user": "etl",
        "host": "/var/run/postgresql",
        "port": "5432",
        "dbname": "wh",
        "sslmode": "disable",
    }


def test_airflow_json_is_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": "127.0.0.1",
                "login": "etl",
                "password": "p@ss word",
                "schema": "warehouse",
                "port": 55432,
                "extra": {"sslmode": "prefer", "cursor": "realdictcursor"},
            }
        ),
    )
    url = settings.warehouse_url()
    assert url == "postgresql://etl:p%40ss%20word@127.0.0.1:55432/warehouse?sslmode=prefer"
    assert conninfo_to_dict(url)["password"] == "p@ss word"


def test_airflow_json_with_string_extra_and_no_port() -> None:
    url = settings.airflow_conn_to_libpq(
        json.dumps(
            {
                "conn_type": "postgres",
                "host": "db",
                "login": "u",
                "schema": "w",
                "extra": '{"connect_timeout": 5}',
            }
        )
    )
    assert url == "postgresql://u@db/w?connect_timeout=5"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mysql://u:p@h/db", "scheme 'mysql'"),
        ('{"conn_type": "mysql", "host": "h"}', "conn_type 'mysql'"),
        ('{"conn_type": "postgres", "port": "x"}', "port 'x'"),
        ("{not json", "not valid JSON"),
        ("postgres://u@h:notaport/db", "invalid port"),
    ],
)
def test_airflow_conn_errors_are_actionable(value: str, message: str) -> None:
    with pytest.raises(settings.SettingsError, match=message):
        settings.airflow_conn_to_libpq(value, variable="AIRFLOW_CONN_WAREHOUSE")


def test_embedded_fallback(initialised_db_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (
        settings.warehouse_url() == "postgresql://postgres:s3cret%2F%2B@127.0.0.1:55432/warehouse"
    )
    assert settings.airflow_db_url() == "postgresql://postgres:s3cret%2F%2B@127.0.0.1:55432/airflow"
    monkeypatch.setenv("SINERGI_DB_PORT", "60001")
    assert settings.warehouse_url().endswith("@127.0.0.1:60001/warehouse")
    assert conninfo_to_dict(settings.warehouse_url())["password"] == "s3cret/+"


def test_airflow_db_override(initialised_db_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINERGI_AIRFLOW_DB_URL", "postgresql://af@meta:5432/airflow")
    assert settings.airflow_db_url() == "postgresql://af@meta:5432/airflow"


def test_embedded_not_initialised_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SINERGI_DB_DIR", str(tmp_path / "nothing-here"))
    with pytest.raises(NotInitialisedError, match="run `sinergi db start`"):
        settings.warehouse_url()
