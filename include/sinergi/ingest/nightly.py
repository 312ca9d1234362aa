"""One source's night, step by step: what the ingest DAG's tasks call.

Each step is plain Python, takes and returns plain dicts (they travel as XCom), and is
idempotent, so Airflow may retry or re-run any of them. Airflow itself is not imported here;
``NotRetryable`` tells the DAG to fail at once instead of retrying (a wrong token, a broken
file, a failed validation will not fix themselves).
"""

from __future__ import annotations

import logging
import time as wallclock
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

from sinergi import settings
from sinergi.extract.file_drop import DeliveryState, check_delivery, deadline_outcome
from sinergi.extract.window import api_window, business_date, delivery_deadline, format_wib
from sinergi.ingest import archive, batches
from sinergi.ingest import load as loading
from sinergi.ingest.schema import ensure_schema
from sinergi.parse import PARSERS, DeliveryError, read_umkm_control_file
from sinergi.parse.umkm import check_umkm_complete
from sinergi.sources.registry import SourceSpec

log = logging.getLogger(__name__)


class NotRetryable(Exception):
    """The night failed in a way a retry cannot fix; the message says what to do."""


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, application_name="sinergi-ingest")


def plan(spec: SourceSpec, logical_date: datetime, warehouse_url: str) -> dict:
    """The business day of this run and whether a delivery is due (warehouse objects are
    created here on the first run: ``ensure_schema`` is idempotent)."""
    day = business_date(logical_date)
    with _connect(warehouse_url) as conn:
        ensure_schema(conn)
        first_night = not batches.has_loaded_before(conn, spec)
    expected = spec.is_expected_on(day, first_night=first_night)
    reason = "" if expected else f"{spec.name}: no delivery expected for {day.isoformat()}"
    return {
        "source": spec.name,
        "business_date": day.isoformat(),
        "first_night": first_night,
        "expected": expected,
        "reason": reason,
    }


def poke_file_drop(
    spec: SourceSpec,
    night: dict,
    warehouse_url: str,
    landing_dir: Path | None = None,
    now: datetime | None = None,
) -> dict | None:
    """One look at the drop: the delivery when it is there and complete, None to wait.

    After the source's deadline a delivery that is not there (or not complete) is recorded in
    ``dq.batch`` as ``missing`` (or ``incomplete``) and the night fails.
    """
    day = date.fromisoformat(night["business_date"])
    landing = landing_dir or settings.landing_dir()
    status = check_delivery(spec, day, landing, first_night=night["first_night"])
    now = now or datetime.now(UTC)
    if status.state == DeliveryState.READY and _settled(status.mtime_ns):
        return {**night, "location": status.relative_path}
    if now < status.deadline:
        log.info("%s: waiting for %s (%s)", spec.name, status.relative_path, status.state.value)
        return None
    verdict, message = deadline_outcome(status)
    with _connect(warehouse_url) as conn:
        if verdict == "incomplete":
            batches.record_incomplete(conn, spec, day, status.relative_path, message)
        else:
            batches.record_missing(conn, spec, day, status.relative_path, message)
    raise NotRetryable(message)


def _settled(mtime_ns: int | None) -> bool:
    """A file left untouched for the settle period is complete (not still being copied)."""
    if mtime_ns is None:
        return False
    return wallclock.time() - mtime_ns / 1e9 >= settings.settle_seconds()


def extract_api(spec: SourceSpec, night: dict, conn_id: str) -> dict:
    """The KemenP2MI window [D, D+1) to a JSONL file, every page, via connection ``conn_id``."""
    from sinergi.extract.kp2mi import (
        AuthenticationError,
        extract_to_jsonl,
        session_from_airflow_connection,
    )

    day = date.fromisoformat(night["business_date"])
    out = settings.extract_dir() / spec.name / f"{spec.name}_{day:%Y%m%d}.jsonl"
    try:
        session, base_url = session_from_airflow_connection(conn_id)
        result = extract_to_jsonl(session, base_url, spec.endpoint, api_window(day), out)
    except AuthenticationError as error:
        raise NotRetryable(str(error)) from error
    log.info("%s: %d records in %d pages (%d retries)", spec.name, result.records,
             result.pages, result.retries)  # fmt: skip
    return {**night, "extract_path": str(result.path)}


def land(spec: SourceSpec, delivery: dict, warehouse_url: str) -> dict:
    """Archive the delivery as received, then record (or find) its batch."""
    day = date.fromisoformat(delivery["business_date"])
    if spec.kind == "api":
        landed = archive.land_bytes_file(
            spec, day, Path(delivery["extract_path"]), settings.archive_dir()
        )
    else:
        landed = archive.land_file(spec, day, settings.landing_dir(), settings.archive_dir())
        if spec.name == "umkm_penerima":
            _check_control_file(spec, landed, warehouse_url)
    with _connect(warehouse_url) as conn:
        start = batches.begin_batch(conn, landed, received_at=datetime.now(UTC))
    return {
        **delivery,
        "batch_id": start.batch_id,
        "action": start.action,
        "verdict": start.verdict,
        "reason": start.reason,
        "location": landed.location,
        "archive_path": str(landed.archive_path),
    }


def _check_control_file(spec: SourceSpec, landed, warehouse_url: str) -> None:
    """UMKM: the archived CSV must be the one its archived `.ok` describes (sha256) before a
    batch is opened, so a corrected `.ok` for the same CSV can still load later (the night
    stays `incomplete`). Row count and readability are checked when loading (`failed`)."""
    try:
        check_umkm_complete(Path(landed.archive_path))
    except DeliveryError as error:
        with _connect(warehouse_url) as conn:
            batches.record_incomplete(
                conn, spec, landed.logical_date, landed.location, str(error),
                content_sha256=landed.content_sha256, archive_path=str(landed.archive_path),
                received_at=datetime.now(UTC),
            )  # fmt: skip
        raise NotRetryable(str(error)) from error


def load(spec: SourceSpec, batch: dict, warehouse_url: str) -> dict:
    """Parse the archived copy and COPY it into raw (one transaction); a broken file fails
    the batch with the parser's message."""
    if batch["action"] != "load":
        return batch
    path = Path(batch["archive_path"])
    try:
        with _connect(warehouse_url) as conn:
            counts = loading.load_rows(
                conn, spec, batch["batch_id"], PARSERS[spec.name](path), datetime.now(UTC)
            )
    except DeliveryError as error:
        with _connect(warehouse_url) as conn:
            batches.fail_batch(conn, batch["batch_id"], str(error))
        raise NotRetryable(str(error)) from error
    return {
        **batch,
        "rows_received": counts.received,
        "rows_loaded": counts.loaded,
        "rows_unreadable": counts.unreadable,
    }


def validate(spec: SourceSpec, batch: dict, warehouse_url: str) -> dict:
    """Run the source's expectation suite and close the batch with its verdict."""
    if batch["action"] == "duplicate":
        return {**batch, "publish": False}
    if batch["action"] == "already_loaded":
        if batch["verdict"] == "failed":
            raise NotRetryable(batch["reason"] or f"{spec.name}: batch {batch['batch_id']} failed")
        return {**batch, "publish": True}
    from sinergi.validate.run import validate_batch

    day = date.fromisoformat(batch["business_date"])
    control_rows = None
    if spec.name == "umkm_penerima":  # the .ok's row count, checked as an expectation too
        control_rows, _ = read_umkm_control_file(Path(f"{batch['archive_path']}.ok"))
    outcome = validate_batch(
        warehouse_url, spec, batch["batch_id"], day, batch["location"],
        settings.data_docs_dir(), control_rows=control_rows,
    )  # fmt: skip
    counts = {
        "rows_received": outcome.rows_received,
        "rows_loaded": outcome.rows_loaded,
        "rows_quarantined": outcome.rows_quarantined,
    }
    with _connect(warehouse_url) as conn:
        if outcome.verdict == "failed":
            batches.fail_batch(
                conn, batch["batch_id"], outcome.reason,
                rows_received=outcome.rows_received,
                expectations_evaluated=outcome.expectations_evaluated,
                expectations_failed=outcome.expectations_failed,
                validation_report=_text(outcome.report_path),
            )  # fmt: skip
        else:
            batches.finish_batch(
                conn, batch["batch_id"], outcome.verdict, outcome.reason, **counts,
                expectations_evaluated=outcome.expectations_evaluated,
                expectations_failed=outcome.expectations_failed,
                validation_report=_text(outcome.report_path),
            )  # fmt: skip
    if outcome.verdict == "failed":
        raise NotRetryable(outcome.reason)
    return {
        **batch,
        **counts,
        "verdict": outcome.verdict,
        "publish": True,
        "deadline": format_wib(delivery_deadline(spec, day)),
    }


def _text(value) -> str | None:
    return None if value is None else str(value)
