"""Per source: which checks its batches must pass. One suite per entry of ``SOURCES``.

Vocabularies and formats are those of ``contracts/SOURCES.md``, exactly as written there (the
staging models map them; anything else is quarantined as ``unknown_code`` so a new code shows
up instead of silently falling through a mapping).

Order matters in one way: a row that breaks several warn checks is quarantined once, under the
first one in suite order. ``duplicate_id`` comes first because its predicate looks at the other
rows of the batch, which must not have been moved yet.

Imports instantly (no Great Expectations): DAG files may import it at parse time.
"""

from __future__ import annotations

from sinergi.sources.registry import SOURCES, SourceSpec
from sinergi.validate import checks as c
from sinergi.validate.checks import (
    DMY_DASH,
    DMY_SLASH,
    DMY_SLASH_TIME,
    ISO_DATE,
    ISO_DATETIME,
    ISO_TIMESTAMP_OFFSET,
    YMD_COMPACT,
    Check,
)

JENIS_KELAMIN_LP = ("L", "P")
BOOLEAN_JSON = ("true", "false")

# Parekraf's Excel cells: a date cell reads as YYYY-MM-DD (with a time when the cell has one);
# a birth date is sometimes typed as text DD-MM-YYYY.
PAREKRAF_CELL_DATE = (ISO_DATE, ISO_DATETIME)
PAREKRAF_BIRTH_DATE = (ISO_DATE, ISO_DATETIME, DMY_DASH)


def _common_head(source: SourceSpec) -> list[Check]:
    """Schema first (fail), then the id checks, duplicates before anything moves rows."""
    return [c.schema(source.name), c.id_unique(source.key_columns)]


def _kp2mi_pmi(source: SourceSpec) -> list[Check]:
    return [
        *_common_head(source),
        c.id_present("id_pmi"),
        c.valid_date("tanggal_lahir", [ISO_DATE]),
        c.valid_date("tanggal_berangkat", [ISO_DATE]),
        c.valid_date("tanggal_kembali", [ISO_DATE]),
        c.valid_date("updated_at", [ISO_TIMESTAMP_OFFSET]),
        c.birth_not_in_future("tanggal_lahir", [ISO_DATE]),
        c.end_not_before_start("tanggal_berangkat", "tanggal_kembali", [ISO_DATE], [ISO_DATE]),
        c.in_set("jenis_kelamin", JENIS_KELAMIN_LP),
        c.in_set("skema", ("P to P", "G to G", "SSW", "Mandiri")),
        c.in_set("status", ("TERDAFTAR", "BERANGKAT", "BEKERJA", "PURNA", "BATAL")),
        c.in_set("deleted", BOOLEAN_JSON),
        c.nik_present("nik"),
        c.nik_shape("nik"),
        c.region_known("kode_desa_asal", "kode_kemendagri"),
        c.volume(source.load_mode),
    ]


def _kp2mi_program(source: SourceSpec) -> list[Check]:
    return [
        *_common_head(source),
        c.id_present("id_peserta"),
        c.valid_date("tanggal_lahir", [ISO_DATE]),
        c.valid_date("tanggal_mulai", [ISO_DATE]),
        c.valid_date("tanggal_selesai", [ISO_DATE]),
        c.valid_date("updated_at", [ISO_TIMESTAMP_OFFSET]),
        c.valid_number("nilai_rp", c.DIGITS, "as whole rupiah digits"),
        c.birth_not_in_future("tanggal_lahir", [ISO_DATE]),
        c.end_not_before_start("tanggal_mulai", "tanggal_selesai", [ISO_DATE], [ISO_DATE]),
        c.in_set("jenis_kelamin", JENIS_KELAMIN_LP),
        c.in_set("kode_program", ("MC-KWU", "PURNA-KWU", "KUR-PMI", "MC-BHS")),
        c.in_set("status", ("TERDAFTAR", "AKTIF", "LULUS", "TIDAK_LULUS", "BATAL")),
        c.in_set("deleted", BOOLEAN_JSON),
        c.nik_present("nik"),
        c.nik_shape("nik"),
        c.volume(source.load_mode),
    ]


def _umkm_penerima(source: SourceSpec) -> list[Check]:
    return [
        c.schema(source.name),
        c.control_count(),
        c.id_unique(source.key_columns),
        c.id_present("id_penerima"),
        c.valid_date("tgl_lahir", [DMY_SLASH]),
        c.valid_date("tgl_mulai", [DMY_SLASH]),
        c.valid_date("tgl_selesai", [DMY_SLASH]),
        c.valid_date("tgl_update", [DMY_SLASH_TIME]),
        c.valid_number("nilai_rp", c.RUPIAH_ID, "25.000.000 or 25.000.000,00"),
        c.birth_not_in_future("tgl_lahir", [DMY_SLASH]),
        c.end_not_before_start("tgl_mulai", "tgl_selesai", [DMY_SLASH], [DMY_SLASH]),
        c.in_set("jenis_kelamin", ("L", "P", "LAKI-LAKI", "PEREMPUAN")),
        c.in_set("kode_program", ("KUR-SM", "KUR-MI", "KUR-KC", "PDP", "INK", "DIGI")),
        c.in_set("status", ("AKTIF", "SELESAI", "DIBATALKAN")),
        c.nik_present("nik"),
        c.nik_shape("nik"),
        c.region_known("kode_wilayah_bps", "kode_bps"),
        c.volume(source.load_mode),
    ]


def _parekraf_pelatihan(source: SourceSpec) -> list[Check]:
    return [
        *_common_head(source),
        c.id_present("id_peserta"),
        c.valid_date("tanggal_lahir", PAREKRAF_BIRTH_DATE),
        c.valid_date("tanggal_mulai", PAREKRAF_CELL_DATE),
        c.valid_date("tanggal_selesai", PAREKRAF_CELL_DATE),
        c.valid_date("terakhir_diubah", PAREKRAF_CELL_DATE),
        c.birth_not_in_future("tanggal_lahir", PAREKRAF_BIRTH_DATE),
        c.end_not_before_start(
            "tanggal_mulai", "tanggal_selesai", PAREKRAF_CELL_DATE, PAREKRAF_CELL_DATE
        ),
        c.in_set("jenis_kelamin", ("Laki-laki", "Perempuan")),
        c.in_set(
            "kategori",
            ("Desa Wisata", "Kuliner", "Kriya", "Fesyen", "Digital Kreatif", "Pemandu Wisata"),
        ),
        c.in_set("status", ("Terdaftar", "Lulus", "Tidak Lulus", "Batal")),
        c.nik_present("nik"),
        c.nik_shape("nik"),
        c.volume(source.load_mode),
    ]


def _kemenkop_anggota(source: SourceSpec) -> list[Check]:
    return [
        *_common_head(source),
        c.id_present("nomor_induk_koperasi"),
        c.id_present("nomor_anggota"),
        c.valid_date("tanggal_lahir", [YMD_COMPACT]),
        c.valid_date("tanggal_masuk", [YMD_COMPACT]),
        c.valid_date("tanggal_keluar", [YMD_COMPACT]),
        c.valid_date("tanggal_pinjaman", [YMD_COMPACT]),
        c.valid_number("pinjaman_rp", c.DIGITS, "as whole rupiah digits"),
        c.birth_not_in_future("tanggal_lahir", [YMD_COMPACT]),
        c.end_not_before_start("tanggal_masuk", "tanggal_keluar", [YMD_COMPACT], [YMD_COMPACT]),
        c.in_set("jenis_koperasi", ("Simpan Pinjam", "Produsen", "Konsumen", "Jasa", "Pemasaran")),
        c.in_set("is_kdmp", ("0", "1")),
        c.in_set("jenis_kelamin", JENIS_KELAMIN_LP),
        c.in_set("status_anggota", ("AKTIF", "KELUAR")),
        c.nik_present("nik_anggota"),
        c.nik_shape("nik_anggota"),
        c.region_known("kode_desa_koperasi", "kode_kemendagri"),
        c.volume(source.load_mode),
    ]


def _kemendes_kegiatan(source: SourceSpec) -> list[Check]:
    return [
        *_common_head(source),
        c.id_present("id_kegiatan"),
        c.valid_date("tanggal_mulai", [ISO_DATE]),
        c.valid_date("tanggal_selesai", [ISO_DATE]),
        c.valid_date("updated_at", [ISO_TIMESTAMP_OFFSET]),
        c.valid_number("tahun_anggaran", c.YEAR_DIGITS, "as a 4-digit year"),
        c.valid_number("usia", "^[0-9]{1,3}$", "as whole years"),
        c.end_not_before_start("tanggal_mulai", "tanggal_selesai", [ISO_DATE], [ISO_DATE]),
        c.in_set("jenis_kegiatan", ("PKTD", "BUMDES", "DME", "PKD")),
        c.in_set("jenis_kelamin", JENIS_KELAMIN_LP),
        c.in_set("peran", ("pekerja", "peserta", "pengurus")),
        c.in_set("dibatalkan", BOOLEAN_JSON),
        # A participant-less activity has no NIK by construction: only participants count.
        c.nik_shape("nik"),
        c.region_known("kode_desa", "kode_kemendagri", undotted=True),
        c.volume(source.load_mode),
    ]


def _kemendes_idm(source: SourceSpec) -> list[Check]:
    return [
        *_common_head(source),
        c.id_present("kode_desa"),
        c.valid_number("skor_idm", c.UNIT_DECIMAL_POINT, "with a decimal point, from 0 to 1"),
        c.valid_number("tahun", c.YEAR_DIGITS, "as a 4-digit year"),
        c.year_of_delivery("tahun", source),
        c.in_set(
            "status_idm", ("MANDIRI", "MAJU", "BERKEMBANG", "TERTINGGAL", "SANGAT TERTINGGAL")
        ),
        c.region_known("kode_desa", "kode_kemendagri", undotted=True),
        c.volume(source.load_mode),
    ]


def _bps_wilayah(source: SourceSpec) -> list[Check]:
    return [
        *_common_head(source),
        c.id_present("kode_bps"),
        c.id_present("berlaku_sejak"),
        c.valid_date("berlaku_sejak", [ISO_DATE]),
        c.valid_date("berlaku_sampai", [ISO_DATE]),
        c.end_not_before_start("berlaku_sejak", "berlaku_sampai", [ISO_DATE], [ISO_DATE]),
        c.in_set("tingkat", tuple(c.BPS_CODE_LENGTH)),
        c.region_code_fits_level("kode_bps", "tingkat"),
        c.parent_region_in_batch("kode_bps_induk", "kode_bps"),
        c.volume(source.load_mode),
    ]


def _bps_penduduk(source: SourceSpec) -> list[Check]:
    return [
        *_common_head(source),
        c.id_present("kode_bps"),
        c.valid_number("tahun", c.YEAR_DIGITS, "as a 4-digit year"),
        c.valid_number("jumlah_penduduk", c.DIGITS, "as digits"),
        c.valid_number("penduduk_usia_kerja", c.DIGITS, "as digits"),
        c.region_known("kode_bps", "kode_bps"),
        c.volume(source.load_mode),
    ]


_BUILDERS = {
    "kp2mi_pmi": _kp2mi_pmi,
    "kp2mi_program": _kp2mi_program,
    "umkm_penerima": _umkm_penerima,
    "parekraf_pelatihan": _parekraf_pelatihan,
    "kemenkop_anggota": _kemenkop_anggota,
    "kemendes_kegiatan": _kemendes_kegiatan,
    "kemendes_idm": _kemendes_idm,
    "bps_wilayah": _bps_wilayah,
    "bps_penduduk": _bps_penduduk,
}

# Built once at import: plain dataclasses, no SQL is rendered and nothing is connected.
SUITES: dict[str, tuple[Check, ...]] = {
    name: tuple(_BUILDERS[name](spec)) for name, spec in SOURCES.items() if name in _BUILDERS
}


def suite_for(source: SourceSpec | str) -> tuple[Check, ...]:
    """The checks of ``source``'s suite, in evaluation and quarantine order."""
    name = source if isinstance(source, str) else source.name
    try:
        return SUITES[name]
    except KeyError:
        raise KeyError(
            f"no expectation suite for source {name!r}; add one to sinergi.validate.suites"
        ) from None
