"""NIK construction, parsing (century resolution) and unique allocation."""

from __future__ import annotations

from datetime import date
from random import Random

import pytest

from sinergi.simulate.nik import NikAllocator, NikParts, make_nik, parse_nik

REF = date(2026, 1, 1)


def test_make_nik_layout_man() -> None:
    assert make_nik("327301", date(1990, 12, 1), False, 1) == "3273010112900001"


def test_make_nik_woman_day_plus_40() -> None:
    # Sample: 3209124708900003 is a woman born 7 August 1990.
    assert make_nik("320912", date(1990, 8, 7), True, 3) == "3209124708900003"


@pytest.mark.parametrize(
    ("district", "birth", "female", "serial"),
    [
        ("327301", date(1990, 12, 1), False, 1),
        ("320912", date(1990, 8, 7), True, 3),
        ("110101", date(2007, 10, 13), True, 9999),
        ("947101", date(1930, 2, 28), False, 42),
        ("517102", date(2000, 2, 29), True, 7),
        ("330604", date(2025, 12, 31), False, 1),
    ],
)
def test_roundtrip(district: str, birth: date, female: bool, serial: int) -> None:
    nik = make_nik(district, birth, female, serial)
    assert len(nik) == 16 and nik.isdigit()
    assert parse_nik(nik, REF) == NikParts(district, birth, female, serial)


def test_roundtrip_random_persons() -> None:
    rng = Random(7)
    for _ in range(2000):
        birth = date.fromordinal(rng.randrange(date(1927, 1, 2).toordinal(), REF.toordinal()))
        female = rng.random() < 0.5
        serial = rng.randrange(1, 10000)
        parts = parse_nik(make_nik("350101", birth, female, serial), REF)
        assert parts == NikParts("350101", birth, female, serial)


def _birth(text: str, reference: date = REF) -> date | None:
    parts = parse_nik(text, reference)
    return None if parts is None else parts.birth_date


def test_century_resolution() -> None:
    # YY=25: 2025 gives age 0, preferred over 1925 (100).
    assert _birth("3273010106250001") == date(2025, 6, 1)
    # YY=26, June: 2026-06-01 lies after the reference date, so 1926 (age 99).
    assert _birth("3273010106260001") == date(1926, 6, 1)
    # The same NIK read on a later date resolves to the younger person.
    assert _birth("3273010106260001", date(2026, 7, 1)) == date(2026, 6, 1)
    # 29 February 00 exists only in 2000.
    assert _birth("3273012902000001") == date(2000, 2, 29)
    # YY=25 on 1 January 2026 for someone born 2 January: 1925 would be 100, 2025 is 0.
    assert _birth("3273010201250001") == date(2025, 1, 2)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "327301011290000",  # 15 digits
        "32730101129000011",  # 17 digits
        "3273 0101 1290 0001",
        "'3273010112900001",
        "3,27301E+15",
        "327301011290000A",
        "３２７３０１０１１２９０００１",  # full-width digits: str.isdigit() alone accepts them
        "0073010112900001",  # province 00
        "3273000112900001",  # district 00
        "3273010112900000",  # serial 0000 (what float precision loss produces)
        "3273013202900001",  # day 32
        "3273013502900001",  # day 35: neither a man's nor a woman's day
        "3273017202900001",  # day 72 (woman's 32)
        "3273010113900001",  # month 13
        "3273013002900001",  # 30 February
        "3273016902900001",  # woman, 29 February 1990
        "3273010100900001",  # month 00
    ],
)
def test_parse_rejects_impossible(text: str) -> None:
    assert parse_nik(text, REF) is None


def test_parse_defaults_to_today() -> None:
    parts = parse_nik("3273010112900001")
    assert parts is not None and parts.birth_date == date(1990, 12, 1)


@pytest.mark.parametrize(
    ("district", "serial"), [("32730", 1), ("3273011", 1), ("32.73.", 1), ("327301", 0)]
)
def test_make_nik_rejects_bad_input(district: str, serial: int) -> None:
    with pytest.raises(ValueError):
        make_nik(district, date(1990, 1, 1), False, serial)


def test_make_nik_rejects_serial_10000() -> None:
    with pytest.raises(ValueError):
        make_nik("327301", date(1990, 1, 1), False, 10000)


def test_allocator_sequential_and_unique() -> None:
    alloc = NikAllocator()
    birth = date(1990, 12, 1)
    assert alloc.allocate("327301", birth, False) == "3273010112900001"
    assert alloc.allocate("327301", birth, False) == "3273010112900002"
    assert alloc.allocate("327301", birth, True) == "3273014112900001"
    # Born a century apart on the same day: same prefix, so the serial must move on.
    assert alloc.allocate("327301", date(1890, 12, 1), False) == "3273010112900003"


def test_allocator_unique_many() -> None:
    rng = Random(3)
    alloc = NikAllocator()
    districts = ("327301", "320912", "110101")
    niks = set()
    n = 20_000
    for _ in range(n):
        # Few dates so prefixes collide a lot and serials climb.
        birth = date(1990, 1, 1 + rng.randrange(3))
        niks.add(alloc.allocate(rng.choice(districts), birth, rng.random() < 0.5))
    assert len(niks) == n


def test_allocator_reserve_and_exhaustion() -> None:
    alloc = NikAllocator()
    alloc.reserve("3273010112909998")
    assert alloc.allocate("327301", date(1990, 12, 1), False) == "3273010112909999"
    with pytest.raises(ValueError):
        alloc.allocate("327301", date(1990, 12, 1), False)
    assert len(alloc) == 1
