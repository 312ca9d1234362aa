"""The simulated world: persons and the life histories the ministries record about them.

One pass over the persons, in order, each with a random stream of its own, builds every
source record as the list of its versions (each version: when it changed and the fields the
ministry delivers after that change). Cross-person structures (cooperatives and their member
numbers, village activities and their participant lists) are assembled as persons join them.

The simulator (``simulator.py``) decides on which night each version is delivered and writes
the files; this module knows nothing about files.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sinergi.simulate import damage, names, nik
from sinergi.simulate.config import SimulationConfig
from sinergi.simulate.geography import Geography, Region, bare_regency_name
from sinergi.simulate.ids import IdSequence
from sinergi.simulate.programs import (
    KEMENDES_ACTIVITIES,
    KP2MI_PROGRAMS,
    PAREKRAF_TRAININGS,
    UMKM_PROGRAMS,
)

WIB = timezone(timedelta(hours=7), "WIB")
DAY = timedelta(days=1)

COUNTRIES = (
    ("Hong Kong", 20), ("Taiwan", 22), ("Malaysia", 20), ("Jepang", 8), ("Korea Selatan", 8),
    ("Arab Saudi", 6), ("Singapura", 6), ("Brunei Darussalam", 4), ("Polandia", 2),
    ("Turki", 1), ("Uni Emirat Arab", 2), ("Qatar", 1),
)  # fmt: skip
SECTORS = (
    ("Domestik", 35), ("Manufaktur", 20), ("Perkebunan", 12), ("Perawat", 8),
    ("Konstruksi", 8), ("Perikanan", 8), ("Hospitality", 9),
)  # fmt: skip
SCHEMES = (("P to P", 60), ("G to G", 12), ("SSW", 8), ("Mandiri", 20))
KBLI = ("47111", "10792", "96011", "56103", "14111", "01131", "47721", "10710", "03111", "47112")
BUSINESS_WORDS = (
    "WARUNG", "TOKO", "LAUNDRY", "KERIPIK", "DAPUR", "BENGKEL", "KEDAI", "KONVEKSI", "TANI",
)  # fmt: skip
BUSINESS_NAMES = (
    "CAHAYA", "BAROKAH", "MAKMUR", "SEJAHTERA", "MANDIRI", "BERKAH", "AMANAH", "SUMBER REJEKI",
    "MAWAR", "MELATI", "BUNDA", "JAYA", "LESTARI", "NU’MAN", "MA’RUF",
)  # fmt: skip
COOP_KINDS = ("Simpan Pinjam", "Produsen", "Konsumen", "Jasa", "Pemasaran")
COOP_WORDS = ("BERSAMA", "MAKMUR", "MULIA", "AMANAH", "SEJAHTERA", "MANDIRI", "SEHATI", "JAYA")


def weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    total = sum(weight for _, weight in table)
    pick = rng.random() * total
    for value, weight in table:
        pick -= weight
        if pick < 0:
            return value
    return table[-1][0]


def at_daytime(rng: random.Random, day: date) -> datetime:
    """A believable office-hours moment of that day, WIB, to the second."""
    seconds = rng.randrange(7 * 3600, 21 * 3600)
    return datetime.combine(day, time(), WIB) + timedelta(seconds=seconds)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass(slots=True)
class Person:
    index: int
    person_id: str
    is_female: bool
    birth_date: date
    village: Region
    nik: str
    name: str


@dataclass(slots=True)
class EnrollmentState:
    """The truth about an enrolment in one version: what the overlap rule needs."""

    category: str
    start: date
    end: date | None
    is_cancelled: bool = False
    is_deleted: bool = False


@dataclass(slots=True)
class Version:
    at: datetime  # WIB moment of the change
    fields: dict  # what the ministry delivers for the record after this change
    # Enrolments this version represents (a Kemenkop member with a loan is two).
    enrollments: tuple[EnrollmentState, ...] = ()


@dataclass(slots=True)
class SourceRecord:
    source: str
    record_id: str
    person_id: str
    ministry: str
    program_code: str
    nik_recorded: str | None  # the NIK as this registry holds it (None: missing)
    nik_damage: str | None  # damage kind, None when the NIK is intact
    versions: list[Version] = field(default_factory=list)
    # A Kemenkop member row that vanished from the registry on this date (None: still there).
    removed_on: date | None = None


@dataclass(slots=True)
class Participant:
    person_id: str
    nik_recorded: str | None
    nik_damage: str | None
    name: str
    gender: str
    birth_date: date
    role: str


@dataclass(slots=True)
class Activity:
    """A Kemendes village activity; its participants are source records `<id>#<n>`."""

    id_kegiatan: str
    village: Region
    kind: str
    year: int
    start: date
    end: date
    created_at: datetime
    cancelled_at: datetime | None
    participants: list[Participant] = field(default_factory=list)


@dataclass(slots=True)
class Cooperative:
    nomor_induk: str
    name: str
    kind: str
    is_kdmp: bool
    village: Region
    member_number_width: int
    members: int = 0


class World:
    """Builds persons and their records; iterate ``persons()`` once, in order."""

    def __init__(self, config: SimulationConfig, geography: Geography) -> None:
        self.config = config
        self.geo = geography
        self.rates = config.damage
        self.start = config.start
        self.end = config.end
        self.history_start = date(config.start.year - config.history_years, 1, 1)
        self.villages = geography.villages(config.start)
        self.regencies = geography.regencies(config.start)
        seed = config.seed
        self.ids = {
            "kp2mi_pmi": IdSequence("PMI", 10, seed, 1),
            "kp2mi_program": IdSequence("PP", 10, seed, 2),
            "umkm_penerima": IdSequence("UMKM-", 9, seed, 3),
            "parekraf_pelatihan": IdSequence("PRK-", 8, seed, 4),
            "koperasi": IdSequence("", 12, seed, 5),
        }
        self._nik_serials: dict[tuple[str, date, bool], int] = {}
        self.cooperatives: dict[tuple[str, int], Cooperative] = {}
        self.activities: dict[tuple[str, int, str, int], Activity] = {}
        self._activity_sequence: dict[int, int] = {}
        # Returned migrant workers (person_id, id_pmi, return date): the pathway truth.
        self.returnees: list[tuple[str, str, date]] = []
        self._parekraf_batch: dict[tuple[str, int], int] = {}
        # Kemendes participations of the person being built: (activity, 1-based position).
        self.participations: list[tuple[Activity, int]] = []

    # ------------------------------------------------------------------ persons
    def persons(self) -> Iterator[tuple[Person, list[SourceRecord]]]:
        for index in range(self.config.persons):
            rng = random.Random(self.config.seed * 1_000_003 + index)
            person = self._person(index, rng)
            self.participations = []
            yield person, self._records_of(person, rng)

    def _person(self, index: int, rng: random.Random) -> Person:
        is_female = rng.random() < 0.55  # most migrant workers are women
        age = int(rng.triangular(18, 58, 30))
        birth = self.start - timedelta(days=age * 365 + rng.randrange(365))
        village = self.villages[rng.randrange(len(self.villages))]
        registered_on = birth + timedelta(days=17 * 365)
        if rng.random() < 0.1:  # registered elsewhere before moving: NIK of another district
            district = self.geo.registration_district_code(
                self.villages[rng.randrange(len(self.villages))], registered_on
            )
        else:
            district = self.geo.registration_district_code(village, registered_on)
        key = (district, birth, is_female)
        serial = self._nik_serials.get(key, 0) + 1
        self._nik_serials[key] = serial
        return Person(
            index=index,
            person_id=f"P{index + 1:08d}",
            is_female=is_female,
            birth_date=birth,
            village=village,
            nik=nik.make_nik(district, birth, is_female, serial),
            name=names.generate_name(rng, is_female),
        )

    def _records_of(self, person: Person, rng: random.Random) -> list[SourceRecord]:
        records: list[SourceRecord] = []
        if rng.random() < 0.35:
            records.extend(self._migration(person, rng))
        # Everyone may take part in the partner ministries' programmes at any time.
        draw = rng.random()
        count = 0 if draw < 0.45 else 1 if draw < 0.8 else 2 if draw < 0.95 else 3
        for _ in range(count):
            begin = self._recent_date(rng)
            records.extend(self._enroll(person, rng, weighted(rng, GENERAL_MENU), begin))
        return [r for r in records if r.versions]

    def _recent_date(self, rng: random.Random) -> date:
        """Programmes grow over time: half of all activity falls in the last two years."""
        low = self.history_start if rng.random() < 0.5 else self.end - timedelta(days=730)
        return low + timedelta(days=rng.randrange((self.end - low).days + 1))

    # ---------------------------------------------------------------- migration
    def _migration(self, person: Person, rng: random.Random) -> list[SourceRecord]:
        records: list[SourceRecord] = []
        adult = person.birth_date + timedelta(days=18 * 365 + 30)
        earliest = max(self.history_start, adult)
        if earliest >= self.end:
            return records
        registered = earliest + timedelta(days=rng.randrange((self.end - earliest).days + 1))
        draw = rng.random()
        placements = 1 if draw < 0.7 else 2 if draw < 0.95 else 3
        for _ in range(placements):
            if registered > self.end:
                break
            record, returned = self._placement(person, rng, registered)
            records.append(record)
            if rng.random() < 0.5:  # language training at the Migran Center before leaving
                begin = registered + timedelta(days=rng.randrange(5, 20))
                records.extend(
                    self._enroll(person, rng, "kp2mi:MC-BHS", begin, id_pmi=record.record_id)
                )
            if returned is None:
                break
            if rng.random() < 0.65:  # pulang juragan: programmes after coming home
                for _ in range(1 + int(rng.random() * 2.2)):
                    delay = min(720, int(rng.expovariate(1 / 150)) + 14)
                    begin = returned + timedelta(days=delay)
                    choice = weighted(rng, RETURNEE_MENU)
                    records.extend(
                        self._enroll(person, rng, choice, begin, id_pmi=record.record_id)
                    )
            registered = returned + timedelta(days=rng.randrange(60, 720))
        return records

    def _placement(
        self, person: Person, rng: random.Random, registered: date
    ) -> tuple[SourceRecord, date | None]:
        id_pmi = self.ids["kp2mi_pmi"].next()
        nik_value, kind = self._recorded_nik(person, rng)
        if registered.year < 2017 and rng.random() < self.rates.nik_missing_old_placement:
            nik_value, kind = None, "missing"
        village_code: str | None = person.village.kemendagri_code
        if rng.random() < self.rates.region_truncated:
            village_code = damage.truncate_region_code(village_code)
        elif registered.year < 2018 and rng.random() < 0.1:
            village_code = None
        regency = self.geo.regency_of(person.village)
        fields = {
            "id_pmi": id_pmi,
            "nik": nik_value,
            "nama": names.registry_variant(person.name, rng, self.rates.name_variant),
            "jenis_kelamin": "P" if person.is_female else "L",
            "tempat_lahir": bare_regency_name(regency.name),
            "tanggal_lahir": person.birth_date.isoformat(),
            "kode_desa_asal": village_code,
            "negara_penempatan": weighted(rng, COUNTRIES),
            "sektor": weighted(rng, SECTORS),
            "skema": weighted(rng, SCHEMES),
            "tanggal_berangkat": None,
            "tanggal_kembali": None,
            "status": "TERDAFTAR",
            "updated_at": None,
            "deleted": False,
        }
        record = SourceRecord(
            "kp2mi_pmi", id_pmi, person.person_id, "KP2MI", "PMI", nik_value, kind
        )
        events: list[tuple[date, dict]] = [(registered, {})]
        returned: date | None = None
        if rng.random() < 0.08:
            events.append((registered + timedelta(days=rng.randrange(10, 90)), {"status": "BATAL"}))
        else:
            departed = registered + timedelta(days=rng.randrange(30, 120))
            working = departed + timedelta(days=rng.randrange(7, 30))
            home = departed + timedelta(days=rng.randrange(540, 1460))
            events.append(
                (departed, {"status": "BERANGKAT", "tanggal_berangkat": departed.isoformat()})
            )
            events.append((working, {"status": "BEKERJA"}))
            events.append((home, {"status": "PURNA", "tanggal_kembali": home.isoformat()}))
            if home <= self.end:
                returned = home
        if rng.random() < 0.01:
            last = max(day for day, _ in events)
            events.append((last + timedelta(days=rng.randrange(1, 60)), {"deleted": True}))
        state = dict(fields)
        for day, change in events:
            if day > self.end:
                break
            state.update(change)
            at = at_daytime(rng, day)
            state["updated_at"] = at.isoformat()
            record.versions.append(Version(at, dict(state)))
        final = record.versions[-1].fields
        is_home = final["status"] == "PURNA"
        is_returnee = is_home and not final["deleted"]
        if is_returnee and returned is not None:
            self.returnees.append((person.person_id, id_pmi, returned))
        return record, returned if is_home else None

    # --------------------------------------------------------------- enrolments
    def _enroll(
        self,
        person: Person,
        rng: random.Random,
        choice: str,
        begin: date,
        id_pmi: str | None = None,
        allow_overlap: bool = True,
    ) -> list[SourceRecord]:
        """One enrolment (and, sometimes, a deliberate overlap with another ministry)."""
        ministry, _, code = choice.partition(":")
        builder = {
            "kp2mi": self._kp2mi_program,
            "umkm": self._umkm,
            "parekraf": self._parekraf,
            "kemenkop": self._kemenkop,
            "kemendes": self._kemendes,
        }[ministry]
        made = builder(person, rng, code, begin, id_pmi)
        records = [made] if made is not None else []
        # Deliberate tumpang tindih: a second loan or a second training from another ministry.
        if allow_overlap and code in OVERLAP_PARTNERS and rng.random() < 0.12:
            partner = rng.choice(OVERLAP_PARTNERS[code])
            shifted = begin + timedelta(days=rng.randrange(0, 60))
            records.extend(self._enroll(person, rng, partner, shifted, allow_overlap=False))
        return records

    def _recorded_nik(
        self, person: Person, rng: random.Random, weights: dict | None = None
    ) -> tuple[str | None, str | None]:
        return damage.damage_nik(person.nik, rng, self.rates.nik_damaged, weights)

    def _lifecycle(
        self, rng: random.Random, begin: date, end: date | None, can_fail: bool
    ) -> list[tuple[date, str]]:
        """Status changes of an enrolment: registered, active, completed/failed or cancelled."""
        created = begin - timedelta(days=rng.randrange(3, 30))
        steps = [(created, "registered"), (begin, "active")]
        if rng.random() < 0.05:
            span = max(1, ((end or begin + timedelta(days=90)) - created).days)
            steps = [s for s in steps if s[0] <= created + timedelta(days=span // 2)]
            steps.append((created + timedelta(days=1 + rng.randrange(span)), "cancelled"))
        elif end is not None:
            steps.append((end, "failed" if can_fail and rng.random() < 0.1 else "completed"))
        return sorted(steps, key=lambda s: s[0])

    def _versions(
        self,
        record: SourceRecord,
        rng: random.Random,
        steps: list[tuple[date, str]],
        render,
    ) -> SourceRecord:
        """Materialise each status step up to D2 as a delivered version."""
        for day, status in steps:
            if day > self.end:
                break
            at = at_daytime(rng, day)
            fields, enrollments = render(status, at)
            record.versions.append(Version(at, fields, enrollments))
        return record

    def _kp2mi_program(self, person, rng, code, begin, id_pmi) -> SourceRecord:
        program = KP2MI_PROGRAMS[code]
        record_id = self.ids["kp2mi_program"].next()
        nik_value, kind = self._recorded_nik(person, rng)
        amount = None
        if code == "KUR-PMI":
            amount = rng.choice((10, 15, 20, 25, 50, 75, 100)) * 1_000_000
            planned_end = begin + timedelta(days=rng.choice((12, 24, 36)) * 30)
        else:
            planned_end = begin + timedelta(days=rng.randrange(5, 60))
        birth = None if rng.random() < self.rates.birth_date_missing else person.birth_date
        base = {
            "id_peserta": record_id,
            "id_pmi": id_pmi,
            "nik": nik_value,
            "nama": names.registry_variant(person.name, rng, self.rates.name_variant),
            "jenis_kelamin": "P" if person.is_female else "L",
            "tanggal_lahir": birth.isoformat() if birth else None,
            "kode_program": code,
            "nama_program": program.name,
            "tanggal_mulai": begin.isoformat(),
            "tanggal_selesai": None,
            "nilai_rp": amount,
            "status": "TERDAFTAR",
            "updated_at": None,
            "deleted": False,
        }
        statuses = {
            "registered": "TERDAFTAR",
            "active": "AKTIF",
            "completed": "LULUS",
            "failed": "TIDAK_LULUS",
            "cancelled": "BATAL",
        }
        # A KUR loan's end is its tenor, known from the start; a training's end is written
        # when it finishes (null while ongoing).
        known_end = planned_end if code == "KUR-PMI" else None
        record = SourceRecord(
            "kp2mi_program", record_id, person.person_id, "KP2MI", code, nik_value, kind
        )

        def render(status: str, at: datetime):
            end = planned_end if status in ("completed", "failed") else known_end
            fields = dict(base)
            fields.update(
                status=statuses[status],
                tanggal_selesai=end.isoformat() if end else None,
                updated_at=at.isoformat(),
            )
            state = EnrollmentState(program.category, begin, end, status == "cancelled")
            return fields, (state,)

        steps = self._lifecycle(rng, begin, planned_end, can_fail=code != "KUR-PMI")
        self._versions(record, rng, steps, render)
        if record.versions and rng.random() < 0.01:  # a tombstone: the record was withdrawn
            last = record.versions[-1]
            day = last.at.date() + timedelta(days=rng.randrange(1, 30))
            if day <= self.end:
                at = at_daytime(rng, day)
                fields = dict(last.fields, deleted=True, updated_at=at.isoformat())
                state = last.enrollments[0]
                gone = EnrollmentState(state.category, state.start, state.end, state.is_cancelled)
                gone.is_deleted = True
                record.versions.append(Version(at, fields, (gone,)))
        return record

    def _umkm(self, person, rng, code, begin, id_pmi) -> SourceRecord:
        program = UMKM_PROGRAMS[code]
        record_id = self.ids["umkm_penerima"].next()
        nik_value, kind = self._recorded_nik(person, rng, damage.SPREADSHEET_HEAVY_WEIGHTS)
        amount = {
            "KUR-SM": lambda: rng.choice((5, 8, 10)) * 1_000_000,
            "KUR-MI": lambda: rng.choice((15, 25, 50, 75, 100)) * 1_000_000,
            "KUR-KC": lambda: rng.choice((150, 250, 500)) * 1_000_000,
        }.get(code, lambda: None)()
        if amount is not None:
            planned_end = begin + timedelta(days=rng.choice((12, 24, 36, 48)) * 30)
        elif code in ("PDP", "INK"):
            planned_end = begin + timedelta(days=rng.randrange(90, 365))
        else:
            planned_end = begin + timedelta(days=rng.randrange(3, 30))
        region = person.village.bps_code
        if rng.random() < self.rates.region_truncated:
            region = damage.bps_regency_only(region)
        birth = None if rng.random() < self.rates.birth_date_missing else person.birth_date
        gender = rng.choice(("P", "PEREMPUAN") if person.is_female else ("L", "LAKI-LAKI"))
        amount_text = ""
        if amount is not None:
            amount_text = f"{amount:,}".replace(",", ".")
            if rng.random() < 0.4:
                amount_text += ",00"
        base = {
            "ID_PENERIMA": record_id,
            "NIK": nik_value or "",
            "NAMA_PENERIMA": names.registry_variant(person.name, rng, self.rates.name_variant),
            "TGL_LAHIR": birth.strftime("%d/%m/%Y") if birth else "",
            "JENIS_KELAMIN": gender,
            "NAMA_USAHA": f"{rng.choice(BUSINESS_WORDS)} {rng.choice(BUSINESS_NAMES)}",
            "NIB": "" if rng.random() < 0.4 else str(rng.randrange(10**12, 10**13)),
            "KBLI": rng.choice(KBLI),
            "KODE_PROGRAM": code,
            "NAMA_PROGRAM": program.name,
            "TGL_MULAI": begin.strftime("%d/%m/%Y"),
            "TGL_SELESAI": "",
            "NILAI_RP": amount_text,
            "KODE_WILAYAH_BPS": region,
            "STATUS": "AKTIF",
            "TGL_UPDATE": "",
        }
        known_end = planned_end if amount is not None else None
        record = SourceRecord(
            "umkm_penerima", record_id, person.person_id, "UMKM", code, nik_value, kind
        )

        def render(status: str, at: datetime):
            end = planned_end if status in ("completed", "failed") else known_end
            fields = dict(base)
            fields.update(
                STATUS={"cancelled": "DIBATALKAN", "completed": "SELESAI", "failed": "SELESAI"}.get(
                    status, "AKTIF"
                ),
                TGL_SELESAI=end.strftime("%d/%m/%Y") if end else "",
                TGL_UPDATE=at.strftime("%d/%m/%Y %H:%M:%S"),
            )
            state = EnrollmentState(program.category, begin, end, status == "cancelled")
            return fields, (state,)

        return self._versions(record, rng, self._lifecycle(rng, begin, planned_end, False), render)

    def _parekraf(self, person, rng, code, begin, id_pmi) -> SourceRecord:
        category = code or rng.choice(tuple(PAREKRAF_TRAININGS))
        record_id = self.ids["parekraf_pelatihan"].next()
        nik_value, kind = self._recorded_nik(person, rng)
        nik_cell: str | int | None = nik_value
        if nik_value and kind is None and rng.random() < self.rates.parekraf_numeric_nik:
            nik_cell = damage.excel_numeric_nik(nik_value)
            kind = "excel_numeric"
        name = names.registry_variant(person.name, rng, self.rates.name_variant)
        name = names.to_mixed_case(
            names.add_title(name, rng, self.rates.title_attached * 3, person.is_female)
        )
        if rng.random() < self.rates.birth_date_missing:
            birth_cell: str | None = None
        elif rng.random() < self.rates.parekraf_text_birth_date:
            birth_cell = person.birth_date.strftime("%d-%m-%Y")  # typed as text
        else:
            birth_cell = person.birth_date.isoformat()  # a date cell
        regency = self.geo.regency_of(person.village)
        province = self.geo.province_of(person.village)
        key = (category, begin.year)
        batch = self._parekraf_batch.get(key, 0) % 20 + 1
        self._parekraf_batch[key] = batch
        title = rng.choice(PAREKRAF_TRAININGS[category])
        planned_end = begin + timedelta(days=rng.randrange(2, 14))
        base = {
            "ID Peserta": record_id,
            "Nama Lengkap": name,
            "NIK": nik_cell,
            "Jenis Kelamin": "Perempuan" if person.is_female else "Laki-laki",
            "Tanggal Lahir": birth_cell,
            "Provinsi": rng.choice(self.geo.province_name_variants(province)),
            "Kabupaten/Kota": rng.choice(self.geo.regency_name_variants(regency)),
            "Nama Pelatihan": f"{title} {begin.year} Angkatan {batch}",
            "Kategori": category,
            "Tanggal Mulai": begin.isoformat(),
            "Tanggal Selesai": planned_end.isoformat(),
            "Status": "Terdaftar",
            "Terakhir Diubah": None,
        }
        statuses = {
            "registered": "Terdaftar",
            "active": "Terdaftar",
            "completed": "Lulus",
            "failed": "Tidak Lulus",
            "cancelled": "Batal",
        }
        record = SourceRecord(
            "parekraf_pelatihan", record_id, person.person_id, "PAREKRAF", category,
            nik_value, kind,
        )  # fmt: skip

        def render(status: str, at: datetime):
            fields = dict(base)
            fields.update(
                Status=statuses[status], **{"Terakhir Diubah": at.replace(tzinfo=None).isoformat()}
            )
            # Parekraf's training dates are scheduled: the end date is always written.
            state = EnrollmentState("training", begin, planned_end, status == "cancelled")
            return fields, (state,)

        steps = self._lifecycle(rng, begin, planned_end, can_fail=True)
        steps = [s for s in steps if s[1] != "active"]  # Parekraf has no "active" status
        return self._versions(record, rng, steps, render)

    def _cooperative(self, rng: random.Random, village: Region) -> Cooperative:
        slot = 0 if rng.random() < 0.6 else 1
        key = (village.bps_code, slot)
        coop = self.cooperatives.get(key)
        if coop is None:
            local = random.Random(f"{self.config.seed}:{village.bps_code}:{slot}")
            is_kdmp = slot == 0 and local.random() < 0.5
            kind = local.choice(COOP_KINDS)
            if is_kdmp:
                word = "KELURAHAN" if village.level == "KELURAHAN" else "DESA"
                name = f"KOPERASI {word} MERAH PUTIH {village.name}"
            else:
                name = (
                    f"KOPERASI {kind.upper()} {local.choice(COOP_WORDS)} {local.choice(COOP_WORDS)}"
                )
                if local.random() < 0.2:  # names can hold commas: quoting must survive them
                    regency = bare_regency_name(self.geo.regency_of(village).name)
                    name += f", CABANG {regency}"
            coop = Cooperative(
                nomor_induk=self.ids["koperasi"].next(),
                name=name,
                kind=kind,
                is_kdmp=is_kdmp,
                village=village,
                member_number_width=local.choice((4, 5, 6)),
            )
            self.cooperatives[key] = coop
        return coop

    def _kemenkop(self, person, rng, code, begin, id_pmi) -> SourceRecord | None:
        coop = self._cooperative(rng, person.village)
        coop.members += 1
        member_number = f"{coop.members:0{coop.member_number_width}d}"
        record_id = f"{coop.nomor_induk}#{member_number}"
        nik_value, kind = self._recorded_nik(person, rng, damage.SPREADSHEET_HEAVY_WEIGHTS)
        birth = None if rng.random() < self.rates.birth_date_missing else person.birth_date
        row = {
            "nomor_induk_koperasi": coop.nomor_induk,
            "nama_koperasi": coop.name,
            "jenis_koperasi": coop.kind,
            "is_kdmp": "1" if coop.is_kdmp else "0",
            "kode_desa_koperasi": coop.village.kemendagri_code,
            "nomor_anggota": member_number,
            "nik_anggota": nik_value or "",
            "nama_anggota": names.registry_variant(person.name, rng, self.rates.name_variant),
            "tanggal_lahir": birth.strftime("%Y%m%d") if birth else "",
            "jenis_kelamin": "P" if person.is_female else "L",
            "tanggal_masuk": begin.strftime("%Y%m%d"),
            "tanggal_keluar": "",
            "status_anggota": "AKTIF",
            "pinjaman_rp": "",
            "tanggal_pinjaman": "",
        }
        record = SourceRecord(
            "kemenkop_anggota", record_id, person.person_id, "KEMENKOP", "ANGGOTA",
            nik_value, kind,
        )  # fmt: skip
        joined = begin
        events: list[tuple[date, str]] = [(joined, "join")]
        loan_on = None
        if code == "PINJAMAN" or rng.random() < 0.3:
            loan_on = joined + timedelta(days=0 if code == "PINJAMAN" else rng.randrange(0, 1000))
            events.append((loan_on, "loan"))
        leave_on = None
        if rng.random() < 0.15:
            leave_on = joined + timedelta(days=rng.randrange(365, 1800))
            events.append((leave_on, "leave" if rng.random() < 0.7 else "vanish"))
        events.sort(key=lambda e: e[0])
        state = dict(row)
        loan: date | None = None
        left: date | None = None
        for day, what in events:
            if day > self.end:
                break
            if what == "loan" and left is None:
                loan = day
                state["pinjaman_rp"] = str(rng.choice((2, 5, 10, 20, 50)) * 1_000_000)
                state["tanggal_pinjaman"] = day.strftime("%Y%m%d")
            elif what == "leave":
                left = day
                state["status_anggota"] = "KELUAR"
                state["tanggal_keluar"] = day.strftime("%Y%m%d")
            elif what == "vanish":
                record.removed_on = day
            enrollments = [EnrollmentState("cooperative_membership", joined, left)]
            if loan is not None:
                enrollments.append(EnrollmentState("financing", loan, left))
            if record.removed_on is not None:
                for e in enrollments:
                    e.is_deleted = True
            record.versions.append(Version(at_daytime(rng, day), dict(state), tuple(enrollments)))
        return record

    def _kemendes(self, person, rng, code, begin, id_pmi) -> None:
        """Join a village activity; Kemendes records are assembled in ``activity_records``."""
        year = begin.year
        slot = rng.randrange(2)
        key = (person.village.bps_code, year, code, slot)
        activity = self.activities.get(key)
        if activity is None:
            local = random.Random(f"{self.config.seed}:{key}")
            start = date(year, 1, 1) + timedelta(days=local.randrange(20, 330))
            length = {"PKTD": (14, 60), "BUMDES": (90, 365), "DME": (30, 180), "PKD": (3, 10)}
            end = start + timedelta(days=local.randrange(*length[code]))
            created = at_daytime(local, start - timedelta(days=local.randrange(7, 30)))
            cancelled = None
            if local.random() < 0.03:
                cancelled = at_daytime(local, start - timedelta(days=local.randrange(1, 5)))
            sequence = self._activity_sequence.get(year, 100) + 1
            self._activity_sequence[year] = sequence
            activity = Activity(
                id_kegiatan=f"KD-{year}-{sequence:06d}",
                village=person.village,
                kind=code,
                year=year,
                start=start,
                end=end,
                created_at=created,
                cancelled_at=cancelled,
            )
            self.activities[key] = activity
        if len(activity.participants) >= 40:
            return None
        nik_value, kind = self._recorded_nik(person, rng)
        role = {"PKTD": "pekerja", "BUMDES": rng.choice(("pengurus", "peserta"))}.get(
            code, "peserta"
        )
        self.participations.append((activity, len(activity.participants) + 1))
        activity.participants.append(
            Participant(
                person_id=person.person_id,
                nik_recorded=nik_value,
                nik_damage=kind,
                name=names.registry_variant(person.name, rng, self.rates.name_variant),
                gender="P" if person.is_female else "L",
                birth_date=person.birth_date,
                role=role,
            )
        )
        return None

    def activity_records(self) -> Iterator[tuple[Activity, list[Version]]]:
        """Every activity created by D2 with its versions (creation, maybe cancellation)."""
        for activity in self.activities.values():
            if activity.created_at.date() > self.end or not activity.participants:
                continue
            program = KEMENDES_ACTIVITIES[activity.kind]
            obj = {
                "id_kegiatan": activity.id_kegiatan,
                "kode_desa": activity.village.kemendagri_code.replace(".", ""),
                "nama_desa": activity.village.name.title(),
                "jenis_kegiatan": activity.kind,
                "tahun_anggaran": activity.year,
                "tanggal_mulai": activity.start.isoformat(),
                "tanggal_selesai": activity.end.isoformat(),
                "peserta": [
                    {
                        "nik": p.nik_recorded,
                        "nama": p.name,
                        "jenis_kelamin": p.gender,
                        "usia": age_on(p.birth_date, activity.start),
                        "peran": p.role,
                    }
                    for p in activity.participants
                ],
                "updated_at": activity.created_at.isoformat(),
                "dibatalkan": False,
            }
            state = EnrollmentState(program.category, activity.start, activity.end)
            versions = [Version(activity.created_at, obj, (state,))]
            if activity.cancelled_at is not None and activity.cancelled_at.date() <= self.end:
                at = activity.cancelled_at
                cancelled = dict(obj, dibatalkan=True, updated_at=at.isoformat())
                gone = EnrollmentState(program.category, activity.start, activity.end, True)
                versions.append(Version(at, cancelled, (gone,)))
            yield activity, versions


# What people take part in, by weight: "<ministry>:<programme code>".
GENERAL_MENU = (
    ("umkm:KUR-SM", 10), ("umkm:KUR-MI", 8), ("umkm:KUR-KC", 2), ("umkm:PDP", 6),
    ("umkm:INK", 2), ("umkm:DIGI", 6), ("parekraf:", 12), ("kemenkop:ANGGOTA", 15),
    ("kemendes:PKTD", 15), ("kemendes:BUMDES", 6), ("kemendes:PKD", 6), ("kp2mi:MC-KWU", 2),
)  # fmt: skip
RETURNEE_MENU = (
    ("kp2mi:PURNA-KWU", 20), ("kp2mi:KUR-PMI", 15), ("kp2mi:MC-KWU", 8), ("umkm:KUR-SM", 8),
    ("umkm:KUR-MI", 6), ("umkm:PDP", 6), ("umkm:INK", 3), ("umkm:DIGI", 6), ("parekraf:", 10),
    ("kemenkop:ANGGOTA", 6), ("kemenkop:PINJAMAN", 4), ("kemendes:DME", 8),
)  # fmt: skip
# Deliberate overlaps: who also gets a loan or a training from another ministry.
OVERLAP_PARTNERS = {
    "KUR-PMI": ("umkm:KUR-SM", "umkm:KUR-MI", "kemenkop:PINJAMAN"),
    "KUR-SM": ("kp2mi:KUR-PMI", "kemenkop:PINJAMAN"),
    "KUR-MI": ("kp2mi:KUR-PMI",),
    "PURNA-KWU": ("umkm:DIGI", "parekraf:", "kemendes:PKD"),
    "DIGI": ("parekraf:Digital Kreatif", "kp2mi:MC-KWU"),
}
