"""The warehouse objects the land/load steps write to: ``raw.<source>`` and ``dq.*``.

``ensure_schema`` is idempotent and cheap when everything exists, so every task may call it
before it writes. Two processes calling it at once (two source DAGs starting the same night)
are serialised by a transaction-level advisory lock: ``CREATE ... IF NOT EXISTS`` alone is not
safe under concurrency (both see "not exists", one fails on the catalog's unique index).

Raw tables hold values exactly as received, all ``text``: typing and cleaning is dbt staging's
job, and a value that does not fit a type must still be loadable so it can be quarantined with
a reason instead of failing the load.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from sinergi.parse import EXPECTED_COLUMNS_BY_SOURCE
from sinergi.sources.registry import SOURCES, STATUS_OUTCOMES, SourceSpec, raw_column_name

RAW_SCHEMA = "raw"
DQ_SCHEMA = "dq"

# Lineage columns on every raw table. Their names start with "_", which raw_column_name never
# produces (it strips leading underscores), so they cannot collide with a source column.
LINEAGE_COLUMNS: tuple[str, ...] = ("_batch_id", "_source_row_number", "_loaded_at")

VERDICTS: tuple[str, ...] = ("passed", "warned", "failed", "duplicate", "missing", "incomplete")

# Fixed key for pg_advisory_xact_lock (the bytes of "sinergi" as a bigint). Every caller of
# ensure_schema takes the same key, so only one of them changes the catalog at a time.
SCHEMA_LOCK_KEY = int.from_bytes(b"sinergi", "big")


def raw_columns(source: SourceSpec | str) -> tuple[str, ...]:
    """The raw table's value columns for ``source``, in the contract's order."""
    name = source if isinstance(source, str) else source.name
    try:
        expected = EXPECTED_COLUMNS_BY_SOURCE[name]
    except KeyError:
        raise KeyError(
            f"no parser columns for source {name!r}; add it to sinergi.parse."
            "EXPECTED_COLUMNS_BY_SOURCE"
        ) from None
    return tuple(raw_column_name(column) for column in expected)


def raw_table(source: SourceSpec | str) -> sql.Identifier:
    """``raw.<source>`` as a safely quoted identifier."""
    name = source if isinstance(source, str) else source.name
    return sql.Identifier(RAW_SCHEMA, name)


_DQ_DDL: tuple[str, ...] = (
    "CREATE SCHEMA IF NOT EXISTS raw",
    "CREATE SCHEMA IF NOT EXISTS dq",
    # One row per delivery attempt (and per missing/incomplete night). The contract's columns,
    # then our own bookkeeping: where the bytes are archived, which batch is in force for its
    # (source, logical date), which batch replaced it, when the verdict was given.
    f"""
    CREATE TABLE IF NOT EXISTS dq.batch (
        batch_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source_system text NOT NULL,
        logical_date date NOT NULL,
        location text,
        content_sha256 text,
        received_at timestamptz,
        rows_received integer,
        rows_loaded integer,
        rows_quarantined integer,
        verdict text CHECK (verdict IN ({", ".join(f"'{v}'" for v in VERDICTS)})),
        verdict_reason text,
        expectations_evaluated integer,
        expectations_failed integer,
        validation_report text,
        archive_path text,
        is_current boolean NOT NULL DEFAULT false,
        superseded_by bigint REFERENCES dq.batch (batch_id),
        finished_at timestamptz,
        -- Nothing is lost: once all three counts are known they must add up.
        CONSTRAINT batch_rows_add_up CHECK (
            rows_received IS NULL OR rows_loaded IS NULL OR rows_quarantined IS NULL
            OR rows_received = rows_loaded + rows_quarantined
        ),
        -- Only a batch that passed or warned can be the one in force.
        CONSTRAINT batch_current_is_good CHECK (
            NOT is_current OR verdict IN ('passed', 'warned')
        )
    )
    """,
    # At most one batch in force per source and night: a bug that would leave two current
    # batches (and so double rows downstream) fails loudly instead.
    """
    CREATE UNIQUE INDEX IF NOT EXISTS batch_one_current_per_night
        ON dq.batch (source_system, logical_date) WHERE is_current
    """,
    # missing / incomplete are recorded once per night, however often the night is re-run.
    """
    CREATE UNIQUE INDEX IF NOT EXISTS batch_one_absence_per_night
        ON dq.batch (source_system, logical_date, verdict)
        WHERE verdict IN ('missing', 'incomplete')
    """,
    # begin_batch looks batches up by content.
    """
    CREATE INDEX IF NOT EXISTS batch_by_content
        ON dq.batch (source_system, content_sha256)
    """,
    """
    CREATE TABLE IF NOT EXISTS dq.quarantine (
        batch_id bigint NOT NULL REFERENCES dq.batch (batch_id),
        source_system text NOT NULL,
        source_row_number integer,
        source_record_id text,
        reason_code text NOT NULL,
        reason_detail text,
        raw_record jsonb NOT NULL,
        quarantined_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS quarantine_batch_id ON dq.quarantine (batch_id)",
    """
    CREATE TABLE IF NOT EXISTS dq.validation_result (
        batch_id bigint NOT NULL REFERENCES dq.batch (batch_id),
        source_system text NOT NULL,
        logical_date date NOT NULL,
        expectation text NOT NULL,
        column_name text,
        severity text,
        success boolean,
        unexpected_count bigint,
        result jsonb,
        evaluated_at timestamptz
    )
    """,
    "CREATE INDEX IF NOT EXISTS validation_result_batch_id ON dq.validation_result (batch_id)",
    # One row per business day and source, written by the warehouse DAG's
    # record_source_status task (sinergi.source_status): how the source's night ended and
    # whether its newest accepted batch is older than its calendar allows. Engineers only:
    # bi_reader reads dq.batch and nothing else of dq (contracts/WAREHOUSE.md).
    f"""
    CREATE TABLE IF NOT EXISTS dq.source_status (
        business_date date NOT NULL,
        source_system text NOT NULL,
        outcome text NOT NULL
            CHECK (outcome IN ({", ".join(f"'{o}'" for o in STATUS_OUTCOMES)})),
        latest_accepted_date date,
        last_due_date date NOT NULL,
        is_stale boolean NOT NULL,
        recorded_at timestamptz NOT NULL,
        PRIMARY KEY (business_date, source_system)
    )
    """,
)


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create (or bring up to date) schemas ``raw`` and ``dq`` and every source's raw table.

    Safe to call on every run and from several processes at once. Runs in its own transaction
    (``conn.transaction()``: committed on return when the connection was idle, a savepoint
    when the caller already has a transaction open, in which case the caller commits).
    A raw table with fewer columns than the contract now lists gets the missing ones added;
    columns are never dropped, so older batches stay readable.
    """
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        for statement in _DQ_DDL:
            cur.execute(statement)  # type: ignore[arg-type]  # constant DDL, no values
        for source in SOURCES.values():
            _ensure_raw_table(cur, source)


def _ensure_raw_table(cur: psycopg.Cursor, source: SourceSpec) -> None:
    columns = raw_columns(source)
    table = raw_table(source)
    column_defs = sql.SQL(", ").join(
        sql.SQL("{} text").format(sql.Identifier(column)) for column in columns
    )
    cur.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {table} ({columns}, "
            "_batch_id bigint NOT NULL, _source_row_number integer NOT NULL, "
            "_loaded_at timestamptz NOT NULL)"
        ).format(table=table, columns=column_defs)
    )
    # The contract grew since the table was made: add what is missing. Looked up first rather
    # than "ADD COLUMN IF NOT EXISTS" every time, because ALTER TABLE takes an exclusive lock
    # even when it changes nothing, and would block readers of raw on every run.
    cur.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s",
        (RAW_SCHEMA, source.name),
    )
    existing = {row[0] for row in cur.fetchall()}
    for column in columns:
        if column not in existing:
            cur.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} text").format(
                    table, sql.Identifier(column)
                )
            )
    cur.execute(
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (_batch_id)").format(
            sql.Identifier(f"{source.name}_batch_id"), table
        )
    )
