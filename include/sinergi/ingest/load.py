"""Load: stream parsed rows into ``raw.<source>`` with COPY, lineage attached.

Values are kept as received, as text. Rows the parser could not read, and rows PostgreSQL
cannot store, go to ``dq.quarantine`` with a reason instead: every received row is either
loaded or quarantined (``received = loaded + unreadable``).

What PostgreSQL text cannot hold, and what we do about it:

* NUL (U+0000) is not allowed in ``text`` (nor in ``jsonb``). Such a row is quarantined with
  reason ``nul_byte``; in its ``raw_record`` each NUL is written as the six characters
  ``\\u0000``. Nothing is lost: the archive holds the delivery's exact bytes.
* Lone UTF-16 surrogates (a JSON ``"\\ud800"`` escape decodes to one) cannot be encoded as
  UTF-8. Such a row is quarantined with reason ``unencodable_text``, the surrogate written as
  the escape ``\\ud800`` in ``raw_record``.

Everything else survives verbatim: control characters, tabs and line breaks inside values,
backslashes, quotes, SQL or HTML text, megabyte-long fields. COPY's text format escapes them
(psycopg does it) and values are never spliced into SQL.

``raw_record`` keys are the raw table's column names (``raw_column_name``), the same for rows
quarantined here and rows the validator moves with ``quarantine_rows``; a row the parser could
not read is ``{"raw_line": <its text>}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from sinergi.ingest.schema import LINEAGE_COLUMNS, raw_columns, raw_table
from sinergi.parse import EXPECTED_COLUMNS_BY_SOURCE, RAW_LINE, ParsedRow
from sinergi.sources.registry import SourceSpec

# Logs carry counts and batch ids only, never row values (PII).
log = logging.getLogger(__name__)

# Problem rows are buffered while the raw COPY streams, then written with their own COPY.
# The buffer is bounded: past this many, the raw COPY is closed, the buffer flushed, and a new
# raw COPY opened (COPYs run one after another on a connection, all in the same transaction).
QUARANTINE_FLUSH_ROWS = 5_000

REASON_UNREADABLE = "unreadable_row"
REASON_NUL = "nul_byte"
REASON_UNENCODABLE = "unencodable_text"

_QUARANTINE_COLUMNS = (
    "batch_id",
    "source_system",
    "source_row_number",
    "source_record_id",
    "reason_code",
    "reason_detail",
    "raw_record",
    "quarantined_at",
)


@dataclass(frozen=True)
class LoadCounts:
    """What ``load_rows`` did: ``received == loaded + unreadable``.

    ``unreadable`` counts every row the loader quarantined (parser problems, NUL bytes,
    unencodable text).
    """

    received: int
    loaded: int
    unreadable: int


def clear_batch_rows(
    conn: psycopg.Connection,
    source: SourceSpec,
    batch_id: int,
    *,
    keep_quarantine: bool = False,
) -> None:
    """Delete the raw rows (and, unless ``keep_quarantine``, the quarantine rows) of a batch."""
    conn.execute(
        sql.SQL("DELETE FROM {} WHERE _batch_id = %s").format(raw_table(source)), (batch_id,)
    )
    if not keep_quarantine:
        conn.execute("DELETE FROM dq.quarantine WHERE batch_id = %s", (batch_id,))


def load_rows(
    conn: psycopg.Connection,
    source: SourceSpec,
    batch_id: int,
    rows: Iterable[ParsedRow],
    loaded_at: datetime,
) -> LoadCounts:
    """COPY ``rows`` into ``raw.<source>`` as batch ``batch_id``; quarantine what cannot load.

    Idempotent: the batch's existing raw and quarantine rows are deleted first. Streams: memory
    stays flat whatever the delivery's size. A ``DeliveryError`` raised by the parser midway
    propagates; the caller rolls the transaction back (no partial batch) and fails the batch.
    ``loaded_at`` is load-time metadata, the same for every row of the call.
    """
    if loaded_at.tzinfo is None:
        # A naive time would be read in the session's time zone: ambiguous lineage.
        raise ValueError("load_rows: loaded_at must be timezone-aware (e.g. datetime.now(UTC))")
    expected = EXPECTED_COLUMNS_BY_SOURCE[source.name]
    columns = raw_columns(source)
    width = len(expected)
    copy_raw = sql.SQL("COPY {} ({}) FROM STDIN").format(
        raw_table(source),
        sql.SQL(", ").join(sql.Identifier(c) for c in (*columns, *LINEAGE_COLUMNS)),
    )
    # Lineage constants passed as text: the server parses them once per row anyway, and this
    # saves psycopg dumping the same int and datetime 200,000 times.
    batch_text = str(int(batch_id))
    loaded_at_text = loaded_at.isoformat()

    clear_batch_rows(conn, source, batch_id)

    received = loaded = 0
    pending: list[tuple[object, ...]] = []  # quarantine rows not yet written
    unreadable = 0
    needs_record_id = False
    row_iter: Iterator[ParsedRow] = iter(rows)
    with conn.cursor() as cur:
        exhausted = False
        while not exhausted:
            exhausted = True
            with cur.copy(copy_raw) as copy:
                for row in row_iter:
                    received += 1
                    if row.problem is not None:
                        pending.append(unreadable_tuple(batch_id, source, row, loaded_at))
                    else:
                        values = row.values
                        if len(values) != width:
                            _check_keys(source, row, expected)
                        record = [values.get(name) for name in expected]
                        # Fast path: one join and two C-level scans per row.
                        joined = "".join(filter(None, record))
                        if "\x00" in joined or (not joined.isascii() and _unencodable(joined)):
                            pending.append(
                                _unstorable_tuple(batch_id, source, row, columns, loaded_at)
                            )
                            needs_record_id = True
                        else:
                            record.append(batch_text)
                            record.append(str(row.source_row_number))
                            record.append(loaded_at_text)
                            copy.write_row(record)
                            loaded += 1
                            continue
                    if len(pending) >= QUARANTINE_FLUSH_ROWS:
                        exhausted = False
                        break
            unreadable += copy_quarantine(cur, pending)
            pending.clear()
        if needs_record_id:
            _fill_record_ids(cur, source, batch_id)
    log.info(
        "%s batch %s: %d rows received, %d loaded into raw, %d quarantined as unreadable",
        source.name,
        batch_id,
        received,
        loaded,
        unreadable,
    )
    return LoadCounts(received=received, loaded=loaded, unreadable=unreadable)


def _check_keys(source: SourceSpec, row: ParsedRow, expected: tuple[str, ...]) -> None:
    """A parser yielded columns the contract does not have: a bug, never silently dropped."""
    unknown = [key for key in row.values if key not in expected]
    if unknown:
        raise ValueError(
            f"{source.name}: the parser yielded row {row.source_row_number} with column(s) "
            f"{', '.join(map(repr, unknown))} not in EXPECTED_COLUMNS_BY_SOURCE; fix the parser "
            "or the contract"
        )


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _storable(value: str | None) -> str | None:
    """``value`` with what PostgreSQL cannot store written as visible escapes."""
    if value is None:
        return None
    value = value.replace("\x00", "\\u0000")
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def unreadable_tuple(
    batch_id: int, source: SourceSpec, row: ParsedRow, quarantined_at: datetime
) -> tuple[object, ...]:
    """The quarantine row of a problem row (one the parser could not read as a record)."""
    return _quarantine_tuple(
        batch_id,
        source,
        row.source_row_number,
        REASON_UNREADABLE,
        row.problem or "",
        {RAW_LINE: row.values.get(RAW_LINE)},
        quarantined_at,
    )


def _unstorable_tuple(
    batch_id: int,
    source: SourceSpec,
    row: ParsedRow,
    columns: tuple[str, ...],
    loaded_at: datetime,
) -> tuple[object, ...]:
    expected = EXPECTED_COLUMNS_BY_SOURCE[source.name]
    nul_columns = [name for name in expected if row.values.get(name) and "\x00" in row.values[name]]
    if nul_columns:
        code = REASON_NUL
        detail = (
            f"column(s) {', '.join(nul_columns)} contain a NUL byte (U+0000), which PostgreSQL "
            "text cannot store; shown as \\u0000 in raw_record, exact bytes in the archive"
        )
    else:
        bad = [name for name in expected if row.values.get(name) and _unencodable(row.values[name])]
        code = REASON_UNENCODABLE
        detail = (
            f"column(s) {', '.join(bad)} contain a lone UTF-16 surrogate, which is not valid "
            "Unicode text; shown as a \\udXXX escape in raw_record"
        )
    raw_record = {
        column: _storable(row.values.get(name))
        for column, name in zip(columns, expected, strict=True)
    }
    return _quarantine_tuple(
        batch_id, source, row.source_row_number, code, detail, raw_record, loaded_at
    )


def _quarantine_tuple(
    batch_id: int,
    source: SourceSpec,
    source_row_number: int,
    reason_code: str,
    reason_detail: str,
    raw_record: dict[str, str | None],
    quarantined_at: datetime,
) -> tuple[object, ...]:
    clean = {key: _storable(value) for key, value in raw_record.items()}
    return (
        batch_id,
        source.name,
        source_row_number,
        None,  # source_record_id: filled by _fill_record_ids where the row has values
        reason_code,
        _storable(reason_detail),
        json.dumps(clean, ensure_ascii=False),
        quarantined_at,
    )


def copy_quarantine(cur: psycopg.Cursor, rows: list[tuple[object, ...]]) -> int:
    if not rows:
        return 0
    statement = sql.SQL("COPY dq.quarantine ({}) FROM STDIN").format(
        sql.SQL(", ").join(map(sql.Identifier, _QUARANTINE_COLUMNS))
    )
    with cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
    return len(rows)


def _fill_record_ids(cur: psycopg.Cursor, source: SourceSpec, batch_id: int) -> None:
    """Set ``source_record_id`` of rows quarantined with values, with the registry's own SQL.

    ``record_id_sql`` is evaluated over the ``raw_record`` read back as a row of the raw table,
    so it gives exactly what it gives for loaded rows.
    """
    cur.execute(
        sql.SQL(
            "UPDATE dq.quarantine AS q SET source_record_id = "
            "(SELECT {record_id} FROM jsonb_populate_record(NULL::{table}, q.raw_record) AS r) "
            "WHERE q.batch_id = %s AND q.reason_code <> %s"
        ).format(record_id=_record_id_sql(source), table=raw_table(source)),
        (batch_id, REASON_UNREADABLE),
    )


def _record_id_sql(source: SourceSpec) -> sql.Composable:
    # Trusted: record_id_sql is code from the source registry, not data.
    return sql.SQL(source.record_id_sql) if source.record_id_sql else sql.SQL("NULL")


def quarantine_rows(
    conn: psycopg.Connection,
    source: SourceSpec,
    batch_id: int,
    where_sql: sql.Composable,
    reason_code: str,
    reason_detail: str,
    quarantined_at: datetime | None = None,
) -> int:
    """Move the raw rows of ``batch_id`` matching ``where_sql`` into ``dq.quarantine``.

    ``where_sql`` is a predicate over the raw table's columns, built with ``psycopg.sql``
    (values as ``sql.Literal``, names as ``sql.Identifier``; no ``%s`` placeholders). One
    statement: the rows are deleted from raw and inserted into quarantine together, with
    ``raw_record`` = the row without lineage columns and ``source_record_id`` from the
    registry's ``record_id_sql``. Returns how many rows moved.
    """
    when = quarantined_at if quarantined_at is not None else datetime.now(UTC)
    statement = sql.SQL(
        "WITH moved AS ("
        "DELETE FROM {table} AS r WHERE r._batch_id = {batch_id} AND ({where}) RETURNING r.*"
        ") "
        "INSERT INTO dq.quarantine ({columns}) "
        "SELECT {batch_id}, {source_name}, m._source_row_number, {record_id}, {code}, "
        "{detail}, to_jsonb(m) - '_batch_id' - '_source_row_number' - '_loaded_at', {when} "
        "FROM moved AS m"
    ).format(
        table=raw_table(source),
        batch_id=sql.Literal(int(batch_id)),
        where=where_sql,
        columns=sql.SQL(", ").join(map(sql.Identifier, _QUARANTINE_COLUMNS)),
        source_name=sql.Literal(source.name),
        record_id=_record_id_sql(source),
        code=sql.Literal(reason_code),
        detail=sql.Literal(reason_detail),
        when=sql.Literal(when),
    )
    # No parameters: the statement is complete, so a "%" inside where_sql's literals is safe.
    with conn.cursor() as cur:
        cur.execute(statement)
        return cur.rowcount


def batch_row_counts(
    conn: psycopg.Connection, source: SourceSpec, batch_id: int
) -> tuple[int, int]:
    """(raw rows, quarantine rows) of a batch now: what ``finish_batch`` records as
    ``rows_loaded`` and ``rows_quarantined`` after validation moved rows."""
    loaded = conn.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE _batch_id = %s").format(raw_table(source)),
        (batch_id,),
    ).fetchone()
    quarantined = conn.execute(
        "SELECT count(*) FROM dq.quarantine WHERE batch_id = %s", (batch_id,)
    ).fetchone()
    assert loaded is not None and quarantined is not None
    return int(loaded[0]), int(quarantined[0])
