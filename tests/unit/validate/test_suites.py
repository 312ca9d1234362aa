"""Suites and checks without a database or Great Expectations."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date

import pytest

from sinergi.ingest.schema import LINEAGE_COLUMNS
from sinergi.parse import EXPECTED_COLUMNS_BY_SOURCE
from sinergi.sources.registry import SOURCES, raw_column_name
from sinergi.validate import checks
from sinergi.validate.checks import (
    DMY_DASH,
    DMY_SLASH,
    DMY_SLASH_TIME,
    ISO_DATE,
    ISO_DATETIME,
    ISO_TIMESTAMP_OFFSET,
    UNEXPECTED_ROWS,
    YMD_COMPACT,
    BatchScope,
    valid_date_regex,
)
from sinergi.validate.run import unexpected_rows_query
from sinergi.validate.suites import SUITES, suite_for

# GX expectation classes the suites may use: the ones that work on text columns in SQL.
KNOWN_EXPECTATIONS = {
    "ExpectColumnValuesToNotBeNull",
    "ExpectColumnValuesToBeUnique",
    "ExpectCompoundColumnsToBeUnique",
    "ExpectColumnValuesToBeInSet",
    "ExpectColumnValuesToMatchRegex",
    "ExpectTableColumnsToMatchSet",
    "ExpectTableRowCountToBeBetween",
    "ExpectTableRowCountToEqual",
    UNEXPECTED_ROWS,
}


def _scope(source: str) -> BatchScope:
    return BatchScope(source, 42, date(2026, 1, 5), bps_master_batch_id=7)


def test_every_source_has_a_suite() -> None:
    assert set(SUITES) == set(SOURCES)
    for name in SOURCES:
        assert suite_for(name) == suite_for(SOURCES[name])
    with pytest.raises(KeyError, match="no expectation suite"):
        suite_for("nope")


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_checks_reference_raw_columns(source: str) -> None:
    raw = {raw_column_name(c) for c in EXPECTED_COLUMNS_BY_SOURCE[source]}
    suite = suite_for(source)
    names = [c.name for c in suite]
    assert len(names) == len(set(names)), "check names must be unique within a suite"
    for check in suite:
        assert set(check.columns) <= raw, check.name
        for key in ("column", "column_list"):
            value = check.expectation_kwargs.get(key)
            cols = [value] if isinstance(value, str) else list(value or [])
            assert set(cols) <= raw, (check.name, cols)
        assert check.expectation in KNOWN_EXPECTATIONS, check.name
    schema = suite[0]
    assert schema.severity == "fail" and schema.reason_code == "schema_drift"
    assert set(schema.expectation_kwargs["column_set"]) == raw | set(LINEAGE_COLUMNS)


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_source_checks_its_ids_first(source: str) -> None:
    spec = SOURCES[source]
    suite = suite_for(source)
    warn_rows = [c for c in suite if c.severity == "warn" and c.is_row_check]
    # duplicate_id looks at the other rows of the batch: it must move rows before anything else.
    assert warn_rows[0].reason_code == "duplicate_id"
    assert warn_rows[0].columns == spec.key_columns
    assert any(c.reason_code == "missing_id" for c in suite)
    assert any(c.reason_code == "volume_anomaly" for c in suite)


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_predicates_render(source: str) -> None:
    for check in suite_for(source):
        if check.where is None:
            continue
        text = check.where(_scope(source)).as_string()
        assert text and "%s" not in text, check.name
        if check.expectation == UNEXPECTED_ROWS:
            query = unexpected_rows_query(check, _scope(source))
            assert query.startswith("SELECT * FROM {batch} WHERE ")
            # GX fills the query with str.format: only {batch} may remain after formatting.
            assert "{batch}" not in query.format(batch="t")
            # no ``:name`` left for SQLAlchemy text() to take for a bind parameter
            assert not re.search(r"(?<![:\w\\]):(\w+)(?![:\w])", query), check.name


def test_damaged_niks_are_flags_and_nothing_else_is() -> None:
    flag_reasons = {"nik_damaged", "nik_missing", "unknown_region", "unknown_parent_region"}
    for suite in SUITES.values():
        for check in suite:
            if check.reason_code in flag_reasons:
                assert check.severity == "flag", check.name
            elif check.severity == "flag":
                assert check.reason_code == "volume_anomaly", check.name


def test_birth_date_uses_the_logical_date_not_now() -> None:
    check = next(c for c in suite_for("kp2mi_pmi") if c.reason_code == "birth_date_in_future")
    text = check.where(BatchScope("kp2mi_pmi", 1, date(2019, 3, 4))).as_string()
    assert "'2019-03-04'::date" in text and "now()" not in text.lower()


def test_region_check_needs_a_master() -> None:
    check = next(c for c in suite_for("umkm_penerima") if c.reason_code == "unknown_region")
    with pytest.raises(ValueError, match="no BPS master"):
        check.where(BatchScope("umkm_penerima", 1, date(2026, 1, 1)))


@pytest.mark.parametrize(
    ("formats", "valid", "invalid"),
    [
        (
            [ISO_DATE],
            ["2026-01-31", "2024-02-29", "2000-02-29", "1900-02-28", "2026-04-30"],
            ["2026-02-30", "2023-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "2026-00-10",
             "1899-12-31", "2100-01-01", "2026-1-5", " 2026-01-05", "2026-01-05T10:00:00"],
        ),
        (
            [DMY_SLASH],
            ["12/11/1977", "29/02/2024", "31/12/2026"],
            ["31/02/2026", "29/02/2026", "2026-01-05", "1/1/2026", "12/11/77"],
        ),
        ([YMD_COMPACT], ["19750107", "20240229"], ["20260230", "2026013", "197501070"]),
        ([DMY_SLASH_TIME], ["05/01/2026 23:59:59"], ["05/01/2026 24:00:00", "05/01/2026"]),
        (
            [ISO_TIMESTAMP_OFFSET],
            ["2026-11-27T14:03:22+07:00", "2026-11-27T14:03:22.5+07:00", "2026-11-27T14:03:22Z"],
            ["2026-11-27T14:03:22", "2026-02-30T14:03:22+07:00", "2026-11-27 14:03:22+07:00"],
        ),
        (
            [ISO_DATE, ISO_DATETIME, DMY_DASH],
            ["1991-06-22", "17-04-2001", "2018-08-05T19:01:46"],
            ["31-04-2001", "17/04/2001", "2018-08-05T25:01:46"],
        ),
    ],
)  # fmt: skip
def test_valid_date_regex(formats, valid: list[str], invalid: list[str]) -> None:
    # The same regex runs in PostgreSQL (ARE); for this subset Python's re agrees with it.
    regex = re.compile(valid_date_regex(formats))
    assert [v for v in valid if not regex.match(v)] == []
    assert [v for v in invalid if regex.match(v)] == []


def test_numbers() -> None:
    rupiah = re.compile(checks.RUPIAH_ID)
    assert all(rupiah.match(v) for v in ("25.000.000", "25.000.000,00", "500000", "5.000"))
    assert not any(rupiah.match(v) for v in ("25,000,000", "25.00.000", "Rp 5.000", "1.5E7"))


def test_idm_score_is_an_index_from_0_to_1() -> None:
    # IDM scores are 0-1 (0.7072 is MAJU); a score on a 0-100 scale would load as a village
    # far above MANDIRI. Found by the bad-input case idm-score-out-of-range.
    check = next(c for c in suite_for("kemendes_idm") if c.name == "skor_idm_valid_number")
    score = re.compile(check.expectation_kwargs["regex"])
    assert all(score.match(v) for v in ("0.7072", "0.4907", "0", "1", "1.0", "0.1"))
    assert not any(score.match(v) for v in ("74.12", "1.6919", "1.2.3", "0,6919", ".7", "-0.5"))


def test_idm_year_is_the_year_the_file_is_named_for() -> None:
    # The IDM staging model keeps the latest year only: a row of 2062 in idm_2026.csv would
    # hide every other village. Found by the bad-input case idm-year-not-the-files.
    idm = SOURCES["kemendes_idm"]
    check = next(c for c in suite_for(idm) if c.reason_code == "wrong_year")
    assert (check.severity, check.columns) == ("warn", ("tahun",))
    assert "kemendes/idm_YYYY.csv" in check.description
    # Before 1 July the latest published index is last year's (and its file is named so).
    for night, year in ((date(2026, 7, 1), "2026"), (date(2026, 6, 30), "2025"),
                        (date(2026, 1, 5), "2025"), (date(2026, 12, 31), "2026")):  # fmt: skip
        assert checks.delivery_year(idm, night) == year
        assert idm.delivery_path(night) == f"kemendes/idm_{year}.csv"
        text = check.where(BatchScope("kemendes_idm", 1, night)).as_string()
        assert text == f'"tahun" IS NOT NULL AND "tahun" <> \'{year}\'', text
    assert checks.delivery_year(SOURCES["bps_penduduk"], date(2026, 1, 1)) == "2026"


def test_suites_import_without_great_expectations() -> None:
    code = (
        "import sys, sinergi.validate.suites, sinergi.validate.run; "
        "assert 'great_expectations' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
