"""The damage ministries' registries and spreadsheets do to NIKs and region codes.

SOURCES.md, "Common rules": in every source a NIK can arrive missing, with spaces or dots,
with 15 or 17 digits, with two digits swapped, with a leading apostrophe, or mangled by a
spreadsheet (``3,27301E+15``, or the right length with the last 1-3 digits turned to 0).
Each kind is a pure function of ``(nik, rng)`` so a writer can apply one kind on purpose;
``damage_nik`` draws whether and how to damage with source-specific weights.

Only ``rng.random()`` / ``rng.randrange`` / ``rng.choices`` of the caller's
``random.Random`` are used, so the same seed gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate
from random import Random

NIK_DAMAGE_KINDS: tuple[str, ...] = (
    "missing",
    "spaces",
    "dots",
    "short_15",
    "long_17",
    "transposed",
    "apostrophe",
    "scientific",
    "float_zeros",
)

# Registry sources (API, JSON, CSV written by an application): typing and copy errors and
# empty fields dominate; spreadsheet damage is present but rarer.
DEFAULT_WEIGHTS: dict[str, float] = {
    "missing": 0.20,
    "spaces": 0.15,
    "dots": 0.08,
    "short_15": 0.12,
    "long_17": 0.08,
    "transposed": 0.12,
    "apostrophe": 0.10,
    "scientific": 0.08,
    "float_zeros": 0.07,
}

# Sources that pass through a spreadsheet (UMKM: "spreadsheet damage is most common here";
# Parekraf's workbook): E+15 notation, lost tails and the apostrophe that forces text.
SPREADSHEET_HEAVY_WEIGHTS: dict[str, float] = {
    "missing": 0.08,
    "spaces": 0.06,
    "dots": 0.03,
    "short_15": 0.05,
    "long_17": 0.03,
    "transposed": 0.05,
    "apostrophe": 0.15,
    "scientific": 0.35,
    "float_zeros": 0.20,
}

# Excel keeps 15 significant digits of a number typed into a cell; the rest become 0.
EXCEL_SIGNIFICANT_DIGITS = 15
# Share of float_zeros damage that zeroes 1, 2 or 3 trailing digits. One digit is the
# Excel case (the Parekraf sample); 2-3 come from other tools' float round trips.
_FLOAT_ZEROS_CUM = (0.6, 0.85, 1.0)


def damage_missing(nik: str, rng: Random) -> str | None:
    """No NIK at all. ``None``: the writer decides between null, empty field or no key."""
    return None


def damage_spaces(nik: str, rng: Random) -> str:
    """Grouped with spaces: ``3273 0112 9000 0001`` or ``327301 120990 0001``."""
    if rng.random() < 0.5:
        return f"{nik[0:4]} {nik[4:8]} {nik[8:12]} {nik[12:]}"
    return f"{nik[0:6]} {nik[6:12]} {nik[12:]}"


def damage_dots(nik: str, rng: Random) -> str:
    """Grouped with dots: ``3273.0112.9000.0001``, ``327301.120990.0001`` or the region part
    dotted like a Kemendagri code, ``32.73.01.120990.0001``."""
    r = rng.random()
    if r < 0.4:
        return f"{nik[0:4]}.{nik[4:8]}.{nik[8:12]}.{nik[12:]}"
    if r < 0.7:
        return f"{nik[0:6]}.{nik[6:12]}.{nik[12:]}"
    return f"{nik[0:2]}.{nik[2:4]}.{nik[4:6]}.{nik[6:12]}.{nik[12:]}"


def damage_short_15(nik: str, rng: Random) -> str:
    """One digit dropped (a missed key), anywhere in the number."""
    i = rng.randrange(len(nik))
    return nik[:i] + nik[i + 1 :]


def damage_long_17(nik: str, rng: Random) -> str:
    """One digit typed twice (a bouncing key), anywhere in the number."""
    i = rng.randrange(len(nik))
    return nik[: i + 1] + nik[i:]


def damage_transposed(nik: str, rng: Random) -> str:
    """Two adjacent, different digits swapped: still 16 digits, but another NIK.

    Only pairs of different digits are eligible, so the result always differs from the
    input; a NIK without any such pair (all digits equal, not a real NIK) is returned as is.
    """
    pairs = [i for i in range(len(nik) - 1) if nik[i] != nik[i + 1]]
    if not pairs:
        return nik
    i = pairs[rng.randrange(len(pairs))]
    return nik[:i] + nik[i + 1] + nik[i] + nik[i + 2 :]


def damage_apostrophe(nik: str, rng: Random) -> str:
    """The leading ``'`` a spreadsheet user types to keep the NIK as text, left in."""
    return "'" + nik


def damage_scientific(nik: str, rng: Random) -> str:
    """How an Indonesian-locale spreadsheet shows a NIK stored as a number: ``3,27301E+15``.

    Six significant digits, rounded half up (as Excel displays), decimal comma. Real Excel
    "General" format would also drop trailing zeros of the mantissa (``3,2731E+15``); the
    samples and the pipeline's contract use the fixed 5-decimal form, kept here.
    """
    mantissa = Decimal(nik).scaleb(-(len(nik) - 1))
    rounded = mantissa.quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP)
    exponent = len(nik) - 1
    if rounded >= 10:
        # 9,999995... rounds up to 10,00000: renormalise like a spreadsheet does.
        rounded = (rounded / 10).quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP)
        exponent += 1
    return f"{rounded}E+{exponent:02d}".replace(".", ",")


def damage_float_zeros(nik: str, rng: Random) -> str:
    """Right length, but the last 1-3 digits turned to ``0`` by float precision loss.

    The tail to zero is widened (up to 3 digits) until it covers a non-zero digit, so the
    result differs from the input whenever the NIK does not already end in ``000``.
    """
    r = rng.random()
    k = 1 if r < _FLOAT_ZEROS_CUM[0] else 2 if r < _FLOAT_ZEROS_CUM[1] else 3
    while k < 3 and nik[-k:] == "0" * k:
        k += 1
    return nik[:-k] + "0" * k


DAMAGE_FUNCTIONS: dict[str, Callable[[str, Random], str | None]] = {
    "missing": damage_missing,
    "spaces": damage_spaces,
    "dots": damage_dots,
    "short_15": damage_short_15,
    "long_17": damage_long_17,
    "transposed": damage_transposed,
    "apostrophe": damage_apostrophe,
    "scientific": damage_scientific,
    "float_zeros": damage_float_zeros,
}


def _cum_weights(weights: Mapping[str, float]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    unknown = set(weights) - set(NIK_DAMAGE_KINDS)
    if unknown:
        raise ValueError(f"unknown NIK damage kinds: {sorted(unknown)}")
    if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError(f"damage weights must be >= 0 with a positive sum: {weights}")
    return tuple(weights), tuple(accumulate(weights.values()))


# The default table is prepared once; a caller's own table is prepared on each damaged
# draw, which only happens at the damage rate and costs about a microsecond.
_DEFAULT_CUM = _cum_weights(DEFAULT_WEIGHTS)


def damage_nik(
    nik: str, rng: Random, rate: float, kinds_weights: Mapping[str, float] | None = None
) -> tuple[str | None, str | None]:
    """With probability ``rate``, damage ``nik``: ``(damaged value, kind)``, else
    ``(nik, None)``.

    ``kinds_weights`` maps kinds of ``NIK_DAMAGE_KINDS`` to relative weights (missing kinds
    never happen); default ``DEFAULT_WEIGHTS``, ``SPREADSHEET_HEAVY_WEIGHTS`` for UMKM and
    Parekraf. The kind is returned so the simulator's ground truth can record what it did.
    """
    if rng.random() >= rate:
        return nik, None
    kinds, cum = _DEFAULT_CUM if kinds_weights is None else _cum_weights(kinds_weights)
    kind = rng.choices(kinds, cum_weights=cum)[0]
    return DAMAGE_FUNCTIONS[kind](nik, rng), kind


def excel_numeric_nik(nik: str) -> int:
    """The number a spreadsheet cell keeps when a NIK is typed in as a number.

    Excel stores at most 15 significant digits and truncates the rest to 0, so a 16-digit
    NIK loses its last digit: ``3372021002860001`` -> ``3372021002860000`` (the Parekraf
    sample's numeric NIK cells).
    """
    if not nik.isdigit():
        raise ValueError(f"not a digit string: {nik!r}")
    value = int(nik)
    lost = len(nik.lstrip("0")) - EXCEL_SIGNIFICANT_DIGITS
    if lost <= 0:
        return value
    scale = 10**lost
    return value // scale * scale


# ---------------------------------------------------------------------------------------
# Region-code damage.
# ---------------------------------------------------------------------------------------


def truncate_region_code(kemendagri_village: str) -> str:
    """Only province and regency of a Kemendagri village code: ``32.09.12.2005`` -> ``32.09``.

    KemenP2MI's ``kode_desa_asal`` is "sometimes only PP.KK". Accepts the dotted or the
    10-digit undotted form, always returns the dotted ``PP.KK``.
    """
    digits = kemendagri_village.replace(".", "")
    if len(digits) < 4 or not digits.isdigit():
        raise ValueError(f"not a Kemendagri region code: {kemendagri_village!r}")
    return f"{digits[0:2]}.{digits[2:4]}"


def bps_regency_only(bps_village: str) -> str:
    """Only the 4-digit regency of a 10-digit BPS village code: ``3203010005`` -> ``3203``.

    UMKM's ``KODE_WILAYAH_BPS`` is "sometimes only the 4-digit regency".
    """
    if len(bps_village) != 10 or not bps_village.isdigit():
        raise ValueError(f"not a 10-digit BPS village code: {bps_village!r}")
    return bps_village[:4]
