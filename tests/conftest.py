"""Shared fixtures: a real PostgreSQL for integration tests.

``warehouse_url`` (session) and ``fresh_database`` (per test) give a libpq URL to an empty
database. The server behind them is, in order of preference:

* ``SINERGI_TEST_WAREHOUSE_URL`` if set, e.g. CI's system PostgreSQL
  (``postgresql://user:pass@127.0.0.1:5432/postgres``). The role must be allowed to create
  databases: every database the fixtures hand out is created for the occasion and dropped
  afterwards, so tests never touch existing data.
* otherwise an embedded server started for the session in a private temporary directory
  (see ``pg_base_dir``) on a free port, and stopped at the end of the session whatever
  happens.

Tests that use these fixtures should be marked ``@pytest.mark.integration``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Airflow reads its configuration once, when first imported: point it at a private, throwaway
# home before any test module imports it, so tests never touch a developer's Airflow.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="sinergi-airflow-test-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(PROJECT_ROOT / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME}/airflow.db"
os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] = str(_AIRFLOW_HOME / "logs")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, True)


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def pg_base_dir() -> Iterator[Path]:
    """Base directory for PostgreSQL data directories made by tests; removed at the end.

    Not pytest's ``tmp_path``: run as root, the server runs as the ``embedded_postgres`` user,
    which must be able to traverse the path, and every pytest session (including another
    engineer's, running at the same time) resets ``/tmp/pytest-of-<user>`` to mode 0700,
    which would cut a running server off from its own files.
    """
    base = Path(tempfile.mkdtemp(prefix="sinergi-pg-test-"))
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_tmp_path(pg_base_dir: Path) -> Path:
    """A fresh empty directory under ``pg_base_dir`` (use it instead of ``tmp_path`` for data
    directories of servers a test starts)."""
    path = pg_base_dir / uuid.uuid4().hex[:8]
    path.mkdir()
    return path


def url_with_database(url: str, database: str) -> str:
    """``url`` pointing at ``database`` instead (query parameters such as sslmode kept)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"expected a postgresql:// URL, got {url!r}")
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def postgres_admin_url(pg_base_dir: Path) -> Iterator[str]:
    """A URL with the right to create databases, on the test server (see module docstring)."""
    external = os.environ.get("SINERGI_TEST_WAREHOUSE_URL", "").strip()
    if external:
        yield external
        return

    from sinergi.db.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(pg_base_dir / "session" / "data", _free_port())
    try:
        server.start()
        yield server.url("postgres")
    finally:
        server.stop()


def _create_database(admin_url: str, prefix: str) -> str:
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def _drop_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        # FORCE: a test that leaked a connection must not make the teardown fail.
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def warehouse_url(postgres_admin_url: str) -> Iterator[str]:
    """libpq URL of an empty database created for this test session and dropped after it.

    Shared by every test in the session: tests that need isolation from each other should
    use their own schema, or ``fresh_database``.
    """
    name = _create_database(postgres_admin_url, "sinergi_test_warehouse")
    try:
        yield url_with_database(postgres_admin_url, name)
    finally:
        _drop_database(postgres_admin_url, name)


@pytest.fixture
def fresh_database(postgres_admin_url: str) -> Iterator[str]:
    """libpq URL of a uniquely named empty database, dropped when the test ends."""
    name = _create_database(postgres_admin_url, "sinergi_test")
    try:
        yield url_with_database(postgres_admin_url, name)
    finally:
        _drop_database(postgres_admin_url, name)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata database (SQLite in the private Airflow home)."""
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)
    return _AIRFLOW_HOME


@pytest.fixture
def alert_webhook(monkeypatch) -> Iterator[list[dict]]:
    """A webhook on 127.0.0.1 set as ``SINERGI_ALERT_WEBHOOK``; the JSON bodies it received."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SINERGI_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/alert")
    yield received
    server.shutdown()
    server.server_close()
