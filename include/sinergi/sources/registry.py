"""Every ministry source entity, declared once.

The per-source Airflow DAGs, the loader, the validator and the warehouse's freshness checks
are all generated from these declarations: adding a ministry feed is one entry here plus its
parser (``sinergi.parse``) and its expectation suite (``sinergi.validate.suites``).

Times are Asia/Jakarta (WIB). The logical date ``D`` is the business day an extract carries;
extracts for ``D`` are complete by 01:00 WIB on ``D+1`` and the nightly run starts at 02:00.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta

KINDS = ("api", "file")
# How a delivery relates to what is already loaded.
#   delta:     rows created or changed on D (a record's latest version wins downstream)
#   snapshot:  the full registry every night (what disappears has left)
#   reference: a complete reference table, replacing the previous one when it is published
LOAD_MODES = ("delta", "snapshot", "reference")
CADENCES = ("daily", "weekdays", "monthly", "yearly", "yearly_july")
# How a source's night ended, as its ingest DAG's last task reports it (the outcome Asset
# event's extra, and dq.source_status):
#   landed:       a batch of the night passed or warned and is in force
#   duplicate:    the delivery repeats an earlier night's extract; not loaded (a green run)
#   not_expected: the calendar has no delivery that night (weekend, monthly/yearly off days)
#   missing:      nothing complete by the deadline, or the API could not be read all night
#                 (dq.batch verdict missing or incomplete)
#   failed:       a delivery came but was rejected (verdict failed), or the run broke before
#                 a verdict (see the failed task's log)
OUTCOMES = ("landed", "duplicate", "not_expected", "missing", "failed")
# dq.source_status also knows `not_reported`: a delivery was due, and no outcome event and no
# dq.batch row of the night exist (the night's ingest run has not run, e.g. a manual build).
STATUS_OUTCOMES = (*OUTCOMES, "not_reported")


@dataclass(frozen=True)
class SourceSpec:
    name: str  # the source name of SOURCES.md, also raw.<name>
    ministry: str  # KP2MI, UMKM, PAREKRAF, KEMENKOP, KEMENDES, BPS
    kind: str  # api | file
    cadence: str  # see CADENCES
    load_mode: str  # see LOAD_MODES
    # file drops: path below SINERGI_LANDING_DIR, formatted with the delivery's date
    path_template: str | None = None
    # api: endpoint path below the connection's base URL
    endpoint: str | None = None
    # the source's own record id, as a SQL expression over raw columns (quarantine, dedupe)
    record_id_sql: str = ""
    # columns that identify a record within one delivery
    key_columns: tuple[str, ...] = ()
    # how long after the end of D the sensor waits for the delivery (WIB): after it, `missing`
    deadline_after_midnight: time = time(6, 0)
    description: str = ""

    def __post_init__(self) -> None:
        assert self.kind in KINDS and self.cadence in CADENCES and self.load_mode in LOAD_MODES
        assert (self.path_template is None) == (self.kind == "api")

    def is_expected_on(self, logical_date: date, first_night: bool = False) -> bool:
        """Whether a delivery for ``logical_date`` is due.

        ``first_night``: nothing of this source has been loaded yet. A periodic reference
        file is then due on any night (the latest published one is the backlog).
        """
        if self.cadence == "daily":
            return True
        if self.cadence == "weekdays":
            return logical_date.weekday() < 5
        if first_night:
            return True
        if self.cadence == "monthly":
            return logical_date.day == 1
        if self.cadence == "yearly":
            return (logical_date.month, logical_date.day) == (1, 1)
        return (logical_date.month, logical_date.day) == (7, 1)  # yearly_july

    def last_due_on_or_before(self, day: date) -> date:
        """The latest business day up to ``day`` (inclusive) on which the calendar says a
        delivery is due (never counting the first-night backlog rule): ``day`` itself for a
        daily source, the Friday before a weekend for a weekday source, the first of the
        month, 1 January or 1 July for the periodic references."""
        for back in range(367):
            candidate = day - timedelta(days=back)
            if self.is_expected_on(candidate):
                return candidate
        raise AssertionError(f"{self.name}: no delivery due in the year before {day}")

    def delivery_path(self, logical_date: date) -> str:
        """The file a delivery for ``logical_date`` arrives as, relative to the landing dir."""
        if self.path_template is None:
            raise ValueError(f"{self.name} is delivered by API, not as a file")
        year = logical_date.year
        if self.cadence == "yearly_july" and logical_date < date(year, 7, 1):
            year -= 1  # before July the latest published index is last year's
        return self.path_template.format(date=logical_date, year=year)

    def covered_dates(self, logical_date: date) -> list[date]:
        """The business days a delivery for ``logical_date`` carries changes of.

        Parekraf's Monday file carries Saturday to Monday; every other source carries its own
        day (references: their publication day).
        """
        if self.cadence == "weekdays" and logical_date.weekday() == 0:
            return [logical_date - timedelta(days=days) for days in (2, 1, 0)]
        return [logical_date]


SOURCES: dict[str, SourceSpec] = {
    spec.name: spec
    for spec in (
        SourceSpec(
            name="kp2mi_pmi",
            ministry="KP2MI",
            kind="api",
            cadence="daily",
            load_mode="delta",
            endpoint="/api/v1/pmi",
            record_id_sql="id_pmi",
            key_columns=("id_pmi",),
            description="KemenP2MI migrant worker placements (REST API, delta by updated_at)",
        ),
        SourceSpec(
            name="kp2mi_program",
            ministry="KP2MI",
            kind="api",
            cadence="daily",
            load_mode="delta",
            endpoint="/api/v1/peserta-program",
            record_id_sql="id_peserta",
            key_columns=("id_peserta",),
            description="KemenP2MI programme participants (REST API, delta by updated_at)",
        ),
        SourceSpec(
            name="umkm_penerima",
            ministry="UMKM",
            kind="file",
            cadence="daily",
            load_mode="delta",
            path_template="umkm/umkm_penerima_{date:%Y%m%d}.csv",
            record_id_sql="id_penerima",
            key_columns=("id_penerima",),
            description="Kementerian UMKM beneficiaries (CSV delta with .ok control file)",
        ),
        SourceSpec(
            name="parekraf_pelatihan",
            ministry="PAREKRAF",
            kind="file",
            cadence="weekdays",
            load_mode="delta",
            path_template="parekraf/Peserta_Pelatihan_{date:%Y%m%d}.xlsx",
            record_id_sql="id_peserta",
            key_columns=("id_peserta",),
            description="Parekraf training participants (Excel, Monday to Friday)",
        ),
        SourceSpec(
            name="kemenkop_anggota",
            ministry="KEMENKOP",
            kind="file",
            cadence="daily",
            load_mode="snapshot",
            path_template="kemenkop/anggota_koperasi_{date:%Y%m%d}.csv.gz",
            record_id_sql="nomor_induk_koperasi || '#' || nomor_anggota",
            key_columns=("nomor_induk_koperasi", "nomor_anggota"),
            description="Kemenkop cooperative members (gzip CSV, full snapshot every night)",
        ),
        SourceSpec(
            name="kemendes_kegiatan",
            ministry="KEMENDES",
            kind="file",
            cadence="daily",
            load_mode="delta",
            path_template="kemendes/kegiatan_desa_{date:%Y%m%d}.jsonl.gz",
            record_id_sql="source_record_id",
            key_columns=("source_record_id",),
            description="Kemendes village activities, participants flattened (gzip JSONL delta)",
        ),
        SourceSpec(
            name="kemendes_idm",
            ministry="KEMENDES",
            kind="file",
            cadence="yearly_july",
            load_mode="reference",
            path_template="kemendes/idm_{year}.csv",
            record_id_sql="kode_desa",
            key_columns=("kode_desa",),
            description="Indeks Desa Membangun (CSV, published every July)",
        ),
        SourceSpec(
            name="bps_wilayah",
            ministry="BPS",
            kind="file",
            cadence="monthly",
            load_mode="reference",
            path_template="bps/master_wilayah_{date:%Y%m}.csv",
            record_id_sql="kode_bps || '@' || berlaku_sejak",
            key_columns=("kode_bps", "berlaku_sejak"),
            description="BPS region master with the Kemendagri crosswalk (CSV, monthly)",
        ),
        SourceSpec(
            name="bps_penduduk",
            ministry="BPS",
            kind="file",
            cadence="yearly",
            load_mode="reference",
            path_template="bps/penduduk_kabkota_{date:%Y}.csv",
            record_id_sql="kode_bps",
            key_columns=("kode_bps",),
            description="BPS population per regency (CSV, yearly)",
        ),
    )
}


def get_source(name: str) -> SourceSpec:
    try:
        return SOURCES[name]
    except KeyError:
        known = ", ".join(SOURCES)
        raise KeyError(f"unknown source {name!r}; known sources: {known}") from None


def raw_column_name(source_column: str) -> str:
    """The raw table's column for a source column: lower snake case (`Kabupaten/Kota` ->
    `kabupaten_kota`, `ID_PENERIMA` -> `id_penerima`), so SQL never needs quoted names."""
    return re.sub(r"[^a-z0-9]+", "_", source_column.lower()).strip("_")
