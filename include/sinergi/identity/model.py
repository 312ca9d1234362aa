"""The Splink model: how two records are compared, which pairs are compared, and training.

The comparisons follow what identifies an Indonesian across registries (columns from
``features``):

* NIK: equal; one edit apart (a transposition, a dropped or doubled digit); same district and
  birth date with another serial (a zeroed tail); two different valid NIKs; same regency only
  (all a spreadsheet's notation keeps); different. (No "two edits" level: the damage
  registries do is one edit or a zeroed serial, and two edits elsewhere are mostly two
  people of one district; measured.)
* name (normalised by staging): equal; same tokens in another order; Jaro-Winkler >= 0.95 or
  >= 0.88; one name's tokens contained in the other's (a mononym against a full name); same
  first token; different;
* birth: same date; a one-character typo or day and month swapped; a year known only from an
  age (Kemendes) within one year; same year; different;
* sex; home regency, else province.

Blocking keeps the candidate pairs near-linear: each rule is an equality on something rare
(a NIK, a NIK's district and birth date, a name within what a damaged NIK keeps of its
regency, a name with a birth year, a first or last name with a birth date, sorted names
within a regency, a birth date within a regency).

The trained parameters are a versioned JSON file in ``models/``. The nightly step only loads
it, so a night's result never drifts with the data; ``sinergi identity train`` writes a new
version, which is reviewed and committed like code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MODELS_DIR = Path(__file__).with_name("models")
MODEL_VERSION = 1
MODEL_PATH = MODELS_DIR / f"identity-v{MODEL_VERSION}.json"
# What the model was trained on; the number of records scales its prior (match_weight_shift).
TRAINING_PATH = MODELS_DIR / f"identity-v{MODEL_VERSION}.training.json"

# Clusters are the connected components of links at or above LINK_THRESHOLD (and of valid
# NIKs). Pairs from REVIEW_THRESHOLD up to it go to restricted.match_review. Chosen on the
# evaluation worlds (docs/IDENTITY.md): above it precision drops faster than recall rises.
LINK_THRESHOLD = 0.95
REVIEW_THRESHOLD = 0.5


def _nik_comparison():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    digits_edits = "damerau_levenshtein(nik_digits_l, nik_digits_r)"
    return cl.CustomComparison(
        output_column_name="nik",
        comparison_description="NIK digits, and what survives of a damaged one",
        comparison_levels=[
            cll.CustomLevel(
                "(nik_digits_l is null or nik_digits_r is null)"
                " and (nik_regency_l is null or nik_regency_r is null)",
                "null",
            ).configure(is_null_level=True),
            cll.CustomLevel("nik_digits_l = nik_digits_r", "exact"),
            cll.CustomLevel(f"{digits_edits} <= 1", "one edit"),
            cll.CustomLevel("nik_head12_l = nik_head12_r", "same district and birth date"),
            # two valid NIKs more than one edit apart are two people's: without this level
            # they fell to "same regency", which counts as agreement, and at 100k persons it
            # chained namesakes of one regency into one person (measured)
            cll.CustomLevel(
                "nik_valid_l is not null and nik_valid_r is not null", "two different valid NIKs"
            ),
            cll.CustomLevel("nik_regency_l = nik_regency_r", "same regency"),
            cll.ElseLevel(),
        ],
    )


def _name_comparison():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="name",
        comparison_description="normalised name",
        comparison_levels=[
            cll.NullLevel("name"),
            cll.ExactMatchLevel("name"),
            cll.CustomLevel("name_sorted_l = name_sorted_r", "same tokens, other order"),
            cll.JaroWinklerLevel("name", 0.95),
            cll.JaroWinklerLevel("name", 0.88),
            cll.CustomLevel(
                "list_has_all(name_tokens_l, name_tokens_r)"
                " or list_has_all(name_tokens_r, name_tokens_l)",
                "tokens contained",
            ),
            cll.CustomLevel("name_first_l = name_first_r", "same first token"),
            cll.ElseLevel(),
        ],
    )


def _birth_comparison():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    date_l, date_r = "strftime(birth_date_l, '%Y%m%d')", "strftime(birth_date_r, '%Y%m%d')"
    return cl.CustomComparison(
        output_column_name="birth",
        comparison_description="birth date, or the year an age implies",
        comparison_levels=[
            cll.NullLevel("birth_year"),
            cll.ExactMatchLevel("birth_date"),
            cll.CustomLevel(
                f"damerau_levenshtein({date_l}, {date_r}) <= 1"
                " or (day(birth_date_l) = month(birth_date_r)"
                " and month(birth_date_l) = day(birth_date_r)"
                " and year(birth_date_l) = year(birth_date_r))",
                "typo or day and month swapped",
            ),
            cll.CustomLevel(
                "(birth_date_l is null or birth_date_r is null)"
                " and abs(birth_year_l - birth_year_r) <= 1",
                "year from an age, within one",
            ),
            cll.CustomLevel("birth_year_l = birth_year_r", "same year"),
            cll.ElseLevel(),
        ],
    )


def _region_comparison():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="region",
        comparison_description="home regency, else province",
        comparison_levels=[
            cll.NullLevel("province"),
            cll.ExactMatchLevel("regency"),
            cll.ExactMatchLevel("province"),
            cll.ElseLevel(),
        ],
    )


def blocking_rules() -> list:
    from splink import block_on

    return [
        block_on("nik_digits"),
        block_on("nik_head12"),
        # a damaged NIK's regency and the name: records that lost birth date and region too
        block_on("name_sorted", "nik_regency"),
        block_on("name", "birth_year"),
        block_on("name_first", "birth_date"),
        block_on("name_last", "birth_date"),
        block_on("name_sorted", "regency"),
        block_on("birth_date", "regency"),
        block_on("name_first", "birth_year", "regency"),
    ]


def settings():
    """The model's settings, untrained."""
    import splink.comparison_library as cl
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            _nik_comparison(),
            _name_comparison(),
            _birth_comparison(),
            cl.ExactMatch("gender"),
            _region_comparison(),
        ],
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def baseline_settings():
    """Splink's library comparisons with their default thresholds on the names as recorded
    (no Indonesian normalisation, no NIK recovery): the evaluation's second baseline."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.ExactMatch("nik_digits"),
            cl.NameComparison("name_plain"),
            cl.DateOfBirthComparison("birth_date", input_is_string=False),
            cl.ExactMatch("gender"),
            cl.ExactMatch("regency"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("nik_digits"),
            block_on("name_plain", "birth_year"),
            block_on("birth_date", "regency"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def train(linker, *, seed: int = 1) -> None:
    """Estimate the model's parameters without labels (Splink's usual recipe)."""
    from splink import block_on

    # Valid NIKs are the surest agreement there is: the prior from them.
    linker.training.estimate_probability_two_random_records_match(
        [block_on("nik_valid")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    # Each EM session fixes what it blocks on and learns the rest.
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("birth_date"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("name", "regency"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("nik_head12"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("name_sorted", "nik_regency"), estimate_without_term_frequencies=True
    )


def match_weight_shift(records: int, training: dict[str, Any], trained: dict[str, Any]) -> float:
    """How much to add to a pair's Splink ``match_weight`` for a warehouse of ``records``.

    Splink's prior, the probability that two random records match, was estimated on the
    training world; in a dedupe it falls as 1/N (each person has a few records, the pairs grow
    with N^2). Scored with the training prior, a warehouse ten times larger would see every
    probability ten times too optimistic, and its clusters chain namesakes. So links are stored
    with the model's own weight (it depends only on the pair: incremental and full linking
    agree) and, at clustering time, the prior is moved to this warehouse's size. Never above
    the trained prior: a warehouse smaller than the training world keeps it."""
    import math

    trained_prior = trained["probability_two_random_records_match"]
    prior = min(trained_prior * training["records"] / max(records, 1), trained_prior)
    return math.log2(prior / (1 - prior)) - math.log2(trained_prior / (1 - trained_prior))


def probability_weight(probability: float) -> float:
    """The match weight at which a pair reaches ``probability``."""
    import math

    return math.log2(probability / (1 - probability))


def load_training(path: Path = TRAINING_PATH) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(
            f"no training record at {path}: retrain with `sinergi identity train`"
        )
    return json.loads(path.read_text())


def load_trained(path: Path = MODEL_PATH) -> dict[str, Any]:
    """The committed model; a clear error when it is missing."""
    if not path.is_file():
        raise FileNotFoundError(
            f"no trained identity model at {path}: train one with `sinergi identity train`"
        )
    return json.loads(path.read_text())
