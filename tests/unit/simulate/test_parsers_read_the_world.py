"""The pipeline's parsers read every simulated delivery: simulator and parsers agree on
SOURCES.md, and only the deliberately invalid rows look suspicious."""

from __future__ import annotations

import csv

from sinergi.parse import PARSERS

FOLDER_OF = {
    "umkm_penerima": ("umkm", "umkm_penerima_*.csv"),
    "parekraf_pelatihan": ("parekraf", "Peserta_Pelatihan_*.xlsx"),
    "kemenkop_anggota": ("kemenkop", "anggota_koperasi_*.csv.gz"),
    "kemendes_kegiatan": ("kemendes", "kegiatan_desa_*.jsonl.gz"),
    "kemendes_idm": ("kemendes", "idm_*.csv"),
    "bps_wilayah": ("bps", "master_wilayah_*.csv"),
    "bps_penduduk": ("bps", "penduduk_kabkota_*.csv"),
}


def test_every_delivery_parses_without_problem_rows(small_world):
    with open(small_world / "truth" / "deliveries.csv") as f:
        expected_rows = {row["path"]: int(row["rows"]) for row in csv.DictReader(f)}
    for source, (folder, pattern) in FOLDER_OF.items():
        paths = sorted((small_world / "landing" / folder).glob(pattern))
        assert paths, source
        for path in paths:
            rows = list(PARSERS[source](path))
            assert all(row.problem is None for row in rows), path
            if source != "kemendes_kegiatan":  # Kemendes rows are participants, not activities
                assert len(rows) == expected_rows[str(path.relative_to(small_world))], path
    for source in ("kp2mi_pmi", "kp2mi_program"):
        rows = list(PARSERS[source](small_world / "api" / f"{source}.jsonl"))
        assert rows and all(row.problem is None for row in rows)
