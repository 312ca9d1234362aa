"""The Airflow UI and API refuse anonymous access, locally and in the production stack.

What an anonymous HTTP request gets from a running ``make up`` (401/403 on ``/api/v2/dags``
and on a wrong password) is tested end to end by
``tests/integration/test_airflow_services.py::test_up_login_dags_down``. Here, without
starting anything: the configuration both deployments give Airflow has authentication on
(SimpleAuthManager, no "everyone is admin" switch), its secrets generated or from the
environment, and nothing listening beyond 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SIMPLE_AUTH_MANAGER = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)


def test_make_up_configures_login_and_localhost_only(tmp_path, monkeypatch) -> None:
    from sinergi import airflow_services

    monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
    # Databases elsewhere: nothing is started, only the configuration is built.
    monkeypatch.setenv("SINERGI_AIRFLOW_DB_URL", "postgresql://a:b@127.0.0.1:9/airflow")
    monkeypatch.setenv("SINERGI_WAREHOUSE_URL", "postgresql://a:b@127.0.0.1:9/warehouse")
    for name in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    env = airflow_services.services_environment(18080)

    assert env["AIRFLOW__CORE__AUTH_MANAGER"] == SIMPLE_AUTH_MANAGER
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "False"
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "False"
    # Secrets are generated per installation, never fixed values.
    first = env["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert len(first) >= 32
    monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "other-home"))
    assert airflow_services.services_environment(18080)["AIRFLOW__API_AUTH__JWT_SECRET"] != first
    commands = airflow_services._commands(18080)
    api = commands["api-server"]
    assert api[api.index("--host") + 1] == "127.0.0.1"


def test_production_stack_requires_login_and_publishes_on_localhost_only() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    texts = []
    for name, service in compose["services"].items():
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        texts.append(str(environment))
        assert str(environment.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")) in (
            "False",
            "false",
        ), name
        for port in service.get("ports") or []:
            assert str(port).startswith("127.0.0.1:"), (name, port)
    assert any(SIMPLE_AUTH_MANAGER in text for text in texts) or SIMPLE_AUTH_MANAGER in str(
        compose.get("x-airflow-common", "")
    )
