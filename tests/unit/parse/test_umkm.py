"""UMKM CSV: values as received, the .ok control file, and every way the delivery breaks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from sinergi.parse import RAW_LINE, DeliveryError
from sinergi.parse.umkm import (
    EXPECTED_COLUMNS,
    check_umkm_delivery,
    parse_umkm_penerima,
    read_umkm_control_file,
)

SAMPLES = Path(os.environ.get("SINERGI_SAMPLES_DIR", "/work/shared/samples")) / "landing" / "umkm"
HEADER = ";".join(EXPECTED_COLUMNS)
ROW = (
    "UMKM-100000001;3273010101900001;{name};01/01/1990;L;WARUNG;;47112;KUR-SM;"
    "KUR Super Mikro;01/01/2025;;25.000.000,00;3273010001;AKTIF;05/01/2026 10:00:00"
)


@pytest.fixture(autouse=True)
def _need_samples() -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"samples not found at {SAMPLES}")


def write_delivery(directory: Path, lines: list[str], *, rows: int | None = None) -> Path:
    """A UMKM CSV as the ministry writes it (BOM, CRLF) plus a matching .ok."""
    data = ("\ufeff" + "".join(line + "\r\n" for line in lines)).encode("utf-8")
    return write_bytes_delivery(directory, data, rows=len(lines) - 1 if rows is None else rows)


def write_bytes_delivery(directory: Path, data: bytes, *, rows: int) -> Path:
    path = directory / "umkm" / "umkm_penerima_20260105.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    (path.parent / (path.name + ".ok")).write_text(f"rows={rows}\nsha256={sha}\n")
    return path


def test_sample_row_counts_and_line_numbers() -> None:
    first = list(parse_umkm_penerima(SAMPLES / "umkm_penerima_20260101.csv"))
    assert len(first) == 17
    assert [row.source_row_number for row in first] == list(range(2, 19))
    assert all(row.problem is None for row in first)
    assert len(list(parse_umkm_penerima(SAMPLES / "umkm_penerima_20260105.csv"))) == 3
    # Header only: nothing changed that night.
    assert list(parse_umkm_penerima(SAMPLES / "umkm_penerima_20260106.csv")) == []


def test_values_are_kept_as_received() -> None:
    rows = {
        row.values["ID_PENERIMA"]: row.values
        for row in parse_umkm_penerima(SAMPLES / "umkm_penerima_20260101.csv")
    }
    first = rows["UMKM-131356585"]
    assert list(first) == list(EXPECTED_COLUMNS)  # BOM stripped from the first header
    assert first["NIK"] == "9,30203E+15"
    assert first["TGL_LAHIR"] == "12/11/1977"
    assert first["NILAI_RP"] == "6.000.000,00"
    assert first["NIB"] is None  # empty field
    assert first["TGL_UPDATE"] == "17/06/2020 11:46:27"
    assert rows["UMKM-184133557"]["NIK"] == "3,50101E+15"
    assert rows["UMKM-217194706"]["NIK"] == " 5171020701750004 "  # spaces kept
    assert rows["UMKM-175255626"]["NILAI_RP"] == "10.000.000"


def test_non_ascii_text_is_decoded_as_utf8() -> None:
    names = [
        row.values["NAMA_USAHA"]
        for row in parse_umkm_penerima(SAMPLES / "umkm_penerima_20260105.csv")
    ]
    assert "KOPI & RÖTI RIZKI" in names
    assert "DAPUR NU\u2019MAN" in names


def test_control_file_of_sample() -> None:
    rows, sha = read_umkm_control_file(SAMPLES / "umkm_penerima_20260101.csv.ok")
    assert rows == 17
    assert sha == hashlib.sha256((SAMPLES / "umkm_penerima_20260101.csv").read_bytes()).hexdigest()
    check_umkm_delivery(SAMPLES / "umkm_penerima_20260101.csv")


def test_sql_html_and_quoted_delimiters_are_kept_verbatim(tmp_path: Path) -> None:
    path = write_delivery(
        tmp_path,
        [
            HEADER,
            # Contains the delimiter, so the ministry's writer quotes it.
            ROW.format(name='"\'); DROP TABLE x;--"'),
            ROW.format(name="<script>alert(1)</script>"),
            ROW.format(name='"SITI ""UCI"" AMINAH"'),
        ],
    )
    names = [row.values["NAMA_PENERIMA"] for row in parse_umkm_penerima(path)]
    assert names == ["'); DROP TABLE x;--", "<script>alert(1)</script>", 'SITI "UCI" AMINAH']


def test_wrong_field_count_is_a_problem_row_and_parsing_continues(tmp_path: Path) -> None:
    path = write_delivery(
        tmp_path,
        [HEADER, ROW.format(name="A"), ROW.format(name="B") + ";EXTRA", ROW.format(name="C")],
    )
    rows = list(parse_umkm_penerima(path))
    assert [row.source_row_number for row in rows] == [2, 3, 4]
    assert rows[1].problem == "line 3 has 17 fields, expected 16"
    assert rows[1].values == {RAW_LINE: ROW.format(name="B") + ";EXTRA"}
    assert rows[2].values["NAMA_PENERIMA"] == "C"


def test_quoted_line_break_keeps_physical_line_numbers(tmp_path: Path) -> None:
    path = write_delivery(
        tmp_path, [HEADER, ROW.format(name='"TWO\r\nLINES"'), ROW.format(name="NEXT")]
    )
    rows = list(parse_umkm_penerima(path))
    assert [row.source_row_number for row in rows] == [2, 4]
    assert rows[0].values["NAMA_PENERIMA"] == "TWO\r\nLINES"


def test_missing_control_file(tmp_path: Path) -> None:
    path = write_delivery(tmp_path, [HEADER, ROW.format(name="A")])
    (path.parent / (path.name + ".ok")).unlink()
    with pytest.raises(DeliveryError) as error:
        list(parse_umkm_penerima(path))
    message = str(error.value)
    assert message.startswith("umkm_penerima: umkm/umkm_penerima_20260105.csv: ")
    assert "umkm_penerima_20260105.csv.ok is missing" in message


def test_control_file_with_wrong_sha(tmp_path: Path) -> None:
    path = write_delivery(tmp_path, [HEADER, ROW.format(name="A")])
    path.write_bytes(path.read_bytes() + ROW.format(name="LATE").encode() + b"\r\n")
    with pytest.raises(
        DeliveryError, match=r"umkm_penerima: .*sha256 of the CSV is [0-9a-f]{64} but"
    ):
        check_umkm_delivery(path)


def test_control_file_with_wrong_rows(tmp_path: Path) -> None:
    path = write_delivery(tmp_path, [HEADER, ROW.format(name="A")], rows=2)
    with pytest.raises(DeliveryError, match=r"the CSV has 1 data rows but .*\.ok says rows=2"):
        check_umkm_delivery(path)


@pytest.mark.parametrize(
    "content, expected",
    [
        ("rows=1\n", "found \\['rows'\\]"),
        ("rows=one\nsha256=" + "a" * 64 + "\n", "rows='one' is not a count"),
        ("rows=1\nsha256=xyz\n", "sha256='xyz' is not 64 hex digits"),
        ("1\n" + "a" * 64 + "\n", "unexpected line '1'"),
    ],
)
def test_malformed_control_file(tmp_path: Path, content: str, expected: str) -> None:
    path_ok = tmp_path / "umkm_penerima_20260105.csv.ok"
    path_ok.write_text(content)
    with pytest.raises(
        DeliveryError, match=f"umkm_penerima: .*control file is malformed.*{expected}"
    ):
        read_umkm_control_file(path_ok)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = write_bytes_delivery(tmp_path, b"", rows=0)
    with pytest.raises(DeliveryError) as error:
        list(parse_umkm_penerima(path))
    assert str(error.value) == (
        "umkm_penerima: umkm/umkm_penerima_20260105.csv: file is empty (0 bytes); "
        "even a night without changes has a header line"
    )


def test_renamed_column(tmp_path: Path) -> None:
    header = HEADER.replace(";NIK;", ";NIK_PENERIMA;")
    path = write_delivery(tmp_path, [header, ROW.format(name="A")])
    with pytest.raises(DeliveryError) as error:
        list(parse_umkm_penerima(path))
    message = str(error.value)
    assert "umkm_penerima: umkm/umkm_penerima_20260105.csv: header does not match" in message
    assert "missing 'NIK'; unexpected 'NIK_PENERIMA'" in message


def test_missing_column(tmp_path: Path) -> None:
    header = HEADER.replace(";NIB;", ";")
    path = write_delivery(tmp_path, [header])
    with pytest.raises(DeliveryError, match="missing 'NIB' \\(found 15 columns, expected 16"):
        list(parse_umkm_penerima(path))


def test_extra_column(tmp_path: Path) -> None:
    path = write_delivery(tmp_path, [HEADER + ";EMAIL"])
    with pytest.raises(DeliveryError, match="unexpected 'EMAIL'"):
        list(parse_umkm_penerima(path))


def test_wrong_delimiter(tmp_path: Path) -> None:
    path = write_delivery(
        tmp_path, [HEADER.replace(";", ","), ROW.format(name="A").replace(";", ",")]
    )
    with pytest.raises(DeliveryError) as error:
        list(parse_umkm_penerima(path))
    assert str(error.value) == (
        "umkm_penerima: umkm/umkm_penerima_20260105.csv: header has 1 column (it contains ','), "
        "expected 16 separated by ';' — is the delimiter wrong?"
    )


def test_windows_1252_bytes(tmp_path: Path) -> None:
    text = HEADER + "\r\n" + ROW.format(name="ANDRÉ") + "\r\n"
    data = b"\xef\xbb\xbf" + text.encode("cp1252")
    path = write_bytes_delivery(tmp_path, data, rows=1)
    with pytest.raises(DeliveryError) as error:
        list(parse_umkm_penerima(path))
    offset = data.index(b"\xc9")
    assert str(error.value) == (
        f"umkm_penerima: umkm/umkm_penerima_20260105.csv: not UTF-8: byte 0xC9 at offset {offset} "
        "(line 2); the contract says UTF-8 with BOM"
    )


def test_unbalanced_quote_fails_the_delivery(tmp_path: Path) -> None:
    path = write_delivery(tmp_path, [HEADER, ROW.format(name='"OPEN'), ROW.format(name="B")])
    with pytest.raises(
        DeliveryError, match="malformed CSV at line .*quoting of the file is broken"
    ):
        list(parse_umkm_penerima(path))
