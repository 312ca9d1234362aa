"""cProfile of one source's load step (parse + COPY into raw), beside a bare COPY of the file.

    python bench/profile_load.py umkm_penerima path/to/umkm_penerima_20260101.csv

Uses a scratch database on the warehouse's server (dropped afterwards) and prints the parser
alone, the load as the pipeline runs it (``sinergi.ingest.load_file.load_delivery``: the COPY
lane for delimited files, else parse + COPY), bare COPY, and the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).parent))
from pipeline import bare_copy, drop_database, recreate_database, with_database  # noqa: E402

DATABASE = "bench_profile_load"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()

    from sinergi import settings
    from sinergi.ingest.load_file import load_delivery
    from sinergi.ingest.schema import ensure_schema
    from sinergi.parse import PARSERS
    from sinergi.sources.registry import SOURCES

    spec = SOURCES[args.source]
    admin = with_database(settings.warehouse_url(), "postgres")
    recreate_database(admin, DATABASE)
    url = with_database(settings.warehouse_url(), DATABASE)
    try:
        began = time.perf_counter()
        rows = sum(1 for _ in PARSERS[spec.name](args.path))
        parse_seconds = time.perf_counter() - began
        with psycopg.connect(url) as conn:
            ensure_schema(conn)
            batch_id = _batch(conn, spec, args.path)
            profiler = cProfile.Profile()
            began = time.perf_counter()
            profiler.enable()
            load_delivery(conn, spec, batch_id, args.path, datetime.now(UTC))
            profiler.disable()
            conn.commit()
            load_seconds = time.perf_counter() - began
        copied = bare_copy(url, [{"source": spec.name, "action": "load",
                                  "archive_path": str(args.path)}])["files"]  # fmt: skip
        copy_seconds = sum(f["seconds"] for f in copied)
        print(f"{spec.name}: {rows:,} rows; parser alone {parse_seconds:.2f} s "
              f"({rows / parse_seconds:,.0f} rows/s); load {load_seconds:.2f} s "
              f"({rows / load_seconds:,.0f} rows/s); bare COPY {copy_seconds:.2f} s")  # fmt: skip
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(args.top)
    finally:
        drop_database(admin, DATABASE)
    return 0


def _batch(conn: psycopg.Connection, spec, path: Path) -> int:
    """A batch row for the load to hang on (lineage), as ``nightly.land`` would open it."""
    from sinergi.ingest import archive, batches

    with tempfile.TemporaryDirectory() as scratch:
        landed = archive.land_bytes_file(
            spec, date(2026, 1, 1), path, Path(scratch), location=path.name
        )
        return batches.begin_batch(conn, landed, received_at=datetime.now(UTC)).batch_id


if __name__ == "__main__":
    raise SystemExit(main())
