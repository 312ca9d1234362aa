"""Validation on a real PostgreSQL: suites, quarantine, results, Data Docs.

One simulated world (5 nights, every source) is loaded and validated once per module, night by
night as the DAGs would: the BPS master first, then every source; each batch loaded with the
real loader, validated, and finished in ``dq.batch``. Great Expectations is imported once for
the whole module (about 5 s).

The simulator's deliberately invalid rows (``truth/invalid_rows.csv``) must be exactly what
the suites quarantine, with the same reason codes; GX's unexpected counts must equal the rows
the checks' SQL predicates select.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from sinergi.ingest.batches import finish_batch
from sinergi.ingest.load import load_rows
from sinergi.ingest.schema import ensure_schema
from sinergi.parse import PARSERS, parse_kp2mi_jsonl
from sinergi.simulate.config import DamageRates, SimulationConfig
from sinergi.simulate.simulator import Simulator
from sinergi.sources.registry import SOURCES, SourceSpec
from sinergi.validate.checks import BatchScope
from sinergi.validate.run import ValidationOutcome, validate_batch
from sinergi.validate.suites import suite_for
from tests.conftest import _create_database, _drop_database, url_with_database

pytestmark = pytest.mark.integration

START, END = date(2026, 1, 1), date(2026, 1, 5)
# Invalid rows are rare at the default rate; a higher rate makes every reason code appear
# (Kemenkop's junk rows are 20 times rarer still).
CONFIG = SimulationConfig(
    persons=400, start=START, end=END, seed=3, damage=DamageRates(invalid_row=0.2)
)
API_SOURCES = ("kp2mi_pmi", "kp2mi_program")
QUARANTINE_REASONS = {
    "missing_id",
    "duplicate_id",
    "invalid_date",
    "invalid_number",
    "birth_date_in_future",
    "end_before_start",
    "unknown_code",
    "invalid_region_code",
}


@dataclass
class ValidatedBatch:
    source: str
    logical_date: date
    location: str
    batch_id: int
    rows_received: int
    outcome: ValidationOutcome
    predicate_counts: dict[str, int]  # rows each row check's SQL selected before validation
    seconds: float


@dataclass
class World:
    url: str
    out: Path
    docs_dir: Path
    batches: list[ValidatedBatch]


def _deliveries(out: Path) -> list[tuple[date, str, Path]]:
    """(night, source, file) in the order a night runs: the BPS master first."""
    found = []
    with open(out / "truth" / "deliveries.csv", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            if row["source_system"] in API_SOURCES:
                continue
            found.append(
                (date.fromisoformat(row["logical_date"]), row["source_system"], row["path"])
            )
    for source in API_SOURCES:
        found.extend((night, source, path) for night, path in _split_api(out, source))
    order = {name: i for i, name in enumerate(SOURCES)}
    order["bps_wilayah"] = -1
    found.sort(key=lambda d: (d[0], order[d[1]]))
    return [(night, source, out / path) for night, source, path in found]


def _split_api(out: Path, source: str) -> Iterator[tuple[date, str]]:
    """The API's record versions, one extract per WIB day window (what the extractor lands)."""
    nights: dict[date, list[str]] = {}
    with open(out / "api" / f"{source}.jsonl", encoding="utf-8") as stream:
        for line in stream:
            night = date.fromisoformat(json.loads(line)["updated_at"][:10])
            nights.setdefault(night, []).append(line)
    for night, lines in sorted(nights.items()):
        path = f"api/{source}_{night:%Y%m%d}.jsonl"
        (out / path).write_text("".join(lines), encoding="utf-8")
        yield night, path


def _parse(source: str, path: Path):
    if source in API_SOURCES:
        return parse_kp2mi_jsonl(path, source)
    return PARSERS[source](path)


def _bps_master(conn: psycopg.Connection, night: date) -> int | None:
    row = conn.execute(
        "SELECT batch_id FROM dq.batch WHERE source_system = 'bps_wilayah' AND is_current "
        "AND logical_date <= %s ORDER BY logical_date DESC LIMIT 1",
        (night,),
    ).fetchone()
    return row[0] if row else None


def _predicate_counts(
    conn: psycopg.Connection, spec: SourceSpec, batch_id: int, night: date
) -> dict[str, int]:
    scope = BatchScope(spec.name, batch_id, night, _bps_master(conn, night))
    counts = {}
    for check in suite_for(spec):
        if check.where is None or (check.requires and scope.bps_master_batch_id is None):
            continue
        query = sql.SQL("SELECT count(*) FROM {} WHERE _batch_id = {} AND ({})").format(
            sql.Identifier("raw", spec.name), sql.Literal(batch_id), check.where(scope)
        )
        counts[check.name] = conn.execute(query).fetchone()[0]
    return counts


def run_night_batch(
    url: str, spec: SourceSpec, night: date, path: Path, location: str, docs_dir: Path
) -> ValidatedBatch:
    """Book, load, validate and finish one delivery, as the ingest DAG does."""
    with psycopg.connect(url) as conn:
        batch_id = conn.execute(
            "INSERT INTO dq.batch (source_system, logical_date, location, content_sha256, "
            "received_at) VALUES (%s, %s, %s, %s, %s) RETURNING batch_id",
            (
                spec.name,
                night,
                location,
                hashlib.sha256(path.read_bytes()).hexdigest(),
                datetime.now(UTC),
            ),
        ).fetchone()[0]
        counts = load_rows(conn, spec, batch_id, _parse(spec.name, path), datetime.now(UTC))
        conn.commit()  # GX reads through its own connection
        predicate_counts = _predicate_counts(conn, spec, batch_id, night)
    started = time.monotonic()
    outcome = validate_batch(url, spec, batch_id, night, location, docs_dir)
    seconds = time.monotonic() - started
    with psycopg.connect(url) as conn:
        finish_batch(
            conn,
            batch_id,
            outcome.verdict,
            outcome.reason,
            rows_received=counts.received,
            rows_loaded=outcome.rows_loaded,
            rows_quarantined=outcome.rows_quarantined,
            expectations_evaluated=outcome.expectations_evaluated,
            expectations_failed=outcome.expectations_failed,
            validation_report=str(outcome.report_path),
        )
    return ValidatedBatch(
        spec.name, night, location, batch_id, counts.received, outcome, predicate_counts, seconds
    )


@pytest.fixture(scope="module")
def world(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    out = tmp_path_factory.mktemp("validate_world")
    Simulator(CONFIG, out / "sim").run()
    name = _create_database(postgres_admin_url, "sinergi_test_validate")
    url = url_with_database(postgres_admin_url, name)
    try:
        with psycopg.connect(url) as conn:
            ensure_schema(conn)
        docs_dir = out / "home" / "data_docs"
        batches = [
            run_night_batch(
                url, SOURCES[source], night, path, str(path.relative_to(out / "sim")), docs_dir
            )
            for night, source, path in _deliveries(out / "sim")
        ]
        yield World(url, out / "sim", docs_dir, batches)
    finally:
        _drop_database(postgres_admin_url, name)


def _truth(out: Path) -> dict[str, Counter]:
    truth: dict[str, Counter] = {}
    with open(out / "truth" / "invalid_rows.csv", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            truth.setdefault(row["source_system"], Counter())[
                (row["logical_date"], row["source_record_id"], row["reason"])
            ] += 1
    return truth


def _quarantined(url: str) -> dict[str, Counter]:
    """What validation quarantined, as the truth writes it (a Kemendes activity once)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT q.source_system, b.logical_date, q.source_record_id, q.reason_code, "
            "q.raw_record ->> 'id_kegiatan' FROM dq.quarantine q "
            "JOIN dq.batch b USING (batch_id) WHERE q.reason_code <> 'unreadable_row'"
        ).fetchall()
    found: dict[str, Counter] = {}
    activities = set()
    for source, night, record_id, reason, activity in rows:
        if source == "kemendes_kegiatan":
            if (night, activity, reason) in activities:
                continue
            activities.add((night, activity, reason))
            record_id = activity
        found.setdefault(source, Counter())[(night.isoformat(), record_id or "", reason)] += 1
    return found


def test_quarantine_is_exactly_the_simulated_invalid_rows(world: World) -> None:
    truth = _truth(world.out)
    assert set(truth) >= {"kp2mi_pmi", "kp2mi_program", "umkm_penerima", "kemenkop_anggota"}
    assert _quarantined(world.url) == truth


def test_verdicts_and_counts(world: World) -> None:
    for batch in world.batches:
        outcome = batch.outcome
        where = f"{batch.source} {batch.logical_date}"
        assert outcome.verdict in ("passed", "warned"), (where, outcome.reason)
        assert outcome.rows_received == batch.rows_received, where
        assert outcome.rows_loaded + outcome.rows_quarantined == batch.rows_received, where
        assert (outcome.verdict == "warned") == (outcome.rows_quarantined > 0), where
        assert outcome.expectations_evaluated == len(outcome.results) > 0
    with psycopg.connect(world.url) as conn:
        bad = conn.execute(
            "SELECT count(*) FROM dq.batch WHERE verdict IS NULL "
            "OR rows_received <> rows_loaded + rows_quarantined"
        ).fetchone()[0]
    assert bad == 0


def test_raw_tables_analysed_before_gx_plans(world: World) -> None:
    """Validation refreshes the raw table's statistics (GX's self-joins otherwise plan as
    nested loops over a batch the planner thinks is empty)."""
    with psycopg.connect(world.url) as conn:
        never = conn.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = 'raw' "
            "AND relname = ANY(%s) AND last_analyze IS NULL",
            (sorted({batch.source for batch in world.batches}),),
        ).fetchall()
    assert never == []


def test_gx_counts_equal_sql_predicate_counts(world: World) -> None:
    compared = 0
    for batch in world.batches:
        for name, count in batch.predicate_counts.items():
            result = batch.outcome.result(name)
            assert result.unexpected_count == count, (batch.source, batch.logical_date, name)
            assert result.rows_quarantined <= count
            compared += 1
        moved = sum(r.rows_quarantined for r in batch.outcome.results)
        assert moved == batch.outcome.rows_quarantined_by_validation
    assert compared > 100


def test_damaged_niks_are_flagged_not_quarantined(world: World) -> None:
    flagged = Counter()
    for batch in world.batches:
        for result in batch.outcome.results:
            if result.reason_code in ("nik_damaged", "nik_missing", "unknown_region"):
                assert result.rows_quarantined == 0
                flagged[(batch.source, result.reason_code)] += result.unexpected_count or 0
    assert flagged[("umkm_penerima", "nik_damaged")] > 0
    assert flagged[("kp2mi_pmi", "nik_missing")] > 0
    # Region codes of the simulated world are all in its BPS master, truncated ones included;
    # except the yearly population file, which lists every regency of the year, including one
    # created by a split later in the year that January's master cannot know yet (a true flag).
    unknown_regions = {key: n for key, n in flagged.items() if key[1] == "unknown_region" and n}
    assert set(unknown_regions) <= {("bps_penduduk", "unknown_region")}
    with psycopg.connect(world.url) as conn:
        reasons = {r[0] for r in conn.execute("SELECT DISTINCT reason_code FROM dq.quarantine")}
        damaged_in_raw = conn.execute(
            "SELECT count(*) FROM raw.umkm_penerima WHERE nik !~ '^[0-9]{16}$'"
        ).fetchone()[0]
    assert reasons <= QUARANTINE_REASONS | {"unreadable_row"}
    assert damaged_in_raw > 0


def test_results_stored_per_expectation(world: World) -> None:
    with psycopg.connect(world.url) as conn:
        for batch in world.batches:
            rows = conn.execute(
                "SELECT expectation, severity, success, unexpected_count, "
                "result -> 'sinergi' ->> 'reason_code', result ->> 'success' "
                "FROM dq.validation_result WHERE batch_id = %s",
                (batch.batch_id,),
            ).fetchall()
            assert len(rows) == batch.outcome.expectations_evaluated
            by_name = {r[0]: r for r in rows}
            for result in batch.outcome.results:
                _, severity, success, unexpected, reason, gx_success = by_name[result.check]
                assert (severity, success, unexpected, reason) == (
                    result.severity,
                    result.success,
                    result.unexpected_count,
                    result.reason_code,
                )
                assert gx_success in ("true", "false")


def test_data_docs_and_no_secrets_or_values_in_files(world: World) -> None:
    password = world.url.split("//", 1)[1].split("@", 1)[0].partition(":")[2]
    for batch in world.batches:
        report = batch.outcome.report_path
        assert report is not None and report.is_file(), batch.source
        assert report.is_relative_to(world.docs_dir)
    assert (world.docs_dir / "index.html").is_file()
    # A NIK that is certainly in the data must not be in any GX file (no unexpected values).
    with psycopg.connect(world.url) as conn:
        nik = conn.execute(
            "SELECT nik FROM raw.umkm_penerima WHERE nik IS NOT NULL LIMIT 1"
        ).fetchone()[0]
    for path in [
        *world.docs_dir.rglob("*"),
        *(world.docs_dir.parent / "great_expectations").rglob("*"),
    ]:
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            if password:
                assert password not in text, path
            assert nik not in text, path


def test_cost_per_batch(world: World) -> None:
    """Not a benchmark: a guard that validation stays in the ~1 s per small batch range."""
    seconds = sorted(b.seconds for b in world.batches)
    assert seconds[len(seconds) // 2] < 5, seconds


# ------------------------------------------------------------------ hand-made batches
UMKM_LOCATION = "umkm/umkm_penerima_20260105.csv"


def _umkm_row(**values: str | None) -> dict[str, str | None]:
    row = {
        "ID_PENERIMA": "UMKM-000000001",
        "NIK": "3273014501900001",
        "NAMA_PENERIMA": "SITI AMINAH",
        "TGL_LAHIR": "05/01/1990",
        "JENIS_KELAMIN": "PEREMPUAN",
        "NAMA_USAHA": "KEDAI BAROKAH",
        "NIB": "1234567890123",
        "KBLI": "56103",
        "KODE_PROGRAM": "KUR-MI",
        "NAMA_PROGRAM": "KUR Mikro",
        "TGL_MULAI": "02/03/2019",
        "TGL_SELESAI": "02/03/2020",
        "NILAI_RP": "25.000.000,00",
        "KODE_WILAYAH_BPS": "3273010001",
        "STATUS": "AKTIF",
        "TGL_UPDATE": "02/03/2019 10:11:12",
    }
    row.update(values)
    return row


def _book_and_load(url: str, source: str, night: date, rows: list[dict]) -> int:
    from sinergi.parse import ParsedRow

    with psycopg.connect(url) as conn:
        ensure_schema(conn)
        batch_id = conn.execute(
            "INSERT INTO dq.batch (source_system, logical_date, location) "
            "VALUES (%s, %s, %s) RETURNING batch_id",
            (source, night, UMKM_LOCATION),
        ).fetchone()[0]
        parsed = [ParsedRow(i, values) for i, values in enumerate(rows, start=2)]
        load_rows(conn, SOURCES[source], batch_id, parsed, datetime.now(UTC))
    return batch_id


def test_each_rule_on_a_hand_made_batch(fresh_database: str, tmp_path: Path) -> None:
    # Logical date 2020-01-01: a birth date in 2021 is in the batch's future though long past
    # today, which proves "the future" is relative to the logical date, never now().
    night = date(2020, 1, 1)
    rows = {
        "valid": _umkm_row(ID_PENERIMA="UMKM-000000001"),
        "dup_a": _umkm_row(ID_PENERIMA="UMKM-000000002"),
        "dup_b": _umkm_row(ID_PENERIMA="UMKM-000000002", TGL_MULAI="31/02/2019"),
        "no_id": _umkm_row(ID_PENERIMA=None),
        "impossible_date": _umkm_row(ID_PENERIMA="UMKM-000000003", TGL_MULAI="31/02/2019"),
        "born_later": _umkm_row(ID_PENERIMA="UMKM-000000004", TGL_LAHIR="05/05/2021"),
        "ends_first": _umkm_row(ID_PENERIMA="UMKM-000000005", TGL_SELESAI="01/03/2019"),
        "odd_gender": _umkm_row(ID_PENERIMA="UMKM-000000006", JENIS_KELAMIN="X"),
        "odd_amount": _umkm_row(ID_PENERIMA="UMKM-000000007", NILAI_RP="2,5E7"),
        "nik_spreadsheet": _umkm_row(ID_PENERIMA="UMKM-000000008", NIK="3,27301E+15"),
        "nik_missing": _umkm_row(ID_PENERIMA="UMKM-000000009", NIK=None),
    }
    batch_id = _book_and_load(fresh_database, "umkm_penerima", night, list(rows.values()))
    docs = tmp_path / "data_docs"
    spec = SOURCES["umkm_penerima"]

    outcome = validate_batch(
        fresh_database, spec, batch_id, night, UMKM_LOCATION, docs, control_rows=len(rows)
    )

    assert outcome.verdict == "warned", outcome.reason
    with psycopg.connect(fresh_database) as conn:
        quarantined = dict(
            conn.execute(
                "SELECT source_row_number, reason_code FROM dq.quarantine WHERE batch_id = %s",
                (batch_id,),
            ).fetchall()
        )
        kept = {r[0] for r in conn.execute("SELECT id_penerima FROM raw.umkm_penerima")}
    row_number = {name: i for i, name in enumerate(rows, start=2)}
    assert quarantined == {
        row_number["dup_a"]: "duplicate_id",  # both rows of a duplicated id
        row_number["dup_b"]: "duplicate_id",  # (its impossible date comes later in order)
        row_number["no_id"]: "missing_id",
        row_number["impossible_date"]: "invalid_date",
        row_number["born_later"]: "birth_date_in_future",
        row_number["ends_first"]: "end_before_start",
        row_number["odd_gender"]: "unknown_code",
        row_number["odd_amount"]: "invalid_number",
    }
    # Damaged and missing NIKs are flagged and stay.
    assert {"UMKM-000000001", "UMKM-000000008", "UMKM-000000009"} == kept
    assert outcome.result("nik_16_digits").unexpected_count == 1
    assert outcome.result("nik_present").unexpected_count == 1
    assert outcome.result("row_count_matches_control_file").success
    assert outcome.result("tgl_mulai_valid_date").unexpected_count == 2
    assert outcome.result("tgl_mulai_valid_date").rows_quarantined == 1
    assert outcome.rows_quarantined == 8 and outcome.rows_loaded == 3
    assert any("no BPS region master" in note for note in outcome.notes)
    assert outcome.reason is not None and "invalid_date 1" in outcome.reason

    # Validating again is safe: results replaced, nothing quarantined twice; a control count
    # that disagrees fails the batch, naming the source, the file and the numbers.
    again = validate_batch(
        fresh_database, spec, batch_id, night, UMKM_LOCATION, docs, control_rows=99
    )
    assert again.verdict == "failed"
    assert again.reason == (
        f"umkm_penerima: {UMKM_LOCATION}: the control file announces 91 readable row(s) but the "
        "batch has 3"
    )
    with psycopg.connect(fresh_database) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM dq.validation_result WHERE batch_id = %s", (batch_id,)
        ).fetchone()[0]
        moved = conn.execute("SELECT count(*) FROM dq.quarantine").fetchone()[0]
    assert stored == again.expectations_evaluated
    assert moved == 8


def test_schema_drift_fails_with_a_clear_reason(fresh_database: str, tmp_path: Path) -> None:
    night = date(2026, 1, 5)
    batch_id = _book_and_load(fresh_database, "umkm_penerima", night, [_umkm_row()])
    with psycopg.connect(fresh_database) as conn:
        conn.execute("ALTER TABLE raw.umkm_penerima RENAME COLUMN tgl_mulai TO tgl_mulai_baru")
    spec = SOURCES["umkm_penerima"]

    outcome = validate_batch(
        fresh_database, spec, batch_id, night, UMKM_LOCATION, tmp_path / "data_docs"
    )

    assert outcome.verdict == "failed"
    assert outcome.reason == (
        f"umkm_penerima: {UMKM_LOCATION}: column TGL_MULAI missing; "
        "unexpected column tgl_mulai_baru"
    )
    assert outcome.rows_quarantined == 0
    assert outcome.report_path is not None and outcome.report_path.is_file()
    assert any("tgl_mulai missing" in note for note in outcome.notes)

    with psycopg.connect(fresh_database) as conn:
        conn.execute("DROP TABLE raw.bps_penduduk")
    gone = validate_batch(
        fresh_database, SOURCES["bps_penduduk"], batch_id, night, "bps/x.csv", tmp_path / "dd"
    )
    assert gone.verdict == "failed" and "raw.bps_penduduk does not exist" in (gone.reason or "")
