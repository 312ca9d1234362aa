"""dbt from Python: the environment a dbt process needs, the manifest, and one invocation.

Plain Python, no Airflow: the warehouse DAG (through Cosmos), ``sinergi run``, the demo and
the tests all call these.

* ``dbt_environment(url, key)`` turns the warehouse's libpq URL into the ``SINERGI_DBT_*``
  variables ``dbt_project/profiles.yml`` reads, plus ``PGOPTIONS`` carrying the HMAC key as
  the session setting ``sinergi.pii_key``: libpq sends it when the connection opens, so the
  key never appears in SQL text, in dbt's files (profiles, manifest, compiled SQL) or logs.
* ``pii_key()`` reads ``SINERGI_PII_KEY``; without it nothing runs, except in demo mode
  (``SINERGI_DEMO=1``), which uses ``DEMO_PII_KEY``, a fixed and clearly named key.
* ``build_manifest()`` runs ``dbt parse`` (no database needed: the postgres adapter does not
  connect to parse, it only needs a profile that renders, so it gets placeholder values).
  ``make install`` runs it so the warehouse DAG renders from a manifest and never invokes dbt
  at DAG parse time; ``sinergi run`` rebuilds it when the project changed since.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from sinergi.settings import PROJECT_ROOT, SettingsError

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DBT_PROJECT_NAME = "sinergi"  # dbt_project.yml `name`: the prefix of node ids
PROFILE_NAME = "sinergi"
TARGET_NAME = "warehouse"
# The manifest Cosmos renders the warehouse DAG from. Its own target directory, so an
# engineer's ad-hoc `dbt build` in dbt_project/ never rewrites it while Airflow parses it.
MANIFEST_TARGET_DIR = DBT_PROJECT_DIR / "target" / "airflow"
MANIFEST_PATH = MANIFEST_TARGET_DIR / "manifest.json"

# Identity resolution reads IDENTITY_INPUT_MODEL and writes the tables of dbt source
# `identity`. A build outside Airflow runs dbt on everything not downstream of that source,
# then the identity step, then the rest; the warehouse DAG puts the step between the tasks of
# the input model and of the models reading the source (models_reading_identity).
IDENTITY_INPUT_MODEL = "int_source_records__unioned"
IDENTITY_SOURCE = "identity"
BEFORE_IDENTITY = {"exclude": [f"source:{IDENTITY_SOURCE}+"]}
AFTER_IDENTITY = {"select": [f"source:{IDENTITY_SOURCE}+"]}

PII_KEY_ENV = "SINERGI_PII_KEY"
DEMO_ENV = "SINERGI_DEMO"
# Demo mode only: simulated people, so a published key protects nothing. Never in production:
# pii_key() refuses to run without SINERGI_PII_KEY unless SINERGI_DEMO=1.
DEMO_PII_KEY = "sinergi-demo-only-key-not-secret"
MIN_PII_KEY_LENGTH = 16

# The variables profiles.yml reads; PGOPTIONS and PGSSLMODE are read by libpq itself.
DBT_ENV_NAMES = (
    "SINERGI_DBT_HOST",
    "SINERGI_DBT_PORT",
    "SINERGI_DBT_USER",
    "SINERGI_DBT_PASSWORD",
    "SINERGI_DBT_DBNAME",
    "PGOPTIONS",
)


class PiiKeyMissingError(SettingsError):
    """No HMAC key: the marts' ``nik_hash`` cannot be computed."""


def is_demo() -> bool:
    return os.environ.get(DEMO_ENV, "").strip().lower() in ("1", "true", "yes")


def pii_key() -> str:
    """The HMAC key for ``nik_hash``: ``SINERGI_PII_KEY``; in demo mode a fixed demo key."""
    key = os.environ.get(PII_KEY_ENV, "").strip()
    if key:
        if len(key) < MIN_PII_KEY_LENGTH:
            raise PiiKeyMissingError(
                f"{PII_KEY_ENV} is {len(key)} characters long; use at least "
                f"{MIN_PII_KEY_LENGTH}, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`"
            )
        return key
    if is_demo():
        return DEMO_PII_KEY
    raise PiiKeyMissingError(
        f"{PII_KEY_ENV} is not set: the marts carry NIK only as an HMAC under this key, which "
        "the deployment supplies (a secret, never in the repository). Set it, e.g. to the "
        "output of `python -c 'import secrets; print(secrets.token_hex(32))'` kept in your "
        f"secrets store, or set {DEMO_ENV}=1 to use the demo key on simulated data"
    )


def dbt_environment(warehouse_url: str, pii_key: str) -> dict[str, str]:
    """The environment a dbt process needs to build the warehouse at ``warehouse_url``.

    Accepts the libpq URL forms Sinergi uses: TCP ``postgresql://user:pw@host:port/db`` and
    unix socket ``postgresql://user@/db?host=/socket/dir&port=N`` (user, password, host,
    port and dbname may also come as query parameters, as libpq allows).
    """
    parts = urlsplit(warehouse_url.strip())
    if parts.scheme not in ("postgresql", "postgres"):
        raise SettingsError(
            f"the warehouse URL has scheme {parts.scheme or 'none'!r}; expected a libpq URL "
            "such as postgresql://user:password@host:5432/warehouse"
        )
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    try:
        netloc_port = parts.port
    except ValueError:
        raise SettingsError("the warehouse URL has an invalid port") from None
    netloc_host = unquote(parts.hostname) if parts.hostname else ""
    host = query.get("host") or netloc_host
    port = query.get("port") or (str(netloc_port) if netloc_port else "5432")
    user = query.get("user") or (unquote(parts.username) if parts.username else "")
    password = query.get("password") or (unquote(parts.password) if parts.password else "")
    dbname = query.get("dbname") or unquote(parts.path.lstrip("/"))
    if not port.isdigit():
        raise SettingsError(f"the warehouse URL has port {port!r}; it must be a number")
    if not dbname:
        raise SettingsError("the warehouse URL names no database (postgresql://.../warehouse)")
    if not user:
        raise SettingsError("the warehouse URL names no user (postgresql://user@...)")
    if not pii_key:
        raise PiiKeyMissingError("an empty HMAC key; see sinergi.dbt_runner.pii_key()")
    environment = {
        "SINERGI_DBT_HOST": host,
        "SINERGI_DBT_PORT": port,
        "SINERGI_DBT_USER": user,
        "SINERGI_DBT_PASSWORD": password,
        "SINERGI_DBT_DBNAME": dbname,
        "PGOPTIONS": f"-c sinergi.pii_key={_escape_pgoptions(pii_key)}",
    }
    if "sslmode" in query:
        environment["PGSSLMODE"] = query["sslmode"]
    return environment


def _escape_pgoptions(value: str) -> str:
    """libpq splits PGOPTIONS on spaces; a backslash escapes a space or a backslash."""
    return value.replace("\\", "\\\\").replace(" ", "\\ ")


def placeholder_environment() -> dict[str, str]:
    """Values that let profiles.yml render for commands that never connect (``dbt parse``)."""
    return {
        "SINERGI_DBT_HOST": "placeholder.invalid",
        "SINERGI_DBT_PORT": "5432",
        "SINERGI_DBT_USER": "placeholder",
        "SINERGI_DBT_PASSWORD": "",
        "SINERGI_DBT_DBNAME": "placeholder",
    }


def dbt_executable() -> Path:
    """The ``dbt`` of this environment (beside the running Python), else the one on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    if beside.is_file():
        return beside
    found = shutil.which("dbt")
    if found is None:
        raise FileNotFoundError("dbt is not installed in this environment; run `make install`")
    return Path(found)


class DbtError(RuntimeError):
    """A dbt command failed; the message carries the end of its output."""


def run_dbt(
    args: list[str],
    environment: dict[str, str],
    *,
    target_path: Path | None = None,
    dbt_vars: dict[str, str] | None = None,
    project_dir: Path = DBT_PROJECT_DIR,
    timeout: float = 1800,
) -> str:
    """Run one dbt command in a subprocess (``dbt <args> --vars ...``); its output.

    ``environment`` (from ``dbt_environment`` or ``placeholder_environment``) is added to this
    process's environment for the child only.
    """
    command = [str(dbt_executable()), *args, "--project-dir", str(project_dir),
               "--profiles-dir", str(project_dir)]  # fmt: skip
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    if dbt_vars:
        import json

        command += ["--vars", json.dumps(dbt_vars, sort_keys=True)]
    env = {**os.environ, **environment, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    result = subprocess.run(
        command, cwd=project_dir, env=env, capture_output=True, text=True, timeout=timeout
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-40:])
        raise DbtError(f"`dbt {' '.join(args)}` failed (exit {result.returncode}):\n{tail}")
    return output


def build_manifest(target_path: Path = MANIFEST_TARGET_DIR) -> Path:
    """``dbt parse`` into ``target_path``; the path of the ``manifest.json`` it wrote.

    Needs no database: the profile renders from placeholder values and parsing never opens
    a connection. Written next to the old one and moved into place, so a DAG file parsed
    meanwhile reads either the old or the new manifest, never half of one.
    """
    import tempfile

    target_path = Path(target_path)
    target_path.mkdir(parents=True, exist_ok=True)
    # A directory of its own per build: two builds at once (`make install` beside a
    # `sinergi run` that found the project changed) would otherwise delete each other's.
    building = Path(tempfile.mkdtemp(prefix="building-", dir=target_path))
    try:
        run_dbt(["parse", "--no-partial-parse"], placeholder_environment(), target_path=building)
        if not (building / "manifest.json").is_file():
            raise DbtError(f"dbt parse wrote no manifest in {building}")
        manifest = target_path / "manifest.json"
        os.replace(building / "manifest.json", manifest)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return manifest


def manifest_is_stale(manifest: Path = MANIFEST_PATH, project_dir: Path = DBT_PROJECT_DIR) -> bool:
    """Whether any file of the dbt project changed after ``manifest`` was written."""
    if not manifest.is_file():
        return True
    built = manifest.stat().st_mtime
    for folder in ("models", "macros", "seeds", "snapshots", "tests", "analyses"):
        for path in (project_dir / folder).rglob("*"):
            if path.is_file() and path.stat().st_mtime > built:
                return True
    return any(
        (project_dir / name).stat().st_mtime > built
        for name in ("dbt_project.yml", "profiles.yml", "packages.yml")
        if (project_dir / name).is_file()
    )


def models_reading_identity(manifest: Path = MANIFEST_PATH) -> list[str]:
    """The models that read a table of source ``identity`` directly (from the manifest)."""
    import json

    prefix = f"source.{DBT_PROJECT_NAME}.{IDENTITY_SOURCE}."
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return sorted(
        node["name"]
        for node in nodes
        if node["resource_type"] == "model"
        and any(parent.startswith(prefix) for parent in node["depends_on"].get("nodes", []))
    )


def ensure_manifest(manifest: Path = MANIFEST_PATH) -> Path:
    """The manifest, rebuilt first when the project changed since it was written."""
    if manifest_is_stale(manifest):
        return build_manifest(manifest.parent)
    return manifest


if __name__ == "__main__":  # `make install`: python -m sinergi.dbt_runner
    print(f"dbt manifest for the warehouse DAG: {build_manifest()}")
