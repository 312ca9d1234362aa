"""Write deliveries byte for byte as each ministry sends them (``contracts/SOURCES.md``).

Every writer is deterministic: gzip headers carry no timestamp and workbooks carry fixed
document and zip-entry dates, so the same world gives the same bytes.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path

UMKM_COLUMNS = (
    "ID_PENERIMA", "NIK", "NAMA_PENERIMA", "TGL_LAHIR", "JENIS_KELAMIN", "NAMA_USAHA", "NIB",
    "KBLI", "KODE_PROGRAM", "NAMA_PROGRAM", "TGL_MULAI", "TGL_SELESAI", "NILAI_RP",
    "KODE_WILAYAH_BPS", "STATUS", "TGL_UPDATE",
)  # fmt: skip
PAREKRAF_COLUMNS = (
    "No", "ID Peserta", "Nama Lengkap", "NIK", "Jenis Kelamin", "Tanggal Lahir", "Provinsi",
    "Kabupaten/Kota", "Nama Pelatihan", "Kategori", "Tanggal Mulai", "Tanggal Selesai",
    "Status", "Terakhir Diubah",
)  # fmt: skip
KEMENKOP_COLUMNS = (
    "nomor_induk_koperasi", "nama_koperasi", "jenis_koperasi", "is_kdmp", "kode_desa_koperasi",
    "nomor_anggota", "nik_anggota", "nama_anggota", "tanggal_lahir", "jenis_kelamin",
    "tanggal_masuk", "tanggal_keluar", "status_anggota", "pinjaman_rp", "tanggal_pinjaman",
)  # fmt: skip
BPS_MASTER_COLUMNS = (
    "kode_bps", "kode_kemendagri", "nama_wilayah", "tingkat", "kode_bps_induk", "berlaku_sejak",
    "berlaku_sampai", "kode_bps_pengganti",
)  # fmt: skip
BPS_POPULATION_COLUMNS = ("kode_bps", "tahun", "jumlah_penduduk", "penduduk_usia_kerja")
IDM_COLUMNS = ("kode_desa", "nama_desa", "skor_idm", "status_idm", "tahun")

MONTHS_ID = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
    "Oktober", "November", "Desember",
)  # fmt: skip
_FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def _ensure_parent(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)


def write_umkm(path: Path, rows: Iterable[dict]) -> int:
    """UTF-8 with BOM, CRLF, `;`, `"` quotes; then the `.ok` control file written after it."""
    _ensure_parent(path)
    digest = hashlib.sha256()
    count = 0
    with open(path, "wb") as out:

        def emit(text: str) -> None:
            data = text.encode("utf-8")
            digest.update(data)
            out.write(data)

        line = io.StringIO(newline="")
        writer = csv.writer(line, delimiter=";", quotechar='"', lineterminator="\r\n")
        emit("\ufeff")  # the byte-order mark
        writer.writerow(UMKM_COLUMNS)
        for row in rows:
            writer.writerow([row[c] for c in UMKM_COLUMNS])
            count += 1
            if line.tell() > 1 << 20:  # stream in 1 MB pieces
                emit(line.getvalue())
                line.seek(0)
                line.truncate()
        emit(line.getvalue())
    Path(f"{path}.ok").write_text(f"rows={count}\nsha256={digest.hexdigest()}\n", encoding="ascii")
    return count


def write_parekraf(path: Path, logical_date: date, rows: Iterable[dict]) -> int:
    """The Excel workbook: title, period, blank, header on row 4, data, `Jumlah` footer."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    _ensure_parent(path)
    workbook = Workbook(write_only=True)
    fixed = datetime(logical_date.year, logical_date.month, logical_date.day, 23, 0, 0)
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    workbook.properties.creator = "Kemenparekraf"
    sheet = workbook.create_sheet("Peserta")
    sheet.append(["DATA PESERTA PELATIHAN KEMENTERIAN PARIWISATA DAN EKONOMI KREATIF"])
    period = f"{logical_date.day} {MONTHS_ID[logical_date.month - 1]} {logical_date.year}"
    sheet.append([f"Periode: {period}"])
    sheet.append([])
    sheet.append(list(PAREKRAF_COLUMNS))

    def date_cell(value: str | None, fmt: str):
        # ISO text marks a real date cell; anything else (e.g. `DD-MM-YYYY`) was typed as text.
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        cell = WriteOnlyCell(sheet, value=parsed)
        cell.number_format = fmt
        return cell

    count = 0
    for number, row in enumerate(rows, start=1):
        count = number
        sheet.append(
            [
                number,
                row["ID Peserta"],
                row["Nama Lengkap"],
                row["NIK"],
                row["Jenis Kelamin"],
                date_cell(row["Tanggal Lahir"], "dd/mm/yyyy"),
                row["Provinsi"],
                row["Kabupaten/Kota"],
                row["Nama Pelatihan"],
                row["Kategori"],
                date_cell(row["Tanggal Mulai"], "dd/mm/yyyy"),
                date_cell(row["Tanggal Selesai"], "dd/mm/yyyy"),
                row["Status"],
                date_cell(row["Terakhir Diubah"], "dd/mm/yyyy hh:mm:ss"),
            ]
        )
    sheet.append(["Jumlah", count])
    raw = io.BytesIO()
    workbook.save(raw)
    path.write_bytes(_normalise_zip(raw.getvalue(), fixed))
    return count


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _normalise_zip(data: bytes, modified: datetime) -> bytes:
    """Make a workbook reproducible: openpyxl stamps the wall clock into each zip entry and
    into the document's `modified` property at save time, whatever was set before."""
    source = zipfile.ZipFile(io.BytesIO(data))
    stamp = modified.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _MODIFIED.sub(rb"\g<1>" + stamp + rb"\g<2>", content)
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            target.writestr(fixed, content)
    return out.getvalue()


def kemenkop_line(row: dict) -> bytes:
    """One RFC 4180 record, LF-terminated (precomputed once per member state)."""
    return (",".join(_rfc4180(row[c]) for c in KEMENKOP_COLUMNS) + "\n").encode("utf-8")


def _rfc4180(value: str) -> str:
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write_kemenkop(path: Path, lines: Iterable[bytes]) -> int:
    """The nightly full snapshot, gzip, header first."""
    _ensure_parent(path)
    header = (",".join(KEMENKOP_COLUMNS) + "\n").encode("utf-8")
    count = 0
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as out,
    ):
        out.write(header)
        chunk: list[bytes] = []
        for line in lines:
            chunk.append(line)
            count += 1
            if len(chunk) >= 10_000:
                out.write(b"".join(chunk))
                chunk.clear()
        out.write(b"".join(chunk))
    return count


def write_jsonl_gz(path: Path, objects: Iterable[dict]) -> int:
    """Kemendes activities: one JSON object per line, gzip."""
    _ensure_parent(path)
    count = 0
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out,
    ):
        for obj in objects:
            out.write((json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8"))
            count += 1
    return count


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Plain UTF-8, `,`, LF, header: the BPS and IDM reference files."""
    _ensure_parent(path)
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count
