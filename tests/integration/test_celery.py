"""The production executor: a DAG run through Airflow's CeleryExecutor with two Celery workers.

What the compose stack runs in containers, run here as processes on 127.0.0.1: the Redis
broker on 127.0.0.1:6379 (the machine's), a throwaway metadata database (``fresh_database``:
the session's embedded PostgreSQL, or ``SINERGI_TEST_WAREHOUSE_URL``'s server), and the API
server (whose execution API the workers' tasks talk to), scheduler, DAG processor and two
``airflow celery worker`` processes. A probe DAG fans six mapped tasks out; the run must
succeed and both workers must have taken tasks. A private queue name keeps the test off
whatever else uses the same Redis. Every process started is stopped at the end, whatever
happens.

Skips, saying why, when the Celery provider is not installed or no Redis answers on
127.0.0.1:6379.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from sinergi.airflow_services import stop_processes

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_DB = 13  # not 0: stay out of the way of anything else on this Redis
DAG_ID = "sinergi_celery_probe"
TASKS = 6

PROBE_DAG = textwrap.dedent(
    f'''
    """Which Celery worker runs each of {TASKS} mapped tasks (test DAG)."""
    import os
    import time
    from pathlib import Path

    import pendulum
    from airflow.sdk import dag, task


    @dag(
        dag_id="{DAG_ID}",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        tags=["test"],
        default_args={{"owner": "test", "retries": 0}},
    )
    def probe():
        @task
        def where(index: int) -> str:
            time.sleep(2)
            worker = os.environ.get("SINERGI_CELERY_WORKER", "unknown")
            out = Path(os.environ["SINERGI_CELERY_PROBE_OUT"])
            (out / f"task-{{index}}").write_text(worker)
            return worker

        @task
        def gather(workers) -> list:
            return sorted(set(workers))

        gather(where.expand(index=list(range({TASKS}))))


    probe()
    '''
)


def _redis_answers() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _skip_reason() -> str | None:
    if importlib.util.find_spec("airflow.providers.celery") is None:
        return (
            "apache-airflow-providers-celery is not installed (the production stack's "
            "executor; add it to the project's dependencies)"
        )
    if not _redis_answers():
        return f"no Redis answers PING on {REDIS_HOST}:{REDIS_PORT} (the Celery broker)"
    return None


SKIP_REASON = _skip_reason()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or ""),
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _with_scheme(url: str, scheme: str) -> str:
    return urlunsplit(urlsplit(url)._replace(scheme=scheme))


def _request(url: str, *, token: str | None = None, body: dict | None = None, method=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError:
        return None, None


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _cleanup_redis(queue: str) -> None:
    """Drop what the test left on the broker (its private queue and bindings)."""
    try:
        import redis
    except ImportError:
        return
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=5)
    try:
        keys = [queue, f"_kombu.binding.{queue}", *client.keys(f"{queue}*")]
        client.delete(*keys)
    except redis.RedisError:
        pass
    finally:
        client.close()


def test_dag_run_on_two_celery_workers(tmp_path: Path, fresh_database: str) -> None:
    home = tmp_path / "airflow"
    dags = tmp_path / "dags"
    out = tmp_path / "out"
    logs = tmp_path / "logs"
    for folder in (home, dags, out, logs):
        folder.mkdir()
    (dags / "probe.py").write_text(PROBE_DAG)
    password = secrets.token_urlsafe(12)
    (home / "passwords.json").write_text(json.dumps({"admin": password}))
    port = _free_port()
    queue = f"sinergi_test_{uuid.uuid4().hex[:10]}"
    base = f"http://127.0.0.1:{port}"

    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _with_scheme(
                fresh_database, "postgresql+psycopg2"
            ),
            "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
            "AIRFLOW__CELERY__RESULT_BACKEND": _with_scheme(fresh_database, "db+postgresql"),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": base,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "SINERGI_CELERY_PROBE_OUT": str(out),
            "PYTHONUNBUFFERED": "1",
        }
    )
    airflow = [sys.executable, "-m", "airflow"]
    subprocess.run(
        [*airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300
    )

    worker = [*airflow, "celery", "worker", "--queues", queue, "--concurrency", "1",
              "--skip-serve-logs"]  # fmt: skip
    commands = {
        "api-server": ([*airflow, "api-server", "--host", "127.0.0.1", "--port", str(port)], {}),
        "scheduler": ([*airflow, "scheduler", "--skip-serve-logs"], {}),
        "dag-processor": ([*airflow, "dag-processor"], {}),
        "worker-1": (
            [*worker, "--celery-hostname", f"{queue}-w1@%h"],
            {"SINERGI_CELERY_WORKER": "worker-1"},
        ),
        "worker-2": (
            [*worker, "--celery-hostname", f"{queue}-w2@%h"],
            {"SINERGI_CELERY_WORKER": "worker-2"},
        ),
    }
    leaders: list[int] = []
    try:
        for name, (command, extra) in commands.items():
            with (logs / f"{name}.log").open("wb") as log:
                process = subprocess.Popen(
                    command,
                    env={**env, **extra},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=tmp_path,
                    start_new_session=True,  # so stop_processes finds every child
                )
            leaders.append(process.pid)

        def alive_or_fail() -> None:
            for name, pid in zip(commands, leaders, strict=True):
                try:
                    waited, status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    waited, status = pid, 0
                if waited == pid:
                    pytest.fail(f"{name} exited ({status}):\n{_tail(logs / f'{name}.log')}")

        # The API server is up and the DAG processor has serialised the probe DAG.
        deadline = time.monotonic() + 120
        token = None
        while time.monotonic() < deadline:
            alive_or_fail()
            status, reply = _request(
                f"{base}/auth/token", body={"username": "admin", "password": password}
            )
            if status in (200, 201):
                token = reply["access_token"]
                status, reply = _request(f"{base}/api/v2/dags/{DAG_ID}", token=token)
                if status == 200:
                    break
            time.sleep(2)
        else:
            pytest.fail(
                f"the probe DAG never appeared; api-server:\n{_tail(logs / 'api-server.log')}\n"
                f"dag-processor:\n{_tail(logs / 'dag-processor.log')}"
            )

        status, _ = _request(
            f"{base}/api/v2/dags/{DAG_ID}", token=token, body={"is_paused": False}, method="PATCH"
        )
        assert status == 200
        status, run = _request(
            f"{base}/api/v2/dags/{DAG_ID}/dagRuns", token=token, body={"logical_date": None}
        )
        assert status in (200, 201), run
        run_id = run["dag_run_id"]

        deadline = time.monotonic() + 180
        state = None
        while time.monotonic() < deadline:
            alive_or_fail()
            status, reply = _request(f"{base}/api/v2/dags/{DAG_ID}/dagRuns/{run_id}", token=token)
            state = reply.get("state") if status == 200 else None
            if state in ("success", "failed"):
                break
            time.sleep(2)
        logs_hint = "\n".join(
            f"--- {name}:\n{_tail(logs / f'{name}.log', 15)}" for name in commands
        )
        assert state == "success", f"run state {state}\n{logs_hint}"

        ran_on = {path.name: path.read_text() for path in out.iterdir()}
        assert len(ran_on) == TASKS, ran_on
        assert set(ran_on.values()) == {"worker-1", "worker-2"}, ran_on
        status, reply = _request(
            f"{base}/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", token=token
        )
        assert status == 200
        assert {ti["queue"] for ti in reply["task_instances"]} == {queue}
        assert all(ti["state"] == "success" for ti in reply["task_instances"])
    finally:
        survivors = stop_processes(leaders, timeout=30) if leaders else []
        _cleanup_redis(queue)
    assert survivors == []
    assert not [pid for pid in leaders if _still_running(pid)]


def _still_running(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        waited = pid
    if waited == pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
