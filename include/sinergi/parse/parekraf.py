"""Kemenparekraf: training participants, an Excel workbook (sheet ``Peserta``).

Layout: row 1 title, row 2 ``Periode: <d> <Indonesian month> <yyyy>``, row 3 empty, row 4 the
header, data from row 5, then a footer row whose first cell is ``Jumlah`` with the count.
Read with openpyxl in read-only mode (streams the sheet XML) and never with pandas, which would
turn text NIKs into floats.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sinergi.parse.csvfile import header_mismatch
from sinergi.parse.errors import DeliveryError
from sinergi.parse.rows import ParsedRow, empty_to_none, ensure_readable_file, problem_row

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook

SOURCE = "parekraf_pelatihan"
SHEET_NAME = "Peserta"
PERIOD_ROW = 2
HEADER_ROW = 4
FOOTER_LABEL = "Jumlah"
# How far down we look for a misplaced header, only to say where it is.
HEADER_SEARCH_ROWS = 10

EXPECTED_COLUMNS: tuple[str, ...] = (
    "No",
    "ID Peserta",
    "Nama Lengkap",
    "NIK",
    "Jenis Kelamin",
    "Tanggal Lahir",
    "Provinsi",
    "Kabupaten/Kota",
    "Nama Pelatihan",
    "Kategori",
    "Tanggal Mulai",
    "Tanggal Selesai",
    "Status",
    "Terakhir Diubah",
)

INDONESIAN_MONTHS: dict[str, int] = {
    "januari": 1,
    "februari": 2,
    "pebruari": 2,  # older official spelling, still seen
    "maret": 3,
    "april": 4,
    "mei": 5,
    "juni": 6,
    "juli": 7,
    "agustus": 8,
    "september": 9,
    "oktober": 10,
    "november": 11,
    "nopember": 11,  # older official spelling, still seen
    "desember": 12,
}
# What a file that is not an .xlsx (a zip archive) starts with, to say what it is instead.
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")  # .xls, and any password-protected workbook
# Excel writes a character XML cannot hold (control characters) as ``_xHHHH_`` in the cell's
# text, and a literal ``_x`` as ``_x005F_x``; openpyxl hands that text over undecoded.
_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_PERIOD = re.compile(r"\s*Periode\s*:\s*(\d{1,2})\s+([A-Za-z]+)\s+(\d{4})\s*", re.IGNORECASE)


def _open_workbook(path: Path) -> Workbook:
    ensure_readable_file(SOURCE, path, "a workbook")
    # Imported here, not at the top: this module is reachable from the DAG files, and openpyxl
    # (which pulls in numpy) alone costs about 0.5 s of every DAG file's parse time.
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zipfile, KeyError, XML errors... for a bad file
        raise DeliveryError(
            SOURCE, path, f"cannot open as an Excel .xlsx workbook: {_what_it_is(path, error)}"
        ) from error


def _what_it_is(path: Path, error: Exception) -> str:
    """Why a file does not open as a workbook, in words the ministry can act on. Never quotes
    the file's content (a CSV's first line may be a person's record)."""
    cause = f"{type(error).__name__}: {error}"
    with path.open("rb") as stream:
        head = stream.read(512)
    if head.startswith(OLE2_MAGIC):
        return (
            "it is an OLE2 compound file, not an .xlsx (a zip archive): an Excel 97-2003 .xls "
            "workbook, or a password-protected workbook; the contract says .xlsx without a "
            "password, ask for it saved that way"
        )
    if head.startswith(ZIP_MAGIC) and isinstance(error, zipfile.BadZipFile | zlib.error | EOFError):
        return (
            f"it is a damaged zip archive (an .xlsx is one; {cause}): the file was probably "
            "cut off in transfer, ask for it again"
        )
    if not head.startswith(b"PK") and b"\x00" not in head:
        return (
            f"it is a text file (a CSV or a web page saved under an .xlsx name?), not a "
            f"workbook ({cause})"
        )
    return cause


def _sheet_rows(path: Path, rows: Iterable[tuple], first: int) -> Iterator[tuple[int, tuple]]:
    """``(row number, cells)`` from ``first`` on. openpyxl reads the sheet's XML from the zip
    as it goes, so a damaged archive or sheet shows only here, midway: fail the delivery
    naming the last row read, instead of crashing the task."""
    row_number = first - 1
    iterator = iter(rows)
    while True:
        try:
            cells = next(iterator)
        except StopIteration:
            return
        except Exception as error:  # zlib, zipfile, XML parser, a cell openpyxl cannot convert
            raise DeliveryError(
                SOURCE,
                path,
                f"sheet {SHEET_NAME!r} cannot be read after row {row_number} "
                f"({type(error).__name__}: {error}): the file is damaged (cut off or corrupted "
                "in transfer?), ask for it again",
            ) from error
        row_number += 1
        yield row_number, cells


def _sheet(workbook: Workbook, path: Path):
    if SHEET_NAME not in workbook.sheetnames:
        raise DeliveryError(
            SOURCE,
            path,
            f"no sheet {SHEET_NAME!r}; the workbook has "
            f"{', '.join(map(repr, workbook.sheetnames))}",
        )
    sheet = workbook[SHEET_NAME]
    # Some writers record a wrong sheet size; read-only mode would then cut rows or columns.
    sheet.reset_dimensions()
    return sheet


def _has_time_part(number_format: str | None) -> bool:
    # Excel shows hours with 'h' and seconds with 's'; date-only formats have neither.
    fmt = (number_format or "").lower()
    return "h" in fmt or "s" in fmt


def _number_format(cell: object) -> str | None:
    # Read-only mode gives EmptyCell objects for gaps; they have no number format of their own.
    return getattr(cell, "number_format", None)


def cell_to_text(value: object, number_format: str | None) -> str | None:
    """An Excel cell value as text, as a person sees it in Excel.

    - numbers: integral ones as integer digits (a numeric NIK cell 3372021002860000, never
      ``3.37202100286e+15``; ``No`` as ``1``), others as Python writes the float;
    - date cells as ``YYYY-MM-DD``, date-time cells as ``YYYY-MM-DDTHH:MM:SS`` (naive, WIB as
      written), rounded to the second to undo floating-point noise in Excel's serial numbers;
    - text as is (a text date ``10-02-1986`` stays text) but for Excel's ``_xHHHH_`` escapes
      of characters XML cannot hold, decoded (``_x0007_`` is BEL as Excel shows it, and a NUL
      written ``_x0000_`` is a NUL the loader quarantines); empty text as None.
    """
    if value is None:
        return None
    if isinstance(value, bool):  # before int: bool is a subclass of int
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.microsecond:
            value = value.replace(microsecond=0) + timedelta(seconds=value.microsecond >= 500_000)
        if _has_time_part(number_format) or value.time() != time(0, 0):
            return value.isoformat(timespec="seconds")
        return value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        if "_x" in value:
            value = _EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)
        return empty_to_none(value)
    return str(value)


def _header_names(cells: tuple) -> list[str]:
    names = [None if cell.value is None else str(cell.value) for cell in cells]
    while names and names[-1] is None:  # read-only rows may carry empty trailing cells
        names.pop()
    return ["" if name is None else name for name in names]


def _parse_count(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _header_error(path: Path, found: list[str], rows_seen: dict[int, list[str]]) -> DeliveryError:
    """Say where the header is if it is on another row, else how row 4 differs."""
    for row_number, names in rows_seen.items():
        if tuple(names) == EXPECTED_COLUMNS:
            return DeliveryError(
                SOURCE,
                path,
                f"header is on row {row_number}, expected row {HEADER_ROW} (title on row 1, "
                f"'Periode: ...' on row 2, row 3 empty, data from row {HEADER_ROW + 1})",
            )
    if not found:
        return DeliveryError(
            SOURCE, path, f"row {HEADER_ROW} of sheet {SHEET_NAME!r} is empty, expected the header"
        )
    mismatch = header_mismatch(found, EXPECTED_COLUMNS, None, where=f"header (row {HEADER_ROW})")
    return DeliveryError(SOURCE, path, mismatch or f"header (row {HEADER_ROW}) is not as expected")


def parse_parekraf_pelatihan(path: Path) -> Iterator[ParsedRow]:
    """``parekraf/Peserta_Pelatihan_YYYYMMDD.xlsx``: one row per data row, numbered as in Excel.

    A row with an empty ``ID Peserta`` is still yielded (the validator quarantines it); fully
    empty rows are skipped. The ``Jumlah`` footer's count must equal the number of data rows:
    a missing footer or a disagreeing count raises DeliveryError after the rows were yielded
    (the file may have been cut off). Rows below the footer, where the contract has none,
    are yielded as problem rows (quarantined, never silently dropped).
    """
    workbook = _open_workbook(path)
    try:
        sheet = _sheet(workbook, path)
        rows = _sheet_rows(path, sheet.iter_rows(min_row=1), first=1)
        rows_seen: dict[int, list[str]] = {}
        header: list[str] = []
        for row_number, cells in rows:
            rows_seen[row_number] = _header_names(cells)
            if row_number == HEADER_ROW:
                header = rows_seen[row_number]
                break
        if tuple(header) != EXPECTED_COLUMNS:
            # Look a little further down only to name the row the header is on.
            for row_number, cells in rows:
                if row_number > HEADER_SEARCH_ROWS:
                    break
                rows_seen[row_number] = _header_names(cells)
            raise _header_error(path, header, rows_seen)

        width = len(EXPECTED_COLUMNS)
        data_rows = 0
        last_row = HEADER_ROW
        for row_number, cells in rows:
            last_row = row_number
            texts = [cell_to_text(cell.value, _number_format(cell)) for cell in cells]
            first = texts[0] if texts else None
            if first is not None and first.strip().casefold() == FOOTER_LABEL.casefold():
                _check_footer(path, row_number, [cell.value for cell in cells[1:]], data_rows)
                yield from _below_footer(rows, row_number)
                return
            if all(text is None for text in texts):
                continue
            data_rows += 1
            if any(text is not None for text in texts[width:]):
                yield problem_row(
                    row_number,
                    "\t".join("" if text is None else text for text in texts),
                    f"row {row_number} has values beyond the {width} header columns",
                )
                continue
            texts += [None] * (width - len(texts))
            yield ParsedRow(row_number, dict(zip(EXPECTED_COLUMNS, texts[:width], strict=True)))
        raise DeliveryError(
            SOURCE,
            path,
            f"no '{FOOTER_LABEL}' footer row after the data (read {data_rows} data rows up to "
            f"row {last_row}); the file may be cut off",
        )
    finally:
        workbook.close()


def _below_footer(rows: Iterator[tuple[int, tuple]], footer_row: int) -> Iterator[ParsedRow]:
    """Anything after the footer (a second table, a signature block) is not in the contract:
    each non-empty row is kept as a problem row, so a steward sees it and nothing is lost."""
    for row_number, cells in rows:
        texts = [cell_to_text(cell.value, _number_format(cell)) for cell in cells]
        if all(text is None for text in texts):
            continue
        yield problem_row(
            row_number,
            "\t".join("" if text is None else text for text in texts),
            f"row {row_number} is below the '{FOOTER_LABEL}' footer (row {footer_row}), "
            "where the contract has no rows",
        )


def _check_footer(path: Path, row_number: int, rest: list[object], data_rows: int) -> None:
    counts = [value for value in rest if value is not None and value != ""]
    count = _parse_count(counts[0]) if counts else None
    if count is None:
        raise DeliveryError(
            SOURCE,
            path,
            f"footer '{FOOTER_LABEL}' on row {row_number} has no row count next to it "
            f"(found {counts[0] if counts else 'nothing'!r})",
        )
    if count != data_rows:
        raise DeliveryError(
            SOURCE,
            path,
            f"footer on row {row_number} says {FOOTER_LABEL} {count} but {data_rows} data rows "
            f"were found (rows {HEADER_ROW + 1}-{row_number - 1})",
        )


def read_parekraf_period(path: Path) -> date:
    """The ``Periode: 27 November 2026`` date on row 2 of sheet ``Peserta``."""
    workbook = _open_workbook(path)
    try:
        sheet = _sheet(workbook, path)
        cell_value = None
        for cells in sheet.iter_rows(min_row=PERIOD_ROW, max_row=PERIOD_ROW):
            cell_value = cells[0].value if cells else None
    finally:
        workbook.close()
    match = _PERIOD.fullmatch(cell_value) if isinstance(cell_value, str) else None
    month = INDONESIAN_MONTHS.get(match.group(2).lower()) if match else None
    if match is None or month is None:
        raise DeliveryError(
            SOURCE,
            path,
            f"row {PERIOD_ROW} should read 'Periode: <day> <Indonesian month> <year>' "
            f"(e.g. 'Periode: 27 November 2026'), found {cell_value!r}",
        )
    try:
        return date(int(match.group(3)), month, int(match.group(1)))
    except ValueError as error:
        raise DeliveryError(
            SOURCE, path, f"row {PERIOD_ROW} has an impossible date {cell_value!r}: {error}"
        ) from error
