"""Kementerian Koperasi: nightly full snapshot of cooperative members (CSV.gz)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sinergi.parse.csvfile import DelimitedFormat
from sinergi.parse.rows import ParsedRow

SOURCE = "kemenkop_anggota"

EXPECTED_COLUMNS: tuple[str, ...] = (
    "nomor_induk_koperasi",
    "nama_koperasi",
    "jenis_koperasi",
    "is_kdmp",
    "kode_desa_koperasi",
    "nomor_anggota",
    "nik_anggota",
    "nama_anggota",
    "tanggal_lahir",
    "jenis_kelamin",
    "tanggal_masuk",
    "tanggal_keluar",
    "status_anggota",
    "pinjaman_rp",
    "tanggal_pinjaman",
)

# The snapshot key: a member number is only unique within its cooperative.
KEY_COLUMNS: tuple[str, ...] = ("nomor_induk_koperasi", "nomor_anggota")

FORMAT = DelimitedFormat(SOURCE, EXPECTED_COLUMNS, delimiter=",", gzipped=True)


def parse_kemenkop_anggota(path: Path) -> Iterator[ParsedRow]:
    """``kemenkop/anggota_koperasi_YYYYMMDD.csv.gz``: gzip, UTF-8, ``,``, RFC 4180, LF.

    Streams the decompressed text line by line (the snapshot can be hundreds of MB); values are
    text, so member numbers keep their leading zeros. A truncated gzip raises DeliveryError when
    the reader reaches the cut, after the rows before it were yielded.
    """
    return FORMAT.read(path)
