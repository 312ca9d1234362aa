"""The COPY lane loads what the parser loads: same raw rows, line numbers and problem rows.

Every file here is loaded twice into a real PostgreSQL: by ``load_rows`` over the source's
parser (the reference) and by ``load_delivery`` (the lane, or the parser when the lane hands
the file over). Then the two batches are compared column by column, quarantine included.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from sinergi.ingest import copy_csv
from sinergi.ingest.copy_csv import NeedsParser, load_delimited
from sinergi.ingest.load import LoadCounts, load_rows
from sinergi.ingest.load_file import load_delivery
from sinergi.ingest.schema import ensure_schema
from sinergi.parse import DELIMITED_FORMATS, PARSERS, DeliveryError
from sinergi.parse.kemenkop import EXPECTED_COLUMNS as KEMENKOP_COLUMNS
from sinergi.parse.umkm import EXPECTED_COLUMNS as UMKM_COLUMNS
from sinergi.sources.registry import SOURCES

pytestmark = pytest.mark.integration

SAMPLES = Path(os.environ.get("SINERGI_SAMPLES_DIR", "/work/shared/samples")) / "landing"
LOADED_AT = datetime(2026, 1, 2, 2, 0, tzinfo=UTC)

UMKM_HEADER = ";".join(UMKM_COLUMNS)
UMKM_ROW = (
    "UMKM-{n};3273010101900001;{name};01/01/1990;L;WARUNG;;47112;KUR-SM;"
    "KUR Super Mikro;01/01/2025;;25.000.000,00;3273010001;AKTIF;05/01/2026 10:00:00"
)
KEMENKOP_HEADER = ",".join(KEMENKOP_COLUMNS)
KEMENKOP_ROW = (
    "3273{n},{coop},Konsumen,false,3273010001,{n},3273010101900001,{name},1990-01-01,L,"
    "2020-01-01,,AKTIF,,"
)


@pytest.fixture
def conn(fresh_database: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fresh_database) as connection:
        ensure_schema(connection)
        connection.commit()
        yield connection


def _umkm_file(tmp_path: Path, data: bytes, rows: int | None = None) -> Path:
    """A UMKM CSV with a matching ``.ok`` (its row count from the parser unless given)."""
    path = tmp_path / "umkm" / "umkm_penerima_20260105.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if rows is None:
        rows = sum(1 for _ in DELIMITED_FORMATS["umkm_penerima"].read(path))
    sha = hashlib.sha256(data).hexdigest()
    (path.parent / (path.name + ".ok")).write_text(f"rows={rows}\nsha256={sha}\n")
    return path


def _umkm(tmp_path: Path, lines: list[str], *, last_newline: bool = True) -> Path:
    text = "\ufeff" + "\r\n".join(lines) + ("\r\n" if last_newline else "")
    return _umkm_file(tmp_path, text.encode("utf-8"))


def _kemenkop(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "kemenkop" / "anggota_koperasi_20260105.csv.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8")))
    return path


def _new_batch(conn: psycopg.Connection, source: str) -> int:
    row = conn.execute(
        "INSERT INTO dq.batch (source_system, logical_date) VALUES (%s, '2026-01-05') "
        "RETURNING batch_id",
        (source,),
    ).fetchone()
    assert row is not None
    conn.commit()
    return int(row[0])


def _batch_contents(conn: psycopg.Connection, source: str, batch_id: int) -> dict:
    raw = conn.execute(
        sql.SQL(
            "SELECT to_jsonb(r) - '_batch_id' - '_loaded_at' FROM {} AS r "
            "WHERE _batch_id = %s ORDER BY _source_row_number"
        ).format(sql.Identifier("raw", source)),
        (batch_id,),
    ).fetchall()
    quarantine = conn.execute(
        "SELECT source_row_number, source_record_id, reason_code, reason_detail, raw_record "
        "FROM dq.quarantine WHERE batch_id = %s ORDER BY source_row_number",
        (batch_id,),
    ).fetchall()
    return {"raw": [row[0] for row in raw], "quarantine": quarantine}


def _both_ways(conn: psycopg.Connection, source: str, path: Path) -> tuple[dict, dict, bool]:
    """Load ``path`` by the parser and by ``load_delivery``; their contents and whether the
    lane took the file (rather than handing it to the parser)."""
    spec = SOURCES[source]
    reference = _new_batch(conn, source)
    expected_counts = load_rows(conn, spec, reference, PARSERS[source](path), LOADED_AT)
    conn.commit()
    by_lane = _new_batch(conn, source)
    with conn.transaction():
        try:
            load_delimited(conn, spec, by_lane, path, LOADED_AT, DELIMITED_FORMATS[source])
            lane_took_it = True
        except NeedsParser:
            lane_took_it = False
    conn.rollback()
    counts = load_delivery(conn, spec, by_lane, path, LOADED_AT)
    conn.commit()
    assert counts == expected_counts
    return (
        _batch_contents(conn, source, reference),
        _batch_contents(conn, source, by_lane),
        lane_took_it,
    )


@pytest.fixture(params=[copy_csv.CHUNK_BYTES, 64], ids=["1MiB-chunks", "64-byte-chunks"])
def chunk_bytes(request, monkeypatch) -> int:
    """Every case also with tiny chunks, so records and lines straddle chunk boundaries."""
    monkeypatch.setattr(copy_csv, "CHUNK_BYTES", request.param)
    return request.param


@pytest.mark.parametrize(
    "source, relative",
    [
        ("umkm_penerima", "umkm/umkm_penerima_20260101.csv"),
        ("umkm_penerima", "umkm/umkm_penerima_20260106.csv"),  # header only
        ("kemenkop_anggota", "kemenkop/anggota_koperasi_20260101.csv.gz"),
        ("kemendes_idm", "kemendes/idm_2025.csv"),
        ("bps_wilayah", "bps/master_wilayah_202601.csv"),
        ("bps_penduduk", "bps/penduduk_kabkota_2026.csv"),
    ],
)
def test_the_samples_load_the_same_through_the_lane(
    conn: psycopg.Connection, chunk_bytes: int, source: str, relative: str
) -> None:
    path = SAMPLES / relative
    if not path.is_file():
        pytest.skip(f"sample {path} not found")
    reference, lane, took_it = _both_ways(conn, source, path)
    assert took_it
    assert lane == reference


UMKM_LINES: dict[str, list[str]] = {
    "plain rows": [UMKM_ROW.format(n=1, name="BUDI"), UMKM_ROW.format(n=2, name="SITI")],
    "quoted delimiter and doubled quotes": [
        UMKM_ROW.format(n=1, name='"BUDI; ""BOS"" SANTOSO"'),
        UMKM_ROW.format(n=2, name="SITI"),
    ],
    "a quoted line break keeps physical line numbers": [
        UMKM_ROW.format(n=1, name='"BUDI\r\nSANTOSO"'),
        UMKM_ROW.format(n=2, name='"A\nB\r\nC"'),
        UMKM_ROW.format(n=3, name="SITI"),
    ],
    "a stray quote inside an unquoted field is a character": [
        UMKM_ROW.format(n=1, name='BUDI "BOS" SANTOSO'),
        UMKM_ROW.format(n=2, name='5" PIPA'),
    ],
    "an empty quoted field is no value": [UMKM_ROW.format(n=1, name='""')],
    "wrong field counts are problem rows": [
        UMKM_ROW.format(n=1, name="BUDI") + ";EXTRA",
        "UMKM-2;3273010101900001;SITI",
        UMKM_ROW.format(n=3, name='"QUOTED; NAME"') + ";EXTRA",
        UMKM_ROW.format(n=4, name="ANI"),
    ],
    "blank and whitespace lines": [
        UMKM_ROW.format(n=1, name="BUDI"),
        "",
        "   ",
        UMKM_ROW.format(n=2, name="SITI"),
    ],
    "a bare CR inside an unquoted field": [
        UMKM_ROW.format(n=1, name="BUDI\rSANTOSO"),
        UMKM_ROW.format(n=2, name="SITI"),
    ],
    "values kept verbatim": [
        UMKM_ROW.format(n=1, name="  O'BRIEN \\N NULL; DROP TABLE x; -- <b>é</b> \\."),
        UMKM_ROW.format(n=2, name="\\."),
        UMKM_ROW.format(n=3, name="ÑOÑO 名前 😀"),
    ],
}


@pytest.mark.parametrize("case", list(UMKM_LINES))
def test_umkm_edge_cases_load_the_same(
    conn: psycopg.Connection, tmp_path: Path, chunk_bytes: int, case: str
) -> None:
    path = _umkm(tmp_path, [UMKM_HEADER, *UMKM_LINES[case]])
    reference, lane, took_it = _both_ways(conn, "umkm_penerima", path)
    assert took_it
    assert lane == reference
    assert reference["raw"] or reference["quarantine"]


def test_a_last_line_without_a_line_end(conn: psycopg.Connection, tmp_path: Path) -> None:
    lines = [UMKM_HEADER, UMKM_ROW.format(n=1, name="BUDI"), UMKM_ROW.format(n=2, name="SITI")]
    path = _umkm(tmp_path, lines, last_newline=False)
    reference, lane, took_it = _both_ways(conn, "umkm_penerima", path)
    assert took_it
    assert lane == reference
    assert len(lane["raw"]) == 2


def test_kemenkop_quoted_names_load_the_same(
    conn: psycopg.Connection, tmp_path: Path, chunk_bytes: int
) -> None:
    lines = [
        KEMENKOP_HEADER,
        KEMENKOP_ROW.format(n="0001", coop='"KOPERASI ""MAJU"", JAYA"', name='"SANTOSO, BUDI"'),
        KEMENKOP_ROW.format(n="0002", coop="KOPERASI TANI", name="SITI"),
        KEMENKOP_ROW.format(n="0003", coop="KOPERASI TANI", name="ANI") + ",EXTRA",
    ]
    reference, lane, took_it = _both_ways(conn, "kemenkop_anggota", _kemenkop(tmp_path, lines))
    assert took_it
    assert lane == reference
    assert len(lane["raw"]) == 2 and len(lane["quarantine"]) == 1


@pytest.mark.parametrize(
    "case, data",
    [
        ("not UTF-8", f"{UMKM_HEADER}\r\n{UMKM_ROW.format(n=1, name='BUDI')}\r\n".encode()
         .replace(b"BUDI", b"B\xe9DI")),
        ("a NUL byte", f"{UMKM_HEADER}\r\n{UMKM_ROW.format(n=1, name='BUDI')}\r\n".encode()
         .replace(b"BUDI", b"BU\x00DI")),
        ("a renamed column", f"{UMKM_HEADER.replace('NIK', 'NO_KTP')}\r\n".encode()),
        ("an unbalanced quote", f'{UMKM_HEADER}\r\n{UMKM_ROW.format(n=1, name=chr(34) + "BUDI")}'
         "\r\n".encode()),
    ],
)  # fmt: skip
def test_whole_file_problems_go_to_the_parser(
    conn: psycopg.Connection, tmp_path: Path, case: str, data: bytes
) -> None:
    """The lane hands these over; the result (rows or the delivery error) is the parser's."""
    path = _umkm_file(tmp_path, data, rows=1)  # the parser cannot count these files' rows
    spec = SOURCES["umkm_penerima"]
    try:
        reference_counts: LoadCounts | DeliveryError = load_rows(
            conn, spec, _new_batch(conn, spec.name), PARSERS[spec.name](path), LOADED_AT
        )
        conn.commit()
    except DeliveryError as error:
        conn.rollback()
        reference_counts = error
    batch_id = _new_batch(conn, spec.name)
    with pytest.raises(NeedsParser), conn.transaction():
        load_delimited(conn, spec, batch_id, path, LOADED_AT, DELIMITED_FORMATS[spec.name])
    conn.rollback()
    if isinstance(reference_counts, DeliveryError):
        with pytest.raises(DeliveryError) as raised:
            load_delivery(conn, spec, batch_id, path, LOADED_AT)
        assert str(raised.value) == str(reference_counts)
    else:
        assert load_delivery(conn, spec, batch_id, path, LOADED_AT) == reference_counts


def test_umkm_row_count_disagreeing_with_its_control_file_fails(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    path = _umkm(tmp_path, [UMKM_HEADER, UMKM_ROW.format(n=1, name="BUDI")])
    data = path.read_bytes()
    ok = path.parent / (path.name + ".ok")
    ok.write_text(f"rows=2\nsha256={hashlib.sha256(data).hexdigest()}\n")
    spec = SOURCES["umkm_penerima"]
    with pytest.raises(DeliveryError, match=r"the CSV has 1 data rows but .*\.ok says rows=2"):
        load_delivery(conn, spec, _new_batch(conn, spec.name), path, LOADED_AT)


def test_a_truncated_gzip_fails_as_the_parser_says(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    """Cut off midway: the lane gives up inside its COPY, the parser names the damage."""
    rows = [
        KEMENKOP_ROW.format(n=f"{n:04}", coop="KOPERASI TANI", name="SITI") for n in range(3000)
    ]
    path = _kemenkop(tmp_path, [KEMENKOP_HEADER, *rows])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    spec = SOURCES["kemenkop_anggota"]
    with pytest.raises(DeliveryError) as expected:
        list(PARSERS[spec.name](path))
    with pytest.raises(DeliveryError) as raised:
        load_delivery(conn, spec, _new_batch(conn, spec.name), path, LOADED_AT)
    assert str(raised.value) == str(expected.value)
    assert "gzip stream is corrupt or truncated" in str(raised.value)
