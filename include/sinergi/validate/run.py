"""Validate one loaded batch: run its Great Expectations suite in Postgres, quarantine, report.

The flow of ``validate_batch`` (the loader has committed the batch's raw rows before: GX reads
through its own SQLAlchemy connection and would not see uncommitted rows):

1. read what the suite needs from the warehouse: the raw table's columns, the BPS master batch
   in force, the row counts of recent accepted batches of the source;
2. run the suite with GX on the batch (a query asset ``raw.<source> WHERE _batch_id = N``),
   store GX's result in its validation store and build the Data Docs page of the validation;
3. in one transaction: move the offending rows of failed ``warn`` checks to ``dq.quarantine``
   (found by each check's SQL predicate, because GX on SQL only returns a truncated sample of
   unexpected values), and replace the batch's rows in ``dq.validation_result`` (one per
   expectation, GX's JSON result included);
4. return the outcome. The caller gives the batch its verdict with
   ``sinergi.ingest.batches.finish_batch`` (a failed batch's rows are then cleared there, so
   a failed batch quarantines nothing here).

Calling it again for the same batch is safe: results are replaced, and rows already moved are
no longer in raw. The verdict stays ``warned`` when the batch has quarantined rows.

Great Expectations is imported inside ``_run_gx`` only: importing it costs about 5 s.
"""

from __future__ import annotations

import json
import logging
import math
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from sinergi.ingest.load import batch_row_counts, quarantine_rows
from sinergi.ingest.schema import LINEAGE_COLUMNS, RAW_SCHEMA
from sinergi.parse import EXPECTED_COLUMNS_BY_SOURCE
from sinergi.settings import sinergi_home
from sinergi.sources.registry import SourceSpec, raw_column_name
from sinergi.validate.checks import (
    REQUIRES_BPS_MASTER,
    REQUIRES_CONTROL_ROWS,
    REQUIRES_VOLUME_HISTORY,
    UNEXPECTED_ROWS,
    BatchScope,
    Check,
)
from sinergi.validate.suites import suite_for

logger = logging.getLogger(__name__)

Verdict = Literal["passed", "warned", "failed"]

# Volume anomaly: compared with the median row count of the last accepted batches.
VOLUME_HISTORY_BATCHES = 7
VOLUME_MIN_HISTORY = 3  # fewer earlier batches: no baseline yet, the check is skipped
SNAPSHOT_LOW, SNAPSHOT_HIGH = 0.5, 2.0  # snapshots and references: half to double is normal
# Deltas swing night to night and may be empty: only a surge (a resent backlog) is noted.
DELTA_HIGH, DELTA_FLOOR = 10.0, 100

DATA_DOCS_SITE = "sinergi"
DATA_DOCS_DIRNAME = "data_docs"
GX_DATASOURCE = "warehouse"
# GX's own files (its validation result store, which the Data Docs index lists) live in this
# directory next to docs_dir, created when the first validation runs.
GX_PROJECT_DIRNAME = "great_expectations"

# SQLAlchemy's own pattern for a bind parameter in text() (sqlalchemy.sql.elements.TextClause).
_SQLALCHEMY_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?![:\w])")

_GX_SEVERITY = {"fail": "critical", "warn": "warning", "flag": "info"}


def default_docs_dir() -> Path:
    """Where Data Docs go by default: ``$SINERGI_HOME/data_docs`` (read when called)."""
    return sinergi_home() / DATA_DOCS_DIRNAME


class ValidationError(RuntimeError):
    """The batch could not be validated at all (not: the data is bad). Says what to fix."""


@dataclass(frozen=True)
class CheckResult:
    """One evaluated check: GX's verdict and counts, and how many rows it quarantined."""

    check: str
    severity: str
    reason_code: str
    columns: tuple[str, ...]
    success: bool
    unexpected_count: int | None  # rows (or values) GX counted as unexpected; None: table check
    observed_value: Any  # GX's observed value for table checks (row count, columns)
    rows_quarantined: int
    error: str | None  # GX could not evaluate the expectation
    result: dict[str, Any] = field(repr=False, default_factory=dict)  # GX's JSON result


@dataclass(frozen=True)
class ValidationOutcome:
    """What ``validate_batch`` found; what ``finish_batch`` records in ``dq.batch``.

    ``rows_loaded`` and ``rows_quarantined`` are the batch's rows in raw and in quarantine after
    validation (the loader's unreadable rows included), so ``rows_received`` is their sum.
    ``expectations_failed`` counts every unsuccessful expectation, flags included (as GX
    reports it); the verdict is what says whether that matters.
    """

    source: str
    batch_id: int
    logical_date: date
    verdict: Verdict
    reason: str | None
    expectations_evaluated: int
    expectations_failed: int
    rows_loaded: int
    rows_quarantined: int
    rows_quarantined_by_validation: int
    report_path: Path | None
    results: tuple[CheckResult, ...]
    notes: tuple[str, ...]

    @property
    def rows_received(self) -> int:
        return self.rows_loaded + self.rows_quarantined

    def result(self, check: str) -> CheckResult:
        for result in self.results:
            if result.check == check:
                return result
        raise KeyError(f"check {check!r} was not evaluated for {self.source}")


@dataclass(frozen=True)
class _BatchContext:
    """What the warehouse says about the batch before GX runs."""

    table_columns: tuple[str, ...] | None  # None: raw.<source> does not exist
    raw_rows: int
    quarantined_rows: int
    bps_master_batch_id: int | None
    volume_history: tuple[int, ...]


def validate_batch(
    conn_url: str,
    source: SourceSpec,
    batch_id: int,
    logical_date: date,
    location: str,
    docs_dir: Path,
    *,
    control_rows: int | None = None,
) -> ValidationOutcome:
    """Validate batch ``batch_id`` of ``source`` (its raw rows committed) and quarantine.

    ``location`` is the delivery's file path or API window (for messages). ``docs_dir`` is the
    Data Docs site (e.g. ``$SINERGI_HOME/data_docs``); GX keeps its own files in
    ``docs_dir.parent / "great_expectations"``. ``control_rows``: the data rows the delivery's
    control file announces (UMKM ``.ok``), checked when given.
    """
    docs_dir = Path(docs_dir)
    suite = suite_for(source)
    notes: list[str] = []
    with psycopg.connect(conn_url, autocommit=True) as conn:
        context = _read_batch_context(conn, source, batch_id, logical_date)
        if context.table_columns is None:
            return _failed_without_gx(
                source,
                batch_id,
                logical_date,
                f"{source.name}: {location}: table {RAW_SCHEMA}.{source.name} does not exist "
                "(the load step creates it; run sinergi.ingest.ensure_schema)",
                context,
            )
        scope = BatchScope(source.name, batch_id, logical_date, context.bps_master_batch_id)
        runtime_kwargs: dict[str, dict[str, Any]] = {}
        selected: list[Check] = []
        missing_columns = set(_missing_columns(source, context.table_columns))
        for check in suite:
            skipped = _skip_reason(check, missing_columns, context, control_rows, source)
            if skipped:
                notes.append(f"{check.name} not evaluated: {skipped}")
                continue
            kwargs = _runtime_kwargs(check, source, scope, context, control_rows)
            if kwargs:
                runtime_kwargs[check.name] = kwargs
            selected.append(check)

        # Fresh statistics before GX plans its queries: right after the COPY the planner still
        # believes the batch has no rows, and GX's self-joins (compound-key uniqueness) then run
        # as nested loops. Seen at 1M persons: Kemenkop's third 157k-row snapshot took 339 s to
        # validate, planned before autovacuum had analysed the table (100k: under 1 s).
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(RAW_SCHEMA, source.name)))
        evaluation = _run_gx(
            conn_url, source, batch_id, logical_date, selected, runtime_kwargs, docs_dir
        )
        results = evaluation.results
        failed_checks = _failed_fail_checks(selected, results)
        moved: dict[str, int] = {}
        with conn.transaction():
            if not failed_checks:
                moved = _quarantine(conn, source, scope, selected, results)
            _store_results(
                conn, source, batch_id, logical_date, selected, results, moved, evaluation
            )
        raw_rows, quarantined = batch_row_counts(conn, source, batch_id)

    final = tuple(
        _check_result(check, results[check.name], moved.get(check.name, 0)) for check in selected
    )
    verdict, reason = _verdict(source, location, final, failed_checks, quarantined)
    outcome = ValidationOutcome(
        source=source.name,
        batch_id=batch_id,
        logical_date=logical_date,
        verdict=verdict,
        reason=reason,
        expectations_evaluated=len(final),
        expectations_failed=sum(1 for r in final if not r.success),
        rows_loaded=raw_rows,
        rows_quarantined=quarantined,
        rows_quarantined_by_validation=sum(moved.values()),
        report_path=evaluation.report_path,
        results=final,
        notes=tuple(notes),
    )
    logger.info(
        "%s batch %s (%s): %s; %d expectations, %d unsuccessful; %d rows quarantined; "
        "GX %.1f s; report %s",
        source.name,
        batch_id,
        logical_date.isoformat(),
        verdict,
        outcome.expectations_evaluated,
        outcome.expectations_failed,
        outcome.rows_quarantined_by_validation,
        evaluation.seconds,
        outcome.report_path,
    )
    for note in notes:
        logger.info("%s batch %s: %s", source.name, batch_id, note)
    return outcome


# --------------------------------------------------------------------- before GX runs
def _read_batch_context(
    conn: psycopg.Connection, source: SourceSpec, batch_id: int, logical_date: date
) -> _BatchContext:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (RAW_SCHEMA, source.name),
    ).fetchall()
    columns = tuple(r[0] for r in rows) or None
    raw_rows = 0
    if columns is not None and "_batch_id" in columns:
        raw_rows = _count(
            conn,
            sql.SQL("SELECT count(*) FROM {} WHERE _batch_id = %s").format(
                sql.Identifier(RAW_SCHEMA, source.name)
            ),
            (batch_id,),
        )
    quarantined = _count(
        conn, sql.SQL("SELECT count(*) FROM dq.quarantine WHERE batch_id = %s"), (batch_id,)
    )
    # The BPS master in force on the batch's night (never a later one: re-running an old
    # night must give the same answer).
    master = conn.execute(
        "SELECT batch_id FROM dq.batch WHERE source_system = 'bps_wilayah' AND is_current "
        "AND logical_date <= %s ORDER BY logical_date DESC, batch_id DESC LIMIT 1",
        (logical_date,),
    ).fetchone()
    history = conn.execute(
        "SELECT rows_received FROM dq.batch WHERE source_system = %s AND is_current "
        "AND verdict IN ('passed', 'warned') AND rows_received IS NOT NULL "
        "AND logical_date < %s ORDER BY logical_date DESC LIMIT %s",
        (source.name, logical_date, VOLUME_HISTORY_BATCHES),
    ).fetchall()
    return _BatchContext(
        table_columns=columns,
        raw_rows=raw_rows,
        quarantined_rows=quarantined,
        bps_master_batch_id=master[0] if master else None,
        volume_history=tuple(int(r[0]) for r in history),
    )


def _count(conn: psycopg.Connection, query: sql.Composable, params: tuple) -> int:
    row = conn.execute(query, params).fetchone()
    return int(row[0]) if row else 0


def _missing_columns(source: SourceSpec, table_columns: Sequence[str]) -> list[str]:
    expected = [raw_column_name(c) for c in EXPECTED_COLUMNS_BY_SOURCE[source.name]]
    return [c for c in expected if c not in table_columns]


def _skip_reason(
    check: Check,
    missing_columns: set[str],
    context: _BatchContext,
    control_rows: int | None,
    source: SourceSpec,
) -> str | None:
    """Why ``check`` cannot run on this batch, or None."""
    absent = [c for c in check.columns if c in missing_columns]
    if absent:
        return f"column(s) {', '.join(absent)} missing from {RAW_SCHEMA}.{source.name}"
    if check.requires == REQUIRES_BPS_MASTER and context.bps_master_batch_id is None:
        return "no BPS region master (bps_wilayah) loaded for this night yet"
    if check.requires == REQUIRES_CONTROL_ROWS and control_rows is None:
        return "no control file row count given"
    if check.requires == REQUIRES_VOLUME_HISTORY and _volume_bounds(source, context) is None:
        return (
            f"only {len(context.volume_history)} earlier accepted batch(es); the volume "
            f"baseline needs {VOLUME_MIN_HISTORY}"
        )
    return None


def _volume_bounds(source: SourceSpec, context: _BatchContext) -> tuple[int, int] | None:
    history = context.volume_history
    if len(history) < VOLUME_MIN_HISTORY:
        return None
    median = statistics.median(history)
    if source.load_mode == "delta":
        return 0, max(math.ceil(median * DELTA_HIGH), DELTA_FLOOR)
    return math.floor(median * SNAPSHOT_LOW), math.ceil(median * SNAPSHOT_HIGH)


def _runtime_kwargs(
    check: Check,
    source: SourceSpec,
    scope: BatchScope,
    context: _BatchContext,
    control_rows: int | None,
) -> dict[str, Any]:
    """Expectation arguments only known for this batch."""
    if check.expectation == UNEXPECTED_ROWS:
        assert check.where is not None
        return {"unexpected_rows_query": unexpected_rows_query(check, scope)}
    if check.requires == REQUIRES_VOLUME_HISTORY:
        bounds = _volume_bounds(source, context)
        assert bounds is not None
        return {"min_value": bounds[0], "max_value": bounds[1]}
    if check.requires == REQUIRES_CONTROL_ROWS:
        assert control_rows is not None
        # Rows the loader could not read are in quarantine, not in raw: they were received.
        return {"value": control_rows - context.quarantined_rows}
    return {}


def unexpected_rows_query(check: Check, scope: BatchScope) -> str:
    """The ``UnexpectedRowsExpectation`` query: the batch's rows matching ``check.where``.

    GX fills ``{batch}`` with ``str.format``, so literal braces of the predicate (regular
    expression quantifiers such as ``{4}``) are doubled.
    """
    assert check.where is not None
    predicate = check.where(scope).as_string()
    # GX runs the query through SQLAlchemy ``text()``, where ``:name`` is a bind parameter;
    # escape any such colon (``::date`` casts are not affected).
    predicate = _SQLALCHEMY_BIND.sub(r"\\:\1", predicate)
    return "SELECT * FROM {batch} WHERE " + predicate.replace("{", "{{").replace("}", "}}")


# ----------------------------------------------------------------------------- GX
@dataclass(frozen=True)
class _GxEvaluation:
    results: dict[str, dict[str, Any]]  # check name -> GX's JSON result of its expectation
    report_path: Path | None
    evaluated_at: datetime
    seconds: float


def _import_gx() -> Any:
    """Import Great Expectations (about 5 s, once per process) with its loggers quieted.

    GX logs hundreds of INFO/DEBUG lines while importing ("Skipping registering function...");
    its loggers are set to WARNING before the import so that only problems show.
    """
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    return gx


def _sqlalchemy_url(conn_url: str) -> str:
    """libpq ``postgresql://`` URL -> SQLAlchemy URL with the psycopg 3 driver."""
    parts = urlsplit(conn_url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValidationError(
            "validate_batch needs the warehouse as a postgresql:// URL (GX connects through "
            f"SQLAlchemy); got a connection string with scheme {parts.scheme or 'none'!r}"
        )
    return urlunsplit(parts._replace(scheme="postgresql+psycopg"))


def _run_gx(
    conn_url: str,
    source: SourceSpec,
    batch_id: int,
    logical_date: date,
    checks: Sequence[Check],
    runtime_kwargs: dict[str, dict[str, Any]],
    docs_dir: Path,
) -> _GxEvaluation:
    started = time.monotonic()
    gx = _import_gx()
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.core.run_identifier import RunIdentifier

    context = gx.get_context(mode="ephemeral", project_config=_project_config(docs_dir))
    # A fresh in-memory context per call: nothing accumulates across calls in one process, and
    # the datasource (with the password in its URL) is never written to disk.
    datasource = context.data_sources.add_postgres(
        name=GX_DATASOURCE, connection_string=_sqlalchemy_url(conn_url)
    )
    try:
        asset = datasource.add_query_asset(
            name=f"{source.name}_batch_{batch_id}",
            query=sql.SQL("SELECT * FROM {} WHERE _batch_id = {}")
            .format(sql.Identifier(RAW_SCHEMA, source.name), sql.Literal(batch_id))
            .as_string(),
        )
        batch_definition = asset.add_batch_definition_whole_table("batch")
        expectations = [
            _expectation(gx, check, runtime_kwargs.get(check.name, {})) for check in checks
        ]
        suite = context.suites.add(gx.ExpectationSuite(name=source.name, expectations=expectations))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(
                name=f"{source.name}_batch_{batch_id}", data=batch_definition, suite=suite
            )
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{source.name}_batch_{batch_id}",
                validation_definitions=[definition],
                actions=[UpdateDataDocsAction(name="data_docs", site_names=[DATA_DOCS_SITE])],
                # No unexpected values in results or Data Docs: they are PII (NIKs, names);
                # the rows themselves are in dq.quarantine, behind its access rules.
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": 0},
            )
        )
        evaluated_at = datetime.now(UTC)  # metadata: when the validation ran
        run_id = RunIdentifier(
            run_name=f"{source.name}_{logical_date.isoformat()}_batch_{batch_id}",
            run_time=evaluated_at,
        )
        checkpoint_result = checkpoint.run(run_id=run_id)
    finally:
        datasource.get_engine().dispose()  # close GX's pooled connections now

    (identifier, suite_result), *_ = checkpoint_result.run_results.items()
    results: dict[str, dict[str, Any]] = {}
    for expectation_result in suite_result.results:
        check_name = expectation_result.expectation_config.meta["check"]
        results[check_name] = expectation_result.to_json_dict()
    urls = context.get_docs_sites_urls(resource_identifier=identifier, site_name=DATA_DOCS_SITE)
    report_path = _file_url_to_path(urls[0]["site_url"]) if urls else None
    return _GxEvaluation(results, report_path, evaluated_at, time.monotonic() - started)


def _project_config(docs_dir: Path) -> Any:
    """In-memory GX stores, except validation results (files, so the Data Docs index lists
    every validation ever run, not only this process's) and the Data Docs site in docs_dir."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    gx_dir = docs_dir.parent / GX_PROJECT_DIRNAME
    defaults = InMemoryStoreBackendDefaults()
    stores = dict(defaults.stores)
    stores[defaults.validation_results_store_name] = {
        "class_name": "ValidationResultsStore",
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(gx_dir / "validations"),
        },
    }
    return DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        analytics_enabled=False,  # no usage statistics sent from a government platform
        progress_bars=ProgressBarsConfig(globally=False),  # no tqdm bars in task logs
        data_docs_sites={
            DATA_DOCS_SITE: {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )


def _expectation(gx: Any, check: Check, runtime: dict[str, Any]) -> Any:
    try:
        expectation_class = getattr(gx.expectations, check.expectation)
    except AttributeError:
        raise ValidationError(
            f"check {check.name}: great_expectations.expectations has no {check.expectation}"
        ) from None
    return expectation_class(
        **check.expectation_kwargs,
        **runtime,
        description=f"[{check.severity}: {check.reason_code}] {check.description}",
        severity=_GX_SEVERITY[check.severity],
        meta={"check": check.name, "severity": check.severity, "reason_code": check.reason_code},
    )


def _file_url_to_path(url: str | None) -> Path | None:
    if not url:
        return None
    parts = urlsplit(url)
    return Path(parts.path) if parts.scheme == "file" else Path(url)


# ---------------------------------------------------------------- after GX has run
def _success(result: dict[str, Any]) -> bool:
    return bool(result.get("success")) and _error(result) is None


def _error(result: dict[str, Any]) -> str | None:
    """GX's message when it could not evaluate the expectation (e.g. a missing column)."""
    info = result.get("exception_info") or {}
    candidates = [info] if "raised_exception" in info else list(info.values())
    for candidate in candidates:
        if isinstance(candidate, dict) and candidate.get("raised_exception"):
            return str(candidate.get("exception_message") or "unknown error")
    return None


def _unexpected_count(check: Check, result: dict[str, Any]) -> int | None:
    body = result.get("result") or {}
    if "unexpected_count" in body:
        # None on an empty batch (no values to count): nothing unexpected.
        return int(body["unexpected_count"] or 0)
    if check.expectation == UNEXPECTED_ROWS and body.get("observed_value") is not None:
        return int(body["observed_value"])
    return None


def _failed_fail_checks(checks: Sequence[Check], results: dict[str, dict[str, Any]]) -> list[Check]:
    """``fail`` checks that did not pass, and any check GX could not evaluate at all (its rows
    cannot be trusted to be quarantined correctly)."""
    return [
        check
        for check in checks
        if (check.severity == "fail" and not _success(results[check.name]))
        or _error(results[check.name]) is not None
    ]


def _quarantine(
    conn: psycopg.Connection,
    source: SourceSpec,
    scope: BatchScope,
    checks: Sequence[Check],
    results: dict[str, dict[str, Any]],
) -> dict[str, int]:
    """Move the rows of every failed ``warn`` row check, in suite order; rows per check."""
    moved: dict[str, int] = {}
    for check in checks:
        if check.severity != "warn" or check.where is None:
            continue
        unexpected = _unexpected_count(check, results[check.name]) or 0
        if unexpected == 0:
            continue  # the predicate means what the expectation means: nothing to move
        count = quarantine_rows(
            conn,
            source,
            scope.batch_id,
            check.where(scope),
            check.reason_code,
            f"{check.description} (check {check.name})",
        )
        if count > unexpected:
            # Earlier checks may have taken some of these rows, never add any: a predicate
            # broader than its expectation is a bug in checks.py.
            logger.warning(
                "%s batch %s: check %s moved %d rows but GX counted %d unexpected",
                source.name,
                scope.batch_id,
                check.name,
                count,
                unexpected,
            )
        moved[check.name] = count
    return moved


def _store_results(
    conn: psycopg.Connection,
    source: SourceSpec,
    batch_id: int,
    logical_date: date,
    checks: Sequence[Check],
    results: dict[str, dict[str, Any]],
    moved: dict[str, int],
    evaluation: _GxEvaluation,
) -> None:
    """Replace the batch's ``dq.validation_result`` rows: one per expectation, keyed by the
    check's name, GX's JSON result plus our severity, reason and quarantine count."""
    conn.execute("DELETE FROM dq.validation_result WHERE batch_id = %s", (batch_id,))
    rows = []
    for check in checks:
        result = dict(results[check.name])
        result["sinergi"] = {
            "check": check.name,
            "severity": check.severity,
            "reason_code": check.reason_code,
            "description": check.description,
            "rows_quarantined": moved.get(check.name, 0),
            "report": str(evaluation.report_path) if evaluation.report_path else None,
        }
        rows.append(
            (
                batch_id,
                source.name,
                logical_date,
                check.name,
                ",".join(check.columns) or None,
                check.severity,
                _success(results[check.name]),
                _unexpected_count(check, results[check.name]),
                json.dumps(result, default=str),
                evaluation.evaluated_at,
            )
        )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO dq.validation_result (batch_id, source_system, logical_date, "
            "expectation, column_name, severity, success, unexpected_count, result, "
            "evaluated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


def _check_result(check: Check, result: dict[str, Any], moved: int) -> CheckResult:
    body = result.get("result") or {}
    return CheckResult(
        check=check.name,
        severity=check.severity,
        reason_code=check.reason_code,
        columns=check.columns,
        success=_success(result),
        unexpected_count=_unexpected_count(check, result),
        observed_value=body.get("observed_value"),
        rows_quarantined=moved,
        error=_error(result),
        result=result,
    )


def _verdict(
    source: SourceSpec,
    location: str,
    results: Sequence[CheckResult],
    failed_checks: Sequence[Check],
    quarantined: int,
) -> tuple[Verdict, str | None]:
    """The batch verdict and the sentence an engineer or steward reads in ``dq.batch``."""
    by_name = {r.check: r for r in results}
    if failed_checks:
        problems = [_fail_message(source, check, by_name[check.name]) for check in failed_checks]
        return "failed", f"{source.name}: {location}: {'; '.join(problems)}"

    parts: list[str] = []
    moved = [r for r in results if r.rows_quarantined]
    if moved:
        detail = ", ".join(f"{r.reason_code} {r.rows_quarantined}" for r in moved)
        parts.append(f"{sum(r.rows_quarantined for r in moved)} row(s) quarantined ({detail})")
    earlier = quarantined - sum(r.rows_quarantined for r in moved)
    if earlier > 0:
        parts.append(f"{earlier} row(s) quarantined at load (unreadable)")
    batch_warnings = [
        r for r in results if r.severity == "warn" and not r.success and r.unexpected_count is None
    ]
    for r in batch_warnings:
        parts.append(f"{r.reason_code}: {r.check} (observed {r.observed_value})")
    flags = [r for r in results if r.severity == "flag" and not r.success]
    if flags:
        flagged = [
            f"{r.reason_code} {r.unexpected_count} ({r.check})"
            if r.unexpected_count is not None
            else f"{r.reason_code} ({r.check}, observed {r.observed_value})"
            for r in flags
        ]
        parts.append("flagged: " + ", ".join(flagged))
    warned = (
        quarantined > 0
        or bool(batch_warnings)
        or any(r.severity == "warn" and not r.success for r in results)
    )
    return ("warned" if warned else "passed"), ("; ".join(parts) or None)


def _fail_message(source: SourceSpec, check: Check, result: CheckResult) -> str:
    if result.error is not None:
        return f"check {check.name} could not be evaluated: {result.error}"
    if check.reason_code == "schema_drift":
        return _schema_message(source, result.observed_value)
    if check.reason_code == "count_mismatch":
        expected = (result.result.get("expectation_config") or {}).get("kwargs", {}).get("value")
        return (
            f"the control file announces {expected} readable row(s) but the batch has "
            f"{result.observed_value}"
        )
    return f"{check.description}: not met (observed {result.observed_value})"


def _schema_message(source: SourceSpec, observed: Any) -> str:
    """``column TGL_MULAI missing; unexpected column tgl_mulai_baru``, in the contract's
    spelling for missing columns (what the ministry's file calls them)."""
    actual = set(observed or [])
    by_raw = {raw_column_name(c): c for c in EXPECTED_COLUMNS_BY_SOURCE[source.name]}
    expected = [*by_raw, *LINEAGE_COLUMNS]
    missing = [by_raw.get(c, c) for c in expected if c not in actual]
    unexpected = sorted(actual - set(expected))
    parts = []
    if missing:
        parts.append(f"column{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing")
    if unexpected:
        parts.append(
            f"unexpected column{'s' if len(unexpected) > 1 else ''} {', '.join(unexpected)}"
        )
    return "; ".join(parts) or "columns differ from the contract"


def _failed_without_gx(
    source: SourceSpec,
    batch_id: int,
    logical_date: date,
    reason: str,
    context: _BatchContext,
) -> ValidationOutcome:
    return ValidationOutcome(
        source=source.name,
        batch_id=batch_id,
        logical_date=logical_date,
        verdict="failed",
        reason=reason,
        expectations_evaluated=0,
        expectations_failed=0,
        rows_loaded=context.raw_rows,
        rows_quarantined=context.quarantined_rows,
        rows_quarantined_by_validation=0,
        report_path=None,
        results=(),
        notes=(),
    )
