"""Run a simulated world: every night's deliveries of every ministry, plus the ground truth.

Output layout below ``--out DIR`` (the same as ``shared/samples``):

- ``landing/<ministry>/...``  the file drops a pipeline finds below ``SINERGI_LANDING_DIR``
- ``api/kp2mi_pmi.jsonl``, ``api/kp2mi_program.jsonl``  what the KemenP2MI API serves
  (``sinergi simulate serve-kp2mi --data DIR``), every record version ordered by
  ``(updated_at, id)``
- ``truth/``  who every source record really is, the true overlaps, the returnees and the
  deliberately invalid rows, for measuring every later stage
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sinergi.simulate import writers
from sinergi.simulate.config import SimulationConfig
from sinergi.simulate.geography import build_geography, master_csv_rows
from sinergi.simulate.world import WIB, Activity, EnrollmentState, Person, SourceRecord, World

DAY = timedelta(days=1)
API_SOURCES = ("kp2mi_pmi", "kp2mi_program")
RECORD_ID_FIELD = {
    "kp2mi_pmi": "id_pmi", "kp2mi_program": "id_peserta", "umkm_penerima": "ID_PENERIMA",
    "parekraf_pelatihan": "ID Peserta", "kemendes_kegiatan": "id_kegiatan",
}  # fmt: skip
DELTA_FILE_SOURCES = ("umkm_penerima", "parekraf_pelatihan", "kemendes_kegiatan")
ENROLLMENT_SOURCES = (
    "kp2mi_program", "umkm_penerima", "parekraf_pelatihan", "kemenkop_anggota",
    "kemendes_kegiatan",
)  # fmt: skip
MINISTRY = {
    "kp2mi_pmi": "KP2MI", "kp2mi_program": "KP2MI", "umkm_penerima": "UMKM",
    "parekraf_pelatihan": "PAREKRAF", "kemenkop_anggota": "KEMENKOP",
    "kemendes_kegiatan": "KEMENDES",
}  # fmt: skip


@dataclass
class Summary:
    persons: int = 0
    source_records: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    deliveries: int = 0
    rows_written: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    overlaps: int = 0
    returnees: int = 0
    invalid_rows: int = 0


@dataclass(slots=True)
class Enrollment:
    person_id: str
    source: str
    record_id: str
    program_code: str
    state: EnrollmentState
    nik_is_valid: bool


def parekraf_delivers_on(day: date) -> bool:
    return day.weekday() < 5  # Monday to Friday; Monday's file carries Saturday to Monday


def nights(config: SimulationConfig) -> list[date]:
    return [config.start + DAY * i for i in range((config.end - config.start).days + 1)]


class Simulator:
    def __init__(
        self,
        config: SimulationConfig,
        out_dir: Path,
        progress: Callable[[str, int], Callable[[int], None]] | None = None,
    ) -> None:
        self.config = config
        self.out = Path(out_dir)
        self.landing = self.out / "landing"
        self.geo = build_geography(config.seed)
        self.world = World(config, self.geo)
        self.summary = Summary()
        # ``progress(label, total)`` returns an ``advance(n)`` callback (a rich bar in the CLI).
        self._progress = progress or (lambda label, total: lambda n: None)
        from sinergi.simulate.spool import NightSpool

        self.spool = NightSpool(self.out / ".spool")
        self._kemenkop_slots: list[tuple[str, str]] = []  # (nomor_induk, nomor_anggota)
        self._kemenkop_changes: dict[date, list[tuple[int, bytes | None]]] = defaultdict(list)
        self._invalid_rows: list[list[str]] = []
        self._deliveries: list[list[str]] = []
        # Delivery faults: rows a bad night owes to the next good delivery, and the file a
        # duplicate sends again.
        self._carry: dict[str, list[str]] = {}
        self._last_delivered: dict[str, Path] = {}

    # ------------------------------------------------------------------ nights
    def first_night(self, source: str) -> date:
        night = self.config.start
        if source == "parekraf_pelatihan":
            while not parekraf_delivers_on(night):
                night += DAY
        return night

    def delivery_night(self, source: str, at: datetime) -> date | None:
        """The logical date whose delivery carries a change made at ``at`` (None: after D2)."""
        night = max(at.astimezone(WIB).date(), self.first_night(source))
        if source == "parekraf_pelatihan":
            while not parekraf_delivers_on(night):
                night += DAY
        return night if night <= self.config.end else None

    # -------------------------------------------------------------------- run
    def run(self) -> Summary:
        self.out.mkdir(parents=True, exist_ok=True)
        truth = self.out / "truth"
        truth.mkdir(exist_ok=True)
        with (
            _gzip_csv(truth / "persons.csv.gz", PERSON_COLUMNS) as persons_out,
            _gzip_csv(truth / "source_records.csv.gz", RECORD_COLUMNS) as records_out,
            _gzip_csv(truth / "enrollments.csv.gz", ENROLLMENT_COLUMNS) as enrollments_out,
            _gzip_csv(truth / "overlaps.csv.gz", OVERLAP_COLUMNS) as overlaps_out,
        ):
            advance = self._progress("persons", self.config.persons)
            for person, records in self.world.persons():
                enrollments = self._take_person(person, records, persons_out, records_out)
                for e in enrollments:
                    enrollments_out.writerow(_enrollment_row(e))
                for overlap in find_overlaps(enrollments, self.config.end):
                    overlaps_out.writerow(overlap)
                    self.summary.overlaps += 1
                advance(1)
            self.summary.persons = self.config.persons
        self._spool_activities()
        self.spool.flush()
        self._write_nights()
        self._write_truth_tables(truth)
        self.spool.remove()
        return self.summary

    def _take_person(self, person: Person, records, persons_out, records_out) -> list[Enrollment]:
        enrollments: list[Enrollment] = []
        is_migrant = False
        for record in records:
            self.summary.source_records[record.source] += 1
            nik_valid = record.nik_damage is None and record.nik_recorded is not None
            records_out.writerow(
                [record.source, record.record_id, person.person_id, record.nik_recorded or "",
                 record.nik_damage or "", int(nik_valid)]
            )  # fmt: skip
            if record.source == "kp2mi_pmi":
                is_migrant = True
            if record.source == "kemenkop_anggota":
                self._take_member(record)
            else:
                self._spool_record(record)
            for state in record.versions[-1].enrollments:
                enrollments.append(
                    Enrollment(person.person_id, record.source, record.record_id,
                               record.program_code, state, nik_valid)
                )  # fmt: skip
        for activity, position in self.world.participations:
            if activity.created_at.date() > self.config.end:
                continue
            participant = activity.participants[position - 1]
            record_id = f"{activity.id_kegiatan}#{position}"
            nik_valid = participant.nik_damage is None and participant.nik_recorded is not None
            self.summary.source_records["kemendes_kegiatan"] += 1
            records_out.writerow(
                ["kemendes_kegiatan", record_id, person.person_id,
                 participant.nik_recorded or "", participant.nik_damage or "", int(nik_valid)]
            )  # fmt: skip
            cancelled = (
                activity.cancelled_at is not None
                and activity.cancelled_at.date() <= self.config.end
            )
            state = EnrollmentState(
                _activity_category(activity), activity.start, activity.end, cancelled
            )
            enrollments.append(
                Enrollment(person.person_id, "kemendes_kegiatan", record_id, activity.kind,
                           state, nik_valid)
            )  # fmt: skip
        regency = self.geo.regency_of(person.village)
        persons_out.writerow(
            [person.person_id, person.nik, person.name, "F" if person.is_female else "M",
             person.birth_date.isoformat(), person.village.bps_code, regency.bps_code,
             int(is_migrant)]
        )  # fmt: skip
        return enrollments

    # --------------------------------------------------------------- spooling
    def _spool_record(self, record: SourceRecord) -> None:
        rng = random.Random(f"{self.config.seed}:{record.record_id}")
        last_per_night: dict[date, dict] = {}
        for version in record.versions:
            night = self.delivery_night(record.source, version.at)
            if night is not None:
                last_per_night[night] = version.fields  # one row per record per delivery
        for night, fields in last_per_night.items():
            fields = self._restamp_backlog(record.source, night, fields, rng)
            self._spool_row(record.source, night, fields)
            if rng.random() < self.config.damage.invalid_row:
                junk, reason = self._invalid_copy(record.source, fields, rng)
                self._spool_row(record.source, night, junk)
                self._note_invalid(record.source, night, junk, reason, record.person_id)

    def _restamp_backlog(self, source: str, night: date, fields: dict, rng) -> dict:
        """The API's first window returns the backlog stamped between 00:00 and 06:00 of D1."""
        if source in API_SOURCES and fields["updated_at"] < self.config.start.isoformat():
            moment = datetime.combine(night, time(), WIB) + timedelta(
                seconds=rng.randrange(6 * 3600)
            )
            return dict(fields, updated_at=moment.isoformat())
        return fields

    def _spool_row(self, source: str, night: date, fields: dict) -> None:
        if source == "umkm_penerima":
            moment = datetime.strptime(fields["TGL_UPDATE"], "%d/%m/%Y %H:%M:%S").isoformat()
            key = f"{moment}|{fields['ID_PENERIMA']}"
        elif source == "parekraf_pelatihan":
            key = f"{fields['Terakhir Diubah']}|{fields['ID Peserta'] or ''}"
        elif source == "kemendes_kegiatan":
            key = f"{fields['updated_at']}|{fields['id_kegiatan']}"
        else:
            key = f"{fields['updated_at']}|{fields[RECORD_ID_FIELD[source]]}"
        self.spool.add(source, night, key, json.dumps(fields, ensure_ascii=False))
        self.summary.rows_written[source] += 1

    def _invalid_copy(self, source: str, fields: dict, rng: random.Random) -> tuple[dict, str]:
        """A deliberately invalid extra row the pipeline must quarantine, never load."""
        ids = self.world.ids
        if source == "kp2mi_pmi":
            year = rng.randrange(2030, 2099)
            junk = dict(fields, id_pmi=ids["kp2mi_pmi"].next(), tanggal_lahir=f"{year}-01-01")
            return junk, "birth_date_in_future"
        if source == "kp2mi_program":
            start = date.fromisoformat(fields["tanggal_mulai"])
            junk = dict(
                fields,
                id_peserta=ids["kp2mi_program"].next(),
                tanggal_selesai=(start - timedelta(days=rng.randrange(1, 90))).isoformat(),
            )
            return junk, "end_before_start"
        if source == "umkm_penerima":
            if rng.random() < 0.5:
                return dict(fields, ID_PENERIMA=""), "missing_id"
            year = fields["TGL_MULAI"][-4:]
            junk = dict(fields, ID_PENERIMA=ids["umkm_penerima"].next(), TGL_MULAI=f"31/02/{year}")
            return junk, "invalid_date"
        if source == "parekraf_pelatihan":
            return dict(fields, **{"ID Peserta": None}), "missing_id"
        if source == "kemendes_kegiatan":
            year = fields["tahun_anggaran"]
            sequence = 900_000 + rng.randrange(99_999)
            junk = dict(fields, id_kegiatan=f"KD-{year}-{sequence:06d}")
            junk["tanggal_mulai"] = f"{year}-02-30"
            return junk, "invalid_date"
        raise ValueError(source)

    def _note_invalid(self, source, night, fields_or_id, reason, person_id) -> None:
        if isinstance(fields_or_id, str):
            record_id = fields_or_id
        else:
            record_id = fields_or_id.get(RECORD_ID_FIELD[source])
        self._invalid_rows.append([source, night.isoformat(), record_id or "", reason, person_id])
        self.summary.invalid_rows += 1

    def _take_member(self, record: SourceRecord) -> None:
        """Kemenkop delivers snapshots: keep each member's changes by the night they show."""
        slot = len(self._kemenkop_slots)
        coop, member = record.record_id.split("#")
        self._kemenkop_slots.append((coop, member))
        for version in record.versions:
            night = self.delivery_night("kemenkop_anggota", version.at)
            if night is not None:
                self._kemenkop_changes[night].append((slot, writers.kemenkop_line(version.fields)))
        if record.removed_on is not None:
            night = max(record.removed_on, self.config.start)
            if night <= self.config.end:
                self._kemenkop_changes[night].append((slot, None))

    def _spool_activities(self) -> None:
        for activity, versions in self.world.activity_records():
            rng = random.Random(f"{self.config.seed}:{activity.id_kegiatan}")
            last_per_night: dict[date, dict] = {}
            for version in versions:
                night = self.delivery_night("kemendes_kegiatan", version.at)
                if night is not None:
                    last_per_night[night] = version.fields
            for night, obj in last_per_night.items():
                self._spool_row("kemendes_kegiatan", night, obj)
                if rng.random() < self.config.damage.invalid_row:
                    junk, reason = self._invalid_copy("kemendes_kegiatan", obj, rng)
                    self._spool_row("kemendes_kegiatan", night, junk)
                    self._note_invalid("kemendes_kegiatan", night, junk, reason, "")

    # ---------------------------------------------------------------- writing
    def _write_nights(self) -> None:
        all_nights = nights(self.config)
        advance = self._progress("nights", len(all_nights))
        order = sorted(range(len(self._kemenkop_slots)), key=self._kemenkop_slots.__getitem__)
        current: list[bytes | None] = [None] * len(self._kemenkop_slots)
        (self.out / "api").mkdir(exist_ok=True)
        api_rows = dict.fromkeys(API_SOURCES, 0)
        with ExitStack() as files:
            api_files = {
                source: files.enter_context(
                    open(self.out / "api" / f"{source}.jsonl", "w", encoding="utf-8")
                )
                for source in API_SOURCES
            }
            for night in all_nights:
                self._write_reference_files(night)
                for source, out in api_files.items():
                    lines = self.spool.read(source, night)
                    out.writelines(lines)
                    api_rows[source] += len(lines)
                self._write_delta_files(night)
                for slot, line in self._kemenkop_changes.pop(night, []):
                    current[slot] = line
                self._write_kemenkop(night, (current[i] for i in order))
                advance(1)
        for source, rows in api_rows.items():
            path = self.out / "api" / f"{source}.jsonl"
            self._record_delivery(self.config.start, source, path, rows)

    def _record_delivery(
        self, night: date, source: str, path: Path, rows: int, fault: str | None = None
    ) -> None:
        self.summary.deliveries += fault != "missing"
        self._deliveries.append(
            [night.isoformat(), source, str(path.relative_to(self.out)), str(rows), fault or ""]
        )

    def _write_delta_files(self, night: date) -> None:
        stamp = f"{night:%Y%m%d}"
        self._write_delta(
            "umkm_penerima", night, self.landing / "umkm" / f"umkm_penerima_{stamp}.csv",
            writers.write_umkm,
        )  # fmt: skip
        if parekraf_delivers_on(night):
            self._write_delta(
                "parekraf_pelatihan", night,
                self.landing / "parekraf" / f"Peserta_Pelatihan_{stamp}.xlsx",
                lambda path, rows: writers.write_parekraf(path, night, rows),
            )  # fmt: skip
        self._write_delta(
            "kemendes_kegiatan", night,
            self.landing / "kemendes" / f"kegiatan_desa_{stamp}.jsonl.gz", writers.write_jsonl_gz,
        )  # fmt: skip

    def _write_delta(self, source: str, night: date, path: Path, write) -> None:
        """One delta delivery, possibly gone wrong; rows of a bad night come with the next."""
        payloads = self._carry.pop(source, [])
        if payloads:
            payloads = _latest_per_record(payloads + self.spool.read(source, night), source)
        else:
            payloads = self.spool.read(source, night)
        fault = self._delivery_fault(source, night)
        if fault == "duplicate" and source not in self._last_delivered:
            fault = "missing"  # nothing earlier to send again
        if fault is None:
            count = write(path, map(json.loads, payloads))
            self._last_delivered[source] = path
            self._record_delivery(night, source, path, count)
            return
        self._carry[source] = payloads
        if fault == "broken":
            write(path, map(json.loads, payloads))
            _cut_off(path)
        elif fault == "duplicate":
            _send_again(self._last_delivered[source], path)
        self._record_delivery(night, source, path, 0, fault)

    def _delivery_fault(self, source: str, night: date) -> str | None:
        """Whether this night's delivery goes wrong, and how (never the backlog night)."""
        rate = self.config.delivery_fault_rate
        if rate <= 0 or night == self.config.start:
            return None
        rng = random.Random(f"{self.config.seed}:fault:{source}:{night}")
        return rng.choice(DELIVERY_FAULTS) if rng.random() < rate else None

    def _write_kemenkop(self, night: date, lines: Iterator[bytes | None]) -> None:
        rng = random.Random(f"{self.config.seed}:kemenkop:{night}")
        rate = self.config.damage.invalid_row

        def with_junk() -> Iterator[bytes]:
            for line in lines:
                if line is None:
                    continue
                yield line
                if rng.random() < rate / 20:  # snapshots repeat rows nightly: rarer junk
                    parts = _split_kemenkop(line.decode("utf-8"))
                    parts[5] = f"X{rng.randrange(10**6):06d}"  # nomor_anggota of nobody
                    parts[10] = f"{night.year}0230"  # tanggal_masuk: 30 February
                    junk = dict(zip(writers.KEMENKOP_COLUMNS, parts, strict=True))
                    junk_id = f"{parts[0]}#{parts[5]}"
                    self._note_invalid("kemenkop_anggota", night, junk_id, "invalid_date", "")
                    yield writers.kemenkop_line(junk)

        path = self.landing / "kemenkop" / f"anggota_koperasi_{night:%Y%m%d}.csv.gz"
        fault = self._delivery_fault("kemenkop_anggota", night)
        if fault == "duplicate" and "kemenkop_anggota" not in self._last_delivered:
            fault = "missing"
        if fault == "missing":  # a snapshot needs no carrying: the next one is complete
            self._record_delivery(night, "kemenkop_anggota", path, 0, fault)
        elif fault == "duplicate":
            _send_again(self._last_delivered["kemenkop_anggota"], path)
            self._record_delivery(night, "kemenkop_anggota", path, 0, fault)
        else:
            count = writers.write_kemenkop(path, with_junk())
            if fault == "broken":
                _cut_off(path)
                count = 0
            else:
                self._last_delivered["kemenkop_anggota"] = path
            self._record_delivery(night, "kemenkop_anggota", path, count, fault)

    def _write_reference_files(self, night: date) -> None:
        first = night == self.config.start
        if first or night.day == 1:  # the monthly BPS master, on the first of the month
            path = self.landing / "bps" / f"master_wilayah_{night:%Y%m}.csv"
            rows = master_csv_rows(self.geo.master_rows(night))
            count = writers.write_csv(path, writers.BPS_MASTER_COLUMNS, rows)
            self._record_delivery(night, "bps_wilayah", path, count)
        if first or (night.month, night.day) == (1, 1):  # yearly population
            path = self.landing / "bps" / f"penduduk_kabkota_{night.year}.csv"
            count = writers.write_csv(
                path, writers.BPS_POPULATION_COLUMNS, self.geo.population(night.year)
            )
            self._record_delivery(night, "bps_penduduk", path, count)
        if first or (night.month, night.day) == (7, 1):  # IDM, published every July
            year = night.year if night >= date(night.year, 7, 1) else night.year - 1
            path = self.landing / "kemendes" / f"idm_{year}.csv"
            rows = [
                (code, name, f"{score:.4f}", status, str(y))
                for code, name, score, status, y in self.geo.idm(year)
            ]
            count = writers.write_csv(path, writers.IDM_COLUMNS, rows)
            self._record_delivery(night, "kemendes_idm", path, count)

    def _write_truth_tables(self, truth: Path) -> None:
        with open(truth / "returnees.csv", "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["person_id", "id_pmi", "return_date"])
            for person_id, id_pmi, return_date in self.world.returnees:
                writer.writerow([person_id, id_pmi, return_date.isoformat()])
                self.summary.returnees += 1
        writers.write_csv(
            truth / "invalid_rows.csv",
            ("source_system", "logical_date", "source_record_id", "reason", "person_id"),
            self._invalid_rows,
        )
        writers.write_csv(
            truth / "deliveries.csv",
            ("logical_date", "source_system", "path", "rows", "fault"),
            self._deliveries,
        )
        manifest = {
            "generator": "sinergi simulate",
            "config": self.config.as_dict(),
            "persons": self.summary.persons,
            "source_records": dict(sorted(self.summary.source_records.items())),
            "overlaps": self.summary.overlaps,
            "returnees": self.summary.returnees,
            "invalid_rows": self.summary.invalid_rows,
        }
        (truth / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


DELIVERY_FAULTS = ("missing", "broken", "duplicate")


def _cut_off(path: Path) -> None:
    """A delivery cut off half-way (a UMKM `.ok` written before that still has the full
    file's hash, so it disagrees)."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _send_again(previous: Path, path: Path) -> None:
    """The ministry drops the previous delivery again under this night's name."""
    shutil.copyfile(previous, path)
    control = Path(f"{previous}.ok")
    if control.exists():
        shutil.copyfile(control, Path(f"{path}.ok"))


def _latest_per_record(payloads: list[str], source: str) -> list[str]:
    """Carried and new rows of one delivery: one row per record, the latest (payloads come
    in update order, so the last one seen wins), kept in update order."""
    latest: dict[str, str] = {}
    for payload in payloads:
        record = json.loads(payload)
        key = record.get(RECORD_ID_FIELD[source]) or payload  # invalid rows without an id
        latest.pop(key, None)
        latest[key] = payload
    return list(latest.values())


def _split_kemenkop(line: str) -> list[str]:
    return next(csv.reader([line.rstrip("\n")]))


def _activity_category(activity: Activity) -> str:
    from sinergi.simulate.programs import KEMENDES_ACTIVITIES

    return KEMENDES_ACTIVITIES[activity.kind].category


def find_overlaps(enrollments: list[Enrollment], logical_date: date) -> Iterator[list]:
    """The overlap rule of WAREHOUSE.md, for one person's enrolments.

    Both not cancelled and not deleted, same category, different ministries, inclusive
    periods that intersect; an open end runs to the logical date, a closed end counts as
    written (even in the future).
    """
    live = [e for e in enrollments if not (e.state.is_cancelled or e.state.is_deleted)]
    live.sort(key=lambda e: (e.source, e.record_id, e.state.category))
    for i, a in enumerate(live):
        for b in live[i + 1 :]:
            if a.state.category != b.state.category:
                continue
            if MINISTRY[a.source] == MINISTRY[b.source]:
                continue
            start = max(a.state.start, b.state.start)
            end = min(a.state.end or logical_date, b.state.end or logical_date)
            if start > end:
                continue
            yield [
                a.person_id, a.state.category, a.source, a.record_id, MINISTRY[a.source],
                b.source, b.record_id, MINISTRY[b.source], start.isoformat(), end.isoformat(),
                (end - start).days + 1, int(a.nik_is_valid and b.nik_is_valid),
            ]  # fmt: skip


def _enrollment_row(e: Enrollment) -> list:
    return [
        e.person_id, e.source, e.record_id, MINISTRY[e.source], e.program_code, e.state.category,
        e.state.start.isoformat(), e.state.end.isoformat() if e.state.end else "",
        int(e.state.is_cancelled), int(e.state.is_deleted), int(e.nik_is_valid),
    ]  # fmt: skip


PERSON_COLUMNS = (
    "person_id", "nik", "name", "gender", "birth_date", "home_village_bps",
    "home_regency_bps", "is_migrant_worker",
)  # fmt: skip
RECORD_COLUMNS = (
    "source_system", "source_record_id", "person_id", "nik_recorded", "nik_damage",
    "nik_is_valid",
)  # fmt: skip
ENROLLMENT_COLUMNS = (
    "person_id", "source_system", "source_record_id", "ministry", "program_code", "category",
    "start_date", "end_date", "is_cancelled", "is_deleted", "nik_is_valid",
)  # fmt: skip
OVERLAP_COLUMNS = (
    "person_id", "category", "source_system_a", "source_record_id_a", "ministry_a",
    "source_system_b", "source_record_id_b", "ministry_b", "overlap_start", "overlap_end",
    "overlap_days", "both_nik_valid",
)  # fmt: skip


@contextmanager
def _gzip_csv(path: Path, header: tuple[str, ...]) -> Iterator:
    """A gzip CSV writer whose header carries no timestamp (same seed, same bytes)."""
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as compressed,
        io.TextIOWrapper(compressed, encoding="utf-8", newline="") as text,
    ):
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        yield writer
