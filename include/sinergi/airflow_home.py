"""The local Airflow environment that ``sinergi run`` (and later ``make up``) runs in.

Airflow reads its configuration once, when first imported, so ``configure()`` must run
before anything imports ``airflow``. It sets, in this process's environment only:

* ``AIRFLOW_HOME=$SINERGI_HOME/airflow`` (logs, the generated ``airflow.cfg``);
* the DAGs folder: the repository's ``dags/``; no example DAGs;
* the metadata database: ``SINERGI_AIRFLOW_DB_URL``, else the embedded PostgreSQL's
  ``airflow`` database over its unix socket (no password needed, nothing secret in the URL),
  so the runs stay visible to an Airflow UI started later on the same database;
* connections ``warehouse`` (from ``settings.warehouse_url()``) and ``kp2mi_api`` (from
  ``SINERGI_KP2MI_URL`` and ``SINERGI_KP2MI_TOKEN``, unless ``AIRFLOW_CONN_KP2MI_API`` is
  already set) as ``AIRFLOW_CONN_*`` variables, never written to a file or the database;
* modest parallelism (this runs on one small machine), LocalExecutor for a later scheduler,
  and no Cosmos telemetry;
* OpenLineage (``lineage_environment()``): namespace ``sinergi``, events to JSON files below
  ``$SINERGI_HOME/lineage`` by default, to Marquez (or any OpenLineage HTTP endpoint) when
  ``SINERGI_LINEAGE_URL`` is set, off with ``SINERGI_LINEAGE=off``; an
  ``AIRFLOW__OPENLINEAGE__TRANSPORT`` already in the environment wins.

``migrate()`` creates or upgrades the metadata schema (``airflow db migrate``) when needed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from sinergi import settings

KP2MI_URL_ENV = "SINERGI_KP2MI_URL"
KP2MI_TOKEN_ENV = "SINERGI_KP2MI_TOKEN"
LINEAGE_ENV = "SINERGI_LINEAGE"
LINEAGE_URL_ENV = "SINERGI_LINEAGE_URL"
LINEAGE_NAMESPACE = "sinergi"
# One JSON file per event: <lineage dir>/events-<YYYYmmdd-HHMMSS.ffffff>.json. One file per
# event, not one appended file, because several task processes emit at the same time.
LINEAGE_FILE_PREFIX = "events"


class AirflowHomeError(RuntimeError):
    """The local Airflow environment cannot be set up; the message says why and what to do."""


def airflow_home() -> Path:
    return settings.sinergi_home() / "airflow"


def uses_embedded_database() -> bool:
    """Whether the warehouse or the Airflow metadata live in the embedded PostgreSQL."""
    external_warehouse = (
        os.environ.get("SINERGI_WAREHOUSE_URL", "").strip()
        or os.environ.get("AIRFLOW_CONN_WAREHOUSE", "").strip()
    )
    external_airflow = os.environ.get("SINERGI_AIRFLOW_DB_URL", "").strip()
    return not (external_warehouse and external_airflow)


def metadata_db_url() -> str:
    """The Airflow metadata database as a SQLAlchemy URL (driver psycopg2)."""
    explicit = os.environ.get("SINERGI_AIRFLOW_DB_URL", "").strip()
    if explicit:
        libpq = explicit
    else:
        from sinergi.db.embedded import EmbeddedPostgres

        libpq = EmbeddedPostgres.from_settings().url(settings.AIRFLOW_DATABASE, socket=True)
    return sqlalchemy_url(libpq)


def sqlalchemy_url(libpq_url: str) -> str:
    """``postgresql://...`` (libpq) to ``postgresql+psycopg2://...`` (SQLAlchemy)."""
    parts = urlsplit(libpq_url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise AirflowHomeError(
            f"SINERGI_AIRFLOW_DB_URL has scheme {parts.scheme!r}; Airflow's metadata database "
            "must be PostgreSQL, e.g. postgresql://user:password@host:5432/airflow"
        )
    return urlunsplit(parts._replace(scheme="postgresql+psycopg2"))


def warehouse_connection(libpq_url: str) -> str:
    """Airflow connection ``warehouse`` in JSON form (a socket directory survives it intact)."""
    parts = urlsplit(libpq_url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    host = query.pop("host", None) or (unquote(parts.hostname) if parts.hostname else None)
    port = query.pop("port", None) or parts.port
    connection = {
        "conn_type": "postgres",
        "host": host,
        "port": int(port) if port else None,
        "login": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "schema": unquote(parts.path.lstrip("/")) or None,
        "extra": query,
    }
    return json.dumps({key: value for key, value in connection.items() if value})


def kp2mi_connection() -> str | None:
    """Airflow connection ``kp2mi_api`` in JSON form from SINERGI_KP2MI_URL/_TOKEN, if set."""
    url = os.environ.get(KP2MI_URL_ENV, "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AirflowHomeError(
            f"{KP2MI_URL_ENV}={url!r} is not an http(s) URL such as http://127.0.0.1:8765"
        )
    connection = {
        "conn_type": "http",
        "host": parts.hostname + parts.path.rstrip("/"),
        "schema": parts.scheme,
        "port": parts.port,
        "password": os.environ.get(KP2MI_TOKEN_ENV, "").strip() or None,
    }
    return json.dumps({key: value for key, value in connection.items() if value})


def lineage_dir() -> Path:
    """Where the OpenLineage file transport writes: ``$SINERGI_HOME/lineage``."""
    return settings.sinergi_home() / "lineage"


def lineage_environment() -> dict[str, str]:
    """The OpenLineage provider's settings: a file transport by default (nothing to run,
    nothing sent anywhere), HTTP to ``SINERGI_LINEAGE_URL`` (e.g. Marquez) when set."""
    if os.environ.get(LINEAGE_ENV, "").strip().lower() in ("off", "0", "false", "no"):
        return {"AIRFLOW__OPENLINEAGE__DISABLED": "True"}
    env = {
        "AIRFLOW__OPENLINEAGE__NAMESPACE": LINEAGE_NAMESPACE,
        # Events carry inputs, outputs and run metadata, not each task's Python source.
        "AIRFLOW__OPENLINEAGE__DISABLE_SOURCE_CODE": "True",
    }
    explicit = os.environ.get("AIRFLOW__OPENLINEAGE__TRANSPORT", "").strip()
    url = os.environ.get(LINEAGE_URL_ENV, "").strip()
    if explicit:
        env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = explicit
    elif url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AirflowHomeError(
                f"{LINEAGE_URL_ENV}={url!r} is not an http(s) URL such as "
                "http://127.0.0.1:5000 (Marquez's API)"
            )
        env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(
            {"type": "http", "url": url.rstrip("/"), "endpoint": "api/v1/lineage"}
        )
    else:
        folder = lineage_dir()
        folder.mkdir(parents=True, exist_ok=True)
        env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(
            {"type": "file", "log_file_path": str(folder / LINEAGE_FILE_PREFIX), "append": False}
        )
    return env


def environment(warehouse_url: str | None = None) -> dict[str, str]:
    """The variables ``configure()`` sets (also what a later ``airflow api-server`` needs)."""
    home = airflow_home()
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Jakarta",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db_url(),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW_CONN_WAREHOUSE": warehouse_connection(warehouse_url or settings.warehouse_url()),
    }
    kp2mi = kp2mi_connection()
    if kp2mi is not None:
        env["AIRFLOW_CONN_KP2MI_API"] = kp2mi
    env.update(lineage_environment())
    return env


def configure(warehouse_url: str | None = None) -> dict[str, str]:
    """Set up this process's Airflow environment; must run before Airflow is imported."""
    env = environment(warehouse_url)
    if "airflow" in sys.modules or "airflow.sdk" in sys.modules:
        from airflow.configuration import conf

        configured = conf.get("database", "sql_alchemy_conn")
        if configured != env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]:
            raise AirflowHomeError(
                "Airflow was imported before Sinergi configured it (metadata database "
                f"{configured!r}); run `sinergi run` in a fresh process"
            )
    airflow_home().mkdir(parents=True, exist_ok=True)
    os.environ.update(env)
    if (
        "AIRFLOW_CONN_KP2MI_API" not in env
        and not os.environ.get("AIRFLOW_CONN_KP2MI_API", "").strip()
    ):
        # The file-drop sources still run; the KemenP2MI DAGs will fail with this message.
        print(
            f"warning: neither {KP2MI_URL_ENV} nor AIRFLOW_CONN_KP2MI_API is set: the "
            "KemenP2MI API sources cannot be extracted",
            file=sys.stderr,
        )
    return env


def migrate() -> bool:
    """Create or upgrade Airflow's metadata schema when it is not at this Airflow's head
    (``airflow db migrate``, first use only). True when a migration ran."""
    from airflow.utils import db

    try:
        db.check_migrations(timeout=0)
        return False
    except TimeoutError:
        pass
    db.upgradedb()
    return True
