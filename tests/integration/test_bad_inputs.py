"""The bad-input corpus: deliveries broken in the ways SOURCES.md and life allow.

Each case is a small delivery written here (a handful of valid rows plus the damage), run
through the steps the ingest DAG's tasks call (``sinergi.ingest.nightly``: plan, wait, land,
load, validate) against a fresh warehouse. The DAG wiring around those steps is proven by
``test_ingest_dags.py`` (``dag.test``), so it is not repeated per case. Each case asserts:

* the batch verdict in ``dq.batch`` and the sentence a person reads there (source, file, what
  was expected), or for a quarantined row its reason, row number and what was expected;
* ``rows_received = rows_loaded + rows_quarantined``, and the same counts in the tables;
* that the archive holds the delivery's exact bytes (every delivery that completed).

Two representative cases also run another ministry's night afterwards (it goes on), and the
KemenP2MI API cases run against a scripted HTTP server on 127.0.0.1.

Reproduce one case: ``.venv/bin/pytest tests/integration/test_bad_inputs.py -k "<case id>"``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import psycopg
import pytest

from sinergi.parse import EXPECTED_COLUMNS_BY_SOURCE
from sinergi.sources.registry import SOURCES, SourceSpec

pytestmark = pytest.mark.integration

WIB = ZoneInfo("Asia/Jakarta")
DAY = date(2026, 1, 5)  # a Monday: every daily source delivers
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


def assert_archived(deployment: Deployment, source: str, delivered: bytes, name: str) -> None:
    """The archive holds the delivery's exact bytes under its sha256."""
    sha = hashlib.sha256(delivered).hexdigest()
    path = deployment.home / "archive" / source / DAY.isoformat() / sha / name
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
    """

    source: SourceSpec
    write: Callable[[Path], bytes | None]
    verdict: str
    reason_words: tuple[str, ...] = ()
    quarantined: tuple[tuple[int, str, tuple[str, ...]], ...] = ()
    loaded_check: str | None = None
    rows_received: int | None = None


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


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_bad_delivery(deployment: Deployment, case_id: str) -> None:
    case = CASES[case_id]
    source = case.source.name
    delivered = case.write(deployment.landing)

    night = run_night(case.source, deployment.url)

    (batch,) = night_batches(deployment.url, source)
    assert batch["verdict"] == case.verdict, (batch["verdict"], batch["verdict_reason"])
    reason = batch["verdict_reason"] or ""
    for word in case.reason_words:
        assert word in reason, (word, reason)
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
    assert batch["location"] == case.source.delivery_path(DAY)
    if case.loaded_check:
        assert query(deployment.url, case.loaded_check) == [(True,)]

    name = Path(case.source.delivery_path(DAY)).name
    if delivered is not None:
        assert_archived(deployment, source, delivered, name)
        assert batch["content_sha256"] == hashlib.sha256(delivered).hexdigest()
    else:
        assert not (deployment.home / "archive" / source).exists(), "incomplete: not landed"
    # A re-run of the night records nothing new and gives the same answer.
    again = run_night(case.source, deployment.url)
    assert (again.error is None) == (night.error is None)
    assert len(night_batches(deployment.url, source)) == 1


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
def api_deployment(deployment: Deployment, monkeypatch) -> Iterator[Callable]:
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
    deployment: Deployment, api_deployment, case_id: str
) -> None:
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


def test_good_api_answer_loads_every_page(deployment: Deployment, api_deployment) -> None:
    api = api_deployment(paged)
    night = run_night(PMI, deployment.url)
    assert night.error is None and night.result["verdict"] == "passed"
    (batch,) = night_batches(deployment.url, PMI.name)
    assert (batch["rows_received"], batch["rows_loaded"]) == (5, 5)
    assert_nothing_lost(deployment.url, batch)
    assert [q["page"] for q in api.requests] == [["1"], ["2"], ["3"]]
    assert batch["location"].startswith(f"GET {PMI.endpoint} updated_from=2026-01-05T00:00")


# --------------------------------------------------------------------------- others go on


def test_a_broken_file_does_not_stop_other_ministries(deployment: Deployment) -> None:
    """Representative: UMKM's header drifted and Kemendes sent a JSON bomb on the same night;
    Kemenkop's good snapshot still loads, and UMKM's next good delivery loads."""
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


def test_a_bad_api_night_does_not_stop_file_sources(deployment: Deployment, api_deployment):
    from sinergi.extract.kp2mi import ExtractError

    api_deployment(API_CASES["html-error-page"][0])
    with pytest.raises(ExtractError):
        run_night(PMI, deployment.url)
    _umkm([umkm_row(1)])(deployment.landing)
    assert run_night(UMKM, deployment.url).result["verdict"] == "passed"
