"""The data-quality checks, as data: what each one means, how bad it is, how to find its rows.

A ``Check`` carries two equivalent descriptions of the same rule:

* the Great Expectations expectation that evaluates and reports it (counts, success, Data
  Docs), given as the class name in ``great_expectations.expectations`` plus its arguments;
* for row-level checks, a SQL predicate (``psycopg.sql``) that selects exactly the rows the
  expectation counts as unexpected. GX on SQL only returns a truncated sample of unexpected
  values, so the rows to quarantine are always found in the database with this predicate.

Raw values are text exactly as received, in each ministry's own formats, so predicates never
cast a value before a regular expression has proven that the cast cannot fail: an impossible
date (``2026-02-30``, ``31/02/2026``, ``20260230``) must be *found*, not raise.

Severities:

* ``fail``: the batch cannot be trusted as a whole (schema drift, count mismatch); it stops.
* ``warn``: the offending rows go to ``dq.quarantine`` with the check's ``reason_code``; the
  rest of the batch goes on. A batch-level warn (volume anomaly) quarantines nothing.
* ``flag``: expected data, recorded in the results and Data Docs; the rows stay (a damaged NIK
  is normal input that identity resolution deals with).

Nothing here imports Great Expectations: this module must import instantly (DAG parse time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from psycopg import sql

from sinergi.ingest.schema import LINEAGE_COLUMNS, RAW_SCHEMA, raw_columns
from sinergi.sources.registry import SourceSpec

Severity = Literal["fail", "warn", "flag"]
SEVERITIES: tuple[str, ...] = ("fail", "warn", "flag")

# Runtime inputs a check may need besides the batch itself; run.py supplies them or skips the
# check with a note when they do not exist yet.
REQUIRES_BPS_MASTER = "bps_master"  # a loaded BPS region master (raw.bps_wilayah)
REQUIRES_VOLUME_HISTORY = "volume_history"  # earlier accepted batches of the same source
REQUIRES_CONTROL_ROWS = "control_rows"  # the row count a control file announces (UMKM .ok)
REQUIREMENTS: tuple[str, ...] = (
    REQUIRES_BPS_MASTER,
    REQUIRES_VOLUME_HISTORY,
    REQUIRES_CONTROL_ROWS,
)

# The expectation whose query run.py builds from ``Check.where`` (``{batch}`` is GX's batch).
UNEXPECTED_ROWS = "UnexpectedRowsExpectation"


@dataclass(frozen=True)
class BatchScope:
    """What a row predicate needs to know about the batch it runs on."""

    source: str  # source name: the batch's rows are raw.<source> with _batch_id = batch_id
    batch_id: int
    logical_date: date  # "the future" is after this date, never after now()
    bps_master_batch_id: int | None = None  # the BPS master batch region codes are checked in


Predicate = Callable[[BatchScope], sql.Composable]


@dataclass(frozen=True)
class Check:
    """One rule of a source's suite.

    ``name`` is unique within the suite and stable (it keys ``dq.validation_result`` rows for
    trend reporting). ``columns`` are raw column names the check reads. ``where`` selects the
    offending rows of the batch (row checks only); it must mean exactly what the expectation
    means, which the integration tests verify by comparing counts.
    """

    name: str
    severity: Severity
    reason_code: str
    description: str
    columns: tuple[str, ...]
    expectation: str
    expectation_kwargs: Mapping[str, Any] = field(default_factory=dict)
    where: Predicate | None = None
    requires: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"check {self.name}: severity {self.severity!r} not in {SEVERITIES}")
        if self.requires is not None and self.requires not in REQUIREMENTS:
            raise ValueError(f"check {self.name}: unknown requirement {self.requires!r}")
        if self.expectation == UNEXPECTED_ROWS and self.where is None:
            raise ValueError(f"check {self.name}: {UNEXPECTED_ROWS} needs a `where` predicate")

    @property
    def is_row_check(self) -> bool:
        return self.where is not None


def batch_rows(scope: BatchScope) -> sql.Composable:
    """The batch as a relation: ``raw.<source>`` restricted to its ``_batch_id``."""
    return sql.SQL("(SELECT * FROM {table} WHERE _batch_id = {batch_id})").format(
        table=sql.Identifier(RAW_SCHEMA, scope.source), batch_id=sql.Literal(scope.batch_id)
    )


# --------------------------------------------------------------------------- dates as text
# Regular expressions (PostgreSQL ARE, also valid Python ``re``) that accept only real calendar
# dates between 1900 and 2099: months 01-12, the right number of days per month, 29 February
# only in leap years (1900 is not one, 2000 is). A year outside 1900-2099 is a typing error in
# every date these registries hold. Plain groups, no ``(?:...)``: GX runs SQL through
# SQLAlchemy ``text()``, which would read ``?:0`` as a bind parameter named ``0``.
_YEAR = "(19|20)[0-9]{2}"
_LEAP_YEAR = "(19([02468][48]|[13579][26]|[2468]0)|20([02468][048]|[13579][26]))"
_MONTH_DAYS: tuple[tuple[str, str, str], ...] = (
    (_YEAR, "(0[13578]|1[02])", "(0[1-9]|[12][0-9]|3[01])"),
    (_YEAR, "(0[469]|11)", "(0[1-9]|[12][0-9]|30)"),
    (_YEAR, "02", "(0[1-9]|1[0-9]|2[0-8])"),
    (_LEAP_YEAR, "02", "29"),
)
_TIME = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
_OFFSET = "(Z|[+-]([01][0-9]|2[0-3]):?[0-5][0-9])"


@dataclass(frozen=True)
class DateFormat:
    """How a source writes a date: field order, separator, and what may follow (a time)."""

    label: str  # as the contract writes it, for messages and Data Docs
    order: Literal["ymd", "dmy"]
    separator: str  # "-", "/" or "" (YYYYMMDD)
    suffix: str = ""  # regex for a time of day after the date; "" for a plain date

    def pattern(self) -> str:
        """Unanchored regex of a valid value in this format."""
        layouts = []
        for year, month, day in _MONTH_DAYS:
            parts = (year, month, day) if self.order == "ymd" else (day, month, year)
            layouts.append(self.separator.join(parts))
        return f"({'|'.join(layouts)}){self.suffix}"

    @property
    def date_length(self) -> int:
        return 8 if self.separator == "" else 10

    @property
    def to_date_template(self) -> str:
        fields = ("YYYY", "MM", "DD") if self.order == "ymd" else ("DD", "MM", "YYYY")
        return self.separator.join(fields)


ISO_DATE = DateFormat("YYYY-MM-DD", "ymd", "-")
ISO_DATETIME = DateFormat("YYYY-MM-DDTHH:MM:SS", "ymd", "-", f"T{_TIME}")
ISO_TIMESTAMP_OFFSET = DateFormat(
    "YYYY-MM-DDTHH:MM:SS+07:00", "ymd", "-", f"T{_TIME}(\\.[0-9]+)?{_OFFSET}"
)
DMY_SLASH = DateFormat("DD/MM/YYYY", "dmy", "/")
DMY_SLASH_TIME = DateFormat("DD/MM/YYYY HH:MM:SS", "dmy", "/", f" {_TIME}")
DMY_DASH = DateFormat("DD-MM-YYYY", "dmy", "-")
YMD_COMPACT = DateFormat("YYYYMMDD", "ymd", "")


def valid_date_regex(formats: Sequence[DateFormat]) -> str:
    """Anchored regex matching a value written in any of ``formats`` that is a real date."""
    return f"^({'|'.join(f.pattern() for f in formats)})$"


def date_value(column: str, formats: Sequence[DateFormat]) -> sql.Composable:
    """SQL for the value of ``column`` as a ``date``, NULL when it is not a valid date.

    ``to_date`` raises on an impossible date, so each branch runs only after the format's
    validity regex matched (a CASE evaluates its branches in order; column values are never
    constant-folded by the planner).
    """
    col = sql.Identifier(column)
    branches = [
        sql.SQL("WHEN {col} ~ {regex} THEN to_date(left({col}, {length}), {template})").format(
            col=col,
            regex=sql.Literal(valid_date_regex([f])),
            length=sql.Literal(f.date_length),
            template=sql.Literal(f.to_date_template),
        )
        for f in formats
    ]
    return sql.SQL("(CASE {} END)").format(sql.SQL(" ").join(branches))


# ------------------------------------------------------------------------- check builders
def schema(source: str) -> Check:
    columns = [*raw_columns(source), *LINEAGE_COLUMNS]
    return Check(
        name="columns_as_contracted",
        severity="fail",
        reason_code="schema_drift",
        description=(
            f"raw.{source} has exactly the contract's columns (none missing, renamed or added) "
            "plus the lineage columns"
        ),
        columns=(),
        expectation="ExpectTableColumnsToMatchSet",
        expectation_kwargs={"column_set": columns, "exact_match": True},
    )


def control_count() -> Check:
    return Check(
        name="row_count_matches_control_file",
        severity="fail",
        reason_code="count_mismatch",
        description="the batch holds as many rows as its control file announces",
        columns=(),
        expectation="ExpectTableRowCountToEqual",
        requires=REQUIRES_CONTROL_ROWS,
    )


def volume(load_mode: str) -> Check:
    # A snapshot or reference that shrinks or grows a lot is news (members "leaving" en masse);
    # a delta's volume swings night to night, so for deltas the check only flags.
    severity: Severity = "flag" if load_mode == "delta" else "warn"
    return Check(
        name="row_count_near_recent_nights",
        severity=severity,
        reason_code="volume_anomaly",
        description="the row count is within the usual range of the last accepted batches",
        columns=(),
        expectation="ExpectTableRowCountToBeBetween",
        requires=REQUIRES_VOLUME_HISTORY,
    )


def _present(column: str, severity: str, reason_code: str, description: str) -> Check:
    """A not-null check: the GX expectation and the SQL that finds the same rows."""
    return Check(
        name=f"{column}_present",
        severity=severity,
        reason_code=reason_code,
        description=description,
        columns=(column,),
        expectation="ExpectColumnValuesToNotBeNull",
        expectation_kwargs={"column": column},
        where=lambda scope: sql.SQL("{} IS NULL").format(sql.Identifier(column)),
    )


def id_present(column: str) -> Check:
    return _present(column, "warn", "missing_id", f"every row has its {column}")


def id_unique(columns: tuple[str, ...]) -> Check:
    """Ids unique within the batch. Every row of a duplicated id is quarantined: nothing says
    which one is right, and a delivery is supposed to carry each record once."""
    ids = [sql.Identifier(c) for c in columns]
    dup_ids = [sql.Identifier("d", c) for c in columns]

    def where(scope: BatchScope) -> sql.Composable:
        return sql.SQL(
            "{not_null} AND ({ids}) IN (SELECT {dup_ids} FROM {table} AS d "
            "WHERE d._batch_id = {batch_id} GROUP BY {dup_ids} HAVING count(*) > 1)"
        ).format(
            not_null=sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(i) for i in ids),
            ids=sql.SQL(", ").join(ids),
            dup_ids=sql.SQL(", ").join(dup_ids),
            table=sql.Identifier(RAW_SCHEMA, scope.source),
            batch_id=sql.Literal(scope.batch_id),
        )

    if len(columns) == 1:
        expectation, kwargs = "ExpectColumnValuesToBeUnique", {"column": columns[0]}
    else:
        expectation, kwargs = "ExpectCompoundColumnsToBeUnique", {"column_list": list(columns)}
    return Check(
        name=f"{'_'.join(columns)}_unique",
        severity="warn",
        reason_code="duplicate_id",
        description=f"{' + '.join(columns)} identifies one row in the batch",
        columns=columns,
        expectation=expectation,
        expectation_kwargs=kwargs,
        where=where,
    )


def in_set(column: str, values: Sequence[str]) -> Check:
    """A coded field holds one of the contract's codes (exactly as written there)."""
    value_list = sql.SQL(", ").join(sql.Literal(v) for v in values)
    return Check(
        name=f"{column}_known_code",
        severity="warn",
        reason_code="unknown_code",
        description=f"{column} is one of {', '.join(values)}",
        columns=(column,),
        expectation="ExpectColumnValuesToBeInSet",
        expectation_kwargs={"column": column, "value_set": list(values)},
        where=lambda scope: sql.SQL("{col} IS NOT NULL AND {col} NOT IN ({values})").format(
            col=sql.Identifier(column), values=value_list
        ),
    )


def _matches(
    column: str, regex: str, *, name: str, severity: Severity, reason: str, description: str
) -> Check:
    return Check(
        name=name,
        severity=severity,
        reason_code=reason,
        description=description,
        columns=(column,),
        expectation="ExpectColumnValuesToMatchRegex",
        expectation_kwargs={"column": column, "regex": regex},
        where=lambda scope: sql.SQL("{col} IS NOT NULL AND {col} !~ {regex}").format(
            col=sql.Identifier(column), regex=sql.Literal(regex)
        ),
    )


def valid_date(column: str, formats: Sequence[DateFormat]) -> Check:
    labels = " or ".join(f.label for f in formats)
    return _matches(
        column,
        valid_date_regex(formats),
        name=f"{column}_valid_date",
        severity="warn",
        reason="invalid_date",
        description=f"{column} is a real calendar date (1900-2099) written {labels}",
    )


def valid_number(column: str, regex: str, written: str) -> Check:
    return _matches(
        column,
        regex,
        name=f"{column}_valid_number",
        severity="warn",
        reason="invalid_number",
        description=f"{column} is a number written {written}",
    )


def nik_shape(column: str) -> Check:
    """Flag, never quarantine: damaged NIKs are expected input (SOURCES.md, common rules)."""
    return _matches(
        column,
        "^[0-9]{16}$",
        name=f"{column}_16_digits",
        severity="flag",
        reason="nik_damaged",
        description=f"{column} is exactly 16 digits (damaged NIKs are flagged, not rejected)",
    )


def nik_present(column: str) -> Check:
    description = f"{column} is present (a missing NIK is flagged, not rejected)"
    return _present(column, "flag", "nik_missing", description)


def birth_not_in_future(column: str, formats: Sequence[DateFormat]) -> Check:
    def where(scope: BatchScope) -> sql.Composable:
        return sql.SQL("{value} > {logical_date}").format(
            value=date_value(column, formats), logical_date=sql.Literal(scope.logical_date)
        )

    return Check(
        name=f"{column}_not_after_logical_date",
        severity="warn",
        reason_code="birth_date_in_future",
        description=f"{column} is not after the batch's logical date",
        columns=(column,),
        expectation=UNEXPECTED_ROWS,
        where=where,
    )


def end_not_before_start(
    start: str, end: str, start_formats: Sequence[DateFormat], end_formats: Sequence[DateFormat]
) -> Check:
    def where(scope: BatchScope) -> sql.Composable:
        return sql.SQL("{end} < {start}").format(
            end=date_value(end, end_formats), start=date_value(start, start_formats)
        )

    return Check(
        name=f"{end}_not_before_{start}",
        severity="warn",
        reason_code="end_before_start",
        description=f"{end} is not before {start} (when both are valid dates)",
        columns=(start, end),
        expectation=UNEXPECTED_ROWS,
        where=where,
    )


def region_known(column: str, master_column: str, *, undotted: bool = False) -> Check:
    """The code exists in the BPS master (any version of a region: a code of a region that was
    split later is still a known code). ``master_column`` is ``kode_bps`` or
    ``kode_kemendagri``; ``undotted``: the source writes Kemendagri codes without dots."""
    master_value = sql.SQL("m.{}").format(sql.Identifier(master_column))
    if undotted:
        master_value = sql.SQL("replace({}, '.', '')").format(master_value)

    def where(scope: BatchScope) -> sql.Composable:
        if scope.bps_master_batch_id is None:
            raise ValueError(f"check of {column}: no BPS master batch to compare with")
        return sql.SQL(
            "{col} IS NOT NULL AND {col} NOT IN (SELECT {master_value} FROM {master} AS m "
            "WHERE m._batch_id = {master_batch} AND m.{master_col} IS NOT NULL)"
        ).format(
            col=sql.Identifier(column),
            master_value=master_value,
            master=sql.Identifier(RAW_SCHEMA, "bps_wilayah"),
            master_batch=sql.Literal(scope.bps_master_batch_id),
            master_col=sql.Identifier(master_column),
        )

    return Check(
        name=f"{column}_known_region",
        severity="flag",
        reason_code="unknown_region",
        description=f"{column} is a region code of the BPS master ({master_column})",
        columns=(column,),
        expectation=UNEXPECTED_ROWS,
        where=where,
        requires=REQUIRES_BPS_MASTER,
    )


# Number shapes as the contracts write them.
DIGITS = "^[0-9]+$"
YEAR_DIGITS = "^[0-9]{4}$"
DECIMAL_POINT = "^[0-9]+(\\.[0-9]+)?$"
# An index from 0 to 1 with a decimal point (IDM 0.7072): a score on another scale (74.12)
# would otherwise load as a village far above MANDIRI.
UNIT_DECIMAL_POINT = "^(0(\\.[0-9]+)?|1(\\.0+)?)$"
# Indonesian format: dots between thousands, a decimal comma (25.000.000 or 25.000.000,00);
# plain digits are accepted too.
RUPIAH_ID = "^([0-9]+|[0-9]{1,3}(\\.[0-9]{3})+)(,[0-9]{1,2})?$"


# Digits of a BPS code at each level of the master (SOURCES.md, BPS region master).
BPS_CODE_LENGTH = {
    "PROVINSI": 2, "KABUPATEN": 4, "KOTA": 4, "KECAMATAN": 7, "DESA": 10, "KELURAHAN": 10,
}  # fmt: skip


def region_code_fits_level(code_column: str, level_column: str) -> Check:
    """A region's code is all digits, as many as its level has (a village's 10, a regency's
    4): a code cut or padded in an export would otherwise become a region of its own."""
    lengths = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(sql.Literal(level), sql.Literal(length))
        for level, length in BPS_CODE_LENGTH.items()
    )

    def where(scope: BatchScope) -> sql.Composable:
        return sql.SQL(
            "{code} IS NOT NULL AND {level} IN ({levels}) AND NOT ({code} ~ '^[0-9]+$' "
            "AND length({code}) = CASE {level} {lengths} END)"
        ).format(
            code=sql.Identifier(code_column),
            level=sql.Identifier(level_column),
            levels=sql.SQL(", ").join(sql.Literal(level) for level in BPS_CODE_LENGTH),
            lengths=lengths,
        )

    return Check(
        name=f"{code_column}_fits_{level_column}",
        severity="warn",
        reason_code="invalid_region_code",
        description=f"{code_column} has the digits of its {level_column} "
        "(province 2, regency or city 4, district 7, village 10)",
        columns=(code_column, level_column),
        expectation=UNEXPECTED_ROWS,
        where=where,
    )


def parent_region_in_batch(parent_column: str, code_column: str) -> Check:
    """Every parent code is a region of the same delivery. Flagged, not quarantined: the child
    row itself is sound, and holding back a regency because its province row is missing would
    break every record in it; the flag names a master that is incomplete."""

    def where(scope: BatchScope) -> sql.Composable:
        return sql.SQL(
            "nullif(trim({parent}), '') IS NOT NULL AND {parent} NOT IN (SELECT p.{code} "
            "FROM {table} AS p WHERE p._batch_id = {batch_id} AND p.{code} IS NOT NULL)"
        ).format(
            parent=sql.Identifier(parent_column),
            code=sql.Identifier(code_column),
            table=sql.Identifier(RAW_SCHEMA, scope.source),
            batch_id=sql.Literal(scope.batch_id),
        )

    return Check(
        name=f"{parent_column}_in_delivery",
        severity="flag",
        reason_code="unknown_parent_region",
        description=f"{parent_column} is a {code_column} of the same delivery",
        columns=(parent_column, code_column),
        expectation=UNEXPECTED_ROWS,
        where=where,
    )


def delivery_year(source: SourceSpec, logical_date: date) -> str:
    """The year in the name of the yearly file delivered for ``logical_date``, as the registry
    names it (``kemendes/idm_2025.csv`` on a night before 1 July 2026, ``idm_2026.csv`` from
    then on): ``delivery_path`` with the year as the whole path."""
    return replace(source, path_template="{year}").delivery_path(logical_date)


def year_of_delivery(column: str, source: SourceSpec) -> Check:
    """A yearly file's rows are of the year the file is named for. A row of another year would
    be taken for that year's: the IDM staging model keeps the latest year only, so one typo
    (2062) would hide every other village, and a row of an earlier year would be dropped."""
    example = source.path_template.replace("{year}", "YYYY") if source.path_template else ""

    def where(scope: BatchScope) -> sql.Composable:
        return sql.SQL("{col} IS NOT NULL AND {col} <> {year}").format(
            col=sql.Identifier(column),
            year=sql.Literal(delivery_year(source, scope.logical_date)),
        )

    return Check(
        name=f"{column}_of_delivery",
        severity="warn",
        reason_code="wrong_year",
        description=f"{column} is the year the file is named for ({example})",
        columns=(column,),
        expectation=UNEXPECTED_ROWS,
        where=where,
    )
