"""Indonesian person names for the simulator, and how registries spell them differently.

SOURCES.md: names arrive "as registered: often upper case, mononyms are common, spelling
varies between registries (MUHAMMAD / MUHAMAD / MOH. / M.), honorifics and degrees may be
attached (H., Hj., Drs., S.Pd., S.E.)". The pipeline's person matching has to survive all
of that, so the simulator must produce it on purpose.

The name stock is curated here (Javanese, Sundanese, Malay/Sumatran, Batak and
Arabic-origin names, plus old Van Ophuijsen / Soewandi spellings) instead of coming from
Faker: Faker's id_ID locale is slow per call and its output changes between Faker
releases, which would break "same seed, same bytes". Every function takes an explicit
``random.Random`` and draws only with ``rng.random()`` / ``rng.choice`` / ``rng.randrange``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from random import Random

# ---------------------------------------------------------------------------------------
# Name stock. Tuples (not lists) so rng.choice indexes them directly and nobody mutates
# them; a name listed twice is simply drawn twice as often.
# ---------------------------------------------------------------------------------------

# Words that open many Muslim men's names. MUHAMMAD is listed several times because it is
# by far the most common first word of men's names in Indonesia.
MALE_PREFIX_NAMES: tuple[str, ...] = (
    "MUHAMMAD", "MUHAMMAD", "MUHAMMAD", "MUHAMMAD", "MUHAMAD", "MOHAMMAD", "MOCHAMAD",
    "AHMAD", "AHMAD", "ACHMAD", "ABDUL", "ABDUL", "NUR", "RADEN",
)  # fmt: skip

FEMALE_PREFIX_NAMES: tuple[str, ...] = (
    "SITI", "SITI", "SITI", "SRI", "SRI", "NUR", "NURUL", "DEWI", "NI", "RADEN",
)  # fmt: skip

MALE_GIVEN_NAMES: tuple[str, ...] = (
    # Javanese
    "BUDI", "AGUS", "BAMBANG", "JOKO", "EKO", "DWI", "TRI", "HERU", "SLAMET", "SUGENG",
    "WAHYU", "ADI", "HADI", "BAGUS", "BAYU", "DIMAS", "GALIH", "PURNOMO", "SUSILO",
    "SURYA", "YUDHA", "ARIF", "TEGUH", "HARYANTO", "SUHARTO", "SUTRISNO", "SUKARNO",
    "DARMAWAN", "PRASETYO", "GUNAWAN", "SETYO", "WIDODO", "YOGA", "ANDI", "RUDI",
    "SLAMET", "SUYANTO", "SURYADI", "KUSNADI", "WARSITO",
    # Sundanese
    "ASEP", "UJANG", "DEDI", "CECEP", "DADANG", "UDIN", "ENDANG", "AEP", "YAYAN", "DEDEN",
    "JAJANG", "OMAN", "ACENG", "ENCEP", "IWAN", "DODI", "YUDI", "HENDRA",
    # Malay / Sumatran / general Indonesian
    "RIZAL", "ZULKIFLI", "SYAHRUL", "FAJAR", "RIZKY", "RAHMAT", "HIDAYAT", "FIRMAN",
    "IRFAN", "ILHAM", "ANDRE", "REZA", "DANI", "FERRY", "ROBBY", "ARDIANSYAH", "TAUFIK",
    "HENDRI", "YUSUF", "SYAMSUL", "KHAIRUL", "CHOIRUL", "ZAINAL", "JUNAIDI", "BUSTAMI",
    # Arabic-origin
    "ABDULLAH", "HASAN", "HUSEIN", "ALI", "UMAR", "USMAN", "IBRAHIM", "ISMAIL", "YAHYA",
    "ZAKARIA", "HAMZAH", "FAUZI", "FAHMI", "HABIBI", "NASRULLAH", "SAIFUL", "ANWAR",
    "RAMADHAN", "KHOLIL", "SYAIFUDDIN", "FATHUR", "HAFIZ", "LUTFI", "MUSTOFA",
)  # fmt: skip

FEMALE_GIVEN_NAMES: tuple[str, ...] = (
    # Javanese
    "SRI", "DEWI", "WATI", "RATNA", "ENDAH", "ENDANG", "PUJI", "RINI", "TUTI", "YANTI",
    "SUSI", "WULAN", "AYU", "INDAH", "PUSPITA", "LESTARI", "RAHAYU", "NINGSIH", "SUMARNI",
    "SURYANI", "TRI", "DWI", "KARTIKA", "SETYOWATI", "WIDYA", "YULI", "ANIK", "ENI",
    # Sundanese
    "EUIS", "NENG", "IMAS", "CUCU", "NENENG", "TATI", "ELIS", "YAYAH", "IIS", "LILIS",
    "NINING", "EUTIK", "ANEU", "RISMA", "YENI",
    # Malay / general Indonesian
    "PUTRI", "MAYA", "INTAN", "MELATI", "NOVI", "FITRI", "DIAN", "RINA", "LINDA", "MEGA",
    "RIRIN", "YULIANA", "DESI", "MIRA", "SARI", "LENI", "ERNA", "WINDA", "DINI",
    # Arabic-origin
    "AMINAH", "FATIMAH", "AISYAH", "KHADIJAH", "ZAINAB", "HALIMAH", "MAEMUNAH", "NURHAYATI",
    "NURJANAH", "ANNISA", "RAHMAWATI", "HIDAYAH", "MARYAM", "SALMA", "ZAHRA", "NABILA",
    "KHOIRUNNISA", "FAUZIAH", "ROHMAH", "SYARIFAH", "ULFA", "HUSNUL", "MUNAWAROH",
)  # fmt: skip

# Names registered in the pre-1972 spelling (oe = u, dj = j, tj = c, j = y, ch = kh).
# Mostly older persons; the registry_variant modernisation turns them into the new forms.
OLD_SPELLING_MALE_NAMES: tuple[str, ...] = (
    "SOEKARNO", "SOEHARTO", "SOEPARMAN", "SOETRISNO", "DJOKO", "DJOHAN", "TJAHJONO",
    "TJIPTO", "JOESOEF", "SOEJONO", "SOEDIRMAN", "WAHJOE", "MOESTOFA", "ACHMAD", "CHAERUL",
    "DJAJA", "SOERJADI",
)  # fmt: skip

OLD_SPELLING_FEMALE_NAMES: tuple[str, ...] = (
    "SOEMARNI", "SOEPARMI", "DJOEMINAH", "TJITJIH", "SOERJANI", "SOELASTRI", "KOESMIATI",
    "DJOEWARIAH", "SOETINAH", "JOELIA",
)  # fmt: skip

# One-word registered names: typical for older rural Javanese and Sundanese persons.
MALE_MONONYMS: tuple[str, ...] = (
    "SUPARMAN", "SUTRISNO", "SUKIRMAN", "PAIMIN", "SUMARNO", "WAGIMAN", "KARSO", "SARIMIN",
    "SUYONO", "PONIMAN", "SUGIYONO", "TUGIMAN", "SLAMET", "SUPRIYADI", "MULYADI", "DALIONO",
    "SUKARDI", "SUWARNO", "KASMAN", "RASIDI", "JUMADI", "SUNARTO", "WARSITO", "KUSNADI",
    "DARSONO", "SUDARSONO", "PARJO", "TUKIJO", "SOEKARNO", "SOEPARMAN", "DJUMADI", "RUSLAN",
)  # fmt: skip

FEMALE_MONONYMS: tuple[str, ...] = (
    "SUMIATI", "SUPARMI", "PAINEM", "SUKINAH", "TUMINAH", "SARINAH", "WAGIYEM", "SUMIYATI",
    "KASIYEM", "PARINEM", "SUNARSIH", "TUKINEM", "SUWARNI", "JUMIATI", "SAINAH", "RUMINAH",
    "KARSINAH", "WARSINAH", "MARSINAH", "SITI", "SUMARNI", "NURHAYATI", "SOEPARMI",
    "DJOEMINAH",
)  # fmt: skip

# Second (last) names: patronymic-like or descriptive; Indonesians mostly have no family
# name, so these are drawn independently per person.
MALE_SECOND_NAMES: tuple[str, ...] = (
    "SAPUTRA", "HIDAYAT", "SETIAWAN", "PRATAMA", "NUGROHO", "SANTOSO", "WIBOWO", "KURNIAWAN",
    "FIRMANSYAH", "RAMADHAN", "HIDAYATULLAH", "PRASETYO", "WIJAYA", "KUSUMA", "SUSANTO",
    "HARTONO", "SUBAGJA", "MAULANA", "FAUZAN", "SYAHPUTRA", "PRADANA", "SAPUTRO",
    "PURNAMA", "SUNARYA", "SUPRIATNA", "RUSTANDI", "HERMAWAN", "SETIADI", "IRAWAN",
    "AKBAR", "NAJMUDIN", "MUSTOFA", "HAKIM", "RAHMAN", "RAHMATULLAH", "HASIBUAN",
    "WALUYO", "SAPTONO", "HIDAYANTO", "SUGIHARTO", "NURDIN", "YUSUF", "EFENDI", "EFFENDI",
    "MUCHTAR", "SOEBAGJO", "TJAHJADI", "DJUANDA",
)  # fmt: skip

FEMALE_SECOND_NAMES: tuple[str, ...] = (
    "SAPUTRI", "LESTARI", "WULANDARI", "RAHAYU", "HANDAYANI", "PERTIWI", "NINGSIH",
    "KURNIASIH", "AMINAH", "FITRIANI", "PUSPITASARI", "MAHARANI", "ANGGRAENI", "SUSANTI",
    "RAHMAWATI", "HASANAH", "HALIMAH", "RAHIMAH", "WAHYUNI", "WINARSIH", "WIJAYANTI",
    "NURDIYANTI", "MANDASARI", "KARTIKASARI", "PRATIWI", "PERMATASARI", "FEBRIANTI",
    "KUSUMAWATI", "SETIAWATI", "YULIANTI", "NURAINI", "MARLINA", "SUMIYATI", "SAFITRI",
    "ANGGRAINI", "MULYANI", "SUHARTINI", "SOEMARTI", "DJUWITA",
)  # fmt: skip

# Batak clan names (marga) and a few other inherited family names; used as last word for a
# minority of persons of either sex (e.g. GATRA HUTASOIT in the samples).
FAMILY_NAMES: tuple[str, ...] = (
    "SIREGAR", "NASUTION", "LUBIS", "HARAHAP", "HUTAGALUNG", "SIMANJUNTAK", "SITUMORANG",
    "GINTING", "TARIGAN", "SEMBIRING", "PANJAITAN", "TAMPUBOLON", "MANURUNG", "HUTASOIT",
    "SIAHAAN", "SINAGA", "PASARIBU", "SIMATUPANG", "MARPAUNG", "PANGARIBUAN",
)  # fmt: skip

# Shares of the registered name's shape. Mononyms ~12% (brief: 10-15%), two words most.
MONONYM_SHARE = 0.12
THREE_WORD_SHARE = 0.28
# Within multi-word names.
MALE_PREFIX_SHARE = 0.22
FEMALE_PREFIX_SHARE = 0.20
OLD_SPELLING_SHARE = 0.05
FAMILY_NAME_SHARE = 0.06


def _given(rng: Random, is_female: bool) -> str:
    if rng.random() < OLD_SPELLING_SHARE:
        return rng.choice(OLD_SPELLING_FEMALE_NAMES if is_female else OLD_SPELLING_MALE_NAMES)
    return rng.choice(FEMALE_GIVEN_NAMES if is_female else MALE_GIVEN_NAMES)


def _last(rng: Random, is_female: bool) -> str:
    if rng.random() < FAMILY_NAME_SHARE:
        return rng.choice(FAMILY_NAMES)
    return rng.choice(FEMALE_SECOND_NAMES if is_female else MALE_SECOND_NAMES)


def generate_name(rng: Random, is_female: bool) -> str:
    """The name a person is registered under: UPPER CASE, 1 to 3 words.

    About 12% mononyms (``SUPARMAN``), ~60% two words (``SITI AMINAH``), the rest three
    words (``MUHAMMAD RIZKY PRATAMA``). No word repeats within a name.
    """
    r = rng.random()
    if r < MONONYM_SHARE:
        return rng.choice(FEMALE_MONONYMS if is_female else MALE_MONONYMS)

    prefix_share = FEMALE_PREFIX_SHARE if is_female else MALE_PREFIX_SHARE
    if rng.random() < prefix_share:
        first = rng.choice(FEMALE_PREFIX_NAMES if is_female else MALE_PREFIX_NAMES)
    else:
        first = _given(rng, is_female)

    last = _last(rng, is_female)
    if last == first:
        # One redraw is enough in practice; a repeated word would still be a legal name.
        last = _last(rng, is_female)

    if r < 1.0 - THREE_WORD_SHARE:
        return f"{first} {last}"

    middle = _given(rng, is_female)
    if middle in (first, last):
        middle = _given(rng, is_female)
    return f"{first} {middle} {last}"


# ---------------------------------------------------------------------------------------
# Registry spelling variants.
# ---------------------------------------------------------------------------------------

# All forms registries use for MUHAMMAD; any one may be replaced by any other.
MUHAMMAD_FORMS: tuple[str, ...] = (
    "MUHAMMAD", "MUHAMAD", "MOHAMMAD", "MOHAMAD", "MOCHAMMAD", "MOCHAMAD", "MUCHAMMAD",
    "MOCH.", "MOH.", "MUH.", "M.",
)  # fmt: skip
_MUHAMMAD_SET = frozenset(MUHAMMAD_FORMS)

# Share of variant attempts that may rewrite a modern spelling into the old one.
ARCHAIZE_SHARE = 0.35
# A name with a MUHAMMAD form gets that word re-spelled this often when varied: it is the
# variation registries show most (SOURCES.md names it first).
MUHAMMAD_VARIANT_SHARE = 0.6

_DOUBLED = re.compile(r"([A-Z])\1")
# Old-spelling J is modern Y, except in DJ (modern J) and TJ (modern C). Word-initial J is
# skipped: JOKO is modern, JOESOEF is old, and nothing but a dictionary tells them apart.
_OLD_J = re.compile(r"(?<=[A-Z])(?<![DT])J")


def _swap_muhammad(words: list[str], rng: Random) -> bool:
    idx = [i for i, w in enumerate(words) if w in _MUHAMMAD_SET]
    if not idx:
        return False
    i = rng.choice(idx)
    # rng.choice on the tuple, redrawn until different: cheaper than building a filtered
    # tuple each call, and the loop ends fast because 10 of 11 forms differ.
    form = rng.choice(MUHAMMAD_FORMS)
    while form == words[i]:
        form = rng.choice(MUHAMMAD_FORMS)
    words[i] = form
    return True


def _word_rewrite(
    words: list[str], rng: Random, applies: Callable[[str], bool], rewrite: Callable[[str], str]
) -> bool:
    """Rewrite one randomly chosen word that ``applies`` to; False when none does."""
    idx = [i for i, w in enumerate(words) if not w.endswith(".") and applies(w)]
    if not idx:
        return False
    i = rng.choice(idx)
    words[i] = rewrite(words[i])
    return True


def _archaize(rng: Random) -> bool:
    """Whether to try a modern -> old spelling rewrite this time.

    Registries modernise old spellings far more often than they invent them for a modern
    name (REZA NURDIN -> REZA NOERDIN happens, but rarely): without this gate the U -> OE
    rewrite, which fits almost every name, would crowd out the other families.
    """
    return rng.random() < ARCHAIZE_SHARE


def _oe_u(words: list[str], rng: Random) -> bool:
    # Old -> new when the name is old-spelled (SOEKARNO -> SUKARNO), else new -> old.
    if any("OE" in w for w in words):
        return _word_rewrite(words, rng, lambda w: "OE" in w, lambda w: w.replace("OE", "U"))
    if not _archaize(rng):
        return False
    return _word_rewrite(words, rng, lambda w: "U" in w, lambda w: w.replace("U", "OE"))


def _dj_j(words: list[str], rng: Random) -> bool:
    if any("DJ" in w for w in words):
        return _word_rewrite(words, rng, lambda w: "DJ" in w, lambda w: w.replace("DJ", "J"))
    if not _archaize(rng):
        return False
    return _word_rewrite(
        words, rng, lambda w: "J" in w and "TJ" not in w, lambda w: w.replace("J", "DJ")
    )


def _tj_c(words: list[str], rng: Random) -> bool:
    if any("TJ" in w for w in words):
        return _word_rewrite(words, rng, lambda w: "TJ" in w, lambda w: w.replace("TJ", "C"))
    if not _archaize(rng):
        return False
    return _word_rewrite(
        words, rng, lambda w: "C" in w and "CH" not in w, lambda w: w.replace("C", "TJ")
    )


def _j_y(words: list[str], rng: Random) -> bool:
    # Modern Y -> old J (WAHYU -> WAHJU); old J -> Y where it cannot be DJ/TJ (SURJA).
    if any("Y" in w for w in words):
        if not _archaize(rng):
            return False
        return _word_rewrite(words, rng, lambda w: "Y" in w, lambda w: w.replace("Y", "J"))
    return _word_rewrite(
        words, rng, lambda w: _OLD_J.search(w) is not None, lambda w: _OLD_J.sub("Y", w)
    )


def _ch_kh(words: list[str], rng: Random) -> bool:
    if any("CH" in w for w in words):
        return _word_rewrite(words, rng, lambda w: "CH" in w, lambda w: w.replace("CH", "KH"))
    return _word_rewrite(words, rng, lambda w: "KH" in w, lambda w: w.replace("KH", "CH"))


def _drop_double(words: list[str], rng: Random) -> bool:
    # MUHAMMAD -> MUHAMAD, ABDULLAH -> ABDULAH, ANNISA -> ANISA: one pair per variant.
    return _word_rewrite(
        words, rng, lambda w: _DOUBLED.search(w) is not None, lambda w: _DOUBLED.sub(r"\1", w, 1)
    )


def _middle_word(words: list[str], rng: Random) -> bool:
    # SITI NUR AMINAH -> SITI AMINAH or SITI N. AMINAH. Only a true middle word: dropping
    # the first or last would change which part of the name a matcher keys on.
    if len(words) < 3:
        return False
    i = rng.randrange(1, len(words) - 1)
    if rng.random() < 0.5 or words[i].endswith("."):
        del words[i]
    else:
        words[i] = words[i][0] + "."
    return True


# registry_variant tries these in a random order and keeps the first that applies.
_VARIANT_FAMILIES: tuple[Callable[[list[str], Random], bool], ...] = (
    _swap_muhammad,
    _oe_u,
    _dj_j,
    _tj_c,
    _j_y,
    _ch_kh,
    _drop_double,
    _middle_word,
)


def registry_variant(name: str, rng: Random, rate: float) -> str:
    """With probability ``rate``, how another registry spells the same person's name.

    One variant family is applied, chosen at random among those that fit the name:
    MUHAMMAD/MUHAMAD/MOHAMMAD/MOCH./MOH./M. swapped; old spelling oe<->u, dj<->j, tj<->c,
    j<->y, ch<->kh; a doubled letter dropped; a middle word dropped or cut to its initial.
    Rewrites from modern to old spelling are only tried some of the time (``ARCHAIZE_SHARE``),
    so a name that only fits those (``REZA NURDIN``) often comes back unchanged, as does a
    name no family fits (``MEGA MANDASARI``). The result is always upper case.
    """
    upper = name.upper()
    if rng.random() >= rate:
        return upper
    words = upper.split()
    if rng.random() < MUHAMMAD_VARIANT_SHARE and _swap_muhammad(words, rng):
        return " ".join(words)
    # Try the families in a random order so each gets its share on names that fit several;
    # sampling a permutation is a single call and the list is only 8 long.
    for family in rng.sample(_VARIANT_FAMILIES, len(_VARIANT_FAMILIES)):
        if family(words, rng):
            return " ".join(words)
    return upper


# ---------------------------------------------------------------------------------------
# Honorifics, degrees, case.
# ---------------------------------------------------------------------------------------

# Hajj honorifics, by sex.
HAJI_MALE = "H."
HAJI_FEMALE = "Hj."
# Old-system academic titles written before the name; Drs./Dra. differ by sex.
PREFIX_DEGREES_MALE: tuple[str, ...] = ("Drs.", "Dr.", "Ir.")
PREFIX_DEGREES_FEMALE: tuple[str, ...] = ("Dra.", "Dr.", "Ir.")
PREFIX_DEGREES_ANY: tuple[str, ...] = ("Dr.", "Ir.")
# Degrees written after the name, after a comma.
SUFFIX_DEGREES: tuple[str, ...] = (
    "S.Pd.", "S.Pd.", "S.E.", "S.E.", "S.Kom.", "A.Md.", "S.H.", "S.Sos.", "S.T.", "S.Ag.",
    "S.I.P.", "S.Kep.", "S.Pd.I.", "S.Ak.", "S.Si.", "S.P.",
)  # fmt: skip
# Master's degrees, only ever written after a bachelor's: "S.Pd., M.Pd.".
MASTER_DEGREES: tuple[str, ...] = ("M.Pd.", "M.M.", "M.Si.", "M.Kom.")


def add_title(name: str, rng: Random, rate: float, is_female: bool | None = None) -> str:
    """With probability ``rate``, attach an honorific and/or degree to ``name``.

    Prefixes ``H.``/``Hj.`` (hajj, by sex), ``Drs.``/``Dra.``, ``Dr.``, ``Ir.``; suffixes
    ``, S.Pd.``, ``, S.E.``, ``, S.Kom.``, ``, A.Md.``, ``, S.H.`` ... or both, e.g.
    ``H. AHMAD SUBAGJA, S.Pd.``. ``is_female`` picks H. vs Hj. and Drs. vs Dra.; when it is
    None no sex-specific title is used. Titles follow the name's case: an upper-case name
    gets ``HJ.`` and ``S.PD.``, as upper-case registries write them (``to_mixed_case``
    restores ``Hj.``/``S.Pd.``).
    """
    if rng.random() >= rate:
        return name
    prefix = ""
    suffix = ""
    r = rng.random()
    if r < 0.30:
        # Hajj honorific alone, or together with a degree (H. ..., S.Pd.).
        if is_female is not None:
            prefix = HAJI_FEMALE if is_female else HAJI_MALE
        if r < 0.10 or not prefix:
            suffix = rng.choice(SUFFIX_DEGREES)
    elif r < 0.45:
        if is_female is None:
            prefix = rng.choice(PREFIX_DEGREES_ANY)
        else:
            prefix = rng.choice(PREFIX_DEGREES_FEMALE if is_female else PREFIX_DEGREES_MALE)
    else:
        suffix = rng.choice(SUFFIX_DEGREES)
        if rng.random() < 0.15:
            # A master's after a bachelor's: "S.Pd., M.Pd.".
            suffix = f"{suffix}, {rng.choice(MASTER_DEGREES)}"

    if name.isupper():
        prefix = prefix.upper()
        suffix = suffix.upper()
    if prefix:
        name = f"{prefix} {name}"
    if suffix:
        name = f"{name}, {suffix}"
    return name


def _mixed_word(word: str) -> str:
    if "." in word:
        # Initials and degrees: capitalise each dot-separated piece, so S.PD. -> S.Pd.,
        # HJ. -> Hj., S.I.P. -> S.I.P., M. -> M.
        return ".".join(part[:1].upper() + part[1:].lower() for part in word.split("."))
    # "-" keeps both halves capitalised (SRI-REJEKI -> Sri-Rejeki); str.capitalize alone
    # already keeps NU'MAN -> Nu'man.
    return "-".join(part.capitalize() for part in word.split("-"))


def to_mixed_case(name: str) -> str:
    """``SITI AMINAH, S.PD.`` -> ``Siti Aminah, S.Pd.``; ``HJ.`` -> ``Hj.``; ``M.`` stays."""
    return " ".join(_mixed_word(w) for w in name.split(" "))
