"""NIK (Nomor Induk Kependudukan): build, parse and allocate the 16-digit national ID.

Layout (SOURCES.md, "Common rules"): ``PPKKCC`` Kemendagri district of first registration,
``DDMMYY`` date of birth with 40 added to the day for women, ``SSSS`` serial from 0001.
There is no check digit, so nothing here can tell a plausible NIK from the right one.

These functions run once per simulated person (a million at national scale), so they use
plain string slicing and f-strings rather than regexes or date parsing libraries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# Women's NIKs carry day-of-birth + 40, so the day field is 01..31 or 41..71.
FEMALE_DAY_OFFSET = 40
MAX_SERIAL = 9999
# A person older than this on the reference date is taken to be impossible; it decides
# between 19YY and 20YY because the NIK only carries two year digits.
MAX_AGE_YEARS = 100


@dataclass(frozen=True, slots=True)
class NikParts:
    """The facts a clean NIK encodes."""

    district_code: str  # 6 digits PPKKCC, no dots
    birth_date: date
    is_female: bool
    serial: int  # 1..9999


def make_nik(district_code: str, birth_date: date, is_female: bool, serial: int) -> str:
    """Build the 16-digit NIK of a person.

    ``district_code`` is the 6-digit Kemendagri district code without dots (``327301``).
    Raises ``ValueError`` on a malformed district code or a serial outside 1..9999, because
    a simulator bug that produced such a NIK would silently poison every downstream test.
    """
    if len(district_code) != 6 or not district_code.isdigit():
        raise ValueError(f"district code must be 6 digits, got {district_code!r}")
    if not 1 <= serial <= MAX_SERIAL:
        raise ValueError(f"NIK serial must be 1..{MAX_SERIAL}, got {serial}")
    day = birth_date.day + FEMALE_DAY_OFFSET if is_female else birth_date.day
    return f"{district_code}{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial:04d}"


def _age_on(birth: date, reference: date) -> int:
    """Whole years between ``birth`` and ``reference`` (negative if born after it)."""
    had_birthday = (reference.month, reference.day) >= (birth.month, birth.day)
    return reference.year - birth.year - (0 if had_birthday else 1)


def parse_nik(text: str, reference_date: date | None = None) -> NikParts | None:
    """Decode a clean 16-digit NIK, or return ``None`` when it cannot be a real one.

    The two-digit year is resolved to 20YY or 19YY, whichever makes the person 0 to 100
    years old on ``reference_date`` (the younger reading wins when both fit, as a living
    person is far likelier to be young than a centenarian). ``reference_date`` defaults to
    today; the simulator and the pipeline should pass their logical date explicitly so
    that results do not depend on the wall clock.

    ``None`` means: not 16 ASCII digits, a zero province/regency/district, a month or day
    that does not exist (30 February included), serial 0000, or no century that gives an
    age in range. Damaged NIKs (spaces, ``E+15``, 15 digits...) are therefore rejected,
    never silently repaired here.
    """
    if len(text) != 16 or not text.isascii() or not text.isdigit():
        return None
    # Kemendagri numbering starts at 01 on every level, so 00 is impossible.
    if text[0:2] == "00" or text[2:4] == "00" or text[4:6] == "00":
        return None
    serial = int(text[12:16])
    if serial == 0:
        return None

    day = int(text[6:8])
    is_female = day > FEMALE_DAY_OFFSET
    if is_female:
        day -= FEMALE_DAY_OFFSET
    month = int(text[8:10])
    yy = int(text[10:12])
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return None

    reference = reference_date if reference_date is not None else date.today()
    for century in (2000, 1900):
        try:
            birth = date(century + yy, month, day)
        except ValueError:
            # E.g. 29 February exists in 2000 but not in 1900: try the other century.
            continue
        if 0 <= _age_on(birth, reference) <= MAX_AGE_YEARS:
            return NikParts(
                district_code=text[0:6], birth_date=birth, is_female=is_female, serial=serial
            )
    return None


class NikAllocator:
    """Hands out NIK serials so that no two simulated persons share a NIK.

    Serials are counted per 12-digit NIK prefix (district, DDMMYY with the female day
    offset), not per (district, full birth date, sex): persons born 100 years apart on the
    same day share the prefix and would otherwise collide. Serials are issued 0001, 0002,
    ... like a civil registry office does, which is also what the samples show.

    Keys are stored as ints, not strings, because at 1M persons the dict is the dominant
    memory cost of the allocator and a small int is about half the size of a 12-char str.
    """

    def __init__(self) -> None:
        self._last_serial: dict[int, int] = {}

    def allocate(self, district_code: str, birth_date: date, is_female: bool) -> str:
        """Return a fresh NIK for a person; ``ValueError`` when the 9999 serials run out."""
        prefix = make_nik(district_code, birth_date, is_female, 1)[:12]
        key = int(prefix)
        serial = self._last_serial.get(key, 0) + 1
        if serial > MAX_SERIAL:
            raise ValueError(f"all {MAX_SERIAL} NIK serials used for prefix {prefix}")
        self._last_serial[key] = serial
        return f"{prefix}{serial:04d}"

    def reserve(self, nik: str) -> None:
        """Mark an existing NIK as taken (e.g. a fixed persona), so it is never re-issued.

        Serials below the reserved one that were not handed out yet are skipped too: the
        allocator only remembers the highest serial per prefix, which keeps it small.
        """
        if len(nik) != 16 or not nik.isdigit():
            raise ValueError(f"not a 16-digit NIK: {nik!r}")
        key = int(nik[:12])
        serial = int(nik[12:])
        if serial > self._last_serial.get(key, 0):
            self._last_serial[key] = serial

    def __len__(self) -> int:
        """Number of distinct 12-digit prefixes in use."""
        return len(self._last_serial)
