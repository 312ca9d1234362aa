"""``sinergi airflow up|down|status|backfill``: the local Airflow (UI, scheduler, DAG processor,
triggerer) on the project's metadata database, behind a login.

``up``:

1. starts the embedded PostgreSQL when the platform uses it (and remembers that it did, so
   ``down`` stops it again; a server that was already running is left alone);
2. builds the environment with ``sinergi.airflow_home.environment()`` (the same Airflow home,
   DAGs folder, metadata database and connections as ``sinergi run``, so the runs it
   recorded are in the UI) plus what a long-running Airflow needs: SimpleAuthManager with
   one ``admin`` user, the API server on 127.0.0.1 only, and the secrets every component
   must share (JWT secret, API secret key, Fernet key);
3. runs ``airflow db migrate``;
4. starts ``airflow api-server``, ``scheduler``, ``dag-processor`` and ``triggerer``, each in
   its own session (process group) with its output in ``$SINERGI_HOME/airflow/logs/<name>.log``
   and its pid in ``$SINERGI_HOME/airflow/run/<name>.pid``;
5. waits until the API server's health endpoint reports every component healthy, then
   prints the URL and how to log in.

``down`` sends SIGTERM to every process of each service's session (the service, its workers
and the task processes they forked, even those that made a process group of their own),
waits, then SIGKILLs what is left, so nothing outlives it.

Files under ``$SINERGI_HOME/airflow`` (all mode 0600, never in the repository):

* ``simple_auth_manager_passwords.json``: ``{"admin": "<password>"}``, generated on first
  ``up``; Airflow's SimpleAuthManager reads it;
* ``local_secrets.json``: JWT secret, API secret key and Fernet key, generated on first
  ``up``. Variables already set in the environment (``AIRFLOW__API_AUTH__JWT_SECRET``,
  ``AIRFLOW__API__SECRET_KEY``, ``AIRFLOW__CORE__FERNET_KEY``) win over the file.

``backfill`` (with the services up): Airflow's own backfill of every ingest DAG for a range of
nights, in logical-date order, then the warehouse builds per night with ``conf`` (see
``backfill()`` and docs/OPERATIONS.md, "Backfilling a month").

Nothing here binds anything but 127.0.0.1: the API server gets ``--host 127.0.0.1``, and the
scheduler and triggerer run with ``--skip-serve-logs`` (their log servers would listen on
every interface; the API server reads the task logs from the shared log folder instead).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sinergi import airflow_home, settings

SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
# The health endpoint's name for each component the API server does not serve itself.
HEALTH_COMPONENTS = {
    "scheduler": "scheduler",
    "dag-processor": "dag_processor",
    "triggerer": "triggerer",
}

LISTEN_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
PORT_ENV = "SINERGI_AIRFLOW_PORT"
ADMIN_USER = "admin"

PASSWORDS_FILE = "simple_auth_manager_passwords.json"
SECRETS_FILE = "local_secrets.json"
STARTED_DB_MARKER = "postgres.started-by-up"
PORT_FILE = "api-server.port"

SIMPLE_AUTH_MANAGER = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)
# Environment variable -> key in local_secrets.json.
_SECRET_VARIABLES = {
    "AIRFLOW__API_AUTH__JWT_SECRET": "jwt_secret",
    "AIRFLOW__API__SECRET_KEY": "api_secret_key",
    "AIRFLOW__CORE__FERNET_KEY": "fernet_key",
}

_READY_TIMEOUT_S = 180
_MIGRATE_TIMEOUT_S = 600
_STOP_TIMEOUT_S = 30


class AirflowServicesError(RuntimeError):
    """Something the user can fix; the message says what and how."""


# -- paths -----------------------------------------------------------------------------------


def run_dir() -> Path:
    return airflow_home.airflow_home() / "run"


def log_dir() -> Path:
    return airflow_home.airflow_home() / "logs"


def passwords_file() -> Path:
    return airflow_home.airflow_home() / PASSWORDS_FILE


def secrets_file() -> Path:
    return airflow_home.airflow_home() / SECRETS_FILE


def pid_file(service: str) -> Path:
    return run_dir() / f"{service}.pid"


def log_file(service: str) -> Path:
    return log_dir() / f"{service}.log"


# -- secrets ---------------------------------------------------------------------------------


def _write_private_json(path: Path, content: dict) -> None:
    """Write ``content`` to a 0600 file (created 0600, never briefly readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    staging.unlink(missing_ok=True)
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(content, indent=2) + "\n")
    staging.replace(path)


def _read_private_json(path: Path) -> dict:
    try:
        content = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as error:
        raise AirflowServicesError(
            f"{path} is not valid JSON ({error}); fix it, or delete it to have a new one "
            "generated by `sinergi airflow up`"
        ) from None
    if not isinstance(content, dict):
        raise AirflowServicesError(f"{path} must hold a JSON object; delete it to regenerate")
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)  # someone loosened it: it holds secrets
    return content


def admin_password() -> str:
    """The admin's password, generated (and stored 0600) on first use."""
    path = passwords_file()
    passwords = _read_private_json(path)
    if not passwords.get(ADMIN_USER):
        passwords[ADMIN_USER] = secrets.token_urlsafe(18)
        _write_private_json(path, passwords)
    return str(passwords[ADMIN_USER])


def local_secrets() -> dict[str, str]:
    """JWT secret, API secret key and Fernet key shared by every local Airflow component,
    generated (and stored 0600) on first use."""
    path = secrets_file()
    stored = _read_private_json(path)
    generated = {
        "jwt_secret": lambda: secrets.token_urlsafe(48),
        "api_secret_key": lambda: secrets.token_urlsafe(48),
        "fernet_key": lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    missing = [key for key in generated if not stored.get(key)]
    for key in missing:
        stored[key] = generated[key]()
    if missing:
        _write_private_json(path, stored)
    return {key: str(stored[key]) for key in generated}


# -- environment -----------------------------------------------------------------------------


def configured_port() -> int | None:
    """``SINERGI_AIRFLOW_PORT`` if set (validated), else None."""
    value = os.environ.get(PORT_ENV, "").strip()
    if not value:
        return None
    try:
        port = int(value)
    except ValueError:
        raise AirflowServicesError(
            f"{PORT_ENV}={value!r} is not a number; set it to a free TCP port such as 8080"
        ) from None
    if not 0 <= port <= 65535:
        raise AirflowServicesError(f"{PORT_ENV}={port} is outside 0-65535")
    return port


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LISTEN_HOST, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LISTEN_HOST, 0))
        return probe.getsockname()[1]


def choose_port(requested: int | None) -> tuple[int, str | None]:
    """The API server's port and, when it is not the one asked for, why.

    An explicit port (``--port`` or ``SINERGI_AIRFLOW_PORT``) must be free; 0 means any free
    port; the default 8080 gives way to a free port when something else holds it.
    """
    if requested is None:
        if _port_free(DEFAULT_PORT):
            return DEFAULT_PORT, None
        port = _free_port()
        return port, f"port {DEFAULT_PORT} is in use, so the API server takes {port}"
    if requested == 0:
        return _free_port(), None
    if not _port_free(requested):
        raise AirflowServicesError(
            f"port {requested} on {LISTEN_HOST} is in use by another process; pick another "
            f"with --port or {PORT_ENV} (0 = any free port)"
        )
    return requested, None


def services_environment(port: int) -> dict[str, str]:
    """The full environment of the Airflow services: this process's, then the project's
    Airflow home (``airflow_home.environment()``), then auth, API and secrets."""
    base_url = f"http://{LISTEN_HOST}:{port}"
    env = dict(os.environ)
    env.update(airflow_home.environment())
    env.update(
        {
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file()),
            "AIRFLOW__API__HOST": LISTEN_HOST,
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": base_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            # The scheduler's optional health server would listen on 0.0.0.0.
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "PYTHONUNBUFFERED": "1",
        }
    )
    for variable, key in _SECRET_VARIABLES.items():
        if not os.environ.get(variable, "").strip():
            env[variable] = local_secrets()[key]
    return env


def _commands(port: int) -> dict[str, list[str]]:
    airflow = [sys.executable, "-m", "airflow"]
    return {
        "api-server": [
            *airflow,
            "api-server",
            "--host",
            LISTEN_HOST,
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        "scheduler": [*airflow, "scheduler", "--skip-serve-logs"],
        "dag-processor": [*airflow, "dag-processor"],
        "triggerer": [*airflow, "triggerer", "--skip-serve-logs"],
    }


# -- processes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    pid: int | None
    running: bool
    log_file: Path


def _process(pid: int):
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process
    except psutil.Error:
        return None


def _read_pid(service: str) -> tuple[int, float] | None:
    try:
        pid_text, started_text = pid_file(service).read_text().split()[:2]
        return int(pid_text), float(started_text)
    except (FileNotFoundError, ValueError):
        return None


def _live_process(service: str):
    """The running process of ``service`` per its pid file, or None (a stale pid file, e.g.
    after a reboot, names a pid that is gone or now belongs to another program)."""
    recorded = _read_pid(service)
    if recorded is None:
        return None
    pid, started = recorded
    process = _process(pid)
    if process is None or abs(process.create_time() - started) > 1:
        return None
    return process


def service_status(service: str) -> ServiceStatus:
    process = _live_process(service)
    recorded = _read_pid(service)
    return ServiceStatus(
        name=service,
        pid=process.pid if process else (recorded[0] if recorded else None),
        running=process is not None,
        log_file=log_file(service),
    )


def _session_members(leader: int, since: float | None = None) -> list:
    """Every live process of the session ``leader`` started, plus its descendants.

    The leader may be gone (killed by hand, crashed) while what it forked lives on in its
    session: those are found by session id. ``since`` (the leader's start time) guards
    against a recycled pid: only processes started after it count.
    """
    import psutil

    def current(process: psutil.Process) -> bool:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return False
            return since is None or process.create_time() >= since - 1
        except psutil.Error:
            return False

    members: dict[int, psutil.Process] = {}
    leader_process = _process(leader)
    if leader_process is not None and current(leader_process):
        members[leader] = leader_process
        with contextlib.suppress(psutil.Error):
            for child in leader_process.children(recursive=True):
                members[child.pid] = child
    for pid in psutil.pids():
        if pid in members:
            continue
        try:
            if os.getsid(pid) == leader:
                process = psutil.Process(pid)
                if current(process):
                    members[pid] = process
        except (OSError, psutil.Error):
            continue
    return list(members.values())


def _signal_all(processes: list, sig: int) -> None:
    import psutil

    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.send_signal(sig)


def stop_processes(
    leaders: list[int] | dict[int, float | None], timeout: float = _STOP_TIMEOUT_S
) -> list[int]:
    """SIGTERM every process of each leader's session, wait, SIGKILL the rest.

    ``leaders``: session leader pids, or pid -> start time (see ``_session_members``).
    Returns the pids that were still alive after SIGKILL (normally none)."""
    import psutil

    started = leaders if isinstance(leaders, dict) else dict.fromkeys(leaders)

    def members() -> list:
        return [p for pid, since in started.items() for p in _session_members(pid, since)]

    deadline = time.monotonic() + timeout
    seen: set[int] = set()
    while True:
        alive = members()
        if not alive:
            return []
        # Signal the newcomers (on the first round, everyone).
        _signal_all([p for p in alive if p.pid not in seen], signal.SIGTERM)
        seen.update(p.pid for p in alive)
        if time.monotonic() >= deadline:
            break
        psutil.wait_procs(alive, timeout=1)
    leftover = members()
    _signal_all(leftover, signal.SIGKILL)
    _, alive = psutil.wait_procs(leftover, timeout=5)
    return [process.pid for process in alive]


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    """One ``up`` or ``down`` at a time for this SINERGI_HOME."""
    run_dir().mkdir(parents=True, exist_ok=True)
    with (run_dir() / "lock").open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AirflowServicesError(
                "another `sinergi airflow up/down` is running for this SINERGI_HOME; wait for it"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _start_service(service: str, command: list[str], env: dict[str, str]) -> int:
    log_dir().mkdir(parents=True, exist_ok=True)
    with log_file(service).open("ab") as log:
        log.write(
            f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} sinergi airflow up: "
            f"{' '.join(command[1:])}\n".encode()
        )
        log.flush()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(airflow_home.airflow_home()),
            # Own session: Ctrl-C in the terminal must not reach it, and `down` finds every
            # process it forks by the session id.
            start_new_session=True,
        )
    created = _process(process.pid)
    started = created.create_time() if created is not None else time.time()
    pid_file(service).write_text(f"{process.pid} {started}\n")
    return process.pid


# -- readiness -------------------------------------------------------------------------------


def api_url(port: int) -> str:
    return f"http://{LISTEN_HOST}:{port}"


def read_port() -> int | None:
    try:
        return int((run_dir() / PORT_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def health(port: int) -> dict | None:
    """The API server's ``/api/v2/monitor/health`` (no login needed), or None."""
    try:
        with urllib.request.urlopen(f"{api_url(port)}/api/v2/monitor/health", timeout=5) as reply:
            return json.loads(reply.read())
    except (OSError, ValueError):
        return None


def _unhealthy(report: dict | None) -> list[str]:
    if report is None:
        return ["api-server"]
    return [
        service
        for service, key in HEALTH_COMPONENTS.items()
        if (report.get(key) or {}).get("status") != "healthy"
    ]


def _wait_ready(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting: list[str] = list(SERVICES)
    while time.monotonic() < deadline:
        for service in SERVICES:
            if not service_status(service).running:
                raise AirflowServicesError(
                    f"{service} exited during start-up; last lines of {log_file(service)}:\n"
                    f"{_tail(log_file(service))}"
                )
        waiting = _unhealthy(health(port))
        if not waiting:
            return
        time.sleep(1)
    raise AirflowServicesError(
        f"not healthy after {timeout:.0f} s: {', '.join(waiting)}; see the logs in {log_dir()}"
    )


# -- up / down / status ----------------------------------------------------------------------


def _start_database() -> bool:
    """Start the embedded PostgreSQL if the platform uses it; True if this call started it."""
    if not airflow_home.uses_embedded_database():
        return False
    from sinergi.db.embedded import EmbeddedPostgres

    return EmbeddedPostgres.from_settings().start()


def _migrate(env: dict[str, str]) -> None:
    log_dir().mkdir(parents=True, exist_ok=True)
    with log_file("db-migrate").open("ab") as log:
        result = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(airflow_home.airflow_home()),
            timeout=_MIGRATE_TIMEOUT_S,
        )
    if result.returncode != 0:
        raise AirflowServicesError(
            f"`airflow db migrate` failed; last lines of {log_file('db-migrate')}:\n"
            f"{_tail(log_file('db-migrate'))}"
        )


def _login_text(port: int) -> str:
    return (
        f"Airflow UI and API: {api_url(port)}\n"
        f"Log in as {ADMIN_USER} with the password {admin_password()}\n"
        f"  (stored in {passwords_file()}, mode 0600; API tokens: POST {api_url(port)}/auth/token "
        '{"username": ..., "password": ...})\n'
        f"Logs: {log_dir()}/<service>.log; stop with `make down` (sinergi airflow down)."
    )


def up(port: int | None = None, *, timeout: float = _READY_TIMEOUT_S) -> int:
    """Start whatever is not running; print the URL and login. Returns an exit code."""
    with _lock():
        running = [service for service in SERVICES if service_status(service).running]
        recorded_port = read_port()
        if len(running) == len(SERVICES) and recorded_port is not None:
            print(f"Airflow is already running ({', '.join(running)}); nothing to do.")
            print(_login_text(recorded_port))
            return 0
        if running:
            # Half up (a service crashed, or was killed by hand): restart the set cleanly, so
            # every service shares one port and one configuration.
            print(f"Some services are running ({', '.join(running)}), others not: restarting.")
        # Also sweeps up what a dead service's session left behind (stale pid files).
        _down_services()

        began = time.monotonic()
        requested = port if port is not None else configured_port()
        chosen, note = choose_port(requested)
        if note:
            print(note)
        if _start_database():
            (run_dir() / STARTED_DB_MARKER).write_text("1\n")
            print("Started the embedded PostgreSQL (`make down` stops it again).")
        admin_password()  # generated before the API server reads the file
        env = services_environment(chosen)
        if "AIRFLOW_CONN_KP2MI_API" not in env:
            print(
                f"note: neither {airflow_home.KP2MI_URL_ENV} nor AIRFLOW_CONN_KP2MI_API is set: "
                "the KemenP2MI API DAGs will fail at extract_from_api until one is"
            )
        print("Migrating the Airflow metadata database (airflow db migrate)...")
        _migrate(env)
        (run_dir() / PORT_FILE).write_text(f"{chosen}\n")
        commands = _commands(chosen)
        try:
            for service in SERVICES:
                pid = _start_service(service, commands[service], env)
                print(f"  started {service:<14} pid {pid:<7} log {log_file(service)}")
            print("Waiting for every component to report healthy...")
            _wait_ready(chosen, timeout)
        except BaseException:
            print("Start-up failed: stopping what was started.", file=sys.stderr)
            _down_services()
            raise
        print(f"Airflow is up after {time.monotonic() - began:.0f} s.\n")
        print(_login_text(chosen))
        return 0


def _down_services() -> list[str]:
    """Stop what every pid file names: the service and everything in its session (also
    when the service itself already died). Returns the names of services that were running."""
    leaders: dict[int, float | None] = {}
    running: list[str] = []
    for service in SERVICES:
        recorded = _read_pid(service)
        if recorded is None:
            continue
        leaders[recorded[0]] = recorded[1]
        if _live_process(service) is not None:
            running.append(service)
    survivors = stop_processes(leaders) if leaders else []
    if survivors:
        raise AirflowServicesError(
            f"processes {survivors} survived SIGKILL (uninterruptible I/O?); check with ps"
        )
    for service in SERVICES:
        pid_file(service).unlink(missing_ok=True)
    (run_dir() / PORT_FILE).unlink(missing_ok=True)
    return running


def down() -> int:
    with _lock():
        stopped = _down_services()
        if stopped:
            print(f"Stopped {', '.join(stopped)}.")
        else:
            print("No Airflow service of this SINERGI_HOME is running; nothing to stop.")
        marker = run_dir() / STARTED_DB_MARKER
        if marker.exists():
            from sinergi.db.embedded import EmbeddedPostgres

            if EmbeddedPostgres.from_settings().stop():
                print("Stopped the embedded PostgreSQL that `up` had started.")
            marker.unlink()
        return 0


def status() -> int:
    """Print each service's state; exit 0 when all run, 3 otherwise."""
    states = [service_status(service) for service in SERVICES]
    port = read_port()
    report = health(port) if port is not None and states[0].running else None
    for state in states:
        if state.running:
            text = f"running (pid {state.pid})"
            if state.name in HEALTH_COMPONENTS and report is not None:
                component = report.get(HEALTH_COMPONENTS[state.name]) or {}
                text += f", {component.get('status') or 'unknown'}"
            elif state.name == "api-server":
                text += ", healthy" if report is not None else ", not answering"
        else:
            text = "stopped"
        print(f"{state.name:<14} {text:<34} log {state.log_file}")
    all_running = all(state.running for state in states)
    if all_running and port is not None:
        print(f"URL: {api_url(port)} (user {ADMIN_USER}, password in {passwords_file()})")
    return 0 if all_running else 3


# -- backfill through Airflow's own backfill --------------------------------------------------

WAREHOUSE_DAG_ID = "warehouse"
REPROCESS_BEHAVIORS = ("none", "failed", "completed")
BACKFILL_WAREHOUSE_BUILDS = ("every-night", "last-night", "none")
_BACKFILL_POLL_S = 3.0
_BACKFILL_TIMEOUT_S = 6 * 3600


class ApiClient:
    """The running API server's REST API (``/api/v2``) as the admin, with a JWT."""

    def __init__(self, port: int) -> None:
        self.base = api_url(port)
        reply = self._call(
            "POST",
            "/auth/token",
            {"username": ADMIN_USER, "password": admin_password()},
            token=None,
        )
        self.token = reply["access_token"]

    def _call(self, method: str, path: str, body: dict | None = None, *, token=...) -> dict:
        headers = {"Content-Type": "application/json"}
        token = self.token if token is ... else token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                return json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise AirflowServicesError(f"{method} {path}: HTTP {error.code}: {detail}") from None
        except OSError as error:
            raise AirflowServicesError(f"{method} {path}: {error}; is Airflow up?") from None

    def get(self, path: str) -> dict:
        return self._call("GET", path)

    def post(self, path: str, body: dict) -> dict:
        return self._call("POST", path, body)

    def patch(self, path: str, body: dict) -> dict:
        return self._call("PATCH", path, body)


def _running_api() -> ApiClient:
    port = read_port()
    if port is None or not service_status("api-server").running or _unhealthy(health(port)):
        raise AirflowServicesError(
            "Airflow is not up (or not healthy) for this SINERGI_HOME: run `make up` "
            "(sinergi airflow up) first; `sinergi airflow status` says what is wrong"
        )
    return ApiClient(port)


def _set_paused(api: ApiClient, dag_id: str, paused: bool) -> bool:
    """Pause or unpause ``dag_id``; returns whether it was paused before."""
    was = bool(api.get(f"/api/v2/dags/{dag_id}")["is_paused"])
    if was != paused:
        api.patch(f"/api/v2/dags/{dag_id}", {"is_paused": paused})
    return was


def _dag_runs(api: ApiClient, dag_id: str, **query: str) -> list[dict]:
    """Every run of ``dag_id`` matching ``query`` (REST filters), page by page."""
    from urllib.parse import urlencode

    runs: list[dict] = []
    while True:
        params = urlencode({"limit": 100, "offset": len(runs), "order_by": "logical_date", **query})
        page = api.get(f"/api/v2/dags/{dag_id}/dagRuns?{params}")["dag_runs"]
        runs += page
        if len(page) < 100:
            return runs


def backfill(
    start,
    end,
    *,
    sources: list[str] | None = None,
    reprocess: str = "failed",
    warehouse_build: str = "every-night",
    wait: bool = True,
    timeout: float = _BACKFILL_TIMEOUT_S,
    say=print,
) -> int:
    """Backfill nights ``start``..``end`` through the running Airflow (``make up``).

    1. pauses the warehouse DAG while the ingest runs, so the backfill runs' outcome events
       do not trigger builds whose business day mixes nights (it is restored at the end);
    2. unpauses every ingest DAG to backfill (the scheduler starts no run of a paused DAG,
       backfill runs included);
    3. creates one Airflow backfill per ingest DAG (``POST /api/v2/backfills``: the nights'
       logical dates ``D 02:00 WIB``, ``max_active_runs`` 1, so each source's nights run one
       after another in logical-date order; ``reprocess``: ``failed`` runs the nights that
       never ran or failed, ``completed`` every night again, ``none`` only those never run);
    4. unless ``wait`` is off, waits for them and prints each run, then builds the warehouse
       per night (``every-night``) or once as of the last night (``last-night``) with
       ``conf={"business_date": D}``, one run after another.

    Returns 0 when every run succeeded, 1 when any failed (the nights are listed, with how
    to resume); raises ``AirflowServicesError`` when nothing could start (Airflow not up, a
    night not over yet, another backfill of a DAG still running). ``wait`` off leaves the
    warehouse as it was at once: pause it by hand until the backfills are done.
    """
    from sinergi import pipeline
    from sinergi.sources.registry import SOURCES

    if reprocess not in REPROCESS_BEHAVIORS:
        raise AirflowServicesError(f"--reprocess must be one of {', '.join(REPROCESS_BEHAVIORS)}")
    if warehouse_build not in BACKFILL_WAREHOUSE_BUILDS:
        raise AirflowServicesError(
            f"--warehouse-build must be one of {', '.join(BACKFILL_WAREHOUSE_BUILDS)}"
        )
    names = list(sources or SOURCES)
    unknown = sorted(set(names) - set(SOURCES))
    if unknown:
        raise AirflowServicesError(f"unknown source(s) {', '.join(unknown)}; see the registry")
    try:
        days = pipeline.nights(start, end)
        pipeline.check_nights_have_happened(end)
    except pipeline.PipelineError as error:
        raise AirflowServicesError(str(error)) from None
    api = _running_api()
    dag_ids = [f"ingest_{name}" for name in names]
    warehouse_was_paused = _set_paused(api, WAREHOUSE_DAG_ID, True)
    began = time.monotonic()
    first = pipeline.logical_date_of(days[0]).isoformat()
    last = pipeline.logical_date_of(days[-1]).isoformat()
    backfills: dict[str, dict] = {}
    try:
        for dag_id in dag_ids:
            if _set_paused(api, dag_id, False):
                say(f"unpaused {dag_id} (backfill runs start only on unpaused DAGs)")
            created = api.post(
                "/api/v2/backfills",
                {
                    "dag_id": dag_id,
                    "from_date": first,
                    "to_date": last,
                    "max_active_runs": 1,
                    "reprocess_behavior": reprocess,
                    "run_backwards": False,
                },
            )
            backfills[dag_id] = created
            say(f"backfill {created['id']}: {dag_id} {days[0]}..{days[-1]} ({reprocess})")
        if not wait:
            say("Not waiting (--no-wait): follow the runs in the UI (Browse > Backfills).")
            return 0
        failed = _wait_for_backfills(api, backfills, began + timeout, say)
        if warehouse_build != "none":
            _set_paused(api, WAREHOUSE_DAG_ID, False)
            builds = days if warehouse_build == "every-night" else days[-1:]
            for day in builds:
                state = _build_warehouse(api, day, began + timeout, say)
                if state != "success":
                    failed.append((day, WAREHOUSE_DAG_ID, state))
    finally:
        _set_paused(api, WAREHOUSE_DAG_ID, warehouse_was_paused)
    say(f"done in {time.monotonic() - began:.0f} s")
    if failed:
        say(f"{len(failed)} run(s) failed:")
        for day, dag_id, state in failed:
            say(f"  {day} {dag_id}: {state}")
        say(
            "Resume once the cause is fixed (e.g. the delivery arrived): the same command "
            "with --reprocess failed runs just those nights again."
        )
        return 1
    return 0


def _wait_for_backfills(api: ApiClient, backfills: dict[str, dict], deadline: float, say):
    """Wait until every backfill is complete; print each of its runs as it ends (the runs
    of a DAG's backfill that started after the backfill was created: the REST API does not
    say which backfill a run belongs to). Returns the failed runs as (day, dag id, state)."""
    from datetime import datetime

    from sinergi import pipeline

    reported: set[tuple[str, str]] = set()
    failed: list = []
    pending = dict(backfills)
    while pending:
        if time.monotonic() > deadline:
            raise AirflowServicesError(f"backfills still running after the timeout: {pending}")
        for dag_id, created in list(pending.items()):
            done = api.get(f"/api/v2/backfills/{created['id']}").get("completed_at")
            since = datetime.fromisoformat(created["created_at"])
            started = _dag_runs(
                api, dag_id, run_type="backfill", start_date_gte=created["created_at"]
            )
            for run in started:
                key = (dag_id, run["dag_run_id"])
                if run["state"] not in ("success", "failed") or key in reported:
                    continue
                if not run.get("end_date") or datetime.fromisoformat(run["start_date"]) < since:
                    continue
                reported.add(key)
                day = datetime.fromisoformat(run["logical_date"]).astimezone(pipeline.WIB).date()
                seconds = (
                    datetime.fromisoformat(run["end_date"])
                    - datetime.fromisoformat(run["start_date"])
                ).total_seconds()
                say(f"{day}  {dag_id:<28} {run['state']:<8} {seconds:6.1f}s")
                if run["state"] == "failed":
                    failed.append((day, dag_id, "failed"))
            if done:
                del pending[dag_id]
        if pending:
            time.sleep(_BACKFILL_POLL_S)
    return failed


def _build_warehouse(api: ApiClient, day, deadline: float, say) -> str:
    """One warehouse run with ``conf={"business_date": day}``, waited for."""
    began = time.monotonic()
    run = api.post(
        f"/api/v2/dags/{WAREHOUSE_DAG_ID}/dagRuns",
        {"logical_date": None, "conf": {"business_date": day.isoformat()}},
    )
    path = f"/api/v2/dags/{WAREHOUSE_DAG_ID}/dagRuns/{run['dag_run_id']}"
    while (state := api.get(path)["state"]) not in ("success", "failed"):
        if time.monotonic() > deadline:
            raise AirflowServicesError(f"warehouse run {run['dag_run_id']} still {state}")
        time.sleep(_BACKFILL_POLL_S)
    say(f"{day}  {WAREHOUSE_DAG_ID:<28} {state:<8} {time.monotonic() - began:6.1f}s")
    return state


# -- command line ----------------------------------------------------------------------------

_DESCRIPTION = """\
Run Airflow locally on the project's metadata database (the embedded PostgreSQL's `airflow`
database unless SINERGI_AIRFLOW_DB_URL says otherwise): the API server and UI on 127.0.0.1
(port --port or SINERGI_AIRFLOW_PORT, default 8080 or a free one if 8080 is taken), the
scheduler, the DAG processor and the triggerer. Login: user `admin`, password generated on
the first `up` into $SINERGI_HOME/airflow/simple_auth_manager_passwords.json (mode 0600).
Logs: $SINERGI_HOME/airflow/logs/<service>.log; pids: $SINERGI_HOME/airflow/run.
"""


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``sinergi airflow up|down|status`` to the ``sinergi`` command."""
    parser = commands.add_parser(
        "airflow",
        help="start, stop or inspect the local Airflow (UI, scheduler, DAG processor, triggerer)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)
    actions = parser.add_subparsers(dest="airflow_command", metavar="ACTION")
    start = actions.add_parser("up", help="migrate the metadata database and start everything")
    start.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"API server port on {LISTEN_HOST} (0 = any free port)",
    )
    start.add_argument(
        "--timeout",
        type=float,
        default=_READY_TIMEOUT_S,
        help="seconds to wait for every component to be healthy",
    )
    start.set_defaults(handler=_guarded(lambda args: up(args.port, timeout=args.timeout)))
    stop = actions.add_parser("down", help="stop everything `up` started (no orphans)")
    stop.set_defaults(handler=_guarded(lambda args: down()))
    state = actions.add_parser("status", help="each service's state; exit 0 if all run, 3 if not")
    state.set_defaults(handler=_guarded(lambda args: status()))
    fill = actions.add_parser(
        "backfill",
        help="backfill nights through Airflow's own backfill (every ingest DAG, then builds)",
        description=(
            "With Airflow up (`make up`): pause the warehouse DAG, unpause and backfill every "
            "ingest DAG for the nights --from..--to (one Airflow backfill per DAG, "
            "max_active_runs 1, so each source's nights run in logical-date order), wait for "
            "them, then build the warehouse per night (or once) with conf business_date, and "
            "restore the warehouse's paused state. Exits 1 when a run failed: fix the cause "
            "and run the same command again (--reprocess failed reruns only those nights)."
        ),
    )
    fill.add_argument("--from", dest="start", type=_day, required=True,
                      help="first business day (YYYY-MM-DD)")  # fmt: skip
    fill.add_argument("--to", dest="end", type=_day, required=True,
                      help="last business day, inclusive (YYYY-MM-DD)")  # fmt: skip
    fill.add_argument(
        "--reprocess", choices=REPROCESS_BEHAVIORS, default="failed",
        help="nights that already have a run: rerun the failed ones (default), every one "
        "(completed) or none",
    )  # fmt: skip
    fill.add_argument(
        "--warehouse-build", choices=BACKFILL_WAREHOUSE_BUILDS, default="every-night",
        help="after the ingest: a build per night (default), one as of the last night, or none",
    )  # fmt: skip
    fill.add_argument("--source", dest="sources", action="append", default=None,
                      help="only this source (repeatable; default every source)")  # fmt: skip
    fill.add_argument("--no-wait", dest="wait", action="store_false",
                      help="create the backfills and return (no warehouse build)")  # fmt: skip
    fill.set_defaults(
        handler=_guarded(
            lambda args: backfill(
                args.start, args.end, sources=args.sources, reprocess=args.reprocess,
                warehouse_build=args.warehouse_build, wait=args.wait,
            )
        )
    )  # fmt: skip


def _day(value: str):
    from datetime import date

    return date.fromisoformat(value)


def _guarded(handler):
    def run(args: argparse.Namespace) -> int:
        from sinergi.db.embedded import EmbeddedPostgresError

        try:
            return handler(args)
        except (
            AirflowServicesError,
            airflow_home.AirflowHomeError,
            EmbeddedPostgresError,
            settings.SettingsError,
        ) as error:
            print(f"sinergi airflow: error: {error}", file=sys.stderr)
            return 1

    return run
