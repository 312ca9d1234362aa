"""Load an archived delivery file into raw: through a COPY lane where one fits, else the parser.

``load_rows`` over the source's parser (``sinergi.parse.PARSERS``) is the reference, and every
source can be loaded that way. The delimited sources also have a COPY lane
(``sinergi.ingest.copy_csv``) that writes the same rows and problem rows several times faster.
(JSONL stays with the parser: decoding it in PostgreSQL, ``jsonb`` and ``jsonb_to_record``,
measured no faster than Python's ``json``; see docs/BENCHMARKS.md.)
When the lane cannot take a file (a damaged header, bytes that are not UTF-8, ...) it says why,
what it wrote is rolled back to a savepoint, and the parser loads the file and names the
problem as it always has.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import psycopg

from sinergi.ingest.copy_csv import NeedsParser, load_delimited
from sinergi.ingest.load import LoadCounts, clear_batch_rows, load_rows
from sinergi.parse import DELIMITED_FORMATS, PARSERS
from sinergi.parse.umkm import SOURCE as UMKM
from sinergi.parse.umkm import check_umkm_complete, check_umkm_row_count
from sinergi.sources.registry import SourceSpec

log = logging.getLogger(__name__)


def load_delivery(
    conn: psycopg.Connection,
    source: SourceSpec,
    batch_id: int,
    path: Path,
    loaded_at: datetime,
) -> LoadCounts:
    """Load the delivery at ``path`` into ``raw.<source>`` as batch ``batch_id``.

    The same contract as ``load_rows``: idempotent (the batch's earlier rows are replaced),
    ``received == loaded + unreadable``, a ``DeliveryError`` for a file that cannot be read as
    a whole; the caller commits, or rolls back on an error.
    """
    if loaded_at.tzinfo is None:
        # A naive time would be read in the session's time zone: ambiguous lineage.
        raise ValueError("load_delivery: loaded_at must be timezone-aware (datetime.now(UTC))")
    fmt = DELIMITED_FORMATS.get(source.name)
    if fmt is not None:
        # UMKM's control file first, as its parser does: the CSV must be the one it describes.
        expected_rows = check_umkm_complete(path) if source.name == UMKM else None
        clear_batch_rows(conn, source, batch_id)  # opens the transaction the savepoint is in
        try:
            with conn.transaction():
                counts = load_delimited(conn, source, batch_id, path, loaded_at, fmt)
        except NeedsParser as reason:
            log.info("%s batch %s: loading through the parser: %s", source.name, batch_id, reason)
        else:
            if expected_rows is not None:
                check_umkm_row_count(path, counts.received, expected_rows)
            return counts
    return load_rows(conn, source, batch_id, PARSERS[source.name](path), loaded_at)
