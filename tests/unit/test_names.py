"""Generated names, registry spelling variants, titles and mixed case."""

from __future__ import annotations

import re
from collections import Counter
from random import Random

import pytest

from sinergi.simulate.names import (
    MUHAMMAD_FORMS,
    add_title,
    generate_name,
    registry_variant,
    to_mixed_case,
)

UPPER_NAME = re.compile(r"^[A-Z']+( [A-Z']+){0,2}$")


def test_generate_name_shape_and_mononym_share() -> None:
    rng = Random(1)
    words: Counter[int] = Counter()
    repeats = 0
    n = 10_000
    for i in range(n):
        name = generate_name(rng, is_female=i % 2 == 0)
        assert UPPER_NAME.match(name), name
        parts = name.split()
        repeats += len(set(parts)) != len(parts)
        words[len(parts)] += 1
    assert set(words) == {1, 2, 3}
    # Brief: ~10-15% mononyms.
    assert 0.10 <= words[1] / n <= 0.15
    assert words[2] > words[3] > words[1]
    # A word is redrawn once when it repeats; a second clash is rare and still legal.
    assert repeats / n < 0.005


def test_generate_name_by_sex() -> None:
    rng = Random(2)
    women = {w for _ in range(3000) for w in generate_name(rng, True).split()}
    men = {w for _ in range(3000) for w in generate_name(rng, False).split()}
    assert "SITI" in women and "SITI" not in men
    assert "MUHAMMAD" in men and "MUHAMMAD" not in women


def test_generate_name_deterministic() -> None:
    def run(seed: int) -> list[str]:
        rng = Random(seed)
        return [generate_name(rng, i % 3 == 0) for i in range(500)]

    assert run(99) == run(99)
    assert run(99) != run(100)


def _variants(name: str, n: int = 400, seed: int = 0) -> set[str]:
    rng = Random(seed)
    return {registry_variant(name, rng, 1.0) for _ in range(n)}


def test_variant_rate_zero_is_upper_identity() -> None:
    rng = Random(0)
    assert registry_variant("Siti Aminah", rng, 0.0) == "SITI AMINAH"
    assert all(registry_variant("SITI AMINAH", rng, 0.0) == "SITI AMINAH" for _ in range(100))


def test_variant_rate_is_respected() -> None:
    rng = Random(3)
    n = 10_000
    # MUHAMMAD RIZKY PRATAMA fits several families, so a varied draw always changes it.
    changed = sum(
        registry_variant("MUHAMMAD RIZKY PRATAMA", rng, 0.1) != "MUHAMMAD RIZKY PRATAMA"
        for _ in range(n)
    )
    assert abs(changed - 1000) < 120  # sd 30


def test_variant_muhammad_family() -> None:
    out = _variants("MUHAMMAD BAHURAKSA PRADANA")
    firsts = {v.split()[0] for v in out}
    # Sample data: MUHAMMAD / MOH. / H. variants of one person.
    assert {"MUHAMAD", "MOHAMMAD", "MOCH.", "MOH.", "M."} <= firsts
    # The MUHAMMAD swap dominates for such names (MUHAMMAD_VARIANT_SHARE and more).
    rng = Random(1)
    draws = [registry_variant("MUHAMMAD BAHURAKSA PRADANA", rng, 1.0) for _ in range(1000)]
    swapped = sum(v.split()[0] in MUHAMMAD_FORMS and v.split()[0] != "MUHAMMAD" for v in draws)
    assert swapped > 600
    assert "MUHAMMAD BAHURAKSA PRADANA" not in draws
    # Short forms expand again in another registry.
    assert "MUHAMMAD RIZAL" in _variants("M. RIZAL")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("SOEKARNO", "SUKARNO"),  # oe -> u
        ("SUPARMAN", "SOEPARMAN"),  # u -> oe
        ("DJOKO SANTOSO", "JOKO SANTOSO"),  # dj -> j
        ("JOKO", "DJOKO"),  # j -> dj
        ("TJIPTO", "CIPTO"),  # tj -> c
        ("CECEP", "TJETJEP"),  # c -> tj
        ("WAHYU", "WAHJU"),  # y -> j (old)
        ("SURJADI", "SURYADI"),  # old j -> y
        ("CHOIRUL ANWAR", "KHOIRUL ANWAR"),  # ch -> kh
        ("KHAIRUL", "CHAIRUL"),  # kh -> ch
        ("ABDULLAH", "ABDULAH"),  # doubled letter dropped
        ("SITI NUR AMINAH", "SITI AMINAH"),  # middle word dropped
        ("SITI NUR AMINAH", "SITI N. AMINAH"),  # middle word to initial
    ],
)
def test_variant_families(name: str, expected: str) -> None:
    assert expected in _variants(name), _variants(name)


def test_variant_always_upper_and_sometimes_unchanged() -> None:
    # No family fits this name: it must come back as is.
    assert _variants("Mega Mandasari") == {"MEGA MANDASARI"}
    rng = Random(1)
    for _ in range(2000):
        name = generate_name(rng, rng.random() < 0.5)
        v = registry_variant(name, rng, 0.5)
        assert v == v.upper()


def test_variant_deterministic() -> None:
    names = ["MUHAMMAD RIZKY PRATAMA", "SOEKARNO", "SITI NUR AMINAH", "CECEP"] * 50
    r1, r2 = Random(7), Random(7)
    assert [registry_variant(n, r1, 0.7) for n in names] == [
        registry_variant(n, r2, 0.7) for n in names
    ]


def test_add_title_outputs() -> None:
    rng = Random(4)
    women = {add_title("SITI AMINAH", rng, 1.0, is_female=True) for _ in range(500)}
    men = {add_title("AHMAD SUBAGJA", rng, 1.0, is_female=False) for _ in range(500)}
    unknown = {add_title("Rina Lestari", rng, 1.0) for _ in range(500)}
    assert "HJ. SITI AMINAH" in women and "DRA. SITI AMINAH" in women
    assert "H. AHMAD SUBAGJA" in men and "DRS. AHMAD SUBAGJA" in men
    assert "IR. AHMAD SUBAGJA" in men and "DR. AHMAD SUBAGJA" in men
    assert {"AHMAD SUBAGJA, S.PD.", "AHMAD SUBAGJA, S.E.", "AHMAD SUBAGJA, S.KOM."} <= men
    assert {"AHMAD SUBAGJA, A.MD.", "AHMAD SUBAGJA, S.H."} <= men
    assert any(re.match(r"^H\. AHMAD SUBAGJA, [A-Z.]+$", t) for t in men)
    assert any(re.match(r"^AHMAD SUBAGJA, S\.[A-Z.]+, M\.[A-Z.]+$", t) for t in men)
    assert not any(t.startswith(("HJ.", "DRA.")) for t in men)
    assert not any(t.startswith(("H.", "DRS.")) for t in women)
    # Mixed-case names get mixed-case titles; unknown sex never gets H./Hj./Drs./Dra.
    assert "Rina Lestari, S.Pd." in unknown and "Dr. Rina Lestari" in unknown
    assert not any(t.startswith(("H.", "Hj.", "Drs.", "Dra.")) for t in unknown)
    # Every output still contains the name.
    assert all("SITI AMINAH" in t for t in women)


def test_add_title_rate() -> None:
    rng = Random(6)
    n = 10_000
    titled = sum(
        add_title("SITI AMINAH", rng, 0.05, is_female=True) != "SITI AMINAH" for _ in range(n)
    )
    assert abs(titled - 500) < 90  # sd ~22


@pytest.mark.parametrize(
    ("upper", "mixed"),
    [
        ("SITI AMINAH", "Siti Aminah"),
        ("HJ. SITI AMINAH, S.PD.", "Hj. Siti Aminah, S.Pd."),
        ("DRS. H. M. RIZAL, S.KOM., M.M.", "Drs. H. M. Rizal, S.Kom., M.M."),
        ("SYAHRINI LAKSITA, S.I.P.", "Syahrini Laksita, S.I.P."),
        ("DANISWARA WALUYO, S.E.", "Daniswara Waluyo, S.E."),
        ("SUPARMAN, A.MD.", "Suparman, A.Md."),
        ("NU'MAN", "Nu'man"),
        ("SRI-REJEKI", "Sri-Rejeki"),
        ("Slamet Saptono", "Slamet Saptono"),
    ],
)
def test_to_mixed_case(upper: str, mixed: str) -> None:
    assert to_mixed_case(upper) == mixed


def test_mixed_case_roundtrips_add_title() -> None:
    # Upper-case registry text and the mixed-case rendering differ only in case.
    rng = Random(8)
    for _ in range(300):
        upper = add_title("AHMAD SUBAGJA", rng, 1.0, is_female=False)
        assert to_mixed_case(upper).upper() == upper
        assert to_mixed_case(upper).startswith(("Ahmad", "H. ", "Drs. ", "Dr. ", "Ir. "))
