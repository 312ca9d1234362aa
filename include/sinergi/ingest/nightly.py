"""One source's night, step by step: what the ingest DAG's tasks call.

Each step is plain Python, takes and returns plain dicts (they travel as XCom), and is
idempotent, so Airflow may retry or re-run any of them. Airflow itself is not imported here;
``NotRetryable`` tells the DAG to fail at once instead of retrying (a wrong token, a broken
file, a failed validation will not fix themselves).
"""

from __future__ import annotations

import logging
import time as wallclock
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

from sinergi import settings
from sinergi.extract.file_drop import DeliveryState, check_delivery, deadline_outcome
from sinergi.extract.window import api_window, business_date, delivery_deadline, format_wib
from sinergi.ingest import archive, batches
from sinergi.ingest.load_file import load_delivery
from sinergi.ingest.schema import ensure_schema
from sinergi.parse import DeliveryError, read_umkm_control_file
from sinergi.parse.umkm import check_umkm_complete
from sinergi.sources.registry import OUTCOMES, SourceSpec

log = logging.getLogger(__name__)

# How far back night D's run reaches to catch up API nights that loaded nothing.
MAX_CATCH_UP_DAYS = 31


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
        missed = _api_missed_nights(conn, spec, day) if spec.kind == "api" else []
    expected = spec.is_expected_on(day, first_night=first_night)
    reason = "" if expected else f"{spec.name}: no delivery expected for {day.isoformat()}"
    night = {
        "source": spec.name,
        "business_date": day.isoformat(),
        "first_night": first_night,
        "expected": expected,
        "reason": reason,
    }
    if missed:
        night["catch_up"] = [d.isoformat() for d in missed]
    return night


def _api_missed_nights(conn: psycopg.Connection, spec: SourceSpec, day: date) -> list[date]:
    """The nights since the last night before ``day`` that loaded (passed or warned): an API
    window whose extract failed all night (the API was down) or whose batch failed is not
    asked for again by the next night's ``[D, D+1)``, so night D catches each of them up
    with its own window and batch. None when nothing loaded before ``day`` (the first night,
    or re-running the earliest one). At most ``MAX_CATCH_UP_DAYS`` back."""
    row = conn.execute(
        "SELECT max(logical_date) FROM dq.batch WHERE source_system = %s "
        "AND verdict IN ('passed', 'warned') AND logical_date < %s",
        (spec.name, day),
    ).fetchone()
    last_loaded = row[0] if row else None
    if last_loaded is None:
        return []
    first = last_loaded + timedelta(days=1)
    oldest = day - timedelta(days=MAX_CATCH_UP_DAYS)
    if first < oldest:
        log.warning(
            "%s %s: no night loaded since %s; catching up only the %d nights from %s "
            "(backfill older nights explicitly)",
            spec.name, day, last_loaded, MAX_CATCH_UP_DAYS, oldest,
        )  # fmt: skip
        first = oldest
    missed = [first + timedelta(days=n) for n in range((day - first).days)]
    if missed:
        log.info("%s %s: catching up %d night(s) from %s: nothing loaded since %s",
                 spec.name, day, len(missed), first, last_loaded)  # fmt: skip
    return missed


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
    """The KemenP2MI window [D, D+1) to a JSONL file, every page, via connection ``conn_id``;
    first the window of every night ``plan`` found to catch up (each its own file)."""
    from sinergi.extract.kp2mi import ExtractError

    catch_up = {}
    for missed in night.get("catch_up", []):
        try:
            catch_up[missed] = _extract_window(spec, date.fromisoformat(missed), conn_id)
        except ExtractError as error:  # the night's own window decides whether the task fails
            log.warning("%s %s: cannot catch up yet: %s", spec.name, missed, error)
    day = date.fromisoformat(night["business_date"])
    path = _extract_window(spec, day, conn_id)
    return {**night, "extract_path": path, "catch_up_extracts": catch_up}


def _extract_window(spec: SourceSpec, day: date, conn_id: str) -> str:
    from sinergi.extract.kp2mi import (
        AuthenticationError,
        extract_to_jsonl,
        session_from_airflow_connection,
    )

    out = settings.extract_dir() / spec.name / f"{spec.name}_{day:%Y%m%d}.jsonl"
    try:
        session, base_url = session_from_airflow_connection(conn_id)
        result = extract_to_jsonl(session, base_url, spec.endpoint, api_window(day), out)
    except AuthenticationError as error:
        raise NotRetryable(str(error)) from error
    log.info("%s %s: %d records in %d pages (%d retries)", spec.name, day, result.records,
             result.pages, result.retries)  # fmt: skip
    return str(result.path)


def land(spec: SourceSpec, delivery: dict, warehouse_url: str) -> dict:
    """Archive the delivery as received, then record (or find) its batch."""
    day = date.fromisoformat(delivery["business_date"])
    if spec.kind == "api":
        for missed, path in delivery.get("catch_up_extracts", {}).items():
            _catch_up(spec, date.fromisoformat(missed), path, warehouse_url)
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


def _catch_up(spec: SourceSpec, missed: date, extract_path: str, warehouse_url: str) -> None:
    """Land, load and validate the extract of a missed night as that night's own batch (the
    batch a run of that night would have made). Its verdict is recorded in ``dq.batch``; a
    failed one does not stop this night (it is caught up again by the next)."""
    night = {
        "source": spec.name,
        "business_date": missed.isoformat(),
        "first_night": False,
        "expected": True,
        "reason": "",
        "extract_path": extract_path,
    }
    try:
        batch = land(spec, night, warehouse_url)
        outcome = validate(spec, load(spec, batch, warehouse_url), warehouse_url)
        log.info("%s %s: caught up as batch %s (%s)", spec.name, missed,
                 batch["batch_id"], outcome.get("verdict") or batch["action"])  # fmt: skip
    except NotRetryable as error:
        log.warning("%s %s: catching up failed: %s", spec.name, missed, error)


def _check_control_file(spec: SourceSpec, landed, warehouse_url: str) -> None:
    """UMKM: the archived CSV must be the one its archived `.ok` describes (sha256) before a
    batch is opened, so a corrected `.ok` for the same CSV can still load later (the night
    stays `incomplete`). Row count and readability are checked when loading (`failed`)."""
    try:
        check_umkm_complete(Path(landed.archive_path))
    except DeliveryError as error:
        message = _delivery_message(error, landed.location)
        with _connect(warehouse_url) as conn:
            batches.record_incomplete(
                conn, spec, landed.logical_date, landed.location, message,
                content_sha256=landed.content_sha256, archive_path=str(landed.archive_path),
                received_at=datetime.now(UTC),
            )  # fmt: skip
        raise NotRetryable(message) from error


def _delivery_message(error: DeliveryError, location: str) -> str:
    """A parser's message about the archived copy, naming the delivery as the engineer finds
    it in the landing area (``kemenkop/anggota_koperasi_20260105.csv.gz``), not the archive's
    ``<sha256>/`` directory."""
    return f"{error.source}: {location}: {error.detail}"


def load(spec: SourceSpec, batch: dict, warehouse_url: str) -> dict:
    """Parse the archived copy and COPY it into raw (one transaction); a broken file fails
    the batch with the parser's message."""
    if batch["action"] != "load":
        return batch
    path = Path(batch["archive_path"])
    try:
        with _connect(warehouse_url) as conn:
            counts = load_delivery(conn, spec, batch["batch_id"], path, datetime.now(UTC))
    except DeliveryError as error:
        message = _delivery_message(error, batch["location"])
        with _connect(warehouse_url) as conn:
            batches.fail_batch(conn, batch["batch_id"], message)
        raise NotRetryable(message) from error
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

    _reload_if_validated_before(spec, batch, warehouse_url)
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


def _reload_if_validated_before(spec: SourceSpec, batch: dict, warehouse_url: str) -> None:
    """An earlier attempt of this task validated the batch and died before the verdict (its
    quarantine moves and results are committed, the verdict is not): reload the batch from
    the archive, so the suite sees every row again and the outcome is the first attempt's,
    not one computed on the rows it left in raw."""
    with _connect(warehouse_url) as conn:
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM dq.validation_result WHERE batch_id = %s)",
            (batch["batch_id"],),
        ).fetchone()
        if not (row and row[0]):
            return
        log.warning("%s batch %s: an earlier validation was interrupted; reloading the batch "
                    "from the archive", spec.name, batch["batch_id"])  # fmt: skip
        load_delivery(conn, spec, batch["batch_id"], Path(batch["archive_path"]), datetime.now(UTC))
        conn.execute("DELETE FROM dq.validation_result WHERE batch_id = %s", (batch["batch_id"],))


def report_outcome(
    spec: SourceSpec,
    logical_date: datetime,
    warehouse_url: str,
    *,
    night: dict | None,
    batch: dict | None,
    extracted: bool,
    extract_error: str | None = None,
) -> dict:
    """How the night ended, whatever happened: the ingest DAG's last task (a teardown: it
    runs once every other task is done, failed or skipped) publishes it as the source's
    outcome Asset event, so the warehouse build, scheduled on every source's outcome, never
    waits for a night that will not come.

    ``night``: what ``plan`` returned (None when it did not finish); ``batch``: what
    ``validate`` returned (None when it did not finish); ``extracted``: the API extract (or
    the sensor) finished; ``extract_error``: the API extract's last error, if it failed.

    A KemenP2MI extract that failed all night is recorded here as ``missing`` in ``dq.batch``
    (once per night, the same way a file absent at its deadline is), with a reason that says
    what to do. The next night's run still catches the window up: the catch-up looks only
    for nights without a passed or warned batch (``_api_missed_nights``).

    Returns ``{source, business_date, outcome, verdict, batch_id, reason}``; ``outcome`` is
    one of ``OUTCOMES`` (``sinergi.sources.registry``).
    """
    day = date.fromisoformat(night["business_date"]) if night else business_date(logical_date)
    report = {"source": spec.name, "business_date": day.isoformat(), "verdict": None,
              "batch_id": None, "reason": ""}  # fmt: skip
    if night is None:
        reason = f"{spec.name} {day}: plan_night did not finish (see its log)"
        return {**report, "outcome": "failed", "reason": reason}
    if not night["expected"]:
        return {**report, "outcome": "not_expected", "reason": night.get("reason", "")}
    if batch is not None:  # validate finished: the batch is in force, or a duplicate
        outcome = "landed" if batch.get("publish", True) else "duplicate"
        return {**report, "outcome": outcome, "verdict": batch.get("verdict"),
                "batch_id": batch.get("batch_id"), "reason": batch.get("reason") or ""}  # fmt: skip
    with _connect(warehouse_url) as conn:
        if spec.kind == "api" and not extracted:
            _record_failed_extract(conn, spec, day, extract_error)
        latest = conn.execute(
            "SELECT batch_id, verdict, verdict_reason FROM dq.batch "
            "WHERE source_system = %s AND logical_date = %s ORDER BY batch_id DESC LIMIT 1",
            (spec.name, day),
        ).fetchone()
    outcome, verdict, batch_id, reason = _outcome_of(latest)
    if outcome == "failed" and not reason:
        reason = (f"{spec.name} {day}: the run stopped before the batch had a verdict; see "
                  "the failed task's log, then clear it to run the night again")  # fmt: skip
    return {**report, "outcome": outcome, "verdict": verdict, "batch_id": batch_id,
            "reason": reason}  # fmt: skip


def _outcome_of(latest: tuple | None) -> tuple[str, str | None, int | None, str]:
    """The outcome a night's latest ``dq.batch`` row stands for (None: no row)."""
    if latest is None:
        return "failed", None, None, ""
    batch_id, verdict, reason = latest
    outcome = batches.OUTCOME_OF_VERDICT.get(verdict, "failed")
    assert outcome in OUTCOMES
    return outcome, verdict, batch_id, reason or ""


def _record_failed_extract(
    conn: psycopg.Connection, spec: SourceSpec, day: date, error: str | None
) -> None:
    """The API could not be read for the night (after every retry): ``missing`` in dq.batch."""
    window = archive.api_window_location(spec, day)
    cause = error or "the extract task did not finish (see its log)"
    message = (
        f"{spec.name}: nothing extracted for {day.isoformat()} ({window}): {cause}. The next "
        "night's run catches this window up by itself; to load it sooner, check connection "
        "kp2mi_api and the API, then clear this night's extract task"
    )
    batches.record_missing(conn, spec, day, window, message)


def _text(value) -> str | None:
    return None if value is None else str(value)
