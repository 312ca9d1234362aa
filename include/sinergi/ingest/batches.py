"""Batch bookkeeping in ``dq.batch``: one row per delivery attempt, and its verdict.

Every function takes an open psycopg connection and leaves committing to the caller. The
intended flow for one source and night (each step its own transaction, so the attempt is on
record even if a later step crashes):

1. ``land_file`` / ``land_bytes_file`` (archive) -> ``LandedDelivery``;
   nothing there: ``record_missing`` (after the deadline). UMKM without an agreeing ``.ok``:
   ``record_incomplete``.
2. ``begin_batch`` -> ``BatchStart``; commit. Only ``action == "load"`` goes on.
3. ``load_rows`` (one transaction). ``DeliveryError``: roll back, then ``fail_batch``; commit.
4. validation (``quarantine_rows``, ``dq.validation_result``), then ``finish_batch``; commit.

A crash anywhere leaves at most an unfinished batch (verdict null), which the next run of the
night picks up again (``begin_batch`` case 2). Re-running a finished night changes nothing.

Duplicates. The same bytes delivered for another night of a *delta* source (rows "changed on
D") mean the ministry re-sent an old extract; loading it again would re-date old changes.
An empty delivery (header only) is legitimately identical every quiet night, though, and must
load. So ``begin_batch`` calls a delivery a duplicate only when the earlier batch with the same
content was loaded (passed/warned) with ``rows_received > 0``: the same bytes have the same rows,
so no reading is needed. Snapshots and references are never duplicates: the same snapshot two
nights running just means nothing changed, and is that night's state.

The ``now()`` used here is wall-clock *metadata* (``finished_at``), never data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

import psycopg
from psycopg import sql

from sinergi.ingest.archive import LandedDelivery
from sinergi.ingest.load import clear_batch_rows
from sinergi.sources.registry import SourceSpec, get_source

# Logs name batches, sources, nights, hashes and counts only: never row values (PII).
log = logging.getLogger(__name__)

Action = Literal["load", "already_loaded", "duplicate"]

# Verdicts a validated batch can end with through finish_batch.
FINISH_VERDICTS = ("passed", "warned", "failed")
# A batch with one of these is loaded and may be the night's batch in force.
GOOD_VERDICTS = ("passed", "warned")

# The outcome (sinergi.sources.registry.OUTCOMES) a night stands for when this verdict is its
# latest dq.batch row; an unfinished batch (verdict null) or any other verdict: failed.
OUTCOME_OF_VERDICT = {
    "passed": "landed",
    "warned": "landed",
    "duplicate": "duplicate",
    "missing": "missing",
    "incomplete": "missing",
    "failed": "failed",
}

# Namespace (first key) of the advisory locks that serialise batch decisions per source and
# night; the second key is a hash of "<source>/<date>".
_NIGHT_LOCK_NAMESPACE = 0x51_4E_47  # "SNG"


@dataclass(frozen=True)
class BatchStart:
    """What ``begin_batch`` decided for a landed delivery.

    ``action``: ``load`` (go on and load into ``batch_id``), ``already_loaded`` (this exact
    content was already processed for this night: nothing to do; ``verdict`` says how it
    ended, e.g. ``failed`` so the caller can report it again), ``duplicate`` (recorded as a
    duplicate of ``duplicate_of``, not loaded).
    """

    batch_id: int
    action: Action
    verdict: str | None = None
    reason: str | None = None
    duplicate_of: int | None = None


@dataclass(frozen=True)
class CurrentBatch:
    """A batch in force for its source and night."""

    batch_id: int
    logical_date: date
    content_sha256: str | None
    rows_loaded: int | None
    verdict: str
    archive_path: str | None


def _name(source: SourceSpec | str) -> str:
    return source if isinstance(source, str) else source.name


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _lock_night(conn: psycopg.Connection, source: str, logical_date: date) -> None:
    """Serialise decisions about one source's night until the caller's transaction ends.

    Two runs of the same night at once (a manual re-run while the scheduled one runs) would
    otherwise both see "no batch yet" and both insert one.
    """
    conn.execute(
        "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
        (_NIGHT_LOCK_NAMESPACE, f"{source}/{logical_date.isoformat()}"),
    )


def begin_batch(
    conn: psycopg.Connection, landed: LandedDelivery, received_at: datetime
) -> BatchStart:
    """Decide what to do with a landed delivery and record the attempt in ``dq.batch``.

    For (source, logical date, content SHA-256):

    1. a finished batch with this content for this night exists: a re-run. Return it with
       ``already_loaded``; nothing changes.
    2. an unfinished batch (verdict null: an attempt that crashed) with this content: clear
       its raw and quarantine rows (and validation results) and load into it again.
    3. delta source, and this content was loaded, non-empty, for another night: record a
       ``duplicate`` batch (not loaded; counts stay null, nothing was read).
    4. otherwise: a new batch (verdict null, not current until ``finish_batch``) to load.

    In cases 3 and 4, unfinished attempts of the same night with *other* content are closed as
    ``failed`` (their rows cleared): the newer delivery replaces them.
    """
    source = get_source(landed.source)
    _lock_night(conn, source.name, landed.logical_date)

    same_content = conn.execute(
        "SELECT batch_id, verdict, verdict_reason FROM dq.batch "
        "WHERE source_system = %s AND logical_date = %s AND content_sha256 = %s "
        "ORDER BY batch_id DESC",
        (source.name, landed.logical_date, landed.content_sha256),
    ).fetchall()
    for batch_id, verdict, reason in same_content:
        if verdict is not None:
            log.info(
                "%s %s: content %s already processed as batch %s (verdict %s); nothing to do",
                source.name,
                landed.logical_date,
                landed.content_sha256[:12],
                batch_id,
                verdict,
            )
            return BatchStart(batch_id, "already_loaded", verdict, reason)
    if same_content:
        batch_id = same_content[0][0]
        clear_batch_rows(conn, source, batch_id)
        conn.execute("DELETE FROM dq.validation_result WHERE batch_id = %s", (batch_id,))
        # The crashed attempt's counts are stale; the archive path is the same content's.
        conn.execute(
            "UPDATE dq.batch SET rows_received = NULL, rows_loaded = NULL, "
            "rows_quarantined = NULL, archive_path = %s, location = %s WHERE batch_id = %s",
            (str(landed.archive_path), landed.location, batch_id),
        )
        log.info(
            "%s %s: resuming interrupted batch %s (its partial rows cleared)",
            source.name,
            landed.logical_date,
            batch_id,
        )
        return BatchStart(batch_id, "load")

    original = None
    if source.load_mode == "delta":
        original = conn.execute(
            "SELECT batch_id, logical_date, rows_received FROM dq.batch "
            "WHERE source_system = %s AND content_sha256 = %s AND logical_date <> %s "
            "AND verdict IN ('passed', 'warned') AND rows_received > 0 "
            "ORDER BY batch_id LIMIT 1",
            (source.name, landed.content_sha256, landed.logical_date),
        ).fetchone()

    if original is not None:
        of_batch, of_date, of_rows = original
        reason = (
            f"same content (sha256 {landed.content_sha256}) as batch {of_batch} of "
            f"{of_date.isoformat()} ({of_rows} rows), already loaded; a delta carries one "
            "night's changes, so it is not loaded again. Ask the ministry for the extract "
            f"of {landed.logical_date.isoformat()} if it had changes."
        )
        batch_id = _insert_batch(conn, landed, received_at, verdict="duplicate", reason=reason)
        _close_interrupted(conn, source, landed.logical_date, batch_id)
        log.warning(
            "%s %s: batch %s is a duplicate of batch %s (%s); not loaded",
            source.name,
            landed.logical_date,
            batch_id,
            of_batch,
            of_date,
        )
        return BatchStart(batch_id, "duplicate", "duplicate", reason, duplicate_of=of_batch)

    batch_id = _insert_batch(conn, landed, received_at)
    _close_interrupted(conn, source, landed.logical_date, batch_id)
    log.info(
        "%s %s: new batch %s for content %s",
        source.name,
        landed.logical_date,
        batch_id,
        landed.content_sha256[:12],
    )
    return BatchStart(batch_id, "load")


def _insert_batch(
    conn: psycopg.Connection,
    landed: LandedDelivery,
    received_at: datetime,
    verdict: str | None = None,
    reason: str | None = None,
) -> int:
    row = conn.execute(
        "INSERT INTO dq.batch (source_system, logical_date, location, content_sha256, "
        "received_at, archive_path, verdict, verdict_reason, finished_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING batch_id",
        (
            landed.source,
            landed.logical_date,
            landed.location,
            landed.content_sha256,
            received_at,
            str(landed.archive_path),
            verdict,
            reason,
            _utcnow() if verdict is not None else None,
        ),
    ).fetchone()
    assert row is not None
    return row[0]


def _close_interrupted(
    conn: psycopg.Connection, source: SourceSpec, logical_date: date, newer_batch_id: int
) -> None:
    """Fail unfinished attempts of this night with other content: a newer delivery came."""
    stale = conn.execute(
        "SELECT batch_id FROM dq.batch WHERE source_system = %s AND logical_date = %s "
        "AND verdict IS NULL AND batch_id <> %s",
        (source.name, logical_date, newer_batch_id),
    ).fetchall()
    for (batch_id,) in stale:
        _fail(
            conn,
            source,
            batch_id,
            f"attempt interrupted before it finished; replaced by a newer delivery with "
            f"different content (batch {newer_batch_id})",
        )


def finish_batch(
    conn: psycopg.Connection,
    batch_id: int,
    verdict: str,
    reason: str | None,
    rows_received: int,
    rows_loaded: int,
    rows_quarantined: int,
    expectations_evaluated: int | None = None,
    expectations_failed: int | None = None,
    validation_report: str | None = None,
) -> None:
    """Give an unfinished batch its verdict (``passed``, ``warned`` or ``failed``).

    ``passed``/``warned``: the batch becomes the one in force for its source and night. Batches
    that were in force for that night stop being (``is_current`` false, ``superseded_by`` this
    batch) and their raw rows are deleted: the archive keeps their bytes and ``dq`` their
    history. ``failed``: see ``fail_batch``.
    ``rows_received`` must equal ``rows_loaded + rows_quarantined``.
    """
    if verdict not in FINISH_VERDICTS:
        raise ValueError(
            f"finish_batch: verdict {verdict!r} for batch {batch_id}; expected one of "
            f"{', '.join(FINISH_VERDICTS)} (duplicate/missing/incomplete have their own calls)"
        )
    if verdict == "failed":
        fail_batch(
            conn,
            batch_id,
            reason or "failed",
            rows_received=rows_received,
            rows_loaded=rows_loaded,
            rows_quarantined=rows_quarantined,
            expectations_evaluated=expectations_evaluated,
            expectations_failed=expectations_failed,
            validation_report=validation_report,
        )
        return
    _check_counts(batch_id, rows_received, rows_loaded, rows_quarantined)
    source, logical_date = _unfinished_batch(conn, batch_id)

    superseded = conn.execute(
        "UPDATE dq.batch SET is_current = false, superseded_by = %s "
        "WHERE source_system = %s AND logical_date = %s AND is_current AND batch_id <> %s "
        "RETURNING batch_id",
        (batch_id, source.name, logical_date, batch_id),
    ).fetchall()
    for (old_batch_id,) in superseded:
        clear_batch_rows(conn, source, old_batch_id, keep_quarantine=True)
        log.info(
            "%s %s: batch %s supersedes batch %s (its raw rows removed)",
            source.name,
            logical_date,
            batch_id,
            old_batch_id,
        )

    conn.execute(
        "UPDATE dq.batch SET verdict = %s, verdict_reason = %s, rows_received = %s, "
        "rows_loaded = %s, rows_quarantined = %s, expectations_evaluated = %s, "
        "expectations_failed = %s, validation_report = %s, is_current = true, "
        "finished_at = %s WHERE batch_id = %s",
        (
            verdict,
            reason,
            rows_received,
            rows_loaded,
            rows_quarantined,
            expectations_evaluated,
            expectations_failed,
            validation_report,
            _utcnow(),
            batch_id,
        ),
    )


def fail_batch(
    conn: psycopg.Connection,
    batch_id: int,
    reason: str,
    *,
    rows_received: int | None = None,
    rows_loaded: int | None = None,
    rows_quarantined: int | None = None,
    expectations_evaluated: int | None = None,
    expectations_failed: int | None = None,
    validation_report: str | None = None,
) -> None:
    """Give an unfinished batch the verdict ``failed`` with ``reason`` (shown to the engineer).

    Its raw and quarantine rows are removed: nothing of a failed delivery reaches the warehouse
    (the ministry re-sends its rows in its next good delivery; the archive keeps these bytes).
    Validation results stay: they explain the failure. The night's batch in force, if any,
    stays in force. Counts are recorded as far as they are known (None: not known, e.g. the
    file broke off mid-read); ``rows_loaded`` is what had been loaded before the failure.
    """
    if rows_received is not None and rows_loaded is not None and rows_quarantined is not None:
        _check_counts(batch_id, rows_received, rows_loaded, rows_quarantined)
    source, _ = _unfinished_batch(conn, batch_id)
    _fail(
        conn,
        source,
        batch_id,
        reason,
        rows_received=rows_received,
        rows_loaded=rows_loaded,
        rows_quarantined=rows_quarantined,
        expectations_evaluated=expectations_evaluated,
        expectations_failed=expectations_failed,
        validation_report=validation_report,
    )


def _fail(
    conn: psycopg.Connection,
    source: SourceSpec,
    batch_id: int,
    reason: str,
    *,
    rows_received: int | None = None,
    rows_loaded: int | None = None,
    rows_quarantined: int | None = None,
    expectations_evaluated: int | None = None,
    expectations_failed: int | None = None,
    validation_report: str | None = None,
) -> None:
    clear_batch_rows(conn, source, batch_id)
    log.warning("%s: batch %s failed: %s", source.name, batch_id, reason)
    conn.execute(
        "UPDATE dq.batch SET verdict = 'failed', verdict_reason = %s, rows_received = %s, "
        "rows_loaded = %s, rows_quarantined = %s, expectations_evaluated = %s, "
        "expectations_failed = %s, validation_report = %s, is_current = false, "
        "finished_at = %s WHERE batch_id = %s",
        (
            reason,
            rows_received,
            rows_loaded,
            rows_quarantined,
            expectations_evaluated,
            expectations_failed,
            validation_report,
            _utcnow(),
            batch_id,
        ),
    )


def _check_counts(batch_id: int, received: int, loaded: int, quarantined: int) -> None:
    if received != loaded + quarantined:
        raise ValueError(
            f"batch {batch_id}: rows_received={received} but rows_loaded={loaded} + "
            f"rows_quarantined={quarantined} = {loaded + quarantined}; every received row must "
            "be loaded or quarantined"
        )


def _unfinished_batch(conn: psycopg.Connection, batch_id: int) -> tuple[SourceSpec, date]:
    """The source and night of a batch that has no verdict yet, locked for the update.

    The night's advisory lock is taken before the row lock, in the same order as
    ``begin_batch``, so a re-run starting while this batch finishes waits instead of
    deadlocking.
    """
    found = conn.execute(
        "SELECT source_system, logical_date FROM dq.batch WHERE batch_id = %s", (batch_id,)
    ).fetchone()
    if found is None:
        raise ValueError(
            f"batch {batch_id} does not exist in dq.batch (was begin_batch's transaction "
            "rolled back instead of committed?)"
        )
    source_name, logical_date = found
    _lock_night(conn, source_name, logical_date)
    row = conn.execute(
        "SELECT verdict FROM dq.batch WHERE batch_id = %s FOR UPDATE", (batch_id,)
    ).fetchone()
    assert row is not None  # batch rows are never deleted
    if row[0] is not None:
        raise ValueError(
            f"batch {batch_id} ({source_name} {logical_date.isoformat()}) already has the "
            f"verdict {row[0]!r}; a finished batch is never changed"
        )
    return get_source(source_name), logical_date


def record_missing(
    conn: psycopg.Connection,
    source: SourceSpec | str,
    logical_date: date,
    location: str,
    reason: str,
) -> int | None:
    """Record that nothing arrived for ``source`` on ``logical_date`` by its deadline.

    Idempotent: a re-run of the night returns the existing row's id. If the night already has
    a delivery on record (e.g. it loaded, and the landing file was cleaned up since), nothing
    is recorded and None is returned: the night was not missing.
    """
    name = _name(source)
    _lock_night(conn, name, logical_date)
    received = conn.execute(
        "SELECT 1 FROM dq.batch WHERE source_system = %s AND logical_date = %s "
        "AND content_sha256 IS NOT NULL LIMIT 1",
        (name, logical_date),
    ).fetchone()
    if received is not None:
        return None
    return _record_absence(conn, name, logical_date, "missing", location, reason)


def record_incomplete(
    conn: psycopg.Connection,
    source: SourceSpec | str,
    logical_date: date,
    location: str,
    reason: str,
    *,
    content_sha256: str | None = None,
    archive_path: str | None = None,
    received_at: datetime | None = None,
) -> int:
    """Record that the night's delivery was incomplete at its deadline (e.g. a UMKM CSV
    without an agreeing ``.ok``). Idempotent per source and night: returns the existing id.

    The content hash is kept for the record only; it does not block loading the same CSV
    later, once its ``.ok`` arrives (``begin_batch`` then books it as a new batch).
    """
    name = _name(source)
    _lock_night(conn, name, logical_date)
    return _record_absence(
        conn,
        name,
        logical_date,
        "incomplete",
        location,
        reason,
        archive_path=archive_path,
        received_at=received_at,
        content_sha256_note=content_sha256,
    )


def _record_absence(
    conn: psycopg.Connection,
    source_name: str,
    logical_date: date,
    verdict: str,
    location: str,
    reason: str,
    *,
    archive_path: str | None = None,
    received_at: datetime | None = None,
    content_sha256_note: str | None = None,
) -> int:
    # content_sha256 stays NULL on absence rows on purpose: begin_batch matches batches by
    # content, and an incomplete delivery must not count as "already processed". The hash,
    # when known, goes into the reason.
    if content_sha256_note:
        reason = f"{reason} (content sha256 {content_sha256_note})"
    inserted = conn.execute(
        "INSERT INTO dq.batch (source_system, logical_date, location, received_at, "
        "archive_path, verdict, verdict_reason, finished_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (source_system, logical_date, verdict) "
        "WHERE verdict IN ('missing', 'incomplete') DO NOTHING RETURNING batch_id",
        (
            source_name,
            logical_date,
            location,
            received_at,
            archive_path,
            verdict,
            reason,
            _utcnow(),
        ),
    ).fetchone()
    if inserted is not None:
        return inserted[0]
    existing = conn.execute(
        "SELECT batch_id FROM dq.batch WHERE source_system = %s AND logical_date = %s "
        "AND verdict = %s",
        (source_name, logical_date, verdict),
    ).fetchone()
    assert existing is not None
    return existing[0]


def current_batches(conn: psycopg.Connection, source: SourceSpec | str) -> list[CurrentBatch]:
    """The batches in force for ``source``, one per night, oldest night first."""
    rows = conn.execute(
        "SELECT batch_id, logical_date, content_sha256, rows_loaded, verdict, archive_path "
        "FROM dq.batch WHERE source_system = %s AND is_current ORDER BY logical_date",
        (_name(source),),
    ).fetchall()
    return [CurrentBatch(*row) for row in rows]


def has_loaded_before(
    conn: psycopg.Connection, source: SourceSpec | str, before: date | None = None
) -> bool:
    """Whether any batch of ``source`` was loaded (passed or warned), for "first night" logic.

    Pass ``before`` (the night being run) so that re-running an early night after later ones
    loaded gives the same answer as the first run did: only earlier nights count.
    """
    query = sql.SQL(
        "SELECT EXISTS (SELECT 1 FROM dq.batch WHERE source_system = %s "
        "AND verdict IN ('passed', 'warned'){})"
    ).format(sql.SQL(" AND logical_date < %s") if before is not None else sql.SQL(""))
    params: tuple[object, ...] = (_name(source),) if before is None else (_name(source), before)
    row = conn.execute(query, params).fetchone()
    return bool(row and row[0])
