"""BPS reference data: the monthly region master and the yearly population per regency (CSV)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sinergi.parse.csvfile import DelimitedFormat
from sinergi.parse.rows import ParsedRow

SOURCE_WILAYAH = "bps_wilayah"
SOURCE_PENDUDUK = "bps_penduduk"

WILAYAH_EXPECTED_COLUMNS: tuple[str, ...] = (
    "kode_bps",
    "kode_kemendagri",
    "nama_wilayah",
    "tingkat",
    "kode_bps_induk",
    "berlaku_sejak",
    "berlaku_sampai",
    "kode_bps_pengganti",
)
PENDUDUK_EXPECTED_COLUMNS: tuple[str, ...] = (
    "kode_bps",
    "tahun",
    "jumlah_penduduk",
    "penduduk_usia_kerja",
)

WILAYAH_FORMAT = DelimitedFormat(SOURCE_WILAYAH, WILAYAH_EXPECTED_COLUMNS, delimiter=",")
PENDUDUK_FORMAT = DelimitedFormat(SOURCE_PENDUDUK, PENDUDUK_EXPECTED_COLUMNS, delimiter=",")


def parse_bps_wilayah(path: Path) -> Iterator[ParsedRow]:
    """``bps/master_wilayah_YYYYMM.csv``: one row per region version, codes kept as text."""
    return WILAYAH_FORMAT.read(path)


def parse_bps_penduduk(path: Path) -> Iterator[ParsedRow]:
    """``bps/penduduk_kabkota_YYYY.csv``: population per regency and year."""
    return PENDUDUK_FORMAT.read(path)
