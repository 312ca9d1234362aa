"""``bi_reader`` reads ``marts`` and ``dq.batch`` and nothing else, and cannot escalate.

A login granted ``bi_reader`` (as the deployment grants it) on a warehouse built with the
grants of ``dbt_project/macros/marts/grants.sql``:

* can read every mart and ``dq.batch`` (the positive control: the refusals below are
  refusals of privilege, not of a broken connection);
* is refused every table and view of ``raw``, ``staging``, ``intermediate``, ``restricted``,
  and ``dq`` other than ``dq.batch`` (``dq.quarantine`` holds raw rows);
* cannot escalate: ``SET ROLE`` to any other role, create objects in any schema (tables,
  views, functions, schemas), grant or alter roles, read ``pg_authid`` or server files, run
  programs through ``COPY``, create extensions; and its role has none of PostgreSQL's
  dangerous attributes or predefined roles.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from sinergi.pipeline import MARTS
from tests.security.conftest import login_url

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FORBIDDEN_SCHEMAS = ("raw", "staging", "intermediate", "restricted", "dq")
DENIED = (errors.InsufficientPrivilege, errors.FeatureNotSupported)


def relations(url: str, schemas: tuple[str, ...]) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'v', 'm', 'p', 'f') ORDER BY 1",
            (list(schemas),),
        ).fetchall()
    return [name for (name,) in rows]


def refused(conn: psycopg.Connection, statement: str) -> bool:
    """True when PostgreSQL refuses ``statement`` for lack of privilege."""
    try:
        with conn.transaction():
            conn.execute(statement)
    except DENIED:
        return True
    return False


def test_bi_reader_reads_the_marts_and_dq_batch(bi_login) -> None:
    with psycopg.connect(bi_login, autocommit=True) as conn:
        for mart in MARTS:
            conn.execute(f"SELECT * FROM marts.{mart} LIMIT 1").fetchall()
        conn.execute("SELECT * FROM dq.batch LIMIT 1").fetchall()


def test_bi_reader_is_refused_everything_else(secured_warehouse, bi_login) -> None:
    forbidden = [
        name for name in relations(secured_warehouse, FORBIDDEN_SCHEMAS) if name != "dq.batch"
    ]
    by_schema = {name.split(".")[0] for name in forbidden}
    assert by_schema == set(FORBIDDEN_SCHEMAS), "every forbidden schema has tables to try"
    assert {"dq.quarantine", "restricted.worker_identity", "raw.umkm_penerima"} <= set(forbidden)
    with psycopg.connect(bi_login, autocommit=True) as conn:
        readable = [name for name in forbidden if not refused(conn, f"SELECT 1 FROM {name}")]
    assert readable == []


FUNCTION_BODY = "RETURNS int LANGUAGE sql AS 'SELECT 1'"
ESCALATIONS = {
    "set role case_officer": "SET ROLE case_officer",
    "set role to the owner": "SET ROLE {owner}",
    "set session authorization": "SET SESSION AUTHORIZATION {owner}",
    "create table in marts": "CREATE TABLE marts.bi_reader_was_here (x int)",
    "create view in marts": "CREATE VIEW marts.bi_reader_view AS SELECT 1 AS x",
    "create table in public": "CREATE TABLE public.bi_reader_was_here (x int)",
    "create table in dq": "CREATE TABLE dq.bi_reader_was_here (x int)",
    "create function in public": f"CREATE FUNCTION public.f() {FUNCTION_BODY}",
    "create function in marts": f"CREATE FUNCTION marts.f() {FUNCTION_BODY}",
    "create schema": "CREATE SCHEMA bi_reader_schema",
    "create role": "CREATE ROLE bi_reader_friend",
    "grant itself case_officer": "GRANT case_officer TO CURRENT_USER",
    "alter own role": "ALTER ROLE CURRENT_USER SUPERUSER",
    "alter own role createrole": "ALTER ROLE CURRENT_USER CREATEROLE",
    "alter bi_reader": "ALTER ROLE bi_reader BYPASSRLS",
    "read pg_authid": "SELECT rolpassword FROM pg_authid",
    "read pg_shadow": "SELECT passwd FROM pg_shadow",
    "read a server file": "SELECT pg_read_file('/etc/passwd')",
    "list the server's files": "SELECT pg_ls_dir('.')",
    "copy to program": "COPY (SELECT 1) TO PROGRAM 'true'",
    "copy from a server file": "CREATE TEMP TABLE t (x text); COPY t FROM '/etc/passwd'",
    "import a large object": "SELECT lo_import('/etc/passwd')",
    "create extension": "CREATE EXTENSION IF NOT EXISTS dblink",
    "drop a mart": "DROP TABLE marts.dim_worker",
    "delete from dq.batch": "DELETE FROM dq.batch",
    "change a mart's owner": "ALTER TABLE marts.dim_worker OWNER TO CURRENT_USER",
    "terminate another session": "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE pid <> pg_backend_pid() AND usename <> CURRENT_USER AND backend_type = "
    "'client backend'",
}  # fmt: skip


@pytest.mark.parametrize("attempt", sorted(ESCALATIONS))
def test_bi_reader_cannot_escalate(secured_warehouse, bi_login, attempt) -> None:
    with psycopg.connect(secured_warehouse) as admin:
        (owner,) = admin.execute(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'marts' LIMIT 1"
        ).fetchone()
    with psycopg.connect(bi_login, autocommit=True) as conn:
        statement = ESCALATIONS[attempt].format(owner=f'"{owner}"')
        if attempt == "terminate another session":
            # pg_terminate_backend answers with a warning and false for sessions of others
            with psycopg.connect(secured_warehouse):  # another session to try it on
                assert refused(conn, statement) or not any(
                    row[0] for row in conn.execute(statement).fetchall()
                )
            return
        assert refused(conn, statement), f"bi_reader may: {statement}"


def test_bi_reader_role_has_no_dangerous_attribute_or_membership(secured_warehouse) -> None:
    with psycopg.connect(secured_warehouse) as conn:
        attributes = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, "
            "rolcanlogin FROM pg_roles WHERE rolname = 'bi_reader'"
        ).fetchone()
        memberships = [
            name
            for (name,) in conn.execute(
                "SELECT b.rolname FROM pg_auth_members m JOIN pg_roles a ON a.oid = m.member "
                "JOIN pg_roles b ON b.oid = m.roleid WHERE a.rolname = 'bi_reader'"
            )
        ]
        owns = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "WHERE r.rolname = 'bi_reader'"
        ).fetchone()[0]
        public_grants = conn.execute(
            "SELECT count(*) FROM information_schema.role_table_grants "
            "WHERE grantee = 'PUBLIC' AND table_schema = ANY(%s)",
            (list(FORBIDDEN_SCHEMAS) + ["marts"],),
        ).fetchone()[0]
    assert attributes == (False, False, False, False, False, False)
    assert memberships == [], "bi_reader inherits no other role"
    assert owns == 0, "bi_reader owns nothing (an owner could grant itself more)"
    assert public_grants == 0, "PUBLIC (every login) is granted nothing in the warehouse"


def test_bi_reader_cannot_hand_out_what_it_has(secured_warehouse, bi_login) -> None:
    """GRANTs by bi_reader give nobody anything: a login with no role still reads nothing."""
    outsider = login_url(secured_warehouse, None)  # a login of no role
    outsider_url = next(outsider)
    outsider_name = outsider_url.split("//")[1].split(":")[0]
    try:
        with psycopg.connect(bi_login, autocommit=True) as conn:
            assert refused(conn, f'GRANT bi_reader TO "{outsider_name}"')
            # Not the owner: PostgreSQL answers "no privileges were granted" (a warning).
            for statement in (
                f'GRANT SELECT ON marts.dim_worker TO "{outsider_name}"',
                "GRANT SELECT ON ALL TABLES IN SCHEMA marts TO PUBLIC",
                "GRANT USAGE ON SCHEMA marts TO PUBLIC",
            ):
                refused(conn, statement)
        with psycopg.connect(outsider_url, autocommit=True) as conn:
            assert refused(conn, "SELECT 1 FROM marts.dim_worker")
            assert refused(conn, "SELECT 1 FROM dq.batch")
    finally:
        outsider.close()
