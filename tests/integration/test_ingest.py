"""Land, book and load simulated deliveries into a real PostgreSQL.

Each test gets an empty database (``fresh_database``) and its own copy of one simulated week,
so tests can change deliveries without affecting each other.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import itertools
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from sinergi.ingest import (
    BatchStart,
    LandedDelivery,
    LoadCounts,
    batch_row_counts,
    begin_batch,
    current_batches,
    ensure_schema,
    fail_batch,
    finish_batch,
    has_loaded_before,
    land_bytes_file,
    land_file,
    load_rows,
    quarantine_rows,
    raw_columns,
    record_incomplete,
    record_missing,
)
from sinergi.parse import (
    EXPECTED_COLUMNS_BY_SOURCE,
    PARSERS,
    DeliveryError,
    ParsedRow,
    check_umkm_delivery,
)
from sinergi.simulate.config import SimulationConfig
from sinergi.simulate.simulator import Simulator
from sinergi.sources.registry import SOURCES, SourceSpec

pytestmark = pytest.mark.integration

NIGHT1 = date(2026, 1, 1)
NIGHT2 = date(2026, 1, 2)
NIGHT3 = date(2026, 1, 3)
RECEIVED_AT = datetime(2026, 1, 2, 1, 30, tzinfo=UTC)
LOADED_AT = datetime(2026, 1, 2, 2, 0, tzinfo=UTC)

UMKM = SOURCES["umkm_penerima"]
KEMENKOP = SOURCES["kemenkop_anggota"]
FILE_SOURCES = [spec for spec in SOURCES.values() if spec.kind == "file"]
API_SOURCES = [spec for spec in SOURCES.values() if spec.kind == "api"]
DQ_TABLES = ("dq.batch", "dq.quarantine", "dq.source_status", "dq.validation_result")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    config = SimulationConfig(persons=300, start=NIGHT1, end=date(2026, 1, 6), seed=1)
    Simulator(config, out).run()
    return out


@pytest.fixture
def world(simulated: Path, tmp_path: Path) -> Path:
    """A private copy of the simulated deliveries (landing/ and api/), plus an archive dir."""
    shutil.copytree(simulated / "landing", tmp_path / "landing")
    shutil.copytree(simulated / "api", tmp_path / "api")
    return tmp_path


@pytest.fixture
def conn(fresh_database: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fresh_database, autocommit=True) as connection:
        ensure_schema(connection)
        yield connection


# --------------------------------------------------------------------------- helpers


def land(world: Path, source: SourceSpec, night: date) -> LandedDelivery:
    if source.kind == "api":
        return land_bytes_file(source, night, world / "api" / f"{source.name}.jsonl", world / "a")
    return land_file(source, night, world / "landing", world / "a")


def ingest(
    conn: psycopg.Connection,
    landed: LandedDelivery,
    rows: Callable[[Path], Iterable[ParsedRow]] | None = None,
) -> tuple[BatchStart, LoadCounts | None]:
    """The flow a source DAG runs: book, load in one transaction, give the verdict."""
    source = SOURCES[landed.source]
    with conn.transaction():
        start = begin_batch(conn, landed, RECEIVED_AT)
    if start.action != "load":
        return start, None
    parse = rows or PARSERS[source.name]
    try:
        with conn.transaction():
            counts = load_rows(conn, source, start.batch_id, parse(landed.archive_path), LOADED_AT)
            finish_batch(
                conn,
                start.batch_id,
                "passed",
                None,
                counts.received,
                counts.loaded,
                counts.unreadable,
            )
    except DeliveryError as error:
        with conn.transaction():
            fail_batch(conn, start.batch_id, str(error))
        return start, None
    return start, counts


def snapshot(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Every row of raw.* and dq.*, as JSON text, sorted: for 'nothing changed' checks."""
    tables = [f"raw.{name}" for name in SOURCES] + list(DQ_TABLES)
    result = {}
    for table in tables:
        schema, name = table.split(".")
        rows = conn.execute(
            sql.SQL("SELECT to_jsonb(t)::text FROM {} AS t").format(sql.Identifier(schema, name))
        ).fetchall()
        result[table] = sorted(row[0] for row in rows)
    return result


def raw_count(conn: psycopg.Connection, source: SourceSpec, batch_id: int | None = None) -> int:
    query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("raw", source.name))
    if batch_id is None:
        row = conn.execute(query).fetchone()
    else:
        row = conn.execute(query + sql.SQL(" WHERE _batch_id = %s"), (batch_id,)).fetchone()
    assert row is not None
    return row[0]


def batch(conn: psycopg.Connection, batch_id: int) -> dict:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        row = cur.execute("SELECT * FROM dq.batch WHERE batch_id = %s", (batch_id,)).fetchone()
    assert row is not None
    return row


def assert_counts_add_up(conn: psycopg.Connection) -> None:
    bad = conn.execute(
        "SELECT batch_id FROM dq.batch WHERE rows_received IS NOT NULL "
        "AND rows_received <> rows_loaded + rows_quarantined"
    ).fetchall()
    assert bad == []
    # And the counts of current batches match what is in the tables.
    for source in SOURCES.values():
        for current in current_batches(conn, source):
            loaded, quarantined = batch_row_counts(conn, source, current.batch_id)
            assert loaded == current.rows_loaded
            row = batch(conn, current.batch_id)
            assert quarantined == row["rows_quarantined"]


def write_umkm(path: Path, rows: list[list[str]]) -> None:
    """A UMKM delivery as the contract says: BOM, CRLF, ';', '"' quotes, plus its .ok."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quotechar='"', lineterminator="\r\n")
    writer.writerow(EXPECTED_COLUMNS_BY_SOURCE["umkm_penerima"])
    writer.writerows(rows)
    data = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    ok = f"rows={len(rows)}\nsha256={hashlib.sha256(data).hexdigest()}\n"
    path.with_name(path.name + ".ok").write_text(ok)


def umkm_row(id_number: int, name: str, business: str = "WARUNG") -> list[str]:
    row = [""] * len(EXPECTED_COLUMNS_BY_SOURCE["umkm_penerima"])
    row[0] = f"UMKM-{id_number:09d}"
    row[1] = "3273010101900001"
    row[2] = name
    row[5] = business
    row[14] = "AKTIF"
    return row


# --------------------------------------------------------------------------- schema


def test_ensure_schema_is_idempotent_concurrent_and_adds_missing_columns(
    fresh_database: str,
) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        try:
            with psycopg.connect(fresh_database, autocommit=True) as connection:
                barrier.wait()
                ensure_schema(connection)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    with psycopg.connect(fresh_database, autocommit=True) as connection:
        ensure_schema(connection)  # once more, all exists
        for source in SOURCES.values():
            columns = [
                row[0]
                for row in connection.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'raw' AND table_name = %s ORDER BY ordinal_position",
                    (source.name,),
                ).fetchall()
            ]
            assert columns == [
                *raw_columns(source),
                "_batch_id",
                "_source_row_number",
                "_loaded_at",
            ]
        # The contract grew: a table made before lacks a column; ensure_schema adds it back.
        connection.execute("ALTER TABLE raw.umkm_penerima DROP COLUMN tgl_update")
        ensure_schema(connection)
        assert connection.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name = 'umkm_penerima' "
            "AND column_name = 'tgl_update'"
        ).fetchone() == (1,)
        tables = {
            row[0]
            for row in connection.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema = 'dq'"
            ).fetchall()
        }
        assert tables == set(DQ_TABLES)


# --------------------------------------------------------------------------- loading


def test_a_night_of_every_source_loads_with_lineage(conn: psycopg.Connection, world: Path) -> None:
    for source in FILE_SOURCES + API_SOURCES:
        landed = land(world, source, NIGHT1)
        parsed = list(PARSERS[source.name](landed.archive_path))
        good = [row for row in parsed if row.problem is None]
        start, counts = ingest(conn, landed)

        assert start.action == "load", source.name
        assert counts == LoadCounts(len(parsed), len(good), len(parsed) - len(good))
        assert raw_count(conn, source, start.batch_id) == len(good) > 0, source.name

        # Values verbatim, row numbers and lineage filled.
        columns = raw_columns(source)
        selected = sql.SQL(", ").join(map(sql.Identifier, columns))
        in_db = conn.execute(
            sql.SQL(
                "SELECT {}, _source_row_number FROM {} WHERE _batch_id = %s AND _loaded_at = %s"
            ).format(selected, sql.Identifier("raw", source.name)),
            (start.batch_id, LOADED_AT),
        ).fetchall()
        expected_columns = EXPECTED_COLUMNS_BY_SOURCE[source.name]
        expected = [
            (*(row.values[name] for name in expected_columns), row.source_row_number)
            for row in good
        ]
        key = repr
        assert sorted(in_db, key=key) == sorted(expected, key=key), source.name

        row = batch(conn, start.batch_id)
        assert row["verdict"] == "passed" and row["is_current"]
        assert row["content_sha256"] == landed.content_sha256
        assert row["location"] == landed.location
        assert row["archive_path"] == str(landed.archive_path)
        assert row["rows_received"] == len(parsed)
    api_location = batch(conn, current_batches(conn, "kp2mi_pmi")[0].batch_id)["location"]
    assert api_location.startswith("GET /api/v1/pmi updated_from=2026-01-01T00:00:00+07:00")
    assert_counts_add_up(conn)


def test_rerunning_a_night_changes_nothing(conn: psycopg.Connection, world: Path) -> None:
    for source in FILE_SOURCES + API_SOURCES:
        ingest(conn, land(world, source, NIGHT1))
    before = snapshot(conn)

    for source in FILE_SOURCES + API_SOURCES:
        start, counts = ingest(conn, land(world, source, NIGHT1))
        assert start.action == "already_loaded" and start.verdict == "passed"
        assert counts is None

    assert snapshot(conn) == before


def test_crashed_attempt_is_cleaned_and_reloaded(conn: psycopg.Connection, world: Path) -> None:
    landed = land(world, KEMENKOP, NIGHT1)
    with conn.transaction():
        first = begin_batch(conn, landed, RECEIVED_AT)
    # The attempt got some rows in and committed, then died before its verdict.
    with conn.transaction():
        rows = itertools.islice(PARSERS[KEMENKOP.name](landed.archive_path), 10)
        load_rows(conn, KEMENKOP, first.batch_id, rows, LOADED_AT)
    assert raw_count(conn, KEMENKOP, first.batch_id) == 10

    start, counts = ingest(conn, land(world, KEMENKOP, NIGHT1))

    assert start == BatchStart(first.batch_id, "load")
    assert counts is not None and counts.received > 10
    assert raw_count(conn, KEMENKOP) == counts.loaded
    assert conn.execute("SELECT count(*) FROM dq.batch").fetchone() == (1,)
    assert batch(conn, first.batch_id)["verdict"] == "passed"
    assert_counts_add_up(conn)


def test_resend_with_other_content_replaces_the_nights_batch(
    conn: psycopg.Connection, world: Path
) -> None:
    old, old_counts = ingest(conn, land(world, KEMENKOP, NIGHT1))
    assert old_counts is not None
    # The ministry re-sends the night with different content.
    night1 = world / "landing" / KEMENKOP.delivery_path(NIGHT1)
    night2 = world / "landing" / KEMENKOP.delivery_path(NIGHT2)
    shutil.copyfile(night2, night1)

    new, new_counts = ingest(conn, land(world, KEMENKOP, NIGHT1))

    assert new.action == "load" and new.batch_id != old.batch_id
    assert new_counts is not None
    old_row, new_row = batch(conn, old.batch_id), batch(conn, new.batch_id)
    assert not old_row["is_current"] and old_row["superseded_by"] == new.batch_id
    assert old_row["verdict"] == "passed"  # history kept
    assert new_row["is_current"]
    assert raw_count(conn, KEMENKOP, old.batch_id) == 0
    assert raw_count(conn, KEMENKOP) == new_counts.loaded
    assert [b.batch_id for b in current_batches(conn, KEMENKOP)] == [new.batch_id]
    # The archive keeps both versions.
    assert Path(old_row["archive_path"]).exists() and Path(new_row["archive_path"]).exists()
    assert_counts_add_up(conn)


def test_same_delta_content_for_another_night_is_a_duplicate(
    conn: psycopg.Connection, world: Path
) -> None:
    original, counts = ingest(conn, land(world, UMKM, NIGHT1))
    assert counts is not None and counts.received > 0
    # Night 2's file is night 1's again (CSV and its .ok).
    landing = world / "landing"
    for suffix in ("", ".ok"):
        shutil.copyfile(
            landing / (UMKM.delivery_path(NIGHT1) + suffix),
            landing / (UMKM.delivery_path(NIGHT2) + suffix),
        )

    start, _ = ingest(conn, land(world, UMKM, NIGHT2))
    assert start.action == "duplicate" and start.duplicate_of == original.batch_id
    row = batch(conn, start.batch_id)
    assert row["verdict"] == "duplicate" and not row["is_current"]
    assert f"batch {original.batch_id}" in row["verdict_reason"]
    assert raw_count(conn, UMKM, start.batch_id) == 0
    assert raw_count(conn, UMKM) == counts.loaded

    # Re-running night 2 keeps the one duplicate row.
    before = snapshot(conn)
    again, _ = ingest(conn, land(world, UMKM, NIGHT2))
    assert again.action == "already_loaded" and again.verdict == "duplicate"
    assert snapshot(conn) == before
    assert_counts_add_up(conn)


def test_identical_empty_delta_nights_all_load(conn: psycopg.Connection, world: Path) -> None:
    night2 = land(world, UMKM, NIGHT2)
    night3 = land(world, UMKM, NIGHT3)
    assert night2.content_sha256 == night3.content_sha256  # header-only, byte for byte
    for landed in (night2, night3):
        start, counts = ingest(conn, landed)
        assert start.action == "load"
        assert counts == LoadCounts(0, 0, 0)
    assert [b.logical_date for b in current_batches(conn, UMKM)] == [NIGHT2, NIGHT3]


def test_same_snapshot_two_nights_is_not_a_duplicate(conn: psycopg.Connection, world: Path) -> None:
    landing = world / "landing"
    shutil.copyfile(
        landing / KEMENKOP.delivery_path(NIGHT1), landing / KEMENKOP.delivery_path(NIGHT2)
    )
    for night in (NIGHT1, NIGHT2):
        start, counts = ingest(conn, land(world, KEMENKOP, night))
        assert start.action == "load" and counts is not None and counts.loaded > 0


def test_missing_and_incomplete_are_recorded_once(conn: psycopg.Connection, world: Path) -> None:
    location = UMKM.delivery_path(NIGHT2)
    ids = set()
    for _ in range(3):
        with conn.transaction():
            ids.add(record_missing(conn, UMKM, NIGHT2, location, "no file by 06:00 WIB"))
    assert len(ids) == 1 and None not in ids
    assert conn.execute("SELECT count(*) FROM dq.batch WHERE verdict = 'missing'").fetchone() == (
        1,
    )

    # A night that loaded is not 'missing' when its landing file is gone later.
    ingest(conn, land(world, UMKM, NIGHT1))
    with conn.transaction():
        assert record_missing(conn, UMKM, NIGHT1, UMKM.delivery_path(NIGHT1), "gone") is None

    # UMKM CSV without its .ok at the deadline: incomplete, once; loads when the .ok comes.
    csv_path = world / "landing" / UMKM.delivery_path(NIGHT3)
    ok_path = csv_path.with_name(csv_path.name + ".ok")
    ok_bytes = ok_path.read_bytes()
    ok_path.unlink()
    for _ in range(2):
        landed = land(world, UMKM, NIGHT3)
        with pytest.raises(DeliveryError) as caught:
            check_umkm_delivery(landed.archive_path)
        with conn.transaction():
            record_incomplete(
                conn,
                UMKM,
                NIGHT3,
                landed.location,
                str(caught.value),
                content_sha256=landed.content_sha256,
                archive_path=str(landed.archive_path),
                received_at=RECEIVED_AT,
            )
    assert conn.execute(
        "SELECT count(*) FROM dq.batch WHERE verdict = 'incomplete'"
    ).fetchone() == (1,)
    ok_path.write_bytes(ok_bytes)
    start, counts = ingest(conn, land(world, UMKM, NIGHT3))
    assert start.action == "load" and counts is not None
    assert batch(conn, start.batch_id)["verdict"] == "passed"


def test_broken_delivery_fails_its_batch_and_keeps_the_good_one(
    conn: psycopg.Connection, world: Path
) -> None:
    good, good_counts = ingest(conn, land(world, KEMENKOP, NIGHT1))
    assert good_counts is not None

    # A resend that breaks off mid-stream: a bigger gzip snapshot cut in half.
    path = world / "landing" / KEMENKOP.delivery_path(NIGHT1)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as stream:
        header, *body = stream.read().splitlines(keepends=True)
    text = header + "".join(body * 400)
    compressed = gzip.compress(text.encode("utf-8"))
    path.chmod(0o644)
    path.write_bytes(compressed[: len(compressed) // 2])
    landed = land(world, KEMENKOP, NIGHT1)
    rows_before_error = 0
    with pytest.raises(DeliveryError):
        for _ in PARSERS[KEMENKOP.name](landed.archive_path):
            rows_before_error += 1
    assert rows_before_error > 0  # the error really comes mid-stream

    start, counts = ingest(conn, landed)

    assert start.action == "load" and counts is None
    failed = batch(conn, start.batch_id)
    assert failed["verdict"] == "failed" and not failed["is_current"]
    assert "kemenkop_anggota" in failed["verdict_reason"]
    assert "anggota_koperasi_20260101.csv.gz" in failed["verdict_reason"]
    assert "truncated" in failed["verdict_reason"]
    assert raw_count(conn, KEMENKOP, start.batch_id) == 0
    # The earlier good batch is still the night's batch, rows intact.
    assert [b.batch_id for b in current_batches(conn, KEMENKOP)] == [good.batch_id]
    assert raw_count(conn, KEMENKOP) == good_counts.loaded
    # Re-running the night reports the same failure and changes nothing.
    before = snapshot(conn)
    again, _ = ingest(conn, land(world, KEMENKOP, NIGHT1))
    assert again.action == "already_loaded" and again.verdict == "failed"
    assert snapshot(conn) == before
    assert_counts_add_up(conn)


# --------------------------------------------------------------------------- values


HOSTILE_NAMES = [
    "'); DROP TABLE raw.umkm_penerima;--",
    "<script>alert(1)</script>",
    'SITI "ITA" AMINAH; H.',
    "back\\slash \\N \\. tab\there",
    "line\r\nbreak inside a quoted field",
    "control \x01\x07\x1b chars and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 é",
    "  leading and trailing spaces  ",
]


def test_hostile_values_load_verbatim(conn: psycopg.Connection, world: Path) -> None:
    rows = [umkm_row(i, name) for i, name in enumerate(HOSTILE_NAMES, start=1)]
    write_umkm(world / "landing" / UMKM.delivery_path(NIGHT1), rows)

    start, counts = ingest(conn, land(world, UMKM, NIGHT1))

    assert counts == LoadCounts(len(rows), len(rows), 0)
    names = [
        row[0]
        for row in conn.execute(
            "SELECT nama_penerima FROM raw.umkm_penerima ORDER BY _source_row_number"
        ).fetchall()
    ]
    assert names == HOSTILE_NAMES
    assert batch(conn, start.batch_id)["verdict"] == "passed"


def test_unstorable_and_unreadable_rows_are_quarantined(
    conn: psycopg.Connection, world: Path
) -> None:
    columns = EXPECTED_COLUMNS_BY_SOURCE["umkm_penerima"]

    def values(record_id: str, name: str) -> dict[str, str | None]:
        row: dict[str, str | None] = dict.fromkeys(columns)
        row.update({"ID_PENERIMA": record_id, "NAMA_PENERIMA": name})
        return row

    parsed = [
        ParsedRow(2, values("UMKM-000000001", "FINE")),
        ParsedRow(3, values("UMKM-000000002", "NUL\x00INSIDE")),
        ParsedRow(4, values("UMKM-000000003", "surrogate \ud800 from a JSON escape")),
        ParsedRow(5, {"raw_line": "a;broken;line\x00"}, "line 5 has 3 fields, expected 16"),
        ParsedRow(6, values("UMKM-000000004", "<script>alert(1)</script>")),
        # A 1 MB field goes through COPY untouched. (The CSV reader itself stops at the csv
        # module's 128 KiB field limit, so this one is fed to the loader directly.)
        ParsedRow(7, values("UMKM-000000005", "B" * (1024 * 1024))),
    ]
    landed = LandedDelivery("umkm_penerima", NIGHT1, "umkm/x.csv", world / "x.csv", "f" * 64, 1)
    with conn.transaction():
        start = begin_batch(conn, landed, RECEIVED_AT)
    with conn.transaction():
        counts = load_rows(conn, UMKM, start.batch_id, parsed, LOADED_AT)
        # Loading the batch again replaces, never duplicates.
        counts = load_rows(conn, UMKM, start.batch_id, parsed, LOADED_AT)
    assert counts == LoadCounts(received=6, loaded=3, unreadable=3)
    assert conn.execute(
        "SELECT nama_penerima FROM raw.umkm_penerima WHERE id_penerima = 'UMKM-000000005'"
    ).fetchone() == ("B" * (1024 * 1024),)

    quarantined = {
        row[0]: row[1:]
        for row in conn.execute(
            "SELECT source_row_number, reason_code, source_record_id, raw_record, reason_detail "
            "FROM dq.quarantine WHERE batch_id = %s",
            (start.batch_id,),
        ).fetchall()
    }
    assert quarantined[3][:2] == ("nul_byte", "UMKM-000000002")
    assert quarantined[3][2]["nama_penerima"] == "NUL\\u0000INSIDE"
    assert "NAMA_PENERIMA" in quarantined[3][3]  # the ministry's own column name
    assert quarantined[4][:2] == ("unencodable_text", "UMKM-000000003")
    assert quarantined[4][2]["nama_penerima"] == "surrogate \\ud800 from a JSON escape"
    assert quarantined[5][:2] == ("unreadable_row", None)
    assert quarantined[5][2] == {"raw_line": "a;broken;line\\u0000"}
    assert quarantined[5][3] == "line 5 has 3 fields, expected 16"

    # The validator moves rows with a predicate; '%' inside a literal is safe.
    with conn.transaction():
        moved = quarantine_rows(
            conn,
            UMKM,
            start.batch_id,
            sql.SQL("{} LIKE {}").format(
                sql.Identifier("nama_penerima"), sql.Literal("%<script>%")
            ),
            "suspicious_name",
            "name looks like markup",
        )
        loaded, in_quarantine = batch_row_counts(conn, UMKM, start.batch_id)
        finish_batch(conn, start.batch_id, "warned", "1 row quarantined", 6, loaded, in_quarantine)
    assert moved == 1 and (loaded, in_quarantine) == (2, 4)
    record = conn.execute(
        "SELECT source_record_id, raw_record, source_row_number FROM dq.quarantine "
        "WHERE reason_code = 'suspicious_name'"
    ).fetchone()
    assert record is not None
    assert record[0] == "UMKM-000000004" and record[2] == 6
    assert record[1]["nama_penerima"] == "<script>alert(1)</script>"
    assert not any(key.startswith("_") for key in record[1])
    assert batch(conn, start.batch_id)["is_current"]
    assert_counts_add_up(conn)


def test_many_problem_rows_are_flushed_between_copies(
    conn: psycopg.Connection, world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sinergi.ingest.load as load_module

    monkeypatch.setattr(load_module, "QUARANTINE_FLUSH_ROWS", 3)
    columns = EXPECTED_COLUMNS_BY_SOURCE["umkm_penerima"]
    parsed = []
    for number in range(2, 42):
        if number % 3:
            parsed.append(ParsedRow(number, {"raw_line": f"bad {number}"}, "unreadable"))
        else:
            values = dict.fromkeys(columns, "v")
            values["ID_PENERIMA"] = f"UMKM-{number:09d}"
            parsed.append(ParsedRow(number, values))
    landed = LandedDelivery("umkm_penerima", NIGHT1, "umkm/x.csv", world / "x.csv", "e" * 64, 1)
    with conn.transaction():
        start = begin_batch(conn, landed, RECEIVED_AT)
    with conn.transaction():
        counts = load_rows(conn, UMKM, start.batch_id, parsed, LOADED_AT)
    assert counts == LoadCounts(received=40, loaded=13, unreadable=27)
    assert batch_row_counts(conn, UMKM, start.batch_id) == (13, 27)
    numbers = conn.execute("SELECT _source_row_number FROM raw.umkm_penerima ORDER BY 1").fetchall()
    assert [n for (n,) in numbers] == [n for n in range(2, 42) if n % 3 == 0]


def test_finish_batch_guards(conn: psycopg.Connection, world: Path) -> None:
    start, _ = ingest(conn, land(world, UMKM, NIGHT1))
    with pytest.raises(ValueError, match="already has the verdict"):
        finish_batch(conn, start.batch_id, "passed", None, 0, 0, 0)
    with pytest.raises(ValueError, match="does not exist"):
        fail_batch(conn, 999_999, "nope")
    landed = land(world, UMKM, NIGHT2)
    with conn.transaction():
        other = begin_batch(conn, landed, RECEIVED_AT)
    with pytest.raises(ValueError, match="every received row"):
        finish_batch(conn, other.batch_id, "passed", None, 3, 1, 1)


def test_has_loaded_before_counts_only_earlier_nights(
    conn: psycopg.Connection, world: Path
) -> None:
    bps = SOURCES["bps_wilayah"]
    assert not has_loaded_before(conn, bps)
    ingest(conn, land(world, bps, NIGHT1))
    assert has_loaded_before(conn, bps)
    assert has_loaded_before(conn, bps, before=NIGHT2)
    assert not has_loaded_before(conn, bps, before=NIGHT1)
