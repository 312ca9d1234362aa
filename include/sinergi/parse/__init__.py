"""Parse every ministry's delivery, quirks included, into rows of text.

The parsing half of the load step: each parser streams one delivery file and yields
``ParsedRow``s whose values are the source's own column names mapped to text exactly as
received; the loader COPYs them into ``raw.<source>`` with lineage. Rows that cannot be read
as records come back with ``problem`` set (for quarantine); a delivery that cannot be read as a
whole raises ``DeliveryError``. Nothing here touches a database or Airflow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from sinergi.parse import bps, kemendes, kemenkop, kp2mi, parekraf, umkm
from sinergi.parse.csvfile import DelimitedFormat
from sinergi.parse.errors import DeliveryError
from sinergi.parse.kp2mi import parse_kp2mi_jsonl, parse_kp2mi_records
from sinergi.parse.parekraf import read_parekraf_period
from sinergi.parse.rows import RAW_LINE, ParsedRow
from sinergi.parse.umkm import check_umkm_delivery, read_umkm_control_file

Parser = Callable[[Path], Iterator[ParsedRow]]

PARSERS: dict[str, Parser] = {
    "kp2mi_pmi": kp2mi.parse_kp2mi_pmi,
    "kp2mi_program": kp2mi.parse_kp2mi_program,
    "umkm_penerima": umkm.parse_umkm_penerima,
    "parekraf_pelatihan": parekraf.parse_parekraf_pelatihan,
    "kemenkop_anggota": kemenkop.parse_kemenkop_anggota,
    "kemendes_kegiatan": kemendes.parse_kemendes_kegiatan,
    "kemendes_idm": kemendes.parse_kemendes_idm,
    "bps_wilayah": bps.parse_bps_wilayah,
    "bps_penduduk": bps.parse_bps_penduduk,
}

# The delimited deliveries, which the loader can hand to COPY's own CSV parser
# (sinergi.ingest.copy_csv); the parser above stays the reference and the fallback.
DELIMITED_FORMATS: dict[str, DelimitedFormat] = {
    "umkm_penerima": umkm.FORMAT,
    "kemenkop_anggota": kemenkop.FORMAT,
    "kemendes_idm": kemendes.IDM_FORMAT,
    "bps_wilayah": bps.WILAYAH_FORMAT,
    "bps_penduduk": bps.PENDUDUK_FORMAT,
}

EXPECTED_COLUMNS_BY_SOURCE: dict[str, tuple[str, ...]] = {
    "kp2mi_pmi": kp2mi.PMI_EXPECTED_COLUMNS,
    "kp2mi_program": kp2mi.PROGRAM_EXPECTED_COLUMNS,
    "umkm_penerima": umkm.EXPECTED_COLUMNS,
    "parekraf_pelatihan": parekraf.EXPECTED_COLUMNS,
    "kemenkop_anggota": kemenkop.EXPECTED_COLUMNS,
    "kemendes_kegiatan": kemendes.EXPECTED_COLUMNS,
    "kemendes_idm": kemendes.IDM_EXPECTED_COLUMNS,
    "bps_wilayah": bps.WILAYAH_EXPECTED_COLUMNS,
    "bps_penduduk": bps.PENDUDUK_EXPECTED_COLUMNS,
}

__all__ = [
    "DELIMITED_FORMATS",
    "DelimitedFormat",
    "EXPECTED_COLUMNS_BY_SOURCE",
    "PARSERS",
    "RAW_LINE",
    "DeliveryError",
    "ParsedRow",
    "Parser",
    "check_umkm_delivery",
    "parse_kp2mi_jsonl",
    "parse_kp2mi_records",
    "read_parekraf_period",
    "read_umkm_control_file",
]
