"""Configuration from the environment, in one place.

Everything is read when a function is called, not at import time, so tests can change the
environment and DAG files can import this module without side effects (nothing happens at
parse time). The variables:

``SINERGI_HOME``            state directory; default ``<project root>/var``
``SINERGI_DB_DIR``          embedded PostgreSQL data directory; default ``$SINERGI_HOME/postgres``
``SINERGI_DB_PORT``         embedded PostgreSQL TCP port on 127.0.0.1; default 55432
``SINERGI_WAREHOUSE_URL``   libpq URL of an external warehouse (wins over everything)
``AIRFLOW_CONN_WAREHOUSE``  Airflow's ``warehouse`` connection (URI or JSON), used if the above
                            is unset, so Airflow and the CLI agree on one setting
``SINERGI_AIRFLOW_DB_URL``  libpq URL of an external Airflow metadata database
``SINERGI_LANDING_DIR``     the ministries' file drops; default ``$SINERGI_HOME/landing``
``SINERGI_SETTLE_SECONDS``  how long a dropped file must be untouched to count as complete
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# 5432 is usually taken by a system PostgreSQL; ours must never collide with it by default.
DEFAULT_DB_PORT = 55432

WAREHOUSE_DATABASE = "warehouse"
AIRFLOW_DATABASE = "airflow"

# Query parameters libpq understands in a URI. Airflow connection extras may carry others
# (``cursor``, ``iam``, ``aws_conn_id``...) that libpq would reject with "invalid URI query
# parameter", so only these are carried over.
_LIBPQ_PARAMS = frozenset(
    {
        "application_name",
        "channel_binding",
        "client_encoding",
        "connect_timeout",
        "gssencmode",
        "keepalives",
        "keepalives_count",
        "keepalives_idle",
        "keepalives_interval",
        "krbsrvname",
        "load_balance_hosts",
        "options",
        "passfile",
        "require_auth",
        "service",
        "ssl_max_protocol_version",
        "ssl_min_protocol_version",
        "sslcert",
        "sslcompression",
        "sslcrl",
        "sslcrldir",
        "sslkey",
        "sslmode",
        "sslnegotiation",
        "sslpassword",
        "sslrootcert",
        "sslsni",
        "target_session_attrs",
        "tcp_user_timeout",
    }
)


class SettingsError(ValueError):
    """A configuration value is malformed; the message names the variable and the fix."""


def sinergi_home() -> Path:
    """The directory for Sinergi's local state (embedded database, landed files...)."""
    value = os.environ.get("SINERGI_HOME")
    return Path(value).expanduser().resolve() if value else PROJECT_ROOT / "var"


def db_dir() -> Path:
    """The embedded PostgreSQL data directory."""
    value = os.environ.get("SINERGI_DB_DIR")
    return Path(value).expanduser().resolve() if value else sinergi_home() / "postgres"


def db_port() -> int:
    """The TCP port the embedded PostgreSQL listens on (127.0.0.1 only)."""
    value = os.environ.get("SINERGI_DB_PORT", "").strip()
    if not value:
        return DEFAULT_DB_PORT
    try:
        port = int(value)
    except ValueError:
        raise SettingsError(
            f"SINERGI_DB_PORT={value!r} is not a number; set it to a free TCP port such as "
            f"{DEFAULT_DB_PORT}"
        ) from None
    if not 1 <= port <= 65535:
        raise SettingsError(f"SINERGI_DB_PORT={port} is outside 1-65535; pick a free TCP port")
    return port


def landing_dir() -> Path:
    """Where the ministries' file drops arrive (in production a folder synchronised from
    their SFTP): ``SINERGI_LANDING_DIR``, default ``$SINERGI_HOME/landing``."""
    value = os.environ.get("SINERGI_LANDING_DIR")
    return Path(value).expanduser().resolve() if value else sinergi_home() / "landing"


def archive_dir() -> Path:
    """The immutable archive of every delivery as received: ``$SINERGI_HOME/archive``."""
    return sinergi_home() / "archive"


def extract_dir() -> Path:
    """Where API extracts are written before they are landed: ``$SINERGI_HOME/extract``."""
    return sinergi_home() / "extract"


def data_docs_dir() -> Path:
    """Great Expectations Data Docs for the ministries' data stewards."""
    return sinergi_home() / "data_docs"


def settle_seconds() -> int:
    """How long a dropped file must be left untouched before it counts as complete
    (``SINERGI_SETTLE_SECONDS``, default 60): a file still being copied is not read."""
    return int(os.environ.get("SINERGI_SETTLE_SECONDS", "60"))


def warehouse_url() -> str:
    """The libpq URL of the warehouse.

    Order: ``SINERGI_WAREHOUSE_URL``; else Airflow's ``AIRFLOW_CONN_WAREHOUSE`` converted to
    libpq form; else the embedded server's ``warehouse`` database (which must have been
    initialised by ``sinergi db start``, because its password lives in the data directory).
    """
    explicit = os.environ.get("SINERGI_WAREHOUSE_URL", "").strip()
    if explicit:
        return explicit
    airflow_conn = os.environ.get("AIRFLOW_CONN_WAREHOUSE", "").strip()
    if airflow_conn:
        return airflow_conn_to_libpq(airflow_conn, variable="AIRFLOW_CONN_WAREHOUSE")
    return _embedded_url(WAREHOUSE_DATABASE)


def airflow_db_url() -> str:
    """The libpq URL of Airflow's metadata database.

    ``SINERGI_AIRFLOW_DB_URL`` if set, else the embedded server's ``airflow`` database.
    """
    explicit = os.environ.get("SINERGI_AIRFLOW_DB_URL", "").strip()
    if explicit:
        return explicit
    return _embedded_url(AIRFLOW_DATABASE)


def _embedded_url(database: str) -> str:
    # Imported here: the embedded module imports this one, and most callers never need it.
    from sinergi.db.embedded import EmbeddedPostgres

    return EmbeddedPostgres.from_settings().url(database)


def airflow_conn_to_libpq(value: str, *, variable: str = "AIRFLOW_CONN_...") -> str:
    """Convert an Airflow connection (URI or JSON form) for PostgreSQL to a libpq URI.

    Airflow writes ``postgres://login:password@host:port/schema?extra=...`` where the "schema"
    is the database; libpq wants ``postgresql://``. The JSON form is
    ``{"conn_type": "postgres", "host": ..., "login": ..., "password": ..., "schema": ...,
    "port": ..., "extra": {...}}``. Extras that libpq does not know are dropped.
    """
    value = value.strip()
    if value.startswith("{"):
        return _airflow_json_to_libpq(value, variable)
    return _airflow_uri_to_libpq(value, variable)


def _airflow_uri_to_libpq(value: str, variable: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SettingsError(
            f"{variable} has scheme {parts.scheme!r}; the warehouse must be a PostgreSQL "
            "connection such as postgres://user:password@host:5432/warehouse"
        )
    try:
        port = parts.port
    except ValueError:
        raise SettingsError(f"{variable} has an invalid port; it must be a number") from None
    extra: dict[str, str] = {}
    for key, item in parse_qsl(parts.query, keep_blank_values=True):
        if key == "__extra__":
            # Airflow puts extras that are not plain strings in one JSON-valued parameter.
            extra.update(_json_object(item, variable, "__extra__"))
        else:
            extra[key] = item
    return _build_libpq_url(
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        # Like Airflow, take the host percent-decoded: "%2Ftmp" is the socket directory /tmp.
        host=unquote(parts.hostname) if parts.hostname else None,
        port=port,
        database=unquote(parts.path.lstrip("/")) or None,
        extra=extra,
    )


def _airflow_json_to_libpq(value: str, variable: str) -> str:
    conn = _json_object(value, variable, "the connection")
    conn_type = str(conn.get("conn_type", "")).lower()
    if conn_type not in ("postgres", "postgresql"):
        raise SettingsError(
            f"{variable} has conn_type {conn_type or 'missing'!r}; the warehouse must be a "
            'PostgreSQL connection, e.g. {"conn_type": "postgres", "host": "127.0.0.1", ...}'
        )
    extra = conn.get("extra") or {}
    if isinstance(extra, str):
        extra = _json_object(extra, variable, "extra")
    port = conn.get("port")
    try:
        port = int(port) if port not in (None, "") else None
    except (TypeError, ValueError):
        raise SettingsError(f"{variable} has port {port!r}; it must be a number") from None
    return _build_libpq_url(
        login=conn.get("login"),
        password=conn.get("password"),
        host=conn.get("host"),
        port=port,
        database=conn.get("schema"),
        extra=extra,
    )


def _json_object(text: str, variable: str, what: str) -> dict:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{variable}: {what} is not valid JSON ({exc})") from None
    if not isinstance(parsed, dict):
        raise SettingsError(f"{variable}: {what} must be a JSON object")
    return parsed


def _build_libpq_url(
    *,
    login: str | None,
    password: str | None,
    host: str | None,
    port: int | None,
    database: str | None,
    extra: dict,
) -> str:
    """Assemble ``postgresql://login:password@host:port/database?params``, percent-encoded."""
    params = {key: str(item) for key, item in extra.items() if key in _LIBPQ_PARAMS}
    netloc = ""
    if login:
        netloc = quote(str(login), safe="")
        if password:
            netloc += ":" + quote(str(password), safe="")
        netloc += "@"
    if host and str(host).startswith("/"):
        # A unix-socket directory cannot go in the authority part; libpq takes it as ?host=.
        params["host"] = str(host)
        if port:
            params["port"] = str(port)
    elif host:
        # An IPv6 literal goes in brackets, as in any URL.
        netloc += f"[{host}]" if ":" in str(host) else quote(str(host), safe="")
        if port:
            netloc += f":{port}"
    elif port:
        netloc += f":{port}"
    url = f"postgresql://{netloc}/{quote(database, safe='') if database else ''}"
    if params:
        url += "?" + urlencode(params, safe="/")
    return url
