"""Parekraf workbook: layout checks, Excel cell types to text, the Jumlah footer."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from sinergi.parse import DeliveryError, read_parekraf_period
from sinergi.parse.parekraf import EXPECTED_COLUMNS, cell_to_text, parse_parekraf_pelatihan

PAREKRAF = (
    Path(os.environ.get("SINERGI_SAMPLES_DIR", "/work/shared/samples")) / "landing" / "parekraf"
)


@pytest.fixture(autouse=True)
def _need_samples() -> None:
    if not PAREKRAF.is_dir():
        pytest.skip(f"samples not found at {PAREKRAF}")


def participant(number: int, **changes: object) -> list[object]:
    values = {
        "No": number,
        "ID Peserta": f"PRK-1000000{number}",
        "Nama Lengkap": "Siti Aminah, S.Pd.",
        "NIK": "3209124708900003",
        "Jenis Kelamin": "Perempuan",
        "Tanggal Lahir": date(1990, 8, 7),
        "Provinsi": "Jawa Barat",
        "Kabupaten/Kota": "Kab. Cirebon",
        "Nama Pelatihan": "Pelatihan Kuliner",
        "Kategori": "Kuliner",
        "Tanggal Mulai": date(2026, 1, 10),
        "Tanggal Selesai": date(2026, 1, 13),
        "Status": "Terdaftar",
        "Terakhir Diubah": datetime(2026, 1, 5, 9, 30, 15),
    }
    values.update(changes)
    return list(values.values())


def write_workbook(
    directory: Path,
    data: list[list[object]],
    *,
    header: tuple[str, ...] = EXPECTED_COLUMNS,
    header_row: int = 4,
    footer: list[object] | None = None,
    period: str = "Periode: 5 Januari 2026",
    sheet: str = "Peserta",
) -> Path:
    """A workbook laid out as the ministry's; ``footer`` defaults to Jumlah <rows>."""
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    worksheet.cell(1, 1, "DATA PESERTA PELATIHAN KEMENTERIAN PARIWISATA DAN EKONOMI KREATIF")
    worksheet.cell(2, 1, period)
    for column, name in enumerate(header, start=1):
        worksheet.cell(header_row, column, name)
    rows = [*data, footer if footer is not None else ["Jumlah", len(data)]]
    for offset, values in enumerate(rows, start=1):
        for column, value in enumerate(values, start=1):
            worksheet.cell(header_row + offset, column, value)
    path = directory / "parekraf" / "Peserta_Pelatihan_20260105.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def test_sample_row_counts_and_values() -> None:
    first = list(parse_parekraf_pelatihan(PAREKRAF / "Peserta_Pelatihan_20260101.xlsx"))
    assert [row.source_row_number for row in first] == [5, 6]
    assert all(row.problem is None and list(row.values) == list(EXPECTED_COLUMNS) for row in first)
    slamet, unjani = (row.values for row in first)
    assert slamet["No"] == "1"
    assert slamet["NIK"] == "3372021002860000"  # numeric cell: digits, precision already lost
    assert unjani["NIK"] == "3306047009010001"  # text cell
    assert slamet["Tanggal Lahir"] == "1986-02-10"
    assert slamet["Tanggal Mulai"] == "2025-04-09"
    assert slamet["Terakhir Diubah"] == "2025-04-23T07:04:14"
    assert len(list(parse_parekraf_pelatihan(PAREKRAF / "Peserta_Pelatihan_20260105.xlsx"))) == 2
    assert list(parse_parekraf_pelatihan(PAREKRAF / "Peserta_Pelatihan_20260106.xlsx")) == []


def test_row_without_id_is_still_a_row() -> None:
    rows = list(parse_parekraf_pelatihan(PAREKRAF / "Peserta_Pelatihan_20260105.xlsx"))
    assert rows[0].values["ID Peserta"] is None
    assert rows[0].values["Nama Lengkap"] == "Febi Handayani"
    assert rows[1].values["Tanggal Lahir"] is None
    assert rows[1].values["Nama Lengkap"] == "Daniswara Waluyo, S.E."


def test_period() -> None:
    assert read_parekraf_period(PAREKRAF / "Peserta_Pelatihan_20260101.xlsx") == date(2026, 1, 1)
    assert read_parekraf_period(PAREKRAF / "Peserta_Pelatihan_20260106.xlsx") == date(2026, 1, 6)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Periode: 27 November 2026", date(2026, 11, 27)),
        ("Periode: 1 Agustus 2026", date(2026, 8, 1)),
        ("PERIODE : 3 MEI 2026", date(2026, 5, 3)),
        ("Periode: 30 Desember 2026", date(2026, 12, 30)),
    ],
)
def test_indonesian_period_dates(tmp_path: Path, text: str, expected: date) -> None:
    assert read_parekraf_period(write_workbook(tmp_path, [], period=text)) == expected


@pytest.mark.parametrize(
    "text", ["Periode: 27 Nov 2026", "27/11/2026", "Periode: 30 Februari 2026"]
)
def test_unreadable_period(tmp_path: Path, text: str) -> None:
    with pytest.raises(
        DeliveryError, match="parekraf_pelatihan: parekraf/Peserta_Pelatihan_20260105.xlsx: row 2"
    ):
        read_parekraf_period(write_workbook(tmp_path, [], period=text))


def test_cell_types_to_text(tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path,
        [
            participant(1, NIK=3.27301e15, **{"Tanggal Lahir": "07-08-1990"}),
            participant(2, NIK=3273010101900001, **{"Nama Lengkap": "<script>alert(1)</script>"}),
            participant(3, NIK="'3273010101900001", **{"Nama Lengkap": "'); DROP TABLE x;--"}),
        ],
    )
    rows = [row.values for row in parse_parekraf_pelatihan(path)]
    assert [values["NIK"] for values in rows] == [
        "3273010000000000",
        "3273010101900001",
        "'3273010101900001",
    ]
    assert rows[0]["Tanggal Lahir"] == "07-08-1990"  # text date kept
    assert rows[1]["Tanggal Lahir"] == "1990-08-07"
    assert rows[1]["Terakhir Diubah"] == "2026-01-05T09:30:15"
    assert rows[1]["Nama Lengkap"] == "<script>alert(1)</script>"
    assert rows[2]["Nama Lengkap"] == "'); DROP TABLE x;--"


def test_cell_to_text_rounds_float_noise_to_the_second() -> None:
    noisy = datetime(2026, 1, 5, 9, 30, 14, 999_700)
    assert cell_to_text(noisy, "dd/mm/yyyy hh:mm:ss") == "2026-01-05T09:30:15"
    assert cell_to_text(datetime(2026, 1, 5), "dd/mm/yyyy hh:mm:ss") == "2026-01-05T00:00:00"
    assert cell_to_text(datetime(2026, 1, 5, 8), "dd/mm/yyyy") == "2026-01-05T08:00:00"
    assert cell_to_text(2.5, "General") == "2.5"
    assert cell_to_text("", "General") is None


def test_blank_rows_are_skipped_and_not_counted(tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path, [participant(1), [None] * 14, participant(2)], footer=["Jumlah", 2]
    )
    assert [row.source_row_number for row in parse_parekraf_pelatihan(path)] == [5, 7]


def test_values_beyond_the_header_are_a_problem_row(tmp_path: Path) -> None:
    path = write_workbook(tmp_path, [[*participant(1), "extra"], participant(2)])
    first, second = parse_parekraf_pelatihan(path)
    assert first.problem == "row 5 has values beyond the 14 header columns"
    assert second.problem is None


def test_header_one_row_lower(tmp_path: Path) -> None:
    path = write_workbook(tmp_path, [participant(1)], header_row=5)
    with pytest.raises(DeliveryError) as error:
        list(parse_parekraf_pelatihan(path))
    assert str(error.value).startswith(
        "parekraf_pelatihan: parekraf/Peserta_Pelatihan_20260105.xlsx: "
        "header is on row 5, expected row 4"
    )


def test_renamed_column(tmp_path: Path) -> None:
    header = tuple("Nomor Induk" if name == "NIK" else name for name in EXPECTED_COLUMNS)
    path = write_workbook(tmp_path, [participant(1)], header=header)
    with pytest.raises(
        DeliveryError,
        match="header \\(row 4\\) does not match the contract: "
        "missing 'NIK'; unexpected 'Nomor Induk'",
    ):
        list(parse_parekraf_pelatihan(path))


def test_missing_footer(tmp_path: Path) -> None:
    path = write_workbook(tmp_path, [participant(1), participant(2)], footer=[])
    with pytest.raises(DeliveryError) as error:
        list(parse_parekraf_pelatihan(path))
    assert str(error.value) == (
        "parekraf_pelatihan: parekraf/Peserta_Pelatihan_20260105.xlsx: no 'Jumlah' footer row "
        "after the data (read 2 data rows up to row 6); the file may be cut off"
    )


def test_footer_count_disagrees(tmp_path: Path) -> None:
    path = write_workbook(tmp_path, [participant(1), participant(2)], footer=["Jumlah", 3])
    with pytest.raises(
        DeliveryError,
        match="footer on row 7 says Jumlah 3 but 2 data rows were found \\(rows 5-6\\)",
    ):
        list(parse_parekraf_pelatihan(path))


def test_footer_without_count(tmp_path: Path) -> None:
    path = write_workbook(tmp_path, [participant(1)], footer=["Jumlah", "satu"])
    with pytest.raises(DeliveryError, match="footer 'Jumlah' on row 6 has no row count"):
        list(parse_parekraf_pelatihan(path))


def test_missing_sheet(tmp_path: Path) -> None:
    path = write_workbook(tmp_path, [participant(1)], sheet="Sheet1")
    with pytest.raises(DeliveryError, match="no sheet 'Peserta'; the workbook has 'Sheet1'"):
        list(parse_parekraf_pelatihan(path))


def test_zero_byte_and_not_a_workbook(tmp_path: Path) -> None:
    empty = tmp_path / "parekraf" / "Peserta_Pelatihan_20260107.xlsx"
    empty.parent.mkdir()
    empty.touch()
    with pytest.raises(
        DeliveryError, match="Peserta_Pelatihan_20260107.xlsx: file is empty \\(0 bytes\\)"
    ):
        list(parse_parekraf_pelatihan(empty))
    not_xlsx = tmp_path / "parekraf" / "Peserta_Pelatihan_20260108.xlsx"
    not_xlsx.write_text("No;ID Peserta\n")
    with pytest.raises(DeliveryError, match="cannot open as an Excel .xlsx workbook"):
        list(parse_parekraf_pelatihan(not_xlsx))
