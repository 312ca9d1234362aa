"""Fixtures of the security suite: a small warehouse built the way the pipeline builds it
(ingest steps, dbt up to identity, identity resolution, the rest of dbt, with the grants of
``dbt_project/macros/marts/grants.sql``), and logins of its roles."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from tests.conftest import _create_database, _drop_database, url_with_database

NIGHT = date(2026, 1, 1)
PII_KEY = "security-suite-hmac-key-0123456789"


def _dbt(url: str, target: Path, *args: str) -> None:
    from sinergi import dbt_runner

    dbt_runner.run_dbt(
        ["build", "--exclude-resource-type", "test", "unit_test", *args],
        dbt_runner.dbt_environment(url, PII_KEY),
        target_path=target,
        dbt_vars={"logical_date": NIGHT.isoformat()},
    )


@pytest.fixture(scope="session")
def secured_warehouse(postgres_admin_url, tmp_path_factory) -> Iterator[str]:
    """Every schema and model of the warehouse, built as the warehouse DAG builds it (seeds and
    models up to identity's input, identity resolution, the rest) with the grants of
    ``grants.sql``, on empty raw tables: privileges do not depend on rows, and an empty build
    is the cheapest one (the data tests are not run here; other suites run them)."""
    from sinergi import dbt_runner
    from sinergi.identity import resolve
    from sinergi.ingest import ensure_schema

    name = _create_database(postgres_admin_url, "sinergi_test_security")
    url = url_with_database(postgres_admin_url, name)
    target = tmp_path_factory.mktemp("security-dbt")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            ensure_schema(conn)
        _dbt(url, target, "--exclude", *dbt_runner.BEFORE_IDENTITY["exclude"])
        resolve.resolve_identities(url, NIGHT, pii_key=PII_KEY)
        _dbt(url, target, "--select", *dbt_runner.AFTER_IDENTITY["select"])
        yield url
    finally:
        _drop_database(postgres_admin_url, name)


def login_url(admin_url: str, role: str | None) -> Iterator[str]:
    """A throwaway login role granted ``role`` (as the deployment grants it; None: no role at
    all); its URL."""
    login, password = f"{role or 'nobody'}_login_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    statement = sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
        sql.Identifier(login), sql.Literal(password)
    )
    if role is not None:
        statement += sql.SQL(" IN ROLE {}").format(sql.Identifier(role))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(statement)
    parts = urlsplit(admin_url)
    try:
        yield parts._replace(netloc=f"{login}:{password}@{parts.hostname}:{parts.port}").geturl()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(login)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))


@pytest.fixture
def bi_login(secured_warehouse) -> Iterator[str]:
    yield from login_url(secured_warehouse, "bi_reader")
