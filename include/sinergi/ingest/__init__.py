"""Land, book and load deliveries: the archive, ``dq.batch`` bookkeeping and COPY into raw.

Plain Python and psycopg, no Airflow: the source DAGs call these functions. See
``sinergi.ingest.batches`` for the flow of one source and night.
"""

from __future__ import annotations

from sinergi.ingest.archive import (
    ArchiveError,
    DeliveryNotFound,
    LandedDelivery,
    api_window_location,
    land_bytes_file,
    land_file,
)
from sinergi.ingest.batches import (
    BatchStart,
    CurrentBatch,
    begin_batch,
    current_batches,
    fail_batch,
    finish_batch,
    has_loaded_before,
    record_incomplete,
    record_missing,
)
from sinergi.ingest.load import LoadCounts, batch_row_counts, load_rows, quarantine_rows
from sinergi.ingest.schema import ensure_schema, raw_columns, raw_table

__all__ = [
    "ArchiveError",
    "BatchStart",
    "CurrentBatch",
    "DeliveryNotFound",
    "LandedDelivery",
    "LoadCounts",
    "api_window_location",
    "batch_row_counts",
    "begin_batch",
    "current_batches",
    "ensure_schema",
    "fail_batch",
    "finish_batch",
    "has_loaded_before",
    "land_bytes_file",
    "land_file",
    "load_rows",
    "quarantine_rows",
    "raw_columns",
    "raw_table",
    "record_incomplete",
    "record_missing",
]
