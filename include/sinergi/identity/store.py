"""The identity schema in PostgreSQL: what identity resolution remembers between nights.

Pipeline state like ``raw`` (dbt never rebuilds it, a dbt full refresh keeps it):

* ``identity.record``            every source record's current worker key, how it was linked
  and a fingerprint of its compared values (a changed fingerprint puts it in the night's delta);
* ``identity.link``              scored pairs at or above the review threshold (Splink's
  ``match_probability``); the links among unchanged records are reused on later nights;
* ``identity.worker_key``        every key ever issued, when, and when and into what it was
  retired (a key is never issued twice);
* ``identity.worker_key_history`` merges and splits: old key, new key, night, reason
  (published as ``marts.worker_key_history``);
* ``identity.run``               one row per night: model version, records, delta, pairs
  scored, clusters, seconds;
* ``identity.match_review``    pairs in the uncertain band for a case officer: their
  decision (``same``/``different``) is honoured on every later night. Case officers reach it
  through the dbt view ``restricted.match_review`` (a plain view, so they can UPDATE their
  decision through it); kept here so a rebuild of the dbt schemas never loses a decision;
* ``dq.linkage_metric``          per night and source: linkage measures and their check.
"""

from __future__ import annotations

import psycopg

# Same advisory-lock idea as sinergi.ingest.schema, own key ("identity" as a bigint): one
# identity step at a time changes the state.
IDENTITY_LOCK_KEY = int.from_bytes(b"identity", "big") & 0x7FFF_FFFF_FFFF_FFFF

DDL: tuple[str, ...] = (
    "CREATE SCHEMA IF NOT EXISTS identity",
    "CREATE SCHEMA IF NOT EXISTS dq",
    """
    CREATE TABLE IF NOT EXISTS identity.record (
        unique_id text PRIMARY KEY,
        source_system text NOT NULL,
        source_record_id text NOT NULL,
        fingerprint text NOT NULL,
        worker_key text NOT NULL,
        match_method text NOT NULL
            CHECK (match_method IN ('nik_exact', 'probabilistic', 'single_record')),
        link_probability numeric NOT NULL,
        first_seen_night date NOT NULL,
        changed_night date NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS record_worker_key ON identity.record (worker_key)",
    """
    CREATE TABLE IF NOT EXISTS identity.link (
        unique_id_l text NOT NULL,
        unique_id_r text NOT NULL,
        match_probability double precision NOT NULL,
        match_weight double precision NOT NULL,
        scored_night date NOT NULL,
        PRIMARY KEY (unique_id_l, unique_id_r),
        CHECK (unique_id_l < unique_id_r)
    )
    """,
    "CREATE INDEX IF NOT EXISTS link_unique_id_r ON identity.link (unique_id_r)",
    """
    CREATE TABLE IF NOT EXISTS identity.worker_key (
        worker_key text PRIMARY KEY,
        issued_night date NOT NULL,
        retired_night date,
        successor_key text
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS identity.worker_key_history (
        old_worker_key text NOT NULL,
        new_worker_key text NOT NULL,
        night date NOT NULL,
        reason text NOT NULL CHECK (reason IN ('merge', 'split')),
        records_moved integer NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (old_worker_key, new_worker_key, night)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS identity.run (
        night date NOT NULL,
        started_at timestamptz NOT NULL,
        model_version integer NOT NULL,
        mode text NOT NULL CHECK (mode IN ('incremental', 'full')),
        records integer NOT NULL,
        records_changed integer NOT NULL,
        records_removed integer NOT NULL,
        pairs_scored integer NOT NULL,
        clusters integer NOT NULL,
        keys_issued integer NOT NULL,
        keys_retired integer NOT NULL,
        seconds numeric NOT NULL,
        PRIMARY KEY (night, started_at)
    )
    """,
    # added with the size-scaled prior (identity model v1): how far match weights were moved
    "ALTER TABLE identity.run ADD COLUMN IF NOT EXISTS match_weight_shift numeric",
    """
    CREATE TABLE IF NOT EXISTS identity.match_review (
        unique_id_l text NOT NULL,
        unique_id_r text NOT NULL,
        source_system_l text NOT NULL,
        source_record_id_l text NOT NULL,
        source_system_r text NOT NULL,
        source_record_id_r text NOT NULL,
        match_probability double precision NOT NULL,
        queued_night date NOT NULL,
        decision text CHECK (decision IN ('same', 'different')),
        decided_by text,
        decided_at timestamptz,
        note text,
        PRIMARY KEY (unique_id_l, unique_id_r),
        CHECK (unique_id_l < unique_id_r)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS dq.linkage_metric (
        night date NOT NULL,
        source_system text NOT NULL,
        records integer NOT NULL,
        linked_other_source_share numeric NOT NULL,
        no_valid_nik_share numeric NOT NULL,
        in_cluster_of_1_share numeric NOT NULL,
        in_cluster_of_2_share numeric NOT NULL,
        in_cluster_of_3_to_5_share numeric NOT NULL,
        in_cluster_of_6_plus_share numeric NOT NULL,
        review_queue_size integer NOT NULL,
        status text NOT NULL CHECK (status IN ('ok', 'warn')),
        status_detail text,
        measured_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (night, source_system)
    )
    """,
)


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create what is missing; idempotent, serialised with other callers."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (IDENTITY_LOCK_KEY,))
        for statement in DDL:
            conn.execute(statement)


def lock(conn: psycopg.Connection) -> None:
    """Hold the identity lock until the current transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (IDENTITY_LOCK_KEY,))


def copy_rows(conn: psycopg.Connection, table: str, columns: tuple[str, ...], rows) -> int:
    """COPY ``rows`` (tuples in ``columns`` order) into ``table``; how many."""
    count = 0
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with conn.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def copy_from_duckdb(
    conn: psycopg.Connection, duck, query: str, table: str, columns: tuple[str, ...]
) -> int:
    """Bulk-copy the rows of a DuckDB ``query`` into PostgreSQL ``table``; how many.

    Through a CSV file (DuckDB writes it, PostgreSQL's COPY reads it): no Python per row.
    """
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="sinergi-identity-") as folder:
        path = Path(folder) / "rows.csv"
        duck.execute(f"COPY ({query}) TO '{path}' (FORMAT csv, HEADER false)")
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
        with open(path, "rb") as rows, conn.cursor().copy(statement) as copy:
            while chunk := rows.read(1 << 20):
                copy.write(chunk)
    return duck.execute(f"SELECT count(*) FROM ({query})").fetchall()[0][0]


def copy_to_duckdb(
    conn: psycopg.Connection, duck, query: str, table: str, columns: dict[str, str]
) -> None:
    """Bulk-copy the rows of a PostgreSQL ``query`` into a new DuckDB ``table``."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="sinergi-identity-") as folder:
        path = Path(folder) / "rows.csv"
        with (
            open(path, "wb") as out,
            conn.cursor().copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy,
        ):
            for chunk in copy:
                out.write(chunk)
        if path.stat().st_size == 0:  # the CSV reader cannot sniff an empty file
            typed = ", ".join(f"{name} {kind}" for name, kind in columns.items())
            duck.execute(f"CREATE OR REPLACE TABLE {table} ({typed})")
            return
        duck.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_csv(?, header = false,"
            " delim = ',', columns = ?, nullstr = '', quote = '\"', escape = '\"')",
            [str(path), columns],
        )
