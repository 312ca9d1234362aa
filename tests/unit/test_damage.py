"""NIK damage kinds, the damage chooser, spreadsheet numerics and region-code damage."""

from __future__ import annotations

import re
from collections import Counter
from random import Random

import pytest

from sinergi.simulate.damage import (
    DAMAGE_FUNCTIONS,
    DEFAULT_WEIGHTS,
    NIK_DAMAGE_KINDS,
    SPREADSHEET_HEAVY_WEIGHTS,
    bps_regency_only,
    damage_float_zeros,
    damage_nik,
    damage_scientific,
    damage_transposed,
    excel_numeric_nik,
    truncate_region_code,
)

NIKS = (
    "3273010112900001",
    "3209124708900003",
    "5171021234560001",
    "3306047009010001",
    "1804011307970004",
    "9471016512991234",
    "3203032405920010",
    "3203032405921000",
)

# The documented shape of each kind (SOURCES.md "Common rules" and the samples).
SHAPES = {
    "spaces": re.compile(r"^(\d{4} \d{4} \d{4} \d{4}|\d{6} \d{6} \d{4})$"),
    "dots": re.compile(
        r"^(\d{4}\.\d{4}\.\d{4}\.\d{4}|\d{6}\.\d{6}\.\d{4}|\d\d\.\d\d\.\d\d\.\d{6}\.\d{4})$"
    ),
    "short_15": re.compile(r"^\d{15}$"),
    "long_17": re.compile(r"^\d{17}$"),
    "transposed": re.compile(r"^\d{16}$"),
    "apostrophe": re.compile(r"^'\d{16}$"),
    "scientific": re.compile(r"^\d,\d{5}E\+15$"),
    "float_zeros": re.compile(r"^\d{13}\d*0$"),
}  # fmt: skip


def test_kinds_and_functions_agree() -> None:
    assert set(DAMAGE_FUNCTIONS) == set(NIK_DAMAGE_KINDS)
    assert set(DEFAULT_WEIGHTS) == set(NIK_DAMAGE_KINDS)
    assert set(SPREADSHEET_HEAVY_WEIGHTS) == set(NIK_DAMAGE_KINDS)
    # UMKM: "spreadsheet damage is most common here".
    top = max(SPREADSHEET_HEAVY_WEIGHTS, key=SPREADSHEET_HEAVY_WEIGHTS.__getitem__)
    assert top in ("scientific", "float_zeros")


def test_missing_is_none() -> None:
    assert DAMAGE_FUNCTIONS["missing"](NIKS[0], Random(0)) is None


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_each_kind_has_documented_shape(kind: str) -> None:
    rng = Random(11)
    fn = DAMAGE_FUNCTIONS[kind]
    for nik in NIKS:
        for _ in range(50):
            out = fn(nik, rng)
            assert out is not None and SHAPES[kind].match(out), (kind, nik, out)
            assert out != nik or kind == "float_zeros" and nik.endswith("000")


def test_spaces_dots_keep_the_digits() -> None:
    rng = Random(2)
    for nik in NIKS:
        for kind in ("spaces", "dots", "apostrophe"):
            out = DAMAGE_FUNCTIONS[kind](nik, rng)
            assert out is not None and re.sub(r"\D", "", out) == nik


def test_spaces_styles_match_samples() -> None:
    seen = {DAMAGE_FUNCTIONS["spaces"]("1204040501850001", Random(s)) for s in range(40)}
    # The KemenP2MI sample carries "120404 050185 0001".
    assert seen == {"120404 050185 0001", "1204 0405 0185 0001"}


def test_short_and_long_are_one_digit_edits() -> None:
    rng = Random(5)
    for nik in NIKS:
        short = DAMAGE_FUNCTIONS["short_15"](nik, rng)
        long = DAMAGE_FUNCTIONS["long_17"](nik, rng)
        assert short is not None and long is not None
        assert any(nik[:i] + nik[i + 1 :] == short for i in range(16))
        assert any(long[:i] + long[i + 1 :] == nik and long[i] == nik[i] for i in range(16))


def test_transposed_swaps_adjacent_different_digits() -> None:
    rng = Random(9)
    for nik in NIKS:
        for _ in range(100):
            out = damage_transposed(nik, rng)
            assert len(out) == 16 and out.isdigit() and out != nik
            diff = [i for i in range(16) if out[i] != nik[i]]
            assert len(diff) == 2 and diff[1] == diff[0] + 1
            assert sorted(out) == sorted(nik)


def test_transposed_without_eligible_pair_is_unchanged() -> None:
    assert damage_transposed("1111111111111111", Random(0)) == "1111111111111111"


def test_float_zeros_replaces_nonzero_tail() -> None:
    rng = Random(4)
    for nik in NIKS:
        for _ in range(200):
            out = damage_float_zeros(nik, rng)
            assert len(out) == 16 and out.isdigit()
            assert any(out == nik[:-k] + "0" * k for k in (1, 2, 3))
            if not nik.endswith("000"):
                # At least one non-zero digit was zeroed.
                assert out != nik


def test_float_zeros_tail_length_mix() -> None:
    rng = Random(8)
    # No zero in the last 3 digits, so the trailing zeros count the digits lost.
    zeros = Counter(
        16 - len(damage_float_zeros("9471016512991234", rng).rstrip("0")) for _ in range(2000)
    )
    assert set(zeros) == {1, 2, 3}
    # Mostly one digit (the Excel case), but 2 and 3 happen too.
    assert zeros[1] > zeros[2] > 0 and zeros[3] > 0


def test_float_zeros_widens_when_tail_already_zero() -> None:
    rng = Random(0)
    outs = {damage_float_zeros("3203032405920010", rng) for _ in range(100)}
    assert outs <= {"3203032405920000"}


def test_scientific_matches_sample_values() -> None:
    rng = Random(0)
    # Kemenkop sample "5,17102E+15"; UMKM sample "9,30203E+15".
    assert damage_scientific("5171021234560001", rng) == "5,17102E+15"
    assert damage_scientific("9302034507800002", rng) == "9,30203E+15"
    assert damage_scientific("3273010112900001", rng) == "3,27301E+15"
    # Rounded half up like a spreadsheet, not truncated.
    assert damage_scientific("3273059112900001", rng) == "3,27306E+15"
    # Trailing zeros of the mantissa are kept in the fixed 5-decimal form.
    assert damage_scientific("3273100112900001", rng) == "3,27310E+15"


def test_excel_numeric_nik_keeps_15_digits() -> None:
    # Parekraf sample: numeric NIK cell 3372021002860000.
    assert excel_numeric_nik("3372021002860001") == 3372021002860000
    assert excel_numeric_nik("3209124708900003") == 3209124708900000
    assert excel_numeric_nik("320912470890003") == 320912470890003
    assert excel_numeric_nik("32091247089000345") == 32091247089000300
    with pytest.raises(ValueError):
        excel_numeric_nik("3,27301E+15")


def test_damage_nik_rate_and_mix() -> None:
    rng = Random(123)
    n = 10_000
    kinds: Counter[str | None] = Counter()
    for _ in range(n):
        value, kind = damage_nik("3273010112900001", rng, 0.2)
        kinds[kind] += 1
        if kind is None:
            assert value == "3273010112900001"
        elif kind == "missing":
            assert value is None
        else:
            assert value is not None and SHAPES[kind].match(value)
    damaged = n - kinds[None]
    # Binomial(10000, 0.2): sd = 40, allow 4 sd.
    assert abs(damaged - 2000) < 160
    assert set(kinds) - {None} == set(NIK_DAMAGE_KINDS)
    # Default weights: missing (0.20) is drawn more often than float_zeros (0.07).
    assert kinds["missing"] > kinds["float_zeros"]


def test_damage_nik_custom_weights() -> None:
    rng = Random(5)
    kinds = Counter(
        damage_nik("3273010112900001", rng, 1.0, SPREADSHEET_HEAVY_WEIGHTS)[1] for _ in range(5000)
    )
    assert kinds.most_common(1)[0][0] == "scientific"
    only = Counter(
        damage_nik("3273010112900001", rng, 1.0, {"apostrophe": 1.0, "dots": 0.0})[1]
        for _ in range(200)
    )
    assert only == Counter({"apostrophe": 200})


def test_damage_nik_rate_zero_and_bad_weights() -> None:
    rng = Random(0)
    assert all(
        damage_nik("3273010112900001", rng, 0.0) == ("3273010112900001", None) for _ in range(100)
    )
    with pytest.raises(ValueError):
        damage_nik("3273010112900001", rng, 1.0, {"typo": 1.0})
    with pytest.raises(ValueError):
        damage_nik("3273010112900001", rng, 1.0, {"dots": 0.0})


def test_determinism() -> None:
    def run(seed: int) -> list[tuple[str | None, str | None]]:
        rng = Random(seed)
        return [damage_nik(NIKS[i % len(NIKS)], rng, 0.5) for i in range(2000)]

    assert run(42) == run(42)
    assert run(42) != run(43)


def test_region_code_damage() -> None:
    assert truncate_region_code("33.05.01.2003") == "33.05"
    assert truncate_region_code("3209122005") == "32.09"
    assert bps_regency_only("3203010005") == "3203"
    with pytest.raises(ValueError):
        truncate_region_code("3")
    with pytest.raises(ValueError):
        bps_regency_only("3203")
