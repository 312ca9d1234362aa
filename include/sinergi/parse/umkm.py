"""Kementerian UMKM: nightly beneficiary delta (CSV with a ``.ok`` control file)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from sinergi.parse.csvfile import DelimitedFormat
from sinergi.parse.errors import DeliveryError, display_path
from sinergi.parse.rows import ParsedRow

SOURCE = "umkm_penerima"
DELIMITER = ";"
ENCODING_NOTE = "UTF-8 with BOM"

EXPECTED_COLUMNS: tuple[str, ...] = (
    "ID_PENERIMA",
    "NIK",
    "NAMA_PENERIMA",
    "TGL_LAHIR",
    "JENIS_KELAMIN",
    "NAMA_USAHA",
    "NIB",
    "KBLI",
    "KODE_PROGRAM",
    "NAMA_PROGRAM",
    "TGL_MULAI",
    "TGL_SELESAI",
    "NILAI_RP",
    "KODE_WILAYAH_BPS",
    "STATUS",
    "TGL_UPDATE",
)

FORMAT = DelimitedFormat(SOURCE, EXPECTED_COLUMNS, delimiter=DELIMITER, encoding_note=ENCODING_NOTE)

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_CONTROL_FORMAT = "two lines 'rows=<data rows>' and 'sha256=<hex of the csv>'"


def control_file_path(csv_path: Path) -> Path:
    """``umkm_penerima_YYYYMMDD.csv`` -> ``umkm_penerima_YYYYMMDD.csv.ok``."""
    return csv_path.with_name(csv_path.name + ".ok")


def read_umkm_control_file(path_ok: Path) -> tuple[int, str]:
    """Read ``rows=<n>`` and ``sha256=<hex>`` from a ``.ok`` file; return (rows, sha256 lower).

    Strict, because the control file is what says the CSV is complete: anything else in it
    means we cannot trust it.
    """
    try:
        text = path_ok.read_bytes().decode("utf-8-sig")
    except FileNotFoundError as error:
        raise DeliveryError(SOURCE, path_ok, "control file is missing") from error
    except (OSError, UnicodeDecodeError) as error:
        raise DeliveryError(SOURCE, path_ok, f"cannot read control file: {error}") from error

    entries: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in ("rows", "sha256") or key in entries:
            raise DeliveryError(
                SOURCE,
                path_ok,
                f"control file is malformed: unexpected line {line!r}; expected {_CONTROL_FORMAT}",
            )
        entries[key] = value
    if set(entries) != {"rows", "sha256"}:
        raise DeliveryError(
            SOURCE,
            path_ok,
            f"control file is malformed: found {sorted(entries) or 'nothing'}; "
            f"expected {_CONTROL_FORMAT}",
        )
    if not entries["rows"].isdigit():
        raise DeliveryError(
            SOURCE, path_ok, f"control file is malformed: rows={entries['rows']!r} is not a count"
        )
    if not _SHA256_HEX.fullmatch(entries["sha256"]):
        raise DeliveryError(
            SOURCE,
            path_ok,
            f"control file is malformed: sha256={entries['sha256']!r} is not 64 hex digits",
        )
    return int(entries["rows"]), entries["sha256"].lower()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def check_umkm_delivery(csv_path: Path) -> None:
    """Raise DeliveryError unless the CSV has its ``.ok`` and the ``.ok`` agrees with it.

    The ministry writes the ``.ok`` after the CSV: without it, or with a different hash or row
    count, the CSV is incomplete (still being written, cut off, or replaced).
    """
    expected_rows = check_umkm_complete(csv_path)
    check_umkm_row_count(csv_path, sum(1 for _ in FORMAT.read(csv_path)), expected_rows)


def check_umkm_row_count(csv_path: Path, actual_rows: int, expected_rows: int) -> None:
    """Raise DeliveryError unless the CSV's data rows (problem rows included) are as many as
    its ``.ok`` counts."""
    if actual_rows != expected_rows:
        raise DeliveryError(
            SOURCE,
            csv_path,
            f"the CSV has {actual_rows} data rows but {display_path(control_file_path(csv_path))} "
            f"says rows={expected_rows}",
        )


def check_umkm_complete(csv_path: Path) -> int:
    """Raise DeliveryError unless the ``.ok`` exists, is well formed and its sha256 is the
    CSV's: the delivery is then complete as the ministry wrote it (whether its content is
    readable, and has the rows the ``.ok`` counts, is for loading to find out). Returns the
    ``.ok``'s row count."""
    path_ok = control_file_path(csv_path)
    if not path_ok.exists():
        raise DeliveryError(
            SOURCE,
            csv_path,
            f"control file {display_path(path_ok)} is missing; the CSV counts as incomplete "
            "until the ministry writes it",
        )
    expected_rows, expected_sha = read_umkm_control_file(path_ok)
    if not csv_path.is_file():
        raise DeliveryError(SOURCE, csv_path, "file not found (its .ok exists)")
    actual_sha = _sha256_of(csv_path)
    if actual_sha != expected_sha:
        raise DeliveryError(
            SOURCE,
            csv_path,
            f"sha256 of the CSV is {actual_sha} but {display_path(path_ok)} says {expected_sha}; "
            "the CSV is incomplete or was changed after its control file was written",
        )
    return expected_rows


def parse_umkm_penerima(path: Path, *, verify_control_file: bool = True) -> Iterator[ParsedRow]:
    """``umkm/umkm_penerima_YYYYMMDD.csv``: UTF-8 with BOM, CRLF, ``;``, ``"`` quotes.

    Values stay exactly as received (``25.000.000,00``, ``3,27301E+15``, ``12/11/1977``).
    By default the ``.ok`` control file is checked first (the file is small: reading it twice
    is cheap), so a caller going through the parser registry cannot skip the check.
    """
    if verify_control_file:
        check_umkm_delivery(path)
    yield from FORMAT.read(path)
