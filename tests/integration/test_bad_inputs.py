"""The bad-input corpus: deliveries broken in the ways SOURCES.md and life allow.

Each case is a small delivery written here (a handful of valid rows plus the damage; Parekraf's
workbooks built with openpyxl), run through the steps the ingest DAG's tasks call
(``sinergi.ingest.nightly``: plan, wait, land, load, validate) against an empty warehouse (one
database for the module, its ``raw`` and ``dq`` tables truncated before each case). The DAG
wiring around those steps is proven by ``test_ingest_dags.py`` (``dag.test``), so it is not
repeated per case. Each case asserts:

* the batch verdict in ``dq.batch`` and the sentence a person reads there (source, file, what
  was expected), or for a quarantined row its reason, row number and what was expected;
* ``rows_received = rows_loaded + rows_quarantined``, and the same counts in the tables;
* that the archive holds the delivery's exact bytes (every delivery that completed).

Three representative tests also run other ministries' nights the same night (they go on) and
the corrected resends, and the KemenP2MI API cases run against a scripted HTTP server on
127.0.0.1.

Reproduce one case: ``.venv/bin/pytest tests/integration/test_bad_inputs.py -k "<case id>"``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import psycopg
import pytest

from sinergi.parse import EXPECTED_COLUMNS_BY_SOURCE
from sinergi.sources.registry import SOURCES, SourceSpec

pytestmark = pytest.mark.integration

WIB = ZoneInfo("Asia/Jakarta")
DAY = date(2026, 1, 5)  # a Monday: every daily source delivers
BPS_DAY = date(2026, 1, 1)  # the first of the month and of the year: both BPS files are due
IDM_DAY = date(2026, 7, 1)  # a Wednesday, 1 July: the yearly village index is due (idm_2026)
AFTER_EVERY_DEADLINE = datetime(2100, 1, 1, tzinfo=UTC)
TOKEN = "bad-inputs-token"

UMKM = SOURCES["umkm_penerima"]
KEMENKOP = SOURCES["kemenkop_anggota"]
KEMENDES = SOURCES["kemendes_kegiatan"]
PMI = SOURCES["kp2mi_pmi"]


# --------------------------------------------------------------------------- deliveries


def umkm_row(n: int, **changes: str) -> dict[str, str]:
    """A valid UMKM row (every check passes), with ``changes`` by column name."""
    row = {
        "ID_PENERIMA": f"UMKM-{n:09d}",
        "NIK": f"32730145019{n:05d}",
        "NAMA_PENERIMA": "SITI AMINAH",
        "TGL_LAHIR": "05/01/1990",
        "JENIS_KELAMIN": "P",
        "NAMA_USAHA": "WARUNG SITI",
        "NIB": "1234567890123",
        "KBLI": "56101",
        "KODE_PROGRAM": "KUR-MI",
        "NAMA_PROGRAM": "KUR Mikro",
        "TGL_MULAI": "02/01/2025",
        "TGL_SELESAI": "",
        "NILAI_RP": "25.000.000",
        "KODE_WILAYAH_BPS": "3273010001",
        "STATUS": "AKTIF",
        "TGL_UPDATE": "05/01/2026 10:00:00",
    }
    row.update(changes)
    return row


def umkm_bytes(rows: list[dict[str, str]], header: list[str] | None = None) -> bytes:
    """UTF-8 with BOM, CRLF, ';', '"' quotes, as the contract says."""
    header = header or list(EXPECTED_COLUMNS_BY_SOURCE[UMKM.name])
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quotechar='"', lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[row.get(name, "") for name in header] for row in rows])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_umkm(landing: Path, data: bytes, rows: int | None = None, ok: bool = True) -> Path:
    """The CSV and (by default) an agreeing ``.ok`` (``rows`` overrides its row count)."""
    path = landing / UMKM.delivery_path(DAY)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if ok:
        count = rows if rows is not None else max(0, data.count(b"\r\n") - 1)
        control = f"rows={count}\nsha256={hashlib.sha256(data).hexdigest()}\n"
        path.with_name(path.name + ".ok").write_text(control)
    return path


def kemenkop_row(n: int, **changes: str) -> dict[str, str]:
    row = {
        "nomor_induk_koperasi": "320901234567",
        "nama_koperasi": "KOPERASI MAJU, JAYA",
        "jenis_koperasi": "Simpan Pinjam",
        "is_kdmp": "1",
        "kode_desa_koperasi": "32.09.12.2005",
        "nomor_anggota": f"{n:06d}",
        "nik_anggota": f"32091247089{n:05d}",
        "nama_anggota": "SITI AMINAH",
        "tanggal_lahir": "19900807",
        "jenis_kelamin": "P",
        "tanggal_masuk": "20200101",
        "tanggal_keluar": "",
        "status_anggota": "AKTIF",
        "pinjaman_rp": "5000000",
        "tanggal_pinjaman": "20250101",
    }
    row.update(changes)
    return row


def kemenkop_text(rows: list[dict[str, str]], header: list[str] | None = None) -> str:
    """UTF-8, ',', RFC 4180 quoting, LF, header (not yet gzipped)."""
    header = header or list(EXPECTED_COLUMNS_BY_SOURCE[KEMENKOP.name])
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=",", quotechar='"', lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[row.get(name, "") for name in header] for row in rows])
    return buffer.getvalue()


def write_kemenkop(landing: Path, data: bytes) -> Path:
    path = landing / KEMENKOP.delivery_path(DAY)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def activity(n: int, participants: int = 2, **changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id_kegiatan": f"KD-2026-{n:06d}",
        "kode_desa": "3209122005",
        "nama_desa": "Sindangjawa",
        "jenis_kegiatan": "PKTD",
        "tahun_anggaran": 2026,
        "tanggal_mulai": "2026-01-02",
        "tanggal_selesai": "2026-01-20",
        "peserta": [
            {
                "nik": f"32091247089{n:03d}{i:02d}",
                "nama": "SITI AMINAH",
                "jenis_kelamin": "P",
                "usia": 36,
                "peran": "pekerja",
            }
            for i in range(1, participants + 1)
        ],  # fmt: skip
        "updated_at": "2026-01-05T14:03:22+07:00",
        "dibatalkan": False,
    }
    record.update(changes)
    return record


def write_kemendes(landing: Path, lines: list[str]) -> Path:
    path = landing / KEMENDES.delivery_path(DAY)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress("".join(line + "\n" for line in lines).encode("utf-8")))
    return path


def pmi_record(n: int, **changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id_pmi": f"PMI{n:010d}",
        "nik": f"32730145019{n:05d}",
        "nama": "SITI AMINAH",
        "jenis_kelamin": "P",
        "tempat_lahir": "BANDUNG",
        "tanggal_lahir": "1990-01-05",
        "kode_desa_asal": "32.73.01.1001",
        "negara_penempatan": "Hong Kong",
        "sektor": "Domestik",
        "skema": "P to P",
        "tanggal_berangkat": "2024-03-01",
        "tanggal_kembali": None,
        "status": "BEKERJA",
        "updated_at": "2026-01-05T09:00:00+07:00",
        "deleted": False,
    }
    record.update(changes)
    return record


# --------------------------------------------------------------------------- running a night


@dataclass
class Deployment:
    url: str
    landing: Path
    home: Path


@pytest.fixture
def deployment(fresh_database, tmp_path, monkeypatch) -> Deployment:
    landing = tmp_path / "landing"
    landing.mkdir()
    monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SINERGI_LANDING_DIR", str(landing))
    monkeypatch.setenv("SINERGI_SETTLE_SECONDS", "0")
    return Deployment(fresh_database, landing, tmp_path / "home")


@pytest.fixture(scope="module")
def corpus_database(postgres_admin_url: str) -> Iterator[str]:
    """One warehouse for the whole corpus table: creating and dropping a database per case
    cost more than the case itself (a checkpoint each, seconds under load)."""
    from sinergi.ingest.schema import ensure_schema
    from tests.conftest import _create_database, _drop_database, url_with_database

    name = _create_database(postgres_admin_url, "sinergi_test_corpus")
    try:
        url = url_with_database(postgres_admin_url, name)
        with psycopg.connect(url) as conn:
            ensure_schema(conn)
        yield url
    finally:
        _drop_database(postgres_admin_url, name)


@pytest.fixture
def corpus_deployment(corpus_database: str, tmp_path, monkeypatch) -> Deployment:
    """``deployment`` on the shared warehouse, emptied first: every table of ``raw`` and
    ``dq`` truncated (found from the catalog), ids restarted, so each case starts as a fresh
    warehouse's first night."""
    with psycopg.connect(corpus_database) as conn:
        tables = conn.execute(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('raw', 'dq') AND c.relkind IN ('r', 'p')"
        ).fetchall()
        conn.execute(f"TRUNCATE {', '.join(t for (t,) in tables)} RESTART IDENTITY CASCADE")
    landing = tmp_path / "landing"
    landing.mkdir()
    monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SINERGI_LANDING_DIR", str(landing))
    monkeypatch.setenv("SINERGI_SETTLE_SECONDS", "0")
    return Deployment(corpus_database, landing, tmp_path / "home")


@dataclass
class Night:
    """What one source's night ended as: the error a task would fail with, if any."""

    error: str | None
    result: dict | None = None


def run_night(spec: SourceSpec, url: str, day: date = DAY, conn_id: str = "kp2mi_api") -> Night:
    """The ingest DAG's steps for one night, as its tasks call them (past every deadline)."""
    from sinergi.ingest import nightly

    try:
        night = nightly.plan(spec, datetime.combine(day, time(2), WIB), url)
        assert night["expected"], night
        if spec.kind == "api":
            delivery = nightly.extract_api(spec, night, conn_id)
        else:
            delivery = nightly.poke_file_drop(spec, night, url, now=AFTER_EVERY_DEADLINE)
            assert delivery is not None
        batch = nightly.load(spec, nightly.land(spec, delivery, url), url)
        return Night(None, nightly.validate(spec, batch, url))
    except nightly.NotRetryable as error:
        return Night(str(error))


def query(url: str, statement: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(statement, params).fetchall()


def night_batches(url: str, source: str, day: date = DAY) -> list[dict]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(
            "SELECT * FROM dq.batch WHERE source_system = %s AND logical_date = %s "
            "ORDER BY batch_id",
            (source, day),
        ).fetchall()


def quarantine(url: str, batch_id: int) -> list[tuple]:
    return query(
        url,
        "SELECT source_row_number, reason_code, reason_detail, source_record_id, raw_record "
        "FROM dq.quarantine WHERE batch_id = %s ORDER BY source_row_number, reason_code",
        batch_id,
    )


def assert_nothing_lost(url: str, batch: dict) -> None:
    """Counts add up, and match what raw and quarantine hold for the batch."""
    received, loaded, quarantined = (
        batch["rows_received"],
        batch["rows_loaded"],
        batch["rows_quarantined"],
    )
    assert received == loaded + quarantined, batch
    in_raw = query(
        url, f"SELECT count(*) FROM raw.{batch['source_system']} WHERE _batch_id = %s",
        batch["batch_id"],
    )[0][0]  # fmt: skip
    in_quarantine = query(
        url, "SELECT count(*) FROM dq.quarantine WHERE batch_id = %s", batch["batch_id"]
    )[0][0]
    assert (in_raw, in_quarantine) == (loaded, quarantined), batch


def assert_archived(
    deployment: Deployment, source: str, delivered: bytes, name: str, day: date = DAY
) -> None:
    """The archive holds the delivery's exact bytes under its sha256."""
    sha = hashlib.sha256(delivered).hexdigest()
    path = deployment.home / "archive" / source / day.isoformat() / sha / name
    assert path.is_file(), f"not archived: {path}"
    assert path.read_bytes() == delivered


# --------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Case:
    """One bad delivery and what must come of it.

    ``write`` puts the delivery in the landing dir and returns the bytes the archive must
    hold (None: the delivery is incomplete, so it is not archived). ``quarantined``: the
    rows that must be in ``dq.quarantine`` as (row number, reason code, words of the detail).
    ``loaded_check``: SQL returning one value that must be true after loading.
    ``not_in_reason``: words the verdict's sentence must not contain (a person's data).
    """

    source: SourceSpec
    write: Callable[[Path], bytes | None]
    verdict: str
    reason_words: tuple[str, ...] = ()
    quarantined: tuple[tuple[int, str, tuple[str, ...]], ...] = ()
    loaded_check: str | None = None
    rows_received: int | None = None
    not_in_reason: tuple[str, ...] = ()


def _umkm(rows: list[dict[str, str]], **kwargs) -> Callable[[Path], bytes]:
    def write(landing: Path) -> bytes:
        data = umkm_bytes(rows, **kwargs)
        write_umkm(landing, data)
        return data

    return write


def _umkm_raw(text_rows: list[str], ok_rows: int | None = None) -> Callable[[Path], bytes]:
    """UMKM lines written as given (after a valid header), for damage csv would not write."""

    def write(landing: Path) -> bytes:
        header = ";".join(EXPECTED_COLUMNS_BY_SOURCE[UMKM.name])
        data = ("\ufeff" + header + "\r\n" + "".join(r + "\r\n" for r in text_rows)).encode()
        write_umkm(landing, data, rows=ok_rows if ok_rows is not None else len(text_rows))
        return data

    return write


def _line(row: dict[str, str]) -> str:
    return ";".join(row[name] for name in EXPECTED_COLUMNS_BY_SOURCE[UMKM.name])


def _kemenkop(text: str) -> Callable[[Path], bytes]:
    def write(landing: Path) -> bytes:
        data = gzip.compress(text.encode("utf-8"), mtime=0)
        write_kemenkop(landing, data)
        return data

    return write


def _kemendes(lines: list[str]) -> Callable[[Path], bytes]:
    def write(landing: Path) -> bytes:
        return write_kemendes(landing, lines).read_bytes()

    return write


def _umkm_ok_disagrees_sha(landing: Path) -> None:
    data = umkm_bytes([umkm_row(1), umkm_row(2)])
    path = write_umkm(landing, data)
    path.with_name(path.name + ".ok").write_text(f"rows=2\nsha256={'0' * 64}\n")


def _umkm_without_ok(landing: Path) -> None:
    write_umkm(landing, umkm_bytes([umkm_row(1)]), ok=False)


def _umkm_ok_malformed(landing: Path) -> None:
    path = write_umkm(landing, umkm_bytes([umkm_row(1)]))
    path.with_name(path.name + ".ok").write_text("rows=1\n")  # half-written: no sha256 line


def _umkm_ok_disagrees_rows(landing: Path) -> bytes:
    data = umkm_bytes([umkm_row(1), umkm_row(2), umkm_row(3)])
    write_umkm(landing, data, rows=5)
    return data


UMKM_FILE = "umkm/umkm_penerima_20260105.csv"
KEMENKOP_FILE = "kemenkop/anggota_koperasi_20260105.csv.gz"
KEMENDES_FILE = "kemendes/kegiatan_desa_20260105.jsonl.gz"
HOSTILE = "'); DROP TABLE raw.umkm_penerima; -- <script>alert('x')</script> <b onmouseover=x>"
MEGABYTE = "W" * (1024 * 1024)
UMKM_HEADER = list(EXPECTED_COLUMNS_BY_SOURCE[UMKM.name])
KEMENKOP_HEADER = list(EXPECTED_COLUMNS_BY_SOURCE[KEMENKOP.name])


def _kemenkop_line(n: int, nama_koperasi_raw: str) -> str:
    row = kemenkop_row(n)
    fields = [row[c] for c in KEMENKOP_HEADER]
    fields[1] = nama_koperasi_raw
    return ",".join(fields)


CASES: dict[str, Case] = {
    # --- header drift: extra and missing columns fail the batch, naming the column
    "umkm-extra-column": Case(
        UMKM,
        _umkm([umkm_row(1, EMAIL="a@b.c")], header=[*UMKM_HEADER, "EMAIL"]),
        "failed",
        (UMKM.name, UMKM_FILE, "unexpected 'EMAIL'", "expected 16"),
    ),
    "umkm-missing-column": Case(
        UMKM,
        _umkm([umkm_row(1)], header=[c for c in UMKM_HEADER if c != "NIB"]),
        "failed",
        (UMKM.name, UMKM_FILE, "missing 'NIB'", "expected 16"),
    ),
    "kemenkop-missing-column": Case(
        KEMENKOP,
        _kemenkop(kemenkop_text([kemenkop_row(1)], header=KEMENKOP_HEADER[:-1])),
        "failed",
        (KEMENKOP.name, KEMENKOP_FILE, "missing 'tanggal_pinjaman'"),
    ),
    # --- a row with extra or missing fields under a good header: that row only
    "kemenkop-row-with-missing-fields": Case(
        KEMENKOP,
        _kemenkop(kemenkop_text([kemenkop_row(1), kemenkop_row(2)]) + "320901234567,SHORT\n"),
        "warned",
        quarantined=((4, "unreadable_row", ("line 4 has 2 fields, expected 15",)),),
        rows_received=3,
    ),
    "umkm-row-with-10000-columns": Case(
        UMKM,
        _umkm_raw([_line(umkm_row(1)), ";".join(["x"] * 10_000), _line(umkm_row(2))]),
        "warned",
        quarantined=((3, "unreadable_row", ("line 3 has 10000 fields, expected 16",)),),
        rows_received=3,
    ),
    # --- a 1 MB field loads verbatim
    "umkm-1mb-field": Case(
        UMKM,
        _umkm([umkm_row(1, NAMA_USAHA=MEGABYTE), umkm_row(2)]),
        "passed",
        loaded_check=f"SELECT nama_usaha = '{MEGABYTE}' FROM raw.umkm_penerima "
        "WHERE id_penerima = 'UMKM-000000001'",
        rows_received=2,
    ),
    # --- quoting
    "umkm-unbalanced-quote": Case(
        UMKM,
        _umkm_raw(
            [_line(umkm_row(1)), _line(umkm_row(2, NAMA_USAHA='"WARUNG')), _line(umkm_row(3))]
        ),
        "failed",
        (
            UMKM.name,
            UMKM_FILE,
            "malformed CSV at line 4",
            "record that starts at line 3",
            "unbalanced quote",
        ),
    ),  # fmt: skip
    "kemenkop-quote-then-garbage": Case(
        KEMENKOP,
        _kemenkop(kemenkop_text([kemenkop_row(1)]) + _kemenkop_line(2, '"KOPERASI" X') + "\n"),
        "failed",
        (KEMENKOP.name, KEMENKOP_FILE, "malformed CSV at line 3", "quoting"),
    ),
    "umkm-stray-quote-inside-a-field": Case(
        UMKM,
        _umkm_raw([_line(umkm_row(1, NAMA_USAHA='WARUNG "SITI'))]),
        "passed",
        loaded_check="SELECT nama_usaha = 'WARUNG \"SITI' FROM raw.umkm_penerima",
        rows_received=1,
    ),
    # --- impossible dates and numbers: the row is quarantined, the rest loads
    "umkm-31-february": Case(
        UMKM,
        _umkm([umkm_row(1), umkm_row(2, TGL_MULAI="31/02/2026")]),
        "warned",
        quarantined=((3, "invalid_date", ("tgl_mulai", "real calendar date", "DD/MM/YYYY")),),
        rows_received=2,
    ),
    "kemenkop-30-february": Case(
        KEMENKOP,
        _kemenkop(kemenkop_text([kemenkop_row(1, tanggal_masuk="20250230"), kemenkop_row(2)])),
        "warned",
        quarantined=((2, "invalid_date", ("tanggal_masuk", "YYYYMMDD")),),
        rows_received=2,
    ),
    "umkm-number-1.2.3": Case(
        UMKM,
        _umkm([umkm_row(1, NILAI_RP="1.2.3"), umkm_row(2)]),
        "warned",
        quarantined=((2, "invalid_number", ("nilai_rp", "25.000.000")),),
        rows_received=2,
    ),
    "kemendes-age-1.2.3": Case(
        KEMENDES,
        _kemendes(
            [json.dumps(activity(1, participants=1)).replace('"usia": 36', '"usia": "1.2.3"')]
        ),
        "warned",
        quarantined=((1, "invalid_number", ("usia", "whole years")),),
        rows_received=1,
    ),  # fmt: skip
    # --- control characters and NUL bytes
    "umkm-control-characters": Case(
        UMKM,
        _umkm([umkm_row(1, NAMA_PENERIMA="SITI\x01\x07\x0b\x0c\x1b\x7f\u0085\u2028AMINAH")]),
        "passed",
        loaded_check="SELECT nama_penerima = "
        "E'SITI\\x01\\x07\\x0b\\x0c\\x1b\\x7f' || chr(133) || chr(8232) || 'AMINAH' "
        "FROM raw.umkm_penerima",
        rows_received=1,
    ),
    "umkm-nul-byte": Case(
        UMKM,
        _umkm([umkm_row(1), umkm_row(2, NAMA_PENERIMA="SITI\x00AMINAH")]),
        "warned",
        quarantined=((3, "nul_byte", ("NAMA_PENERIMA", "NUL byte", "archive")),),
        rows_received=2,
    ),
    "umkm-bare-carriage-return-in-a-field": Case(
        UMKM,
        _umkm_raw(
            [_line(umkm_row(1)), _line(umkm_row(2, NAMA_USAHA="WARUNG\rSITI")), _line(umkm_row(3))]
        ),
        "warned",
        quarantined=((3, "unreadable_row", ("line 3", "line break (CR)", "quoted")),),
        rows_received=3,
    ),  # fmt: skip
    "kemendes-nul-escape": Case(
        KEMENDES,
        _kemendes([json.dumps(activity(1, participants=1, nama_desa="Sindang\u0000jawa"))]),
        "warned",
        quarantined=((1, "nul_byte", ("nama_desa", "NUL byte")),),
        rows_received=1,
    ),
    # --- SQL and HTML in text fields: stored verbatim, never executed or rendered
    "umkm-sql-and-html": Case(
        UMKM,
        _umkm([umkm_row(1, NAMA_PENERIMA=HOSTILE, NAMA_USAHA="<iframe src=//x>")]),
        "passed",
        loaded_check="SELECT nama_penerima = "
        + "'"
        + HOSTILE.replace("'", "''")
        + "' AND nama_usaha = '<iframe src=//x>' FROM raw.umkm_penerima",
        rows_received=1,
    ),
    "kemendes-sql-and-html": Case(
        KEMENDES,
        _kemendes([json.dumps(activity(1, participants=1, nama_desa=HOSTILE))]),
        "passed",
        loaded_check="SELECT nama_desa = '" + HOSTILE.replace("'", "''") + "' "
        "FROM raw.kemendes_kegiatan",
        rows_received=1,
    ),
    # --- JSON bombs and malformed lines: that line only
    "kemendes-deeply-nested-line": Case(
        KEMENDES,
        _kemendes(
            [
                json.dumps(activity(1)),
                '{"id_kegiatan": "KD-2026-000002", "peserta": '
                + "[" * 200_000
                + "]" * 200_000
                + "}",
                json.dumps(activity(3)),
            ]
        ),
        "warned",
        quarantined=((2, "unreadable_row", ("line 2", "nested too deeply")),),
        rows_received=5,
    ),  # fmt: skip
    "kemendes-wide-line": Case(
        KEMENDES,
        _kemendes([json.dumps(activity(1, participants=1, peserta=[0] * 100_000))]),
        "warned",
        quarantined=((1, "unreadable_row", ("line 1", "participant 1", "expected an object")),),
        rows_received=1,
    ),
    "kemendes-unknown-field": Case(
        KEMENDES,
        _kemendes([json.dumps(activity(1, participants=1, anggaran_rp=5))]),
        "warned",
        quarantined=((1, "unreadable_row", ("line 1", "not in the contract", "anggaran_rp")),),
        rows_received=1,
    ),
    # --- UMKM control file
    "umkm-ok-missing": Case(
        UMKM,
        _umkm_without_ok,
        "incomplete",
        (UMKM.name, UMKM_FILE, ".ok is missing"),
    ),
    "umkm-ok-disagrees-sha256": Case(
        UMKM,
        _umkm_ok_disagrees_sha,
        "incomplete",
        (UMKM.name, UMKM_FILE, "sha256 of the CSV is", "0" * 64),
    ),
    "umkm-ok-malformed": Case(
        UMKM,
        _umkm_ok_malformed,
        "incomplete",
        (UMKM.name, UMKM_FILE, "malformed", "sha256"),
    ),
    "umkm-ok-disagrees-rows": Case(
        UMKM,
        _umkm_ok_disagrees_rows,
        "failed",
        (UMKM.name, UMKM_FILE, "the CSV has 3 data rows", "rows=5"),
    ),
}


# --------------------------------------------------------------------------- Parekraf and BPS

PAREKRAF = SOURCES["parekraf_pelatihan"]
BPS_WILAYAH = SOURCES["bps_wilayah"]
BPS_PENDUDUK = SOURCES["bps_penduduk"]
PAREKRAF_FILE = "parekraf/Peserta_Pelatihan_20260105.xlsx"
BPS_WILAYAH_FILE = "bps/master_wilayah_202601.csv"
BPS_PENDUDUK_FILE = "bps/penduduk_kabkota_2026.csv"
PAREKRAF_HEADER = list(EXPECTED_COLUMNS_BY_SOURCE[PAREKRAF.name])
BPS_WILAYAH_HEADER = list(EXPECTED_COLUMNS_BY_SOURCE[BPS_WILAYAH.name])
BPS_PENDUDUK_HEADER = list(EXPECTED_COLUMNS_BY_SOURCE[BPS_PENDUDUK.name])


def parekraf_row(n: int, **changes: object) -> dict[str, object]:
    """A valid Parekraf row as Excel cells (dates are date cells). ``changes`` by column name
    with ``_`` for spaces and slashes (``Tanggal_Mulai``, ``Kabupaten_Kota``)."""
    row: dict[str, object] = {
        "No": n,
        "ID Peserta": f"PRK-{n:08d}",
        "Nama Lengkap": "Siti Aminah, S.Pd.",
        "NIK": f"32091247089{n:05d}",
        "Jenis Kelamin": "Perempuan",
        "Tanggal Lahir": date(1990, 8, 7),
        "Provinsi": "Jawa Barat",
        "Kabupaten/Kota": "Kab. Cirebon",
        "Nama Pelatihan": "Pelatihan Kuliner Nusantara",
        "Kategori": "Kuliner",
        "Tanggal Mulai": date(2026, 1, 2),
        "Tanggal Selesai": date(2026, 1, 4),
        "Status": "Lulus",
        "Terakhir Diubah": datetime(2026, 1, 5, 9, 30, 15),
    }
    by_key = {name.replace(" ", "_").replace("/", "_"): name for name in row}
    row.update({by_key[key]: value for key, value in changes.items()})
    return row


def parekraf_workbook(
    rows: list[dict[str, object] | list[object] | None],
    *,
    header: list[str] | None = None,
    header_row: int = 4,
    footer: list[object] | None = None,
    sheet: str = "Peserta",
    tweak: Callable[[Any], None] | None = None,
) -> bytes:
    """The workbook as SOURCES.md lays it out: title, ``Periode``, an empty row, the header on
    row 4, data, a ``Jumlah`` footer with the count (``footer`` replaces it, ``[]`` leaves it
    out). A row is a dict (by column), a list (the cells as given) or None (an empty row,
    not counted). ``tweak`` receives the openpyxl workbook to damage it further."""
    from openpyxl import Workbook

    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    worksheet.cell(1, 1, "DATA PESERTA PELATIHAN KEMENTERIAN PARIWISATA DAN EKONOMI KREATIF")
    worksheet.cell(2, 1, "Periode: 5 Januari 2026")
    for column, name in enumerate(header if header is not None else PAREKRAF_HEADER, start=1):
        worksheet.cell(header_row, column, name)
    count = sum(row is not None for row in rows)
    body = [*rows, ["Jumlah", count] if footer is None else footer]
    for offset, row in enumerate(body, start=1):
        cells = [row.get(name) for name in PAREKRAF_HEADER] if isinstance(row, dict) else row
        for column, value in enumerate(cells or [], start=1):
            cell = worksheet.cell(header_row + offset, column, value)
            if isinstance(value, datetime):
                cell.number_format = "dd/mm/yyyy hh:mm:ss"
            elif isinstance(value, date):
                cell.number_format = "dd/mm/yyyy"
    if tweak is not None:
        tweak(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def night_of(spec: SourceSpec) -> date:
    """The night a case runs: ``DAY``, or for BPS and the IDM a night their reference files are
    due on (so that the re-run of the night is due too: only a first night takes them on any
    day)."""
    if spec.name == "kemendes_idm":
        return IDM_DAY
    return BPS_DAY if spec.ministry == "BPS" else DAY


def _delivery(spec: SourceSpec, make: Callable[[], bytes]) -> Callable[[Path], bytes]:
    """A file source's delivery: ``make()``'s bytes at the night's path (archived as such)."""

    def write(landing: Path) -> bytes:
        data = make()
        path = landing / spec.delivery_path(night_of(spec))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return data

    return write


def _parekraf(rows: list, **kwargs) -> Callable[[Path], bytes]:
    return _delivery(PAREKRAF, lambda: parekraf_workbook(rows, **kwargs))


def _zero_bytes(spec: SourceSpec) -> Callable[[Path], None]:
    def write(landing: Path) -> None:
        _delivery(spec, bytes)(landing)  # incomplete: never archived

    return write


PAREKRAF_ROWS = [parekraf_row(1), parekraf_row(2), parekraf_row(3)]


def _workbook_cut_off() -> bytes:
    """The first two thirds of a good workbook: a transfer that stopped (no zip directory)."""
    data = parekraf_workbook(PAREKRAF_ROWS)
    return data[: len(data) * 2 // 3]


def rewrite_sheet(workbook: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """The workbook with its sheet's XML changed: what openpyxl would not write."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = change(content)
            target.writestr(info.filename, content)
    return out.getvalue()


def _sheet_xml_cut_off() -> bytes:
    """A sound zip whose sheet XML stops inside row 7 (a writer that died midway): openpyxl
    streams the sheet, so the damage shows only after rows 5 and 6 were read."""
    return rewrite_sheet(
        parekraf_workbook(PAREKRAF_ROWS), lambda xml: xml[: xml.index(b'<row r="7"') + 40]
    )


def _megabyte_cell() -> bytes:
    """Excel stops a cell at 32,767 characters (and so does openpyxl's writer); another
    program's export need not: a 1 MiB cell written into the sheet's XML directly."""
    workbook = parekraf_workbook([parekraf_row(1, Nama_Pelatihan="BIG"), parekraf_row(2)])
    return rewrite_sheet(workbook, lambda xml: xml.replace(b">BIG<", f">{MEGABYTE}<".encode()))


# An .xls (Excel 97-2003) and a password-protected workbook are both OLE2 compound files:
# the signature and an empty header sector are all it takes to be recognised as one.
OLE2_FILE = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504)
CSV_AS_XLSX = b"No;ID Peserta;Nama Lengkap;NIK\r\n1;PRK-00000001;Siti Aminah;3209124708900001\r\n"


def _merge_title_and_a_category(workbook) -> None:
    sheet = workbook["Peserta"]
    sheet.merge_cells("A1:N1")  # the title across the table: how ministries lay it out
    sheet.merge_cells("J5:J6")  # Kategori of rows 5 and 6 as one cell: Excel keeps it in J5


def _two_more_sheets(workbook) -> None:
    summary = workbook.create_sheet("Rekap", 0)  # before Peserta: the first sheet is not it
    summary.append(["Kategori", "Jumlah"])
    summary.append(["Kuliner", 2])
    workbook.create_sheet("Lampiran").append(["Catatan: data sementara"])


def _date_format_on_l8(workbook) -> None:
    workbook["Peserta"]["L8"].number_format = "dd/mm/yyyy"  # 99999999 days: no such date


def _rows_below_the_footer(workbook) -> None:
    sheet = workbook["Peserta"]
    for column, value in enumerate(parekraf_row(3).values(), start=1):
        sheet.cell(8, column, value)
    sheet.cell(10, 1, "Jakarta, 5 Januari 2026")


def wilayah_row(
    kode: str, kemendagri: str, nama: str, tingkat: str, induk: str, **changes: str
) -> dict[str, str]:
    row = {
        "kode_bps": kode,
        "kode_kemendagri": kemendagri,
        "nama_wilayah": nama,
        "tingkat": tingkat,
        "kode_bps_induk": induk,
        "berlaku_sejak": "2020-01-01",
        "berlaku_sampai": "",
        "kode_bps_pengganti": "",
    }
    row.update(changes)
    return row


PROVINCE = wilayah_row("32", "32", "JAWA BARAT", "PROVINSI", "")
REGENCY = wilayah_row("3209", "32.09", "KABUPATEN CIREBON", "KABUPATEN", "32")
DISTRICT = wilayah_row("3209120", "32.09.12", "SUMBER", "KECAMATAN", "3209")
VILLAGE = wilayah_row("3209120005", "32.09.12.2005", "SINDANGJAWA", "DESA", "3209120")
WILAYAH = [PROVINCE, REGENCY, DISTRICT, VILLAGE]


def bps_text(
    rows: list[dict[str, str]], header: list[str], delimiter: str = ",", newline: str = "\n"
) -> str:
    """UTF-8 text, ',' and a header as SOURCES.md says (not yet encoded)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    writer.writerows([[row.get(name, "") for name in header] for row in rows])
    return buffer.getvalue()


def _wilayah(rows: list[dict[str, str]], header: list[str] | None = None, **kwargs):
    text = bps_text(rows, header or BPS_WILAYAH_HEADER, **kwargs)
    return _delivery(BPS_WILAYAH, lambda: text.encode("utf-8"))


def _wilayah_text(text: str, encoding: str = "utf-8") -> Callable[[Path], bytes]:
    return _delivery(BPS_WILAYAH, lambda: text.encode(encoding))


def penduduk_row(kode: str, **changes: str) -> dict[str, str]:
    row = {
        "kode_bps": kode,
        "tahun": "2026",
        "jumlah_penduduk": "2270621",
        "penduduk_usia_kerja": "1702966",
    }
    row.update(changes)
    return row


def _penduduk(rows: list[dict[str, str]], header: list[str] | None = None):
    text = bps_text(rows, header or BPS_PENDUDUK_HEADER)
    return _delivery(BPS_PENDUDUK, lambda: text.encode("utf-8"))


CASES.update(
    {
        # --- Parekraf: files that are not a readable .xlsx fail the night, saying what they are
        "parekraf-0-byte-file": Case(
            PAREKRAF, _zero_bytes(PAREKRAF), "incomplete",
            (PAREKRAF.name, PAREKRAF_FILE, "empty (0 bytes)"),
        ),
        "parekraf-xlsx-cut-off": Case(
            PAREKRAF, _delivery(PAREKRAF, _workbook_cut_off), "failed",
            (PAREKRAF.name, PAREKRAF_FILE, "cannot open as an Excel .xlsx workbook",
             "damaged zip archive", "cut off in transfer"),
        ),
        "parekraf-sheet-xml-cut-off": Case(
            PAREKRAF, _delivery(PAREKRAF, _sheet_xml_cut_off), "failed",
            (PAREKRAF.name, PAREKRAF_FILE, "sheet 'Peserta' cannot be read after row 6",
             "damaged"),
        ),
        "parekraf-csv-renamed-xlsx": Case(
            PAREKRAF, _delivery(PAREKRAF, lambda: CSV_AS_XLSX), "failed",
            (PAREKRAF.name, PAREKRAF_FILE, "it is a text file", "not a workbook"),
            not_in_reason=("Siti", "3209124708900001"),
        ),
        "parekraf-xls-or-password-protected": Case(
            PAREKRAF, _delivery(PAREKRAF, lambda: OLE2_FILE), "failed",
            (PAREKRAF.name, PAREKRAF_FILE, "OLE2 compound file", ".xls", "password-protected"),
        ),
        # --- Parekraf: the layout drifts
        "parekraf-header-shifted": Case(
            PAREKRAF, _parekraf(PAREKRAF_ROWS[:1], header_row=5), "failed",
            (PAREKRAF.name, PAREKRAF_FILE, "header is on row 5, expected row 4"),
        ),
        "parekraf-header-missing": Case(
            PAREKRAF, _parekraf(PAREKRAF_ROWS[:2], header=[], header_row=3), "failed",
            (PAREKRAF.name, PAREKRAF_FILE, "header (row 4) has none of the contract's column",
             "is the header missing?"),
            not_in_reason=("Siti", "3209124708900001", "PRK-00000001", "1990"),
        ),
        "parekraf-extra-column": Case(
            PAREKRAF,
            _parekraf([[*parekraf_row(1).values(), "siti@example.id"]],
                      header=[*PAREKRAF_HEADER, "Email"]),
            "failed",
            (PAREKRAF.name, PAREKRAF_FILE, "header (row 4) does not match the contract",
             "unexpected 'Email'", "expected 14"),
        ),
        "parekraf-missing-column": Case(
            PAREKRAF,
            _parekraf(PAREKRAF_ROWS[:1], header=[c for c in PAREKRAF_HEADER if c != "NIK"]),
            "failed",
            (PAREKRAF.name, PAREKRAF_FILE, "missing 'NIK'", "expected 14"),
        ),
        "parekraf-sheet-renamed": Case(
            PAREKRAF, _parekraf(PAREKRAF_ROWS[:1], sheet="Sheet1"), "failed",
            (PAREKRAF.name, PAREKRAF_FILE, "no sheet 'Peserta'; the workbook has 'Sheet1'"),
        ),
        "parekraf-other-sheets": Case(
            PAREKRAF, _parekraf(PAREKRAF_ROWS[:2], tweak=_two_more_sheets), "passed",
            loaded_check="SELECT count(*) = 2 FROM raw.parekraf_pelatihan",
            rows_received=2,
        ),
        "parekraf-empty-row-and-merged-cells": Case(
            PAREKRAF,
            _parekraf([parekraf_row(1), parekraf_row(2), None, parekraf_row(3)],
                      tweak=_merge_title_and_a_category),
            "passed",
            loaded_check="SELECT array_agg(_source_row_number ORDER BY 1) = '{5,6,8}' "
            "AND bool_and((kategori IS NULL) = (_source_row_number = 6)) "
            "FROM raw.parekraf_pelatihan",
            rows_received=3,
        ),
        "parekraf-footer-missing": Case(
            PAREKRAF, _parekraf(PAREKRAF_ROWS[:2], footer=[]), "failed",
            (PAREKRAF.name, PAREKRAF_FILE, "no 'Jumlah' footer row", "up to row 6", "cut off"),
        ),
        "parekraf-footer-count-disagrees": Case(
            PAREKRAF, _parekraf(PAREKRAF_ROWS[:2], footer=["Jumlah", 3]), "failed",
            (PAREKRAF.name, PAREKRAF_FILE, "footer on row 7 says Jumlah 3 but 2 data rows"),
        ),
        "parekraf-values-beyond-the-header": Case(
            PAREKRAF,
            _parekraf([parekraf_row(1), [*parekraf_row(2).values(), None, "catatan"],
                       parekraf_row(3)]),
            "warned",
            quarantined=((6, "unreadable_row", ("row 6", "beyond the 14 header columns")),),
            rows_received=3,
        ),
        "parekraf-rows-below-the-footer": Case(
            PAREKRAF, _parekraf(PAREKRAF_ROWS[:2], tweak=_rows_below_the_footer), "warned",
            quarantined=(
                (8, "unreadable_row", ("row 8 is below the 'Jumlah' footer (row 7)",)),
                (10, "unreadable_row", ("row 10 is below the 'Jumlah' footer",)),
            ),
            rows_received=4,
        ),
        # --- Parekraf: cells Excel shows as errors or dates it cannot have
        "parekraf-error-cells": Case(
            PAREKRAF,
            _parekraf(
                [parekraf_row(1, Tanggal_Mulai="#REF!"), parekraf_row(2, NIK="#N/A"),
                 parekraf_row(3, Kategori="#VALUE!"), parekraf_row(4, Tanggal_Selesai=99999999)],
                tweak=_date_format_on_l8,
            ),
            "warned",
            quarantined=(
                (5, "invalid_date", ("tanggal_mulai", "real calendar date")),
                (7, "unknown_code", ("kategori", "Kuliner")),
                (8, "invalid_date", ("tanggal_selesai",)),
            ),
            rows_received=4,
        ),
        "parekraf-31-february-as-text": Case(
            PAREKRAF,
            _parekraf([parekraf_row(1, Tanggal_Lahir="31-02-1990"),
                       parekraf_row(2, Tanggal_Mulai="31/02/2026"),
                       parekraf_row(3, Tanggal_Mulai=46024),  # a date cell that lost its format
                       parekraf_row(4)]),
            "warned",
            quarantined=(
                (5, "invalid_date", ("tanggal_lahir", "real calendar date", "DD-MM-YYYY")),
                (6, "invalid_date", ("tanggal_mulai", "YYYY-MM-DD")),
                (7, "invalid_date", ("tanggal_mulai",)),
            ),
            rows_received=4,
        ),
        # --- Parekraf: what a cell can hold
        "parekraf-1mb-cell": Case(
            PAREKRAF, _delivery(PAREKRAF, _megabyte_cell), "passed",
            loaded_check=f"SELECT nama_pelatihan = '{MEGABYTE}' FROM raw.parekraf_pelatihan "
            "WHERE id_peserta = 'PRK-00000001'",
            rows_received=2,
        ),
        "parekraf-control-characters": Case(
            PAREKRAF,
            # XML cannot hold most control characters: Excel writes them as _xHHHH_.
            _parekraf([parekraf_row(1, Nama_Lengkap="Siti_x0001__x0007__x000B__x000D__x001B_"
                                    "\t\n\x7f\u0085\u2028_x005F_x0041_Aminah")]),
            "passed",
            loaded_check="SELECT nama_lengkap = E'Siti\\x01\\x07\\x0b\\r\\x1b\\t\\n\\x7f' "
            "|| chr(133) || chr(8232) || '_x0041_Aminah' FROM raw.parekraf_pelatihan",
            rows_received=1,
        ),
        "parekraf-nul-escape": Case(
            PAREKRAF,
            _parekraf([parekraf_row(1), parekraf_row(2, Nama_Lengkap="Siti_x0000_Aminah")]),
            "warned",
            quarantined=((6, "nul_byte", ("Nama Lengkap", "NUL byte", "archive")),),
            rows_received=2,
        ),
        "parekraf-sql-and-html": Case(
            PAREKRAF,
            _parekraf([parekraf_row(1, Nama_Lengkap=HOSTILE, Nama_Pelatihan="<iframe src=//x>")]),
            "passed",
            loaded_check="SELECT nama_lengkap = '" + HOSTILE.replace("'", "''") + "' "
            "AND nama_pelatihan = '<iframe src=//x>' FROM raw.parekraf_pelatihan",
            rows_received=1,
        ),
        # --- BPS region master: the file
        "bps-wilayah-0-byte-file": Case(
            BPS_WILAYAH, _zero_bytes(BPS_WILAYAH), "incomplete",
            (BPS_WILAYAH.name, BPS_WILAYAH_FILE, "empty (0 bytes)"),
        ),
        "bps-wilayah-semicolon-delimiter": Case(
            BPS_WILAYAH, _wilayah(WILAYAH, delimiter=";"), "failed",
            (BPS_WILAYAH.name, BPS_WILAYAH_FILE, "header has 1 column (it contains ';')",
             "expected 8 separated by ','", "delimiter"),
        ),
        "bps-wilayah-windows-1252": Case(
            BPS_WILAYAH,
            _wilayah_text(bps_text([*WILAYAH[:2], {**DISTRICT, "nama_wilayah": "SUMBER – KOTA"}],
                                   BPS_WILAYAH_HEADER), encoding="cp1252"),
            "failed",
            (BPS_WILAYAH.name, BPS_WILAYAH_FILE, "not UTF-8: byte 0x96", "(line 4)",
             "the contract says UTF-8"),
        ),
        "bps-wilayah-bom-and-crlf": Case(
            BPS_WILAYAH,
            _wilayah_text("\ufeff" + bps_text(WILAYAH, BPS_WILAYAH_HEADER, newline="\r\n")),
            "passed",
            loaded_check="SELECT array_agg(kode_bps ORDER BY 1) = '{32,3209,3209120,3209120005}' "
            "FROM raw.bps_wilayah",
            rows_received=4,
        ),
        "bps-wilayah-cut-off-mid-row": Case(
            BPS_WILAYAH,
            _wilayah_text(bps_text(WILAYAH, BPS_WILAYAH_HEADER).rstrip("\n").rsplit(",", 6)[0]),
            "warned",
            quarantined=((5, "unreadable_row", ("line 5 has 2 fields, expected 8",)),),
            rows_received=4,
        ),
        # --- BPS region master: header drift
        "bps-wilayah-renamed-column": Case(
            BPS_WILAYAH,
            _wilayah(WILAYAH, header=["kode_wilayah", *BPS_WILAYAH_HEADER[1:]]),
            "failed",
            (BPS_WILAYAH.name, BPS_WILAYAH_FILE, "missing 'kode_bps'", "unexpected 'kode_wilayah'"),
        ),
        "bps-wilayah-extra-column": Case(
            BPS_WILAYAH, _wilayah(WILAYAH, header=[*BPS_WILAYAH_HEADER, "luas_km2"]), "failed",
            (BPS_WILAYAH.name, BPS_WILAYAH_FILE, "unexpected 'luas_km2'", "expected 8"),
        ),
        "bps-wilayah-header-missing": Case(
            BPS_WILAYAH, _wilayah_text(bps_text(WILAYAH, BPS_WILAYAH_HEADER).split("\n", 1)[1]),
            "failed",
            (BPS_WILAYAH.name, BPS_WILAYAH_FILE, "header has none of the contract's column names",
             "is the header missing?"),
            not_in_reason=("JAWA BARAT",),
        ),
        # --- BPS region master: the rows
        "bps-wilayah-duplicate-code": Case(
            BPS_WILAYAH,
            _wilayah([*WILAYAH, {**VILLAGE, "nama_wilayah": "SINDANG JAWA"},
                      {**VILLAGE, "berlaku_sejak": "1999-01-01", "berlaku_sampai": "2019-12-31",
                       "kode_bps_pengganti": "3209120005"}]),
            "warned",
            quarantined=(
                (5, "duplicate_id", ("kode_bps + berlaku_sejak identifies one row",)),
                (6, "duplicate_id", ("kode_bps + berlaku_sejak identifies one row",)),
            ),
            rows_received=6,
        ),
        "bps-wilayah-31-february-and-unknown-level": Case(
            BPS_WILAYAH,
            _wilayah([*WILAYAH[:3], {**VILLAGE, "berlaku_sejak": "2026-02-31"},
                      wilayah_row("3209120006", "32.09.12.2006", "BLOK SABTU", "DUSUN",
                                  "3209120")]),
            "warned",
            quarantined=(
                (5, "invalid_date", ("berlaku_sejak", "YYYY-MM-DD")),
                (6, "unknown_code", ("tingkat", "KELURAHAN")),
            ),
            rows_received=5,
        ),
        "bps-wilayah-code-of-wrong-length": Case(
            BPS_WILAYAH,
            _wilayah([*WILAYAH, wilayah_row("320912007", "32.09.12.2007", "SUMBER KIDUL",
                                            "DESA", "3209120")]),
            "warned",
            quarantined=((6, "invalid_region_code", ("kode_bps", "tingkat")),),
            rows_received=5,
        ),
        "bps-wilayah-province-row-missing": Case(
            BPS_WILAYAH, _wilayah(WILAYAH[1:]),
            "passed",  # flagged, not quarantined: the regencies themselves are sound
            ("unknown_parent_region", "kode_bps_induk_in_delivery"),
            loaded_check="SELECT count(*) = 3 AND bool_or(kode_bps_induk = '32') "
            "AND NOT bool_or(tingkat = 'PROVINSI') FROM raw.bps_wilayah",
            rows_received=3,
        ),
        "bps-wilayah-sql-and-html": Case(
            BPS_WILAYAH, _wilayah([*WILAYAH[:3], {**VILLAGE, "nama_wilayah": HOSTILE}]), "passed",
            loaded_check="SELECT nama_wilayah = '" + HOSTILE.replace("'", "''") + "' "
            "FROM raw.bps_wilayah WHERE kode_bps = '3209120005'",
            rows_received=4,
        ),
        # --- BPS population per regency
        "bps-penduduk-missing-column": Case(
            BPS_PENDUDUK,
            _penduduk([penduduk_row("3209")], header=BPS_PENDUDUK_HEADER[:-1]),
            "failed",
            (BPS_PENDUDUK.name, BPS_PENDUDUK_FILE, "missing 'penduduk_usia_kerja'"),
        ),
        "bps-penduduk-duplicate-regency": Case(
            BPS_PENDUDUK,
            _penduduk([penduduk_row("3209"), penduduk_row("3273"),
                       penduduk_row("3209", jumlah_penduduk="2270622")]),
            "warned",
            quarantined=(
                (2, "duplicate_id", ("kode_bps identifies one row",)),
                (4, "duplicate_id", ("kode_bps identifies one row",)),
            ),
            rows_received=3,
        ),
        "bps-penduduk-number-1.2.3": Case(
            BPS_PENDUDUK,
            _penduduk([penduduk_row("3209", jumlah_penduduk="1.2.3"),
                       penduduk_row("3273", penduduk_usia_kerja="1.702.966"),
                       penduduk_row("3274")]),
            "warned",
            quarantined=(
                (2, "invalid_number", ("jumlah_penduduk", "as digits")),
                (3, "invalid_number", ("penduduk_usia_kerja", "as digits")),
            ),
            rows_received=3,
        ),
    }
)  # fmt: skip


# --------------------------------------------------------------------------- Kemendes IDM

IDM = SOURCES["kemendes_idm"]
IDM_FILE = "kemendes/idm_2026.csv"
IDM_HEADER = list(EXPECTED_COLUMNS_BY_SOURCE[IDM.name])


def idm_row(kode: str, nama: str, skor: str, status: str, **changes: str) -> dict[str, str]:
    """A valid row of the 2026 index (the score in its status band), ``changes`` by column."""
    row = {"kode_desa": kode, "nama_desa": nama, "skor_idm": skor, "status_idm": status,
           "tahun": "2026"}  # fmt: skip
    row.update(changes)
    return row


IDM_ROWS = [
    idm_row("3209122005", "SINDANGJAWA", "0.7412", "MAJU"),
    idm_row("3209122006", "SINDANGKASIH", "0.6919", "BERKEMBANG"),
    idm_row("3209122007", "KEPUH", "0.8203", "MANDIRI"),
    idm_row("3209122008", "BLOK SABTU", "0.4711", "SANGAT TERTINGGAL"),
]


def _idm(rows: list[dict[str, str]], header: list[str] | None = None, **kwargs):
    text = bps_text(rows, header or IDM_HEADER, **kwargs)
    return _delivery(IDM, lambda: text.encode("utf-8"))


def _idm_text(text: str, encoding: str = "utf-8") -> Callable[[Path], bytes]:
    return _delivery(IDM, lambda: text.encode(encoding))


def _last_years_index(landing: Path) -> None:
    """On 1 July 2026 the ministry drops last year's file again, not 2026's: nothing due came."""
    path = landing / IDM.delivery_path(date(2026, 6, 30))  # kemendes/idm_2025.csv
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(bps_text([{**r, "tahun": "2025"} for r in IDM_ROWS], IDM_HEADER))


CASES.update(
    {
        # --- the file
        "idm-0-byte-file": Case(
            IDM, _zero_bytes(IDM), "incomplete", (IDM.name, IDM_FILE, "empty (0 bytes)"),
        ),
        "idm-last-years-file-on-1-july": Case(
            IDM, _last_years_index, "missing",
            (IDM.name, "no delivery kemendes/idm_2026.csv by 2026-07-02 06:00 WIB"),
        ),
        "idm-semicolon-and-decimal-comma": Case(
            # what Excel in an Indonesian locale saves as "CSV"
            IDM, _idm([{**r, "skor_idm": r["skor_idm"].replace(".", ",")} for r in IDM_ROWS],
                      delimiter=";"),
            "failed",
            (IDM.name, IDM_FILE, "header has 1 column (it contains ';')",
             "expected 5 separated by ','", "delimiter"),
        ),
        "idm-windows-1252": Case(
            IDM,
            _idm_text(bps_text([IDM_ROWS[0], {**IDM_ROWS[1], "nama_desa": "BATU\u2019ANA"}],
                               IDM_HEADER), encoding="cp1252"),
            "failed",
            (IDM.name, IDM_FILE, "not UTF-8: byte 0x92", "(line 3)", "the contract says UTF-8"),
        ),
        "idm-bom-and-crlf": Case(
            IDM, _idm_text("\ufeff" + bps_text(IDM_ROWS, IDM_HEADER, newline="\r\n")), "passed",
            loaded_check="SELECT array_agg(kode_desa ORDER BY kode_desa) = "
            "'{3209122005,3209122006,3209122007,3209122008}' AND bool_and(tahun = '2026') "
            "FROM raw.kemendes_idm",
            rows_received=4,
        ),
        "idm-cut-off-mid-row": Case(
            IDM, _idm_text(bps_text(IDM_ROWS, IDM_HEADER).rstrip("\n").rsplit(",", 3)[0]),
            "warned",
            quarantined=((5, "unreadable_row", ("line 5 has 2 fields, expected 5",)),),
            rows_received=4,
        ),
        "idm-unbalanced-quote": Case(
            IDM,
            _idm_text(bps_text(IDM_ROWS[:1], IDM_HEADER)
                      + '3209122006,"SINDANGKASIH,0.6919,BERKEMBANG,2026\n'
                      + "3209122007,KEPUH,0.8203,MANDIRI,2026\n"),
            "failed",
            (IDM.name, IDM_FILE, "malformed CSV at line 4", "record that starts at line 3",
             "unbalanced quote"),
        ),
        # --- header drift
        "idm-renamed-column": Case(
            IDM, _idm(IDM_ROWS, header=[*IDM_HEADER[:2], "nilai_idm", *IDM_HEADER[3:]]),
            "failed",
            (IDM.name, IDM_FILE, "missing 'skor_idm'", "unexpected 'nilai_idm'"),
        ),
        "idm-extra-columns": Case(
            # the index's three components, as Kemendes publishes them on its site
            IDM, _idm([{**r, "iks": "0.7", "ike": "0.6", "ikl": "0.8"} for r in IDM_ROWS],
                      header=[*IDM_HEADER[:2], "iks", "ike", "ikl", *IDM_HEADER[2:]]),
            "failed",
            (IDM.name, IDM_FILE, "unexpected 'iks', 'ike', 'ikl'", "expected 5"),
        ),
        "idm-missing-column": Case(
            IDM, _idm(IDM_ROWS, header=IDM_HEADER[:-1]), "failed",
            (IDM.name, IDM_FILE, "missing 'tahun'", "expected 5"),
        ),
        "idm-header-missing": Case(
            IDM, _idm_text(bps_text(IDM_ROWS, IDM_HEADER).split("\n", 1)[1]), "failed",
            (IDM.name, IDM_FILE, "header has none of the contract's column names",
             "is the header missing?"),
            not_in_reason=("SINDANGJAWA", "3209122005", "0.7412"),
        ),
        # --- the rows
        "idm-duplicate-or-missing-village-code": Case(
            IDM,
            _idm([*IDM_ROWS[:3], {**IDM_ROWS[3], "kode_desa": "3209122005"},
                  idm_row("", "KARANGSARI", "0.6502", "BERKEMBANG")]),
            "warned",
            quarantined=(
                (2, "duplicate_id", ("kode_desa identifies one row",)),
                (5, "duplicate_id", ("kode_desa identifies one row",)),
                (6, "missing_id", ("kode_desa",)),
            ),
            rows_received=5,
        ),
        "idm-score-1.2.3-and-decimal-comma": Case(
            IDM,
            _idm([{**IDM_ROWS[0], "skor_idm": "1.2.3"}, {**IDM_ROWS[1], "skor_idm": "0,6919"},
                  *IDM_ROWS[2:]]),
            "warned",
            quarantined=(
                (2, "invalid_number", ("skor_idm", "decimal point")),
                (3, "invalid_number", ("skor_idm", "decimal point")),
            ),
            rows_received=4,
        ),
        "idm-score-out-of-range": Case(
            IDM,
            _idm([{**IDM_ROWS[0], "skor_idm": "74.12"}, {**IDM_ROWS[1], "skor_idm": "1.6919"},
                  {**IDM_ROWS[2], "skor_idm": "1.0"}, IDM_ROWS[3]]),
            "warned",
            quarantined=(
                (2, "invalid_number", ("skor_idm", "from 0 to 1")),
                (3, "invalid_number", ("skor_idm", "from 0 to 1")),
            ),
            loaded_check="SELECT array_agg(skor_idm ORDER BY skor_idm) = '{0.4711,1.0}' "
            "FROM raw.kemendes_idm",
            rows_received=4,
        ),
        "idm-unknown-status": Case(
            IDM,
            _idm([{**IDM_ROWS[0], "status_idm": "Maju"},
                  {**IDM_ROWS[3], "status_idm": "SANGAT_TERTINGGAL"}, *IDM_ROWS[1:3]]),
            "warned",
            quarantined=(
                (2, "unknown_code", ("status_idm", "SANGAT TERTINGGAL")),
                (3, "unknown_code", ("status_idm", "SANGAT TERTINGGAL")),
            ),
            rows_received=4,
        ),
        "idm-year-not-the-files": Case(
            IDM,
            _idm([{**IDM_ROWS[0], "tahun": "2025"}, {**IDM_ROWS[1], "tahun": "2062"},
                  {**IDM_ROWS[2], "tahun": "26"}, IDM_ROWS[3]]),
            "warned",
            quarantined=(
                (2, "wrong_year", ("tahun is the year the file is named for", "idm_YYYY")),
                (3, "wrong_year", ("tahun is the year the file is named for",)),
                (4, "invalid_number", ("tahun", "4-digit year")),
            ),
            loaded_check="SELECT array_agg(tahun) = '{2026}' FROM raw.kemendes_idm",
            rows_received=4,
        ),
        # --- what a text field can hold
        "idm-sql-and-html": Case(
            IDM, _idm([{**IDM_ROWS[0], "nama_desa": HOSTILE}, *IDM_ROWS[1:]]), "passed",
            loaded_check="SELECT nama_desa = '" + HOSTILE.replace("'", "''") + "' "
            "FROM raw.kemendes_idm WHERE kode_desa = '3209122005'",
            rows_received=4,
        ),
        "idm-control-characters": Case(
            IDM,
            _idm([{**IDM_ROWS[0], "nama_desa": "SINDANG\x01\x07\x0b\x0c\x1b\x7f\u0085\u2028JAWA"},
                  *IDM_ROWS[1:]]),
            "passed",
            loaded_check="SELECT nama_desa = "
            "E'SINDANG\\x01\\x07\\x0b\\x0c\\x1b\\x7f' || chr(133) || chr(8232) || 'JAWA' "
            "FROM raw.kemendes_idm WHERE kode_desa = '3209122005'",
            rows_received=4,
        ),
        "idm-nul-byte": Case(
            IDM, _idm([IDM_ROWS[0], {**IDM_ROWS[1], "nama_desa": "SINDANG\x00KASIH"},
                       *IDM_ROWS[2:]]),
            "warned",
            quarantined=((3, "nul_byte", ("nama_desa", "NUL byte", "archive")),),
            rows_received=4,
        ),
    }
)  # fmt: skip


@pytest.mark.parametrize("case_id", sorted(CASES))
# parekraf-error-cells: openpyxl says so when it reads a date cell no calendar has.
@pytest.mark.filterwarnings("ignore:Cell .* is marked as a date:UserWarning")
def test_bad_delivery(corpus_deployment: Deployment, case_id: str) -> None:
    deployment = corpus_deployment
    case = CASES[case_id]
    source = case.source.name
    day = night_of(case.source)
    delivered = case.write(deployment.landing)

    night = run_night(case.source, deployment.url, day)

    (batch,) = night_batches(deployment.url, source, day)
    assert batch["verdict"] == case.verdict, (batch["verdict"], batch["verdict_reason"])
    reason = batch["verdict_reason"] or ""
    for word in case.reason_words:
        assert word in reason, (word, reason)
    for word in case.not_in_reason:
        assert word not in reason, (word, reason)
    if case.verdict in ("failed", "incomplete", "missing"):
        assert night.error is not None and reason in night.error, "the task fails with it"
        assert query(deployment.url, f"SELECT count(*) FROM raw.{source}")[0][0] == 0
    else:
        assert night.error is None and night.result["verdict"] == case.verdict
        assert_nothing_lost(deployment.url, batch)
    if case.rows_received is not None:
        assert batch["rows_received"] == case.rows_received, batch
    if case.verdict == "failed" and batch["rows_received"] is not None:
        assert batch["rows_received"] == batch["rows_loaded"] + batch["rows_quarantined"]

    found = quarantine(deployment.url, batch["batch_id"])
    assert [(row, code) for row, code, *_ in found] == [
        (row, code) for row, code, _ in case.quarantined
    ], found
    for (_, _, words), (_, _, detail, _, raw_record) in zip(case.quarantined, found, strict=True):
        for word in words:
            assert word in detail, (word, detail)
        assert raw_record, "the row's values (or its raw text) are kept for the steward"
    # Source, file and row of a quarantined row: its columns, and its batch's location.
    assert batch["location"] == case.source.delivery_path(day)
    if case.loaded_check:
        assert query(deployment.url, case.loaded_check) == [(True,)]

    name = Path(case.source.delivery_path(day)).name
    if delivered is not None:
        assert_archived(deployment, source, delivered, name, day)
        assert batch["content_sha256"] == hashlib.sha256(delivered).hexdigest()
    else:
        assert not (deployment.home / "archive" / source).exists(), "incomplete: not landed"
    # A re-run of the night records nothing new and gives the same answer.
    again = run_night(case.source, deployment.url, day)
    assert (again.error is None) == (night.error is None)
    assert len(night_batches(deployment.url, source, day)) == 1


# --------------------------------------------------------------------------- the KemenP2MI API

Page = tuple[int, str, bytes]  # status, content type, body


class ScriptedApi:
    """A KemenP2MI API on 127.0.0.1 whose answers a test scripts: ``script(page) -> Page``.

    Checks the bearer token as the real API does, and records every request's query."""

    def __init__(self, script: Callable[[int], Page]) -> None:
        self.script = script
        self.requests: list[dict[str, list[str]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                query = parse_qs(urlsplit(self.path).query)
                api.requests.append(query)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    status, kind, body = 401, "application/json", b'{"error": "unauthorized"}'
                else:
                    status, kind, body = api.script(int(query["page"][0]))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> ScriptedApi:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def page(records: list[dict], number: int, total_pages: int, total_records: int) -> Page:
    body = {
        "data": records,
        "meta": {"page": number, "per_page": 2, "total_pages": total_pages,
                 "total_records": total_records},
    }  # fmt: skip
    return 200, "application/json", json.dumps(body).encode()


RECORDS = [pmi_record(n) for n in range(1, 6)]


def paged(number: int) -> Page:
    """The good answer: five records, two per page."""
    return page(RECORDS[(number - 1) * 2 : number * 2], number, 3, 5)


API_CASES: dict[str, tuple[Callable[[int], Page], tuple[str, ...]]] = {
    "malformed-json": (
        lambda n: paged(n) if n == 1 else (200, "application/json", b'{"data": [{"id_pmi": "PM'),
        ("page 2", "malformed JSON", "instead of a page of records"),
    ),
    "html-error-page": (
        lambda n: (200, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
        ("page 1", "an HTML page", "text/html"),
    ),
    "total-pages-too-small": (
        lambda n: page(RECORDS[:2], 1, 1, 5),
        ("received 2 records in 1 pages", "total_records=5", "incomplete"),
    ),
    "total-pages-too-large": (
        lambda n: page(RECORDS[(n - 1) * 2 : n * 2], n, 4, 5) if n < 4 else page([], n, 4, 5),
        ("page 4", "empty page although total_pages=4"),
    ),
    "total-pages-changes": (
        lambda n: paged(n) if n == 1 else page(RECORDS[2:4], n, 2, 4),
        ("page 2", "paging changed during the extract", "total_pages=3"),
    ),
    "page-repeats": (
        lambda n: page(RECORDS[:2], 2, 3, 5) if n == 2 else paged(n),
        ("page 2", "2 of its 2 records repeat records of page 1"),
    ),
    "page-1-served-again": (
        lambda n: paged(1) if n == 2 else paged(n),
        ("page 2", "answered with meta.page=1"),
    ),
}


@pytest.fixture
def api_deployment(corpus_deployment: Deployment, monkeypatch) -> Iterator[Callable]:
    """Start a scripted API and point the ``kp2mi_api`` connection at it."""
    started: list[ScriptedApi] = []

    def start(script: Callable[[int], Page]) -> ScriptedApi:
        api = ScriptedApi(script).__enter__()
        started.append(api)
        monkeypatch.setenv("AIRFLOW_CONN_KP2MI_API", f"http://:{TOKEN}@{api.url[7:]}")
        return api

    yield start
    for api in started:
        api.__exit__(None, None, None)


@pytest.mark.parametrize("case_id", sorted(API_CASES))
def test_bad_api_answer_fails_the_extract_and_lands_nothing(
    corpus_deployment: Deployment, api_deployment, case_id: str
) -> None:
    deployment = corpus_deployment
    from sinergi.extract.kp2mi import ExtractError

    script, words = API_CASES[case_id]
    api_deployment(script)
    with pytest.raises(ExtractError) as caught:
        run_night(PMI, deployment.url)
    message = str(caught.value)
    for word in (PMI.endpoint, "2026-01-05T00:00:00+07:00", *words):
        assert word in message, (word, message)
    assert "SITI" not in message and "3273" not in message, "no record content in messages"
    # Nothing half-extracted is left to land, nothing landed, no batch opened: the task fails
    # (Airflow retries it) and the next night's window starts at this night (see
    # test_crash_and_restart.py::test_api_down_all_night_is_caught_up_the_next_night).
    extracts = deployment.home / "extract" / PMI.name
    assert not extracts.exists() or list(extracts.iterdir()) == []
    assert not (deployment.home / "archive").exists()
    assert query(deployment.url, "SELECT count(*) FROM dq.batch")[0][0] == 0


def test_good_api_answer_loads_every_page(corpus_deployment: Deployment, api_deployment) -> None:
    deployment = corpus_deployment
    api = api_deployment(paged)
    night = run_night(PMI, deployment.url)
    assert night.error is None and night.result["verdict"] == "passed"
    (batch,) = night_batches(deployment.url, PMI.name)
    assert (batch["rows_received"], batch["rows_loaded"]) == (5, 5)
    assert_nothing_lost(deployment.url, batch)
    assert [q["page"] for q in api.requests] == [["1"], ["2"], ["3"]]
    assert batch["location"].startswith(f"GET {PMI.endpoint} updated_from=2026-01-05T00:00")


# --------------------------------------------------------------------------- others go on


def test_a_broken_file_does_not_stop_other_ministries(corpus_deployment: Deployment) -> None:
    """Representative: UMKM's header drifted and Kemendes sent a JSON bomb on the same night;
    Kemenkop's good snapshot still loads, and UMKM's next good delivery loads."""
    deployment = corpus_deployment
    CASES["umkm-extra-column"].write(deployment.landing)
    CASES["kemendes-deeply-nested-line"].write(deployment.landing)
    _kemenkop(kemenkop_text([kemenkop_row(n) for n in range(1, 4)]))(deployment.landing)

    assert run_night(UMKM, deployment.url).error is not None
    assert run_night(KEMENDES, deployment.url).result["verdict"] == "warned"
    assert run_night(KEMENKOP, deployment.url).result["verdict"] == "passed"

    verdicts = query(
        deployment.url, "SELECT source_system, verdict, rows_loaded FROM dq.batch ORDER BY 1"
    )
    assert verdicts == [
        ("kemendes_kegiatan", "warned", 4),
        ("kemenkop_anggota", "passed", 3),
        ("umkm_penerima", "failed", None),
    ]
    # The ministry re-sends: the same night's corrected delivery replaces the failed one.
    _umkm([umkm_row(1), umkm_row(2)])(deployment.landing)
    assert run_night(UMKM, deployment.url).result["verdict"] == "passed"
    assert [b["verdict"] for b in night_batches(deployment.url, UMKM.name)] == [
        "failed",
        "passed",
    ]


def test_a_bad_api_night_does_not_stop_file_sources(corpus_deployment, api_deployment):
    deployment = corpus_deployment
    from sinergi.extract.kp2mi import ExtractError

    api_deployment(API_CASES["html-error-page"][0])
    with pytest.raises(ExtractError):
        run_night(PMI, deployment.url)
    _umkm([umkm_row(1)])(deployment.landing)
    assert run_night(UMKM, deployment.url).result["verdict"] == "passed"


def test_a_broken_workbook_or_master_does_not_stop_other_ministries(
    corpus_deployment: Deployment,
) -> None:
    """Parekraf's workbook arrives cut off and the BPS master with semicolons: UMKM's night
    and BPS's population file still load. Each ministry re-sends: the corrected delivery
    replaces the failed batch of its night. Parekraf sending Monday's workbook again as
    Tuesday's is a duplicate (a delta re-sent), recorded and not loaded twice."""
    url = corpus_deployment.url
    landing = corpus_deployment.landing
    CASES["parekraf-xlsx-cut-off"].write(landing)
    CASES["bps-wilayah-semicolon-delimiter"].write(landing)
    _umkm([umkm_row(1), umkm_row(2)])(landing)
    _penduduk([penduduk_row("3209"), penduduk_row("3273")])(landing)

    assert "cut off in transfer" in run_night(PAREKRAF, url).error
    assert "delimiter" in run_night(BPS_WILAYAH, url, BPS_DAY).error
    assert run_night(UMKM, url).result["verdict"] == "passed"
    assert run_night(BPS_PENDUDUK, url, BPS_DAY).result["verdict"] == "passed"

    good_workbook = _parekraf(PAREKRAF_ROWS)(landing)  # the resends
    _wilayah(WILAYAH)(landing)
    assert run_night(PAREKRAF, url).result["verdict"] == "passed"
    assert run_night(BPS_WILAYAH, url, BPS_DAY).result["verdict"] == "passed"
    for source, day in ((PAREKRAF, DAY), (BPS_WILAYAH, BPS_DAY)):
        failed, passed = night_batches(url, source.name, day)
        assert (failed["verdict"], passed["verdict"]) == ("failed", "passed")
        assert (failed["is_current"], passed["is_current"]) == (False, True)
        assert_nothing_lost(url, passed)
    assert query(url, "SELECT count(*) FROM raw.parekraf_pelatihan")[0][0] == 3

    tuesday = DAY + timedelta(days=1)
    again = landing / PAREKRAF.delivery_path(tuesday)
    again.write_bytes(good_workbook)
    assert run_night(PAREKRAF, url, tuesday).error is None
    (duplicate,) = night_batches(url, PAREKRAF.name, tuesday)
    assert duplicate["verdict"] == "duplicate" and duplicate["rows_loaded"] is None
    assert query(url, "SELECT count(*) FROM raw.parekraf_pelatihan")[0][0] == 3
