"""The registry covers every source entity of the contract, with matching columns."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sinergi.parse import EXPECTED_COLUMNS_BY_SOURCE, PARSERS

SAMPLES = Path(os.environ.get("SINERGI_SAMPLES_DIR", "/work/shared/samples"))
SAMPLE_OF_SOURCE = {
    "kp2mi_pmi": "api/kp2mi_pmi.jsonl",
    "kp2mi_program": "api/kp2mi_program.jsonl",
    "umkm_penerima": "landing/umkm/umkm_penerima_20260101.csv",
    "parekraf_pelatihan": "landing/parekraf/Peserta_Pelatihan_20260101.xlsx",
    "kemenkop_anggota": "landing/kemenkop/anggota_koperasi_20260101.csv.gz",
    "kemendes_kegiatan": "landing/kemendes/kegiatan_desa_20260101.jsonl.gz",
    "kemendes_idm": "landing/kemendes/idm_2025.csv",
    "bps_wilayah": "landing/bps/master_wilayah_202601.csv",
    "bps_penduduk": "landing/bps/penduduk_kabkota_2026.csv",
}


def test_every_source_has_a_parser_and_columns() -> None:
    assert set(PARSERS) == set(SAMPLE_OF_SOURCE)
    assert set(EXPECTED_COLUMNS_BY_SOURCE) == set(SAMPLE_OF_SOURCE)


@pytest.mark.parametrize("source", sorted(SAMPLE_OF_SOURCE))
def test_parser_yields_the_expected_columns(source: str) -> None:
    path = SAMPLES / SAMPLE_OF_SOURCE[source]
    if not path.exists():
        pytest.skip(f"sample not found at {path}")
    rows = list(PARSERS[source](path))
    assert rows
    for row in rows:
        assert row.problem is None
        assert tuple(row.values) == EXPECTED_COLUMNS_BY_SOURCE[source]
        assert all(value is None or isinstance(value, str) for value in row.values.values())
