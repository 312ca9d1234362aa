"""dbt staging and intermediate layers on a tiny simulated warehouse, checked against the truth.

A small world (200 persons, 3 nights) is ingested without Airflow, night by night as the DAGs
would: the BPS master first, then every source; each delivery booked, loaded with the real
loader, validated with the real suites and finished in ``dq.batch``. Then
``dbt build --select staging intermediate path:seeds`` runs (models, data tests, unit tests)
and the result is compared with the simulator's ground truth: NIK statuses, one row per
record, and every enrolment of every ministry.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
import pytest

from sinergi.ingest.batches import finish_batch
from sinergi.ingest.load import load_rows
from sinergi.ingest.schema import ensure_schema
from sinergi.simulate.config import SimulationConfig
from sinergi.simulate.simulator import Simulator
from sinergi.sources.registry import SOURCES
from sinergi.validate.run import validate_batch
from tests.integration.test_validate import _deliveries, _parse

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = PROJECT_ROOT / "dbt_project"
START, END = date(2026, 1, 1), date(2026, 1, 3)
CONFIG = SimulationConfig(persons=200, start=START, end=END, seed=11)
STAGING_KEYS = {
    "stg_kp2mi__placements": "placement_id",
    "stg_kp2mi__program_participants": "participant_id",
    "stg_umkm__beneficiaries": "beneficiary_id",
    "stg_parekraf__training_participants": "participant_id",
    "stg_kemenkop__members": "member_record_id",
    "stg_kemendes__activity_participants": "participant_record_id",
}
# NIK damage no normalisation can repair: such a NIK must never be a key.
NEVER_VALID = {"scientific", "missing", "short_15", "long_17"}


def ingest_world(url: str, out: Path) -> None:
    """Book, load, validate and finish every delivery of the world, as the ingest DAGs do."""
    with psycopg.connect(url) as conn:
        ensure_schema(conn)
    for night, source, path in _deliveries(out):
        ingest_delivery(url, out, night, source, path)


def ingest_delivery(url: str, out: Path, night: date, source: str, path: Path) -> None:
    """Book, load, validate and finish one delivery (``ensure_schema`` done before)."""
    spec = SOURCES[source]
    with psycopg.connect(url) as conn:
        batch_id = conn.execute(
            "INSERT INTO dq.batch (source_system, logical_date, location, content_sha256, "
            "received_at) VALUES (%s, %s, %s, %s, %s) RETURNING batch_id",
            (source, night, str(path.relative_to(out)),
             hashlib.sha256(path.read_bytes()).hexdigest(), datetime.now(UTC)),
        ).fetchone()[0]  # fmt: skip
        counts = load_rows(conn, spec, batch_id, _parse(source, path), datetime.now(UTC))
        conn.commit()
    outcome = validate_batch(url, spec, batch_id, night, str(path), out / "docs")
    assert outcome.verdict in ("passed", "warned"), (source, night, outcome.reason)
    with psycopg.connect(url) as conn:
        finish_batch(
            conn, batch_id, outcome.verdict, outcome.reason,
            rows_received=counts.received, rows_loaded=outcome.rows_loaded,
            rows_quarantined=outcome.rows_quarantined,
        )  # fmt: skip


def dbt_env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    return {
        **os.environ,
        "SINERGI_DBT_HOST": parts.hostname or "127.0.0.1",
        "SINERGI_DBT_PORT": str(parts.port or 5432),
        "SINERGI_DBT_USER": unquote(parts.username or ""),
        "SINERGI_DBT_PASSWORD": unquote(parts.password or ""),
        "SINERGI_DBT_DBNAME": parts.path.lstrip("/"),
        "PGOPTIONS": "-c sinergi.pii_key=test-pii-key",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


@pytest.fixture(scope="module")
def warehouse(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory):
    from tests.conftest import _create_database, _drop_database, url_with_database

    out = tmp_path_factory.mktemp("dbt_staging_world")
    Simulator(CONFIG, out / "sim").run()
    name = _create_database(postgres_admin_url, "sinergi_test_dbt")
    url = url_with_database(postgres_admin_url, name)
    try:
        ingest_world(url, out / "sim")
        dbt = Path(sys.executable).with_name("dbt")
        result = subprocess.run(
            [str(dbt), "build", "--select", "staging", "intermediate", "path:seeds",
             "--exclude", "int_source_records__identified+",  # needs the identity step
             "--profiles-dir", str(DBT_PROJECT), "--project-dir", str(DBT_PROJECT),
             "--target-path", str(out / "target"), "--log-path", str(out / "logs"),
             "--vars", f"{{logical_date: '{END.isoformat()}'}}", "--no-use-colors"],
            cwd=DBT_PROJECT, env=dbt_env(url), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        yield url, out / "sim", result
    finally:
        _drop_database(postgres_admin_url, name)


def truth_rows(out: Path, name: str) -> list[dict]:
    with gzip.open(out / "truth" / name, "rt", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def query(url: str, statement: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(statement).fetchall()


def test_dbt_build_passes(warehouse) -> None:
    _, _, result = warehouse
    assert result.returncode == 0, result.stdout[-6000:]
    assert "ERROR=0" in result.stdout and "unit_test" not in result.stdout.split("Done.")[-1]


def test_every_staging_record_appears_once(warehouse) -> None:
    url, _, _ = warehouse
    for model, key in STAGING_KEYS.items():
        ((rows, keys),) = query(url, f"SELECT count(*), count(DISTINCT {key}) FROM staging.{model}")
        assert rows == keys > 0, model
    ((rows, keys),) = query(
        url,
        "SELECT count(*), count(DISTINCT (source_system, source_record_id)) "
        "FROM intermediate.int_source_records__unioned",
    )
    assert rows == keys


def test_nik_status_against_truth(warehouse) -> None:
    url, out, _ = warehouse
    status = {
        (source, record): nik_status
        for source, record, nik_status in query(
            url,
            "SELECT source_system, source_record_id, nik_status "
            "FROM intermediate.int_source_records__unioned",
        )
    }
    checked = Counter()
    for row in truth_rows(out, "source_records.csv.gz"):
        found = status.get((row["source_system"], row["source_record_id"]))
        if found is None:
            continue  # quarantined, or never delivered in the simulated nights
        if row["nik_is_valid"] == "1":
            assert found == "valid", row
            checked["intact"] += 1
        elif row["nik_damage"] in NEVER_VALID:
            assert found != "valid", row
            checked[row["nik_damage"]] += 1
    assert checked["intact"] > 100 and sum(checked.values()) > checked["intact"]


def test_enrollments_equal_truth(warehouse) -> None:
    url, out, _ = warehouse
    delivered = set()
    for source in ("kp2mi_program", "umkm_penerima", "parekraf_pelatihan", "kemenkop_anggota",
                   "kemendes_kegiatan"):  # fmt: skip
        id_sql = SOURCES[source].record_id_sql
        delivered |= {(source, r[0]) for r in query(url, f"SELECT {id_sql} FROM raw.{source}")}
    quarantined = {
        (source, record)
        for source, record, activity in query(
            url,
            "SELECT source_system, source_record_id, raw_record ->> 'id_kegiatan' "
            "FROM dq.quarantine",
        )
        for record in (record, activity)
        if record
    }
    expected = Counter()
    for row in truth_rows(out, "enrollments.csv.gz"):
        key = (row["source_system"], row["source_record_id"])
        activity = (row["source_system"], row["source_record_id"].split("#")[0])
        if key not in delivered or key in quarantined or activity in quarantined:
            continue  # never delivered (left before the first night) or held back
        expected[(*key, row["category"])] += 1
    found = Counter(
        query(
            url,
            "SELECT source_system, source_record_id, category "
            "FROM intermediate.int_enrollments__unioned",
        )
    )
    assert found == expected
    per_source = Counter(source for source, _, _ in found.elements())
    assert set(per_source) == {
        "kp2mi_program", "umkm_penerima", "parekraf_pelatihan", "kemenkop_anggota",
        "kemendes_kegiatan",
    }  # fmt: skip
