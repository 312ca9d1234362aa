"""Kemenkop snapshot (CSV.gz), Kemendes IDM and the BPS reference CSVs."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from sinergi.parse import DeliveryError
from sinergi.parse.bps import (
    PENDUDUK_EXPECTED_COLUMNS,
    WILAYAH_EXPECTED_COLUMNS,
    parse_bps_penduduk,
    parse_bps_wilayah,
)
from sinergi.parse.kemendes import IDM_EXPECTED_COLUMNS, parse_kemendes_idm
from sinergi.parse.kemenkop import EXPECTED_COLUMNS, parse_kemenkop_anggota

LANDING = Path(os.environ.get("SINERGI_SAMPLES_DIR", "/work/shared/samples")) / "landing"
KEMENKOP = LANDING / "kemenkop"
HEADER = ",".join(EXPECTED_COLUMNS)
MEMBER = (
    "123456789012,{name},Jasa,0,32.09.12.2005,{number},3209124708900003,SITI AMINAH,"
    "19900807,P,20200101,,AKTIF,,"
)


@pytest.fixture(autouse=True)
def _need_samples() -> None:
    if not LANDING.is_dir():
        pytest.skip(f"samples not found at {LANDING}")


def write_snapshot(directory: Path, lines: list[str]) -> Path:
    path = directory / "kemenkop" / "anggota_koperasi_20260105.csv.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress("".join(line + "\n" for line in lines).encode("utf-8")))
    return path


def test_kemenkop_sample_row_counts() -> None:
    counts = {
        night: len(list(parse_kemenkop_anggota(KEMENKOP / f"anggota_koperasi_{night}.csv.gz")))
        for night in ("20260101", "20260105", "20260106")
    }
    assert counts == {"20260101": 37, "20260105": 38, "20260106": 38}


def test_kemenkop_quoted_commas_leading_zeros_and_damaged_niks_kept() -> None:
    rows = list(parse_kemenkop_anggota(KEMENKOP / "anggota_koperasi_20260101.csv.gz"))
    assert all(row.problem is None and list(row.values) == list(EXPECTED_COLUMNS) for row in rows)
    first = rows[0]
    assert first.source_row_number == 2
    assert first.values["nama_koperasi"] == "KOPERASI PEMASARAN MAKMUR MULIA, CABANG DENPASAR"
    assert first.values["nomor_anggota"] == "00001"
    assert first.values["nik_anggota"] == "5,17102E+15"
    assert first.values["tanggal_keluar"] is None
    by_line = {row.source_row_number: row.values for row in rows}
    assert by_line[22]["nik_anggota"] == "'3673014908720002"  # leading apostrophe kept
    assert by_line[22]["tanggal_keluar"] == "20240727"
    assert by_line[35]["nama_anggota"] == "SYAHRINI LAKSITA, S.I.P."
    assert {values["nomor_anggota"] for values in by_line.values()} >= {"0001", "00001", "000001"}


def test_kemenkop_sql_and_html_names_kept_verbatim(tmp_path: Path) -> None:
    path = write_snapshot(
        tmp_path,
        [
            HEADER,
            MEMBER.format(name='"KOPERASI \'); DROP TABLE x;--"', number="0001"),
            MEMBER.format(name="<script>alert('x')</script>", number="0002"),
        ],
    )
    names = [row.values["nama_koperasi"] for row in parse_kemenkop_anggota(path)]
    assert names == ["KOPERASI '); DROP TABLE x;--", "<script>alert('x')</script>"]


def test_kemenkop_truncated_gzip(tmp_path: Path) -> None:
    data = (KEMENKOP / "anggota_koperasi_20260101.csv.gz").read_bytes()
    path = tmp_path / "kemenkop" / "anggota_koperasi_20260101.csv.gz"
    path.parent.mkdir()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DeliveryError) as error:
        list(parse_kemenkop_anggota(path))
    message = str(error.value)
    assert message.startswith("kemenkop_anggota: kemenkop/anggota_koperasi_20260101.csv.gz: ")
    assert "gzip stream is corrupt or truncated" in message


def test_kemenkop_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "kemenkop" / "anggota_koperasi_20260105.csv.gz"
    path.parent.mkdir()
    path.touch()
    with pytest.raises(
        DeliveryError,
        match=r"kemenkop_anggota: kemenkop/anggota_koperasi_20260105\.csv\.gz: "
        r"file is empty \(0 bytes\)",
    ):
        list(parse_kemenkop_anggota(path))


def test_kemenkop_not_gzip(tmp_path: Path) -> None:
    path = tmp_path / "anggota_koperasi_20260105.csv.gz"
    path.write_text(HEADER + "\n")
    with pytest.raises(
        DeliveryError, match="kemenkop_anggota: .*gzip stream is corrupt or truncated"
    ):
        list(parse_kemenkop_anggota(path))


def test_kemenkop_gzip_of_nothing_has_no_header(tmp_path: Path) -> None:
    path = write_snapshot(tmp_path, [])
    with pytest.raises(
        DeliveryError, match="kemenkop_anggota: .*no header line; expected: nomor_induk"
    ):
        list(parse_kemenkop_anggota(path))


def test_kemenkop_renamed_column(tmp_path: Path) -> None:
    path = write_snapshot(
        tmp_path, [HEADER.replace("nik_anggota", "nik"), MEMBER.format(name="K", number="1")]
    )
    with pytest.raises(DeliveryError, match="missing 'nik_anggota'; unexpected 'nik'"):
        list(parse_kemenkop_anggota(path))


def test_kemenkop_wrong_delimiter(tmp_path: Path) -> None:
    path = write_snapshot(tmp_path, [HEADER.replace(",", ";")])
    with pytest.raises(
        DeliveryError,
        match="header has 1 column \\(it contains ';'\\), expected 15 separated by ','",
    ):
        list(parse_kemenkop_anggota(path))


def test_kemenkop_reordered_columns(tmp_path: Path) -> None:
    columns = list(EXPECTED_COLUMNS)
    columns[0], columns[1] = columns[1], columns[0]
    path = write_snapshot(tmp_path, [",".join(columns)])
    with pytest.raises(DeliveryError, match="same columns in a different order"):
        list(parse_kemenkop_anggota(path))


def test_kemenkop_undecodable_bytes_offset_is_of_uncompressed_data(tmp_path: Path) -> None:
    text = HEADER + "\n" + MEMBER.format(name="KOPERASI ANDRÉ", number="1") + "\n"
    data = text.encode("cp1252")
    path = tmp_path / "anggota_koperasi_20260105.csv.gz"
    path.write_bytes(gzip.compress(data))
    with pytest.raises(DeliveryError) as error:
        list(parse_kemenkop_anggota(path))
    offset = data.index(b"\xc9")
    assert (
        f"not UTF-8: byte 0xC9 at offset of the uncompressed data {offset} (line 2); "
        "the contract says UTF-8"
    ) in str(error.value)


def test_idm_sample() -> None:
    rows = list(parse_kemendes_idm(LANDING / "kemendes" / "idm_2025.csv"))
    assert len(rows) == 1304
    assert rows[0].values == {
        "kode_desa": "1101012001",
        "nama_desa": "KARANGTANI",
        "skor_idm": "0.6919",
        "status_idm": "BERKEMBANG",
        "tahun": "2025",
    }
    assert all(list(row.values) == list(IDM_EXPECTED_COLUMNS) for row in rows)


def test_bps_wilayah_sample_with_closed_rows() -> None:
    rows = list(parse_bps_wilayah(LANDING / "bps" / "master_wilayah_202601.csv"))
    assert len(rows) == 2481
    assert all(list(row.values) == list(WILAYAH_EXPECTED_COLUMNS) for row in rows)
    province = rows[0].values
    assert province["kode_bps"] == "11" and province["kode_bps_induk"] is None
    closed = [row.values for row in rows if row.values["berlaku_sampai"] is not None]
    assert closed, "the sample has a pemekaran"
    assert all(values["kode_bps_pengganti"] for values in closed)


def test_bps_penduduk_sample() -> None:
    rows = list(parse_bps_penduduk(LANDING / "bps" / "penduduk_kabkota_2026.csv"))
    assert len(rows) == 167
    assert rows[0].values == dict(
        zip(PENDUDUK_EXPECTED_COLUMNS, ["1101", "2026", "3701273", "2544902"], strict=True)
    )


def test_bps_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "bps" / "penduduk_kabkota_2026.csv"
    path.parent.mkdir()
    path.write_text("kode_bps,tahun,jumlah_penduduk\n1101,2026,5\n")
    with pytest.raises(DeliveryError) as error:
        list(parse_bps_penduduk(path))
    assert str(error.value).startswith(
        "bps_penduduk: bps/penduduk_kabkota_2026.csv: header does not match the contract: "
        "missing 'penduduk_usia_kerja'"
    )
