"""Unit tests (no database) for the fixes the bad-input corpus led to.

* A bare CR inside an unquoted CSV field used to fail the whole delivery ("new-line character
  seen in unquoted field"); now that row alone is quarantined and reading goes on.
* An unbalanced quote reported the line where reading stopped (the end of the file), not the
  line of the record it opened in.
* A parser's message about the archived copy used to name the archive's ``<sha256>/``
  directory; the night's message now names the delivery as it sits in the landing area.
* A delivery without its header row (a CSV, or a workbook whose row 4 is data) failed with
  a message quoting the first data row (a name, a NIK, a birth date) into ``dq.batch``,
  which BI readers see; the message now says the header looks missing and quotes nothing.
* Parekraf: a workbook whose sheet XML is damaged midway crashed the load task with an XML
  error (the batch was left open, without a verdict); rows below the ``Jumlah`` footer were
  silently dropped; Excel's ``_xHHHH_`` escapes of control characters were stored as that
  text; and a file that is no .xlsx (an .xls, a password-protected workbook, a CSV, a cut-off
  zip) was reported as "BadZipFile: File is not a zip file" whatever it was.

The third fix (KemenP2MI nights whose extract failed are caught up by the next night) needs a
database: ``test_crash_and_restart.py::test_api_down_all_night_is_caught_up_the_next_night``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sinergi.parse import EXPECTED_COLUMNS_BY_SOURCE, PARSERS, DeliveryError
from sinergi.parse.parekraf import cell_to_text
from tests.integration.test_bad_inputs import (
    CSV_AS_XLSX,
    OLE2_FILE,
    parekraf_row,
    parekraf_workbook,
    rewrite_sheet,
)

HEADER = ";".join(EXPECTED_COLUMNS_BY_SOURCE["umkm_penerima"])
GOOD = ";".join(["UMKM-000000001", *["x"] * 15])


def _umkm(tmp_path: Path, lines: list[str]) -> Path:
    data = ("\ufeff" + "".join(line + "\r\n" for line in lines)).encode()
    path = tmp_path / "umkm" / "umkm_penerima_20260105.csv"
    path.parent.mkdir()
    path.write_bytes(data)
    ok = f"rows={len(lines) - 1}\nsha256={hashlib.sha256(data).hexdigest()}\n"
    path.with_name(path.name + ".ok").write_text(ok)
    return path


def test_bare_cr_in_an_unquoted_field_quarantines_that_row_only(tmp_path: Path) -> None:
    broken = GOOD.replace("x", "WARUNG\rSITI", 1)
    path = _umkm(tmp_path, [HEADER, GOOD, broken, GOOD.replace("0001", "0003")])
    rows = list(PARSERS["umkm_penerima"](path))
    assert [(r.source_row_number, r.problem is None) for r in rows] == [
        (2, True),
        (3, False),
        (4, True),
    ]
    assert "line 3 has a line break (CR) inside an unquoted field" in rows[1].problem
    assert rows[1].values == {"raw_line": broken}, "the row's text is kept for the steward"
    assert rows[2].values["ID_PENERIMA"] == "UMKM-000000003"


def test_bare_cr_in_the_header_fails_the_delivery(tmp_path: Path) -> None:
    path = _umkm(tmp_path, [HEADER.replace("NIK", "N\rIK"), GOOD])
    with pytest.raises(DeliveryError, match="header: line 1 has a line break"):
        list(PARSERS["umkm_penerima"](path))


def test_a_quoted_cr_is_still_a_value(tmp_path: Path) -> None:
    path = _umkm(tmp_path, [HEADER, GOOD.replace("x", '"WARUNG\rSITI"', 1)])
    (row,) = PARSERS["umkm_penerima"](path)
    assert row.problem is None and row.values["NIK"] == "WARUNG\rSITI"


def test_delivery_message_names_the_landing_location_not_the_archive() -> None:
    from sinergi.ingest.nightly import _delivery_message

    archived = Path("/x/archive/kemenkop_anggota/2026-01-05") / ("a" * 64) / "anggota.csv.gz"
    error = DeliveryError("kemenkop_anggota", archived, "header does not match")
    message = _delivery_message(error, "kemenkop/anggota_koperasi_20260105.csv.gz")
    assert message == (
        "kemenkop_anggota: kemenkop/anggota_koperasi_20260105.csv.gz: header does not match"
    )
    assert "a" * 64 not in message


def test_unbalanced_quote_names_the_line_the_record_starts_at(tmp_path: Path) -> None:
    lines = [HEADER, GOOD, GOOD.replace("x", '"WARUNG', 1), GOOD, GOOD]
    path = _umkm(tmp_path, lines)
    with pytest.raises(DeliveryError) as caught:
        list(PARSERS["umkm_penerima"](path))
    message = str(caught.value)
    assert "malformed CSV at line 5 (unexpected end of data)" in message
    assert "in the record that starts at line 3: look for an unbalanced quote there" in message


def test_a_missing_header_is_named_without_quoting_the_data_row(tmp_path: Path) -> None:
    data_row = ";".join(["UMKM-000000001", "3273014501900001", "SITI AMINAH", *["x"] * 13])
    path = _umkm(tmp_path, [data_row, GOOD])
    with pytest.raises(DeliveryError) as caught:
        list(PARSERS["umkm_penerima"](path))
    message = str(caught.value)
    assert "header has none of the contract's column names: is the header missing?" in message
    assert "found 16 values, not shown" in message
    for personal in ("3273014501900001", "SITI AMINAH", "UMKM-000000001"):
        assert personal not in message


def test_a_renamed_column_is_still_named(tmp_path: Path) -> None:
    path = _umkm(tmp_path, [HEADER.replace("NIB;", "NOMOR_NIB;"), GOOD])
    with pytest.raises(DeliveryError, match="missing 'NIB'; unexpected 'NOMOR_NIB'"):
        list(PARSERS["umkm_penerima"](path))


def _workbook(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "parekraf" / "Peserta_Pelatihan_20260105.xlsx"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def test_parekraf_header_missing_quotes_no_data(tmp_path: Path) -> None:
    rows = [parekraf_row(1), parekraf_row(2)]
    path = _workbook(tmp_path, parekraf_workbook(rows, header=[], header_row=3))
    with pytest.raises(DeliveryError) as caught:
        list(PARSERS["parekraf_pelatihan"](path))
    message = str(caught.value)
    assert "header (row 4) has none of the contract's column names" in message
    assert "Siti" not in message and "3209124708900001" not in message


def test_a_damaged_sheet_fails_the_delivery_after_the_rows_it_read(tmp_path: Path) -> None:
    workbook = parekraf_workbook([parekraf_row(n) for n in (1, 2, 3)])
    cut = rewrite_sheet(workbook, lambda xml: xml[: xml.index(b'<row r="7"') + 40])
    rows = PARSERS["parekraf_pelatihan"](_workbook(tmp_path, cut))
    assert [next(rows).source_row_number, next(rows).source_row_number] == [5, 6]
    with pytest.raises(DeliveryError) as caught:
        next(rows)
    assert "sheet 'Peserta' cannot be read after row 6 (ParseError: " in str(caught.value)


def test_rows_below_the_footer_are_kept_as_problem_rows(tmp_path: Path) -> None:
    def below(workbook) -> None:
        workbook["Peserta"].cell(8, 2, "PRK-00000003")
        workbook["Peserta"].cell(11, 1, "Jakarta, 5 Januari 2026")

    data = parekraf_workbook([parekraf_row(1), parekraf_row(2)], tweak=below)
    rows = list(PARSERS["parekraf_pelatihan"](_workbook(tmp_path, data)))
    assert [(r.source_row_number, r.problem) for r in rows] == [
        (5, None),
        (6, None),
        (8, "row 8 is below the 'Jumlah' footer (row 7), where the contract has no rows"),
        (11, "row 11 is below the 'Jumlah' footer (row 7), where the contract has no rows"),
    ]
    assert rows[2].values == {"raw_line": "\tPRK-00000003"}


def test_excel_escapes_are_decoded() -> None:
    assert cell_to_text("Siti_x0007__x000D_Aminah", None) == "Siti\x07\rAminah"
    assert cell_to_text("a_x0000_b", None) == "a\x00b"  # the loader quarantines it: nul_byte
    assert cell_to_text("_x005F_x0041_", None) == "_x0041_"  # how Excel writes a literal _x
    assert cell_to_text("PRK_x12", None) == "PRK_x12"


@pytest.mark.parametrize(
    "data, words",
    [
        (OLE2_FILE, "an OLE2 compound file, not an .xlsx (a zip archive): an Excel 97-2003 .xls"),
        (CSV_AS_XLSX, "it is a text file (a CSV or a web page saved under an .xlsx name?)"),
        (b"PK\x03\x04" + bytes(100), "it is a damaged zip archive (an .xlsx is one; BadZipFile"),
    ],
    ids=["ole2", "text", "cut-off-zip"],
)
def test_a_file_that_is_no_xlsx_is_named_for_what_it_is(
    tmp_path: Path, data: bytes, words: str
) -> None:
    with pytest.raises(DeliveryError) as caught:
        list(PARSERS["parekraf_pelatihan"](_workbook(tmp_path, data)))
    message = str(caught.value)
    assert message.startswith(
        "parekraf_pelatihan: parekraf/Peserta_Pelatihan_20260105.xlsx: "
        "cannot open as an Excel .xlsx workbook: "
    )
    assert words in message and "Siti" not in message


def test_a_header_in_other_case_is_still_listed(tmp_path: Path) -> None:
    path = _umkm(tmp_path, [HEADER.lower(), GOOD])
    with pytest.raises(DeliveryError, match="missing 'ID_PENERIMA'.*unexpected 'id_penerima'"):
        list(PARSERS["umkm_penerima"](path))
