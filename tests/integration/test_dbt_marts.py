"""The dbt marts on a real PostgreSQL: the HMAC macro, a full build, the PII boundary, roles.

* The HMAC-SHA256 macro (``macros/marts/hmac_sha256.sql``, plain SQL on ``sha256(bytea)``:
  the embedded PostgreSQL has no pgcrypto) equals Python's ``hmac`` for short, block-sized,
  long (pre-hashed) and non-ASCII keys and messages.
* A small simulated warehouse (a world of 200 persons, four nights of every source ingested
  with the same steps the ingest DAGs run: plan, file drop or API extract, land, load,
  validate) goes through a full ``dbt build`` (models, unit tests, data tests, singular
  tests); then the marts hold no 16-digit number, ``nik_hash`` is the HMAC of the NIK that
  ``restricted.worker_identity`` holds, a login granted ``bi_reader`` reads the marts and
  ``dq.batch`` and is refused raw, restricted and ``dq.quarantine``, keys survive a rebuild
  from scratch, and ``dim_worker`` refuses to build without the HMAC key.

dbt runs as a subprocess with the connection in SINERGI_DBT_* and the key in PGOPTIONS
(``-c sinergi.pii_key=...``), its target and log directories in the test's tmp directory.
"""

from __future__ import annotations

import hmac
import os
import re
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
import pytest
from psycopg import sql

from sinergi.pipeline import MARTS  # the contract's marts, listed once
from sinergi.worlds import build_warehouse, ingest_world

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = PROJECT_ROOT / "dbt_project"
PII_KEY = "test-key"
WORLD_START, WORLD_END = date(2026, 1, 1), date(2026, 1, 4)
LOGICAL_DATE = WORLD_END
SIXTEEN_DIGITS = re.compile(r"(^|[^0-9])[0-9]{16}([^0-9]|$)")


# --------------------------------------------------------------------------- dbt


def dbt_env(url: str, pii_key: str | None = PII_KEY) -> dict[str, str]:
    parts = urlsplit(url)
    env = {
        **os.environ,
        "SINERGI_DBT_HOST": parts.hostname or "127.0.0.1",
        "SINERGI_DBT_PORT": str(parts.port or 5432),
        "SINERGI_DBT_USER": unquote(parts.username or ""),
        "SINERGI_DBT_PASSWORD": unquote(parts.password or ""),
        "SINERGI_DBT_DBNAME": parts.path.lstrip("/"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.pop("PGOPTIONS", None)
    if pii_key is not None:
        env["PGOPTIONS"] = f"-c sinergi.pii_key={pii_key}"
    return env


def dbt(
    url: str, tmp_path: Path, *args: str, pii_key: str | None = PII_KEY, check: bool = True
) -> subprocess.CompletedProcess:
    """Run a dbt command on the project against ``url``; its output on failure."""
    command = [
        str(Path(sys.executable).with_name("dbt")), *args,
        "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(tmp_path / "dbt-target"), "--log-path", str(tmp_path / "dbt-logs"),
    ]  # fmt: skip
    result = subprocess.run(
        command, env=dbt_env(url, pii_key), capture_output=True, text=True, timeout=900
    )
    if check and result.returncode != 0:
        pytest.fail(f"dbt {' '.join(args)} failed:\n{result.stdout[-12000:]}\n{result.stderr}")
    return result


def query(url: str, statement: str, params=None) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(statement, params).fetchall()


# --------------------------------------------------------------------------- HMAC macro


HMAC_CASES = [
    ("test-key", "3201014501900001"),
    ("test-key", ""),
    ("k", "a message that is longer than one sixty-four byte block of SHA-256 input, surely"),
    ("x" * 64, "3201014501900001"),  # exactly one block: used as is
    ("y" * 65, "3201014501900001"),  # longer than a block: hashed first
    ("kunci rahasia ✓ ñ", "NIK ✓ 3201"),  # non-ASCII key and message (UTF-8)
]


def test_hmac_macro_equals_python_hmac(fresh_database, tmp_path):
    compiled = dbt(
        fresh_database, tmp_path, "compile", "--quiet", "--inline",
        "select {{ marts_hmac_sha256_hex('cast(%(key)s as text)', 'cast(%(message)s as text)') }}"
        " as digest",
    ).stdout  # fmt: skip
    statement = compiled[compiled.index("select") :].strip()
    with psycopg.connect(fresh_database) as conn:
        for key, message in HMAC_CASES:
            (digest,) = conn.execute(statement, {"key": key, "message": message}).fetchone()
            expected = hmac.new(key.encode(), message.encode(), "sha256").hexdigest()
            assert digest == expected, (key, message)


# --------------------------------------------------------------------------- a warehouse


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from sinergi.simulate.config import SimulationConfig
    from sinergi.simulate.simulator import Simulator

    out = tmp_path_factory.mktemp("world")
    Simulator(SimulationConfig(persons=200, start=WORLD_START, end=WORLD_END, seed=5), out).run()
    return out


@pytest.fixture(scope="module")
def warehouse(world, postgres_admin_url, tmp_path_factory) -> str:
    """A database with four ingested nights, identities resolved and a full ``dbt build`` of
    them (module-wide: the build is the expensive part); dropped at the end."""
    from tests.conftest import _create_database, _drop_database, url_with_database

    if not (
        DBT_PROJECT / "models" / "intermediate" / "int_source_records__identified.sql"
    ).exists():
        pytest.skip("the intermediate models of dbt_project/README.md do not exist yet")
    name = _create_database(postgres_admin_url, "sinergi_test_marts")
    url = url_with_database(postgres_admin_url, name)
    tmp = tmp_path_factory.mktemp("marts")
    try:
        ingest_world(url, world, WORLD_START, WORLD_END, tmp / "home")
        # dbt build up to identity's input, identity resolution, the rest (as the DAG does)
        build_warehouse(url, LOGICAL_DATE, PII_KEY, tmp / "dbt-target")
        yield url
    finally:
        _drop_database(postgres_admin_url, name)


def test_full_build_fills_every_mart(warehouse):
    counts = {m: query(warehouse, f"select count(*) from marts.{m}")[0][0] for m in MARTS}
    for mart in ("dim_worker", "bridge_worker_source_record", "dim_program", "dim_region",
                 "fct_enrollment", "mart_program_reach_regency_month"):  # fmt: skip
        assert counts[mart] > 0, counts
    ((workers, with_hash, migrants),) = query(
        warehouse,
        "select count(*), count(nik_hash), count(*) filter (where is_migrant_worker) "
        "from marts.dim_worker",
    )
    assert with_hash > 0 and migrants > 0, (workers, with_hash, migrants)
    assert query(warehouse, "select count(*) from restricted.worker_identity")[0][0] == workers


def test_nik_hash_is_the_hmac_of_the_restricted_nik(warehouse):
    rows = query(
        warehouse,
        "select w.nik_hash, i.nik from marts.dim_worker w "
        "join restricted.worker_identity i using (worker_key) where i.nik is not null",
    )
    assert rows
    for nik_hash, nik in rows:
        assert nik_hash == hmac.new(PII_KEY.encode(), nik.encode(), "sha256").hexdigest()


def test_no_16_digit_number_in_any_mart_column(warehouse):
    columns = query(
        warehouse,
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts' order by table_name, ordinal_position",
    )
    assert {table for table, _ in columns} >= set(MARTS)
    leaks = []
    with psycopg.connect(warehouse) as conn:
        for table, column in columns:
            values = conn.execute(
                sql.SQL("select distinct cast({} as text) from marts.{}").format(
                    sql.Identifier(column), sql.Identifier(table)
                )
            ).fetchall()
            for (value,) in values:
                if value is None:
                    continue
                # keys and hashes are hex and may hold 16 digits in a row by chance
                hex_column = column.endswith("_key") or column.endswith("_hash")
                if re.fullmatch(r"[0-9]{16}", value) or (
                    not hex_column and SIXTEEN_DIGITS.search(value)
                ):
                    leaks.append((table, column, value))
    assert not leaks, leaks[:10]
    pii = [c for _, c in columns if c in ("nik", "niks", "name", "names", "birth_date")]
    assert not pii


@pytest.fixture
def bi_login(warehouse):
    """A login role granted bi_reader (as the deployment does); dropped afterwards."""
    login, password = f"bi_login_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create role {} login password {} in role bi_reader").format(
                sql.Identifier(login), sql.Literal(password)
            )
        )
    parts = urlsplit(warehouse)
    url = parts._replace(netloc=f"{login}:{password}@{parts.hostname}:{parts.port}").geturl()
    try:
        yield url
    finally:
        with psycopg.connect(warehouse, autocommit=True) as conn:
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(login)))


def test_bi_reader_reads_marts_and_dq_batch_only(warehouse, bi_login):
    with psycopg.connect(bi_login, autocommit=True) as conn:
        for mart in MARTS:
            conn.execute(f"select * from marts.{mart} limit 1").fetchall()
        assert conn.execute("select count(*) from dq.batch").fetchone()[0] > 0
        refused = ["restricted.worker_identity", "dq.quarantine", "raw.umkm_penerima",
                   "raw.kp2mi_pmi", "staging.stg_umkm__beneficiaries",
                   "intermediate.int_source_records__identified",
                   "restricted.match_review", "identity.record", "identity.match_review",
                   "dq.linkage_metric"]  # fmt: skip
        for table in refused:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {table} limit 1")


def test_case_officer_reads_restricted(warehouse):
    login, password = f"case_login_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create role {} login password {} in role case_officer").format(
                sql.Identifier(login), sql.Literal(password)
            )
        )
    parts = urlsplit(warehouse)
    url = parts._replace(netloc=f"{login}:{password}@{parts.hostname}:{parts.port}").geturl()
    try:
        with psycopg.connect(url) as conn:
            assert conn.execute("select count(*) from restricted.worker_identity").fetchone()
            assert conn.execute("select count(*) from marts.dim_worker").fetchone()
            # the review queue: read it, record a decision through the view, nothing else
            with psycopg.connect(warehouse) as owner:
                owner.execute(
                    "insert into identity.match_review values ('a:1', 'b:2', 'a', '1', 'b',"
                    " '2', 0.7, '2026-01-04', null, null, null, null)"
                )
            conn.execute(
                "update restricted.match_review set decision = 'same', decided_by = 'me',"
                " decided_at = now() where unique_id_l = 'a:1'"
            )
            conn.commit()
            with psycopg.connect(warehouse) as owner:
                decided = owner.execute(
                    "select decision from identity.match_review where unique_id_l = 'a:1'"
                ).fetchone()
                owner.execute("delete from identity.match_review where unique_id_l = 'a:1'")
            assert decided == ("same",), "the decision lands in the pipeline's own table"
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("update restricted.match_review set match_probability = 1")
            conn.rollback()
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("select * from identity.match_review")
    finally:
        with psycopg.connect(warehouse, autocommit=True) as conn:
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(login)))


def test_the_pii_boundary_test_finds_planted_niks(warehouse, tmp_path):
    """dbt's own PII scan (tests/assert_marts_hold_no_16_digit_numbers.sql) fails on a NIK in
    a text column, in a bigint column and as a whole key, and not on hex with 16 digits."""
    nik = "3273010101900001"
    plants = [  # (mart, column, where, value)
        ("dim_worker", "migrant_status", "worker_key", f"kembali {nik}"),
        ("dim_worker", "nik_hash", "worker_key", nik),
        ("fct_enrollment", "amount_idr", "enrollment_key", nik),
        ("fct_enrollment", "status", "enrollment_key", f"ab{nik}cd"),  # not a key: fails
        ("dim_program", "program_key", "program_key", f"ab{nik}cd"),  # hex-like key: passes
    ]
    originals = []
    with psycopg.connect(warehouse) as conn:
        for mart, column, key, value in plants:
            row = conn.execute(
                sql.SQL("select {key}, cast({column} as text) from marts.{mart} limit 1").format(
                    key=sql.Identifier(key), column=sql.Identifier(column),
                    mart=sql.Identifier(mart),
                )
            ).fetchone()  # fmt: skip
            assert row is not None
            originals.append((mart, column, key, row[0], row[1]))
            conn.execute(
                sql.SQL("update marts.{mart} set {column} = %s where {key} = %s").format(
                    mart=sql.Identifier(mart), column=sql.Identifier(column),
                    key=sql.Identifier(key),
                ),
                (value, row[0]),
            )  # fmt: skip
    try:
        result = dbt(
            warehouse, tmp_path, "test", "--select", "assert_marts_hold_no_16_digit_numbers",
            check=False,
        )  # fmt: skip
        assert result.returncode != 0
        assert "Got 4 results" in result.stdout, result.stdout[-3000:]
    finally:
        with psycopg.connect(warehouse) as conn:
            for mart, column, key, key_value, original in originals:
                # a planted key is found again by its planted value
                where = f"ab{nik}cd" if column == key else key_value
                conn.execute(
                    sql.SQL("update marts.{mart} set {column} = %s where {key} = %s").format(
                        mart=sql.Identifier(mart), column=sql.Identifier(column),
                        key=sql.Identifier(key),
                    ),
                    (original, where),
                )  # fmt: skip
    # restored: the scan passes again (dbt() fails the test otherwise)
    dbt(warehouse, tmp_path, "test", "--select", "assert_marts_hold_no_16_digit_numbers")


def test_keys_survive_a_rebuild_from_scratch_and_the_key_is_required(warehouse, tmp_path):
    keyed = {
        "dim_worker": "select worker_key, nik_hash from marts.dim_worker",
        "dim_program": "select program_key, ministry, program_code from marts.dim_program",
        "fct_enrollment": "select enrollment_key, worker_key, program_key, source_system, "
        "source_record_id, category from marts.fct_enrollment",
        "fct_enrollment_overlap": "select overlap_key, enrollment_key_a, enrollment_key_b "
        "from marts.fct_enrollment_overlap",
    }
    before = {name: sorted(query(warehouse, statement)) for name, statement in keyed.items()}
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute("drop schema marts, restricted, intermediate cascade")
    dbt(warehouse, tmp_path, "run", "--vars", f"{{logical_date: '{LOGICAL_DATE.isoformat()}'}}")
    after = {name: sorted(query(warehouse, statement)) for name, statement in keyed.items()}
    assert after == before

    # without the HMAC key dim_worker refuses to build, and says why
    result = dbt(warehouse, tmp_path, "run", "--select", "dim_worker", pii_key=None, check=False)
    assert result.returncode != 0
    assert "sinergi.pii_key is not set" in result.stdout
