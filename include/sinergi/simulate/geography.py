"""Synthetic but believable geography of Indonesia for the ministries' simulator.

Real provinces (38) and a curated list of real regencies and cities come from
``geography_data.py``; districts (KECAMATAN) and villages (DESA / KELURAHAN) are generated
with synthetic names from a seed. Every region carries both numbering systems, exactly as the
BPS master (``bps/master_wilayah_YYYYMM.csv``, SOURCES.md section 6a) carries them:

- Kemendagri, dotted: ``PP``, ``PP.KK``, ``PP.KK.CC``, ``PP.KK.CC.VVVV`` (village 2xxx for a
  DESA, 1xxx for a KELURAHAN). This is the numbering inside a NIK.
- BPS: ``PP``, ``PPKK``, ``PPKKCCC`` (010, 020, ...), ``PPKKCCCVVV`` (001, ...).

Districts and villages are numbered independently in the two systems, so one code can never
be computed from the other: the master is the only crosswalk. Region splits (pemekaran) are
data (``SPLITS``) and produce closed row versions with successor codes, as in the sample.

Everything is deterministic for a given seed: each regency draws from its own
``random.Random`` seeded with a string (string seeds are hashed with SHA-512, so they do not
depend on PYTHONHASHSEED), which also keeps one regency's content independent of the others.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sinergi.simulate.geography_data import (
    DEFAULT_NAMING,
    NAME_PARTS,
    PROVINCE_NAMING,
    PROVINCES,
    REGENCIES,
)

PROVINSI = "PROVINSI"
KABUPATEN = "KABUPATEN"
KOTA = "KOTA"
KECAMATAN = "KECAMATAN"
DESA = "DESA"
KELURAHAN = "KELURAHAN"

REGENCY_LEVELS = (KABUPATEN, KOTA)
VILLAGE_LEVELS = (DESA, KELURAHAN)

# The oldest date in the master: regions "as old as the master" start here.
MASTER_EPOCH = date(1999, 1, 1)

MASTER_CSV_HEADER = [
    "kode_bps",
    "kode_kemendagri",
    "nama_wilayah",
    "tingkat",
    "kode_bps_induk",
    "berlaku_sejak",
    "berlaku_sampai",
    "kode_bps_pengganti",
]


@dataclass(frozen=True, slots=True)
class Region:
    bps_code: str  # 2, 4, 7 or 10 digits
    kemendagri_code: str  # dotted
    name: str  # BPS style, upper case: 'JAWA BARAT', 'KABUPATEN CIREBON', 'SINDANGJAWA'
    level: str  # 'PROVINSI' 'KABUPATEN' 'KOTA' 'KECAMATAN' 'DESA' 'KELURAHAN'
    parent_bps_code: str | None
    valid_from: date
    valid_to: date | None = None
    successor_bps_codes: tuple[str, ...] = ()

    def valid_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


@dataclass(frozen=True, slots=True)
class Split:
    """A regency split (pemekaran): some districts move to a new regency on `effective`.

    `moved_districts` are 1-based positions of the regency's districts in BPS order as they
    stand just before the split. At least one district must stay behind.
    """

    effective: date
    regency_bps_code: str
    moved_districts: tuple[int, ...]
    new_bps_code: str
    new_kemendagri_code: str
    new_name: str
    new_level: str = KABUPATEN


# Two splits: one already in the past for any simulation (like the sample's Kendal), and one
# inside the simulated period so the monthly master visibly changes while it runs. Both are
# real pemekaran proposals in large migrant-sending regencies.
SPLITS: tuple[Split, ...] = (
    Split(date(2025, 1, 1), "3201", (3, 4), "3219", "32.19", "KABUPATEN BOGOR BARAT"),
    Split(date(2026, 6, 1), "3301", (2, 3), "3330", "33.30", "KABUPATEN CILACAP BARAT"),
)


class Geography:
    """All region row versions plus date-aware lookups over them."""

    def __init__(self, regions: tuple[Region, ...], seed: int = 0) -> None:
        self.regions = regions
        self.seed = seed
        # Every version of a code, oldest first (regions are sorted by (code, valid_from)).
        self._versions: dict[str, list[Region]] = {}
        for region in regions:
            self._versions.setdefault(region.bps_code, []).append(region)
        # successor code -> the closed rows that name it. A regency that continues under its
        # own code lists itself as a successor; that is not a predecessor link.
        self._predecessors: dict[str, list[Region]] = {}
        for region in regions:
            for code in region.successor_bps_codes:
                if code != region.bps_code:
                    self._predecessors.setdefault(code, []).append(region)
        self._village_counts: dict[date, Counter[str]] = {}

    # ---------------------------------------------------------------- row selections

    def master_rows(self, as_of: date) -> list[Region]:
        """Rows of the BPS master published for the month of `as_of` (on its first day).

        Every row version with valid_from on or before that day, closed rows included. A row
        whose closing lies after the publication day is shown open: BPS cannot publish a split
        before it takes effect, so the file of 2026-05 does not yet know the 2026-06 split.
        """
        published = as_of.replace(day=1)
        rows: list[Region] = []
        for region in self.regions:
            if region.valid_from > published:
                continue
            if region.valid_to is not None and region.valid_to >= published:
                region = replace(region, valid_to=None, successor_bps_codes=())
            rows.append(region)
        return rows

    def villages(self, on: date) -> list[Region]:
        return [r for r in self.regions if r.level in VILLAGE_LEVELS and r.valid_on(on)]

    def districts(self, on: date) -> list[Region]:
        return [r for r in self.regions if r.level == KECAMATAN and r.valid_on(on)]

    def regencies(self, on: date) -> list[Region]:
        return [r for r in self.regions if r.level in REGENCY_LEVELS and r.valid_on(on)]

    def provinces(self) -> list[Region]:
        return [r for r in self.regions if r.level == PROVINSI]

    # ---------------------------------------------------------------- navigation

    def get(self, bps_code: str, on: date) -> Region:
        for region in self._versions.get(bps_code, ()):
            if region.valid_on(on):
                return region
        raise KeyError(f"no region {bps_code!r} valid on {on.isoformat()}")

    def parent(self, region: Region) -> Region | None:
        """The parent row version with the same validity as `region`.

        A closed row's parent is the version valid on its last day (the old, closed regency
        for a district moved by a split); an open row's parent is the open version.
        """
        if region.parent_bps_code is None:
            return None
        versions = self._versions[region.parent_bps_code]
        if region.valid_to is None:
            return versions[-1]
        for version in versions:
            if version.valid_on(region.valid_to):
                return version
        raise KeyError(f"no parent version of {region.bps_code} on {region.valid_to}")

    def regency_of(self, region: Region) -> Region:
        current: Region | None = region
        while current is not None and current.level not in REGENCY_LEVELS:
            current = self.parent(current)
        if current is None:
            raise ValueError(f"{region.bps_code} ({region.level}) has no regency")
        return current

    def province_of(self, region: Region) -> Region:
        current: Region | None = region
        while current is not None and current.level != PROVINSI:
            current = self.parent(current)
        if current is None:
            raise ValueError(f"{region.bps_code} has no province")
        return current

    def predecessor(self, region: Region) -> Region | None:
        """The closed row this one replaced in a split, or None if it was never moved."""
        day_before = region.valid_from - timedelta(days=1)
        for candidate in self._predecessors.get(region.bps_code, ()):
            if candidate.valid_to == day_before:
                return candidate
        return None

    def origin(self, region: Region) -> Region:
        """The first row of the region's lineage (follows predecessors back through splits)."""
        current = region
        while (previous := self.predecessor(current)) is not None:
            current = previous
        return current

    def registration_district_code(self, village: Region, registered_on: date) -> str:
        """Kemendagri district code PPKKCC (no dots) of a NIK registered on `registered_on`.

        NIKs keep the code of first registration: a person in a village moved by a split after
        `registered_on` still carries the old district's code.
        """
        current = village
        while current.valid_from > registered_on:
            previous = self.predecessor(current)
            if previous is None:
                break
            current = previous
        # 'PP.KK.CC.VVVV'[:8] == 'PP.KK.CC'
        return current.kemendagri_code[:8].replace(".", "")

    # ---------------------------------------------------------------- yearly statistics

    def population(self, year: int) -> list[tuple[str, int, int, int]]:
        """(bps regency code, year, jumlah_penduduk, penduduk_usia_kerja) per regency.

        Every regency valid at some point of the year. A regency's population is its lineage's
        total (the regency before any split) shared out by number of villages, so the parts of
        a split add up to the whole and the numbers move smoothly across the split.
        """
        first_day, last_day = date(year, 1, 1), date(year, 12, 31)
        latest: dict[str, Region] = {}
        for region in self.regions:
            if region.level not in REGENCY_LEVELS:
                continue
            if region.valid_from > last_day or (
                region.valid_to is not None and region.valid_to < first_day
            ):
                continue
            # regions are in (code, valid_from) order, so the last one seen is the latest.
            latest[region.bps_code] = region

        rows: list[tuple[str, int, int, int]] = []
        for code in sorted(latest):
            regency = latest[code]
            reference_day = min(last_day, regency.valid_to or last_day)
            lineage = self.origin_regency(regency)
            share = self._village_count(code, reference_day) / max(
                1, self._village_count(lineage.bps_code, lineage.valid_from)
            )
            rng = random.Random(f"sinergi-geography:{self.seed}:population:{lineage.bps_code}")
            base = _base_population(rng, lineage)
            growth = rng.uniform(0.006, 0.016)
            year_rng = random.Random(f"sinergi-geography:{self.seed}:population:{code}:{year}")
            noise = 1.0 + year_rng.uniform(-0.003, 0.003)
            total = base * share * (1.0 + growth) ** (year - 2020) * noise
            total_int = max(50_000, min(5_000_000, round(total)))
            # Cities have proportionally fewer children than rural regencies.
            low, high = (0.70, 0.75) if regency.level == KOTA else (0.65, 0.72)
            code_rng = random.Random(f"sinergi-geography:{self.seed}:working-age:{code}")
            working_age = round(total_int * code_rng.uniform(low, high))
            rows.append((code, year, total_int, working_age))
        return rows

    def idm(self, year: int) -> list[tuple[str, str, float, str, int]]:
        """Indeks Desa Membangun rows for DESA (not KELURAHAN) valid on 1 July of `year`.

        (Kemendagri code without dots, name, score to 4 decimals, status, year), in Kemendagri
        code order as in the sample. The index is published in July, so villages created by a
        split earlier that year appear under their new codes. A village keeps its score level
        across a split: the base draw is keyed on the village's original BPS code.
        """
        on = date(year, 7, 1)
        rows: list[tuple[str, str, float, str, int]] = []
        for village in self.villages(on):
            if village.level != DESA:
                continue
            first = self.origin(village).bps_code
            rng = random.Random(f"sinergi-geography:{self.seed}:idm:{first}")
            naming = PROVINCE_NAMING.get(village.bps_code[:2], DEFAULT_NAMING)
            # Java's villages score higher on average than the east's, as in the real index.
            mean = {"SUNDA": 0.70, "JAWA": 0.71, "MELAYU": 0.63, "TIMUR": 0.57}[naming]
            base = rng.gauss(mean, 0.09)
            trend = rng.uniform(0.004, 0.018)
            year_rng = random.Random(f"sinergi-geography:{self.seed}:idm:{first}:{year}")
            score = base + trend * (year - 2020) + year_rng.gauss(0.0, 0.012)
            score = round(min(0.95, max(0.30, score)), 4)
            rows.append(
                (
                    village.kemendagri_code.replace(".", ""),
                    village.name,
                    score,
                    idm_status(score),
                    year,
                )
            )
        rows.sort(key=lambda row: row[0])
        return rows

    def origin_regency(self, regency: Region) -> Region:
        """The first version of the regency a (possibly split-born) regency was cut from."""
        current = self._versions[regency.bps_code][0]
        while True:
            parents = [
                r for r in self._predecessors.get(current.bps_code, ()) if r.level in REGENCY_LEVELS
            ]
            if not parents:
                return current
            current = self._versions[parents[0].bps_code][0]

    def _village_count(self, regency_code: str, on: date) -> int:
        # BPS village codes start with their regency's 4-digit BPS code.
        if on not in self._village_counts:
            self._village_counts[on] = Counter(v.bps_code[:4] for v in self.villages(on))
        return self._village_counts[on][regency_code]

    # ---------------------------------------------------------------- typed name forms

    def province_name_variants(self, province: Region) -> list[str]:
        title = _title(province.name)
        return [title, province.name, f"Provinsi {title}", f"Prov. {title}"]

    def regency_name_variants(self, regency: Region) -> list[str]:
        bare = _title(bare_regency_name(regency.name))
        if regency.level == KABUPATEN:
            variants = [f"Kab. {bare}", regency.name, f"Kabupaten {bare}", bare]
            if regency.name != f"KABUPATEN {bare.upper()}":
                variants.insert(2, f"KABUPATEN {bare.upper()}")
        else:
            variants = [f"Kota {bare}", regency.name, bare]
            # 'KOTA ADMINISTRASI JAKARTA SELATAN' is also typed without 'ADMINISTRASI'.
            if regency.name != f"KOTA {bare.upper()}":
                variants.insert(2, f"KOTA {bare.upper()}")
        return variants


def idm_status(score: float) -> str:
    """Kemendes status band of an IDM score (MANDIRI's bound is inclusive, the rest strict)."""
    if score >= 0.8155:
        return "MANDIRI"
    if score > 0.7072:
        return "MAJU"
    if score > 0.5989:
        return "BERKEMBANG"
    if score > 0.4907:
        return "TERTINGGAL"
    return "SANGAT TERTINGGAL"


def bare_regency_name(name: str) -> str:
    """'KABUPATEN CIREBON' -> 'CIREBON'; 'KOTA ADMINISTRASI JAKARTA PUSAT' -> 'JAKARTA PUSAT'."""
    for prefix in ("KABUPATEN ", "KOTA "):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    return name.removeprefix("ADMINISTRASI ")


def master_csv_rows(rows: list[Region]) -> list[list[str]]:
    """CSV fields in the master's column order (see MASTER_CSV_HEADER), sample formatting."""
    return [
        [
            r.bps_code,
            r.kemendagri_code,
            r.name,
            r.level,
            r.parent_bps_code or "",
            r.valid_from.isoformat(),
            r.valid_to.isoformat() if r.valid_to is not None else "",
            "|".join(r.successor_bps_codes),
        ]
        for r in rows
    ]


# -------------------------------------------------------------------- building


def build_geography(seed: int = 0, splits: tuple[Split, ...] = SPLITS) -> Geography:
    """Build the whole geography deterministically: same seed -> identical regions."""
    province_start: dict[str, date] = {}
    rows: list[Region] = []
    for code, name, valid_from in PROVINCES:
        start = date.fromisoformat(valid_from)
        province_start[code] = start
        rows.append(Region(code, code, name, PROVINSI, None, start))

    # A regency that will be split needs enough districts for the move to leave some behind.
    min_districts: dict[str, int] = {}
    for split in splits:
        needed = max(max(split.moved_districts), len(split.moved_districts) + 1)
        min_districts[split.regency_bps_code] = max(
            needed, min_districts.get(split.regency_bps_code, 0)
        )

    for bps_code, kemendagri_code, name, valid_from in REGENCIES:
        province = bps_code[:2]
        start = max(
            date.fromisoformat(valid_from) if valid_from else MASTER_EPOCH,
            province_start[province],
        )
        rows.extend(
            _build_regency(
                seed,
                bps_code,
                kemendagri_code,
                name,
                start,
                min_districts.get(bps_code, 0),
            )
        )

    for split in sorted(splits, key=lambda s: s.effective):
        rows = _apply_split(seed, rows, split)

    # Master file order: hierarchical by BPS code (a code sorts right after its parent's,
    # since codes extend their parent's), older version first.
    rows.sort(key=lambda r: (r.bps_code, r.valid_from))
    return Geography(tuple(rows), seed)


def _build_regency(
    seed: int,
    bps_code: str,
    kemendagri_code: str,
    name: str,
    start: date,
    min_districts: int,
) -> list[Region]:
    rng = random.Random(f"sinergi-geography:{seed}:regency:{bps_code}")
    level = KOTA if name.startswith("KOTA ") else KABUPATEN
    naming = PROVINCE_NAMING.get(bps_code[:2], DEFAULT_NAMING)
    rows = [Region(bps_code, kemendagri_code, name, level, bps_code[:2], start)]

    n_districts = max(rng.randint(3, 5), min_districts)
    district_names = _unique_names(rng, naming, n_districts)
    # Kemendagri numbers the same districts in a different order than BPS.
    kemendagri_numbers = _independent_order(rng, n_districts)
    for position in range(n_districts):
        district_bps = f"{bps_code}{(position + 1) * 10:03d}"
        district_kemendagri = f"{kemendagri_code}.{kemendagri_numbers[position]:02d}"
        rows.append(
            Region(
                district_bps,
                district_kemendagri,
                district_names[position],
                KECAMATAN,
                bps_code,
                start,
            )
        )

        n_villages = rng.randint(4, 8)
        village_names = _unique_names(rng, naming, n_villages)
        # Cities are mostly kelurahan; in a kabupaten kelurahan cluster in the first
        # (capital) district.
        if level == KOTA:
            kelurahan_chance = 0.8
        elif position == 0:
            kelurahan_chance = 0.35
        else:
            kelurahan_chance = 0.05
        levels = [KELURAHAN if rng.random() < kelurahan_chance else DESA for _ in village_names]
        # BPS numbers follow the list order; a first number above 001 mimics villages that
        # were merged away or moved long ago (as in the sample).
        first_number = rng.choice((1, 1, 1, 2, 3))
        kemendagri_village = _kemendagri_village_numbers(rng, levels)
        for index, village_name in enumerate(village_names):
            rows.append(
                Region(
                    f"{district_bps}{first_number + index:03d}",
                    f"{district_kemendagri}.{kemendagri_village[index]}",
                    village_name,
                    levels[index],
                    district_bps,
                    start,
                )
            )
    return rows


def _apply_split(seed: int, rows: list[Region], split: Split) -> list[Region]:
    """Return `rows` with `split` applied: closed old versions plus new versions."""
    effective = split.effective
    closed_on = effective - timedelta(days=1)
    rng = random.Random(f"sinergi-geography:{seed}:split:{split.new_bps_code}")

    def is_open(region: Region) -> bool:
        return region.valid_to is None

    old_index = next(
        (
            i
            for i, r in enumerate(rows)
            if r.bps_code == split.regency_bps_code and is_open(r) and r.level in REGENCY_LEVELS
        ),
        None,
    )
    if old_index is None:
        raise ValueError(f"split of unknown regency {split.regency_bps_code}")
    old = rows[old_index]
    if old.valid_from >= effective:
        raise ValueError(f"split of {old.bps_code} on {effective} predates its current version")

    result = list(rows)
    # The old regency is closed and continues under the same code from the split date.
    result[old_index] = replace(
        old, valid_to=closed_on, successor_bps_codes=(old.bps_code, split.new_bps_code)
    )
    result.append(replace(old, valid_from=effective))
    result.append(
        Region(
            split.new_bps_code,
            split.new_kemendagri_code,
            split.new_name,
            split.new_level,
            old.parent_bps_code,
            effective,
        )
    )

    districts = sorted(
        (r for r in rows if r.parent_bps_code == old.bps_code and is_open(r)),
        key=lambda r: r.bps_code,
    )
    for position in split.moved_districts:
        if not 1 <= position <= len(districts):
            raise ValueError(f"split of {old.bps_code}: no district at position {position}")
    if len(split.moved_districts) >= len(districts):
        raise ValueError(f"split of {old.bps_code} would move every district")

    moved = [districts[position - 1] for position in split.moved_districts]
    kemendagri_numbers = _independent_order(rng, len(moved))
    index_of = {id(r): i for i, r in enumerate(rows)}
    for new_position, district in enumerate(moved):
        new_district_bps = f"{split.new_bps_code}{(new_position + 1) * 10:03d}"
        new_district_kemendagri = (
            f"{split.new_kemendagri_code}.{kemendagri_numbers[new_position]:02d}"
        )
        result[index_of[id(district)]] = replace(
            district, valid_to=closed_on, successor_bps_codes=(new_district_bps,)
        )
        result.append(
            Region(
                new_district_bps,
                new_district_kemendagri,
                district.name,
                KECAMATAN,
                split.new_bps_code,
                effective,
            )
        )

        villages = sorted(
            (r for r in rows if r.parent_bps_code == district.bps_code and is_open(r)),
            key=lambda r: r.bps_code,
        )
        # BPS renumbers the moved villages in its own new order; Kemendagri keeps each
        # village's VVVV under the new district code (as the sample's Kendal split does).
        new_order = list(villages)
        rng.shuffle(new_order)
        for number, village in enumerate(new_order, start=1):
            new_village_bps = f"{new_district_bps}{number:03d}"
            result[index_of[id(village)]] = replace(
                village, valid_to=closed_on, successor_bps_codes=(new_village_bps,)
            )
            result.append(
                Region(
                    new_village_bps,
                    f"{new_district_kemendagri}.{village.kemendagri_code[-4:]}",
                    village.name,
                    village.level,
                    new_district_bps,
                    effective,
                )
            )
    return result


def _independent_order(rng: random.Random, count: int) -> list[int]:
    """A shuffled 1..count, re-drawn while it agrees with BPS order in more than count // 3
    places, so that BPS and Kemendagri numbering look visibly unrelated."""
    numbers = list(range(1, count + 1))
    for _ in range(20):
        rng.shuffle(numbers)
        agreeing = sum(1 for i, n in enumerate(numbers, start=1) if i == n)
        if agreeing <= count // 3:
            break
    return numbers


def _kemendagri_village_numbers(rng: random.Random, levels: list[str]) -> list[str]:
    """Kemendagri VVVV per village: DESA 2001.., KELURAHAN 1001.., each counted in an order
    independent of BPS's."""
    order = list(range(len(levels)))
    rng.shuffle(order)
    next_number = {DESA: 2001, KELURAHAN: 1001}
    numbers = [""] * len(levels)
    for index in order:
        numbers[index] = str(next_number[levels[index]])
        next_number[levels[index]] += 1
    return numbers


def _unique_names(rng: random.Random, naming: str, count: int) -> list[str]:
    """`count` distinct synthetic place names in the given naming tradition."""
    parts = NAME_PARTS[naming]
    names: list[str] = []
    while len(names) < count:
        suffix = rng.choice(parts["suffix"])
        if rng.random() < 0.6:
            candidate = rng.choice(parts["joined"]) + suffix
        else:
            candidate = f"{rng.choice(parts['spaced'])} {suffix}"
        if candidate not in names:
            names.append(candidate)
    return names


def _base_population(rng: random.Random, regency: Region) -> float:
    """A believable 2020 population for a regency lineage (log-uniform within a range)."""
    on_java = regency.bps_code[:2] in ("31", "32", "33", "34", "35", "36")
    if regency.level == KOTA:
        low, high = (150_000, 2_600_000) if on_java else (90_000, 1_500_000)
    else:
        low, high = (900_000, 4_800_000) if on_java else (60_000, 1_600_000)
    return low * (high / low) ** rng.random()


def _title(upper_name: str) -> str:
    """'JAWA TENGAH' -> 'Jawa Tengah', keeping acronyms: 'DKI JAKARTA' -> 'DKI Jakarta'."""
    words = []
    for word in upper_name.split():
        words.append(word if word in ("DKI", "DI") else word.capitalize())
    return " ".join(words)
