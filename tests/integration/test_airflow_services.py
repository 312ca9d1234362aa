"""``sinergi airflow up|down|status`` (``make up``/``make down``) end to end.

One ``up`` on a throwaway SINERGI_HOME with its own embedded PostgreSQL on a free port and the
API server on another free port, then: the API refuses anonymous requests, the generated
admin password gets a JWT, the ingest DAGs are listed, the scheduler creates a warehouse run
from the AND of every source's outcome Asset (not before the last one reports), every
listening socket is on 127.0.0.1, a second ``up`` is a no-op, and ``down`` leaves no process
behind (not even the PostgreSQL that ``up`` started).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from sinergi.sources.registry import SOURCES

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
SINERGI = Path(sys.executable).with_name("sinergi")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _sinergi(env: dict, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SINERGI), "airflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _request(url: str, *, token: str | None = None, body: dict | None = None, method=None):
    """(status, parsed JSON body or None)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def _session_processes(leaders: list[int]) -> list:
    """Every live process in the sessions the services lead (what `down` must stop)."""
    import psutil

    found = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) in leaders and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (OSError, psutil.Error):
            continue
    return found


def services_env(home: Path) -> dict:
    """The environment of a throwaway stack: SINERGI_HOME ``home``, its own embedded
    PostgreSQL and API server ports."""
    env = {
        key: value
        for key, value in os.environ.items()
        # conftest points Airflow at a private SQLite home: the services must use the
        # project's environment instead, built by sinergi.airflow_home.
        if not key.startswith("AIRFLOW")
        and key not in ("SINERGI_WAREHOUSE_URL", "SINERGI_AIRFLOW_DB_URL", "SINERGI_DB_DIR")
    }
    env.update(
        SINERGI_HOME=str(home),
        SINERGI_DB_PORT=str(_free_port()),
        SINERGI_AIRFLOW_PORT=str(_free_port()),
    )
    return env


@pytest.fixture
def home_env(pg_tmp_path: Path) -> dict:
    return services_env(pg_tmp_path / "home")


def _warehouse_runs(base: str, token: str) -> list[dict]:
    status, reply = _request(f"{base}/api/v2/dags/warehouse/dagRuns", token=token)
    assert status == 200, status
    return reply["dag_runs"]


def _warehouse_waits_for_every_source(base: str, token: str) -> None:
    """The real scheduler creates a warehouse run from the AND of the outcome Assets: not
    while one source has not reported, at once when the last one does. The events are posted
    through the REST API, as an ingest DAG's report_outcome would publish them."""
    deadline = time.monotonic() + 90
    assets: dict[str, int] = {}
    while time.monotonic() < deadline and len(assets) < len(SOURCES):
        status, reply = _request(
            f"{base}/api/v2/assets?name_pattern=outcome.&limit=100", token=token
        )
        assert status == 200, status
        assets = {a["name"].removeprefix("outcome."): a["id"] for a in reply["assets"]}
        time.sleep(1)
    assert set(assets) == set(SOURCES), assets
    status, _ = _request(
        f"{base}/api/v2/dags/warehouse", token=token, body={"is_paused": False}, method="PATCH"
    )
    assert status == 200, status

    def report(source: str) -> None:
        extra = {"source": source, "business_date": "2026-01-05", "outcome": "not_expected"}
        status, _ = _request(
            f"{base}/api/v2/assets/events",
            token=token,
            body={"asset_id": assets[source], "extra": extra},
        )
        assert status in (200, 201), (source, status)

    *first, last = SOURCES
    for source in first:
        report(source)
    time.sleep(10)  # several scheduler loops
    assert _warehouse_runs(base, token) == [], "a warehouse run before every source reported"
    report(last)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (runs := _warehouse_runs(base, token)):
        time.sleep(1)
    assert [run["run_type"] for run in runs] == ["asset_triggered"], runs
    # Stop the build before it starts: this stack has no warehouse data.
    run_id = urllib.parse.quote(runs[0]["dag_run_id"], safe="")
    for path, body in ((f"dags/warehouse/dagRuns/{run_id}", {"state": "failed"}),
                       ("dags/warehouse", {"is_paused": True})):  # fmt: skip
        status, _ = _request(f"{base}/api/v2/{path}", token=token, body=body, method="PATCH")
        assert status == 200, (path, status)


def test_up_login_dags_down(home_env: dict) -> None:
    import psutil

    home = Path(home_env["SINERGI_HOME"])
    port = int(home_env["SINERGI_AIRFLOW_PORT"])
    base = f"http://127.0.0.1:{port}"
    leaders: list[int] = []
    try:
        began = time.monotonic()
        started = _sinergi(home_env, "up")
        assert started.returncode == 0, started.stdout + started.stderr
        print(f"up took {time.monotonic() - began:.1f} s")
        assert base in started.stdout
        leaders = [
            int((home / "airflow/run" / f"{s}.pid").read_text().split()[0]) for s in SERVICES
        ]

        # Every service's log is a file under $SINERGI_HOME/airflow/logs.
        for service in SERVICES:
            assert (home / "airflow/logs" / f"{service}.log").stat().st_size > 0

        # Nothing listens anywhere but on 127.0.0.1.
        processes = _session_processes(leaders)
        listening = [
            connection.laddr
            for process in processes
            for connection in process.net_connections(kind="inet")
            if connection.status == psutil.CONN_LISTEN
        ]
        assert ("127.0.0.1", port) in [(a.ip, a.port) for a in listening]
        assert {address.ip for address in listening} == {"127.0.0.1"}, listening

        # The password: generated, 0600, printed.
        passwords_file = home / "airflow/simple_auth_manager_passwords.json"
        assert stat.S_IMODE(passwords_file.stat().st_mode) == 0o600
        password = json.loads(passwords_file.read_text())["admin"]
        assert password in started.stdout
        assert stat.S_IMODE((home / "airflow/local_secrets.json").stat().st_mode) == 0o600

        # Auth is on: anonymous and wrong-password requests are refused.
        status, _ = _request(f"{base}/api/v2/dags")
        assert status in (401, 403)
        status, _ = _request(f"{base}/auth/token", body={"username": "admin", "password": "x"})
        assert status in (401, 403)

        status, reply = _request(
            f"{base}/auth/token", body={"username": "admin", "password": password}
        )
        assert status in (200, 201), status
        token = reply["access_token"]

        # The DAG processor has parsed the project's DAGs into the metadata database: one
        # ingest DAG per registered source.
        expected = {f"ingest_{name}" for name in SOURCES}
        deadline = time.monotonic() + 90
        dag_ids: set[str] = set()
        while time.monotonic() < deadline:
            status, reply = _request(f"{base}/api/v2/dags?limit=100", token=token)
            assert status == 200
            dag_ids = {dag["dag_id"] for dag in reply["dags"]}
            if expected <= dag_ids:
                break
            time.sleep(2)
        assert expected <= dag_ids, sorted(expected - dag_ids)

        _warehouse_waits_for_every_source(base, token)

        again = _sinergi(home_env, "up")
        assert again.returncode == 0
        assert "already running" in again.stdout
        assert _sinergi(home_env, "status").returncode == 0

        # A service that dies abruptly leaves its children (the scheduler's LocalExecutor
        # workers) behind: `down` must still stop them, by session.
        scheduler = leaders[SERVICES.index("scheduler")]
        os.kill(scheduler, signal.SIGKILL)
        time.sleep(1)
        assert _session_processes([scheduler]), "the scheduler forked no worker to orphan"
        assert _sinergi(home_env, "status").returncode == 3
    finally:
        stopped = _sinergi(home_env, "down", timeout=120)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr

    assert _session_processes(leaders) == []
    assert not any((home / "airflow/run").glob("*.pid"))
    # `up` started the embedded PostgreSQL, so `down` stopped it.
    assert not (home / "postgres/postmaster.pid").exists()
    assert _sinergi(home_env, "status").returncode == 3
