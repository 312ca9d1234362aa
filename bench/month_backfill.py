"""A month of nights through `sinergi run`, in order, then the same month again: nothing changes.

    python bench/month_backfill.py --persons 500 --nights 30

Simulates a world, serves its KemenP2MI API on 127.0.0.1 and runs `sinergi run --from --to`
(as its own process, as an operator does) over every night, the warehouse built after the
last one (`--warehouse-build last-night`; `--every-night` builds it nightly), on the
PostgreSQL of `$SINERGI_HOME` (use a home of its own: the run fills its `warehouse` and
`airflow` databases). Then it checks that each source's batches were booked in night order,
runs the whole month again, and compares a checksum of every table in `raw`, `dq`, `identity`
and `marts` (clock columns left out: timestamps and the run log's seconds). Writes
bench/results/month_backfill.json. `--rerun-only` runs only the second pass on a month that
an earlier call filled.

`--via airflow` does the same through Airflow's own backfill instead: `sinergi airflow up`
(its cron schedule off, as in tests/integration/test_airflow_backfill.py), then
`sinergi airflow backfill --from --to` with `--reprocess failed` the first time and
`--reprocess completed` the second, then `sinergi airflow down`. Writes
bench/results/month_backfill_airflow.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg

RESULTS = Path(__file__).resolve().parent / "results"
SCHEMAS = ("raw", "dq", "identity", "marts")
TOKEN = "bench-month-simulated-api-token"  # the simulated API on 127.0.0.1
# Rows a rerun adds by design: the identity step logs every run (identity.run).
RUN_LOGS = {("identity", "run")}


def checksums(url: str) -> dict[str, str]:
    """md5 of every table's rows (without clock columns), keyed schema.table."""
    sums = {}
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE' ORDER BY 1, 2",
            (list(SCHEMAS),),
        ).fetchall()
        for schema, table in tables:
            if (schema, table) in RUN_LOGS:
                continue
            columns = [
                name
                for name, kind in conn.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                    (schema, table),
                ).fetchall()
                if not kind.startswith("timestamp") and name not in ("seconds",)
            ]
            select = ", ".join(f'"{c}"::text' for c in columns)
            sums[f"{schema}.{table}"] = conn.execute(
                f"SELECT md5(coalesce(string_agg(r, '|' ORDER BY r), '')) FROM "
                f'(SELECT concat_ws(\',\', {select}) AS r FROM "{schema}"."{table}") AS t'
            ).fetchone()[0]
    return sums


def nights_in_order(url: str) -> list[str]:
    """Sources whose batches were not booked night after night (empty: all in order)."""
    with psycopg.connect(url) as conn:
        return [
            source
            for (source,) in conn.execute(
                "SELECT source_system FROM (SELECT source_system, logical_date, batch_id, "
                "lag(logical_date) OVER (PARTITION BY source_system ORDER BY batch_id) AS prev "
                "FROM dq.batch) AS b WHERE logical_date < prev GROUP BY 1"
            ).fetchall()
        ]


def sinergi(*args: str) -> tuple[float, int]:
    """A `sinergi` command as its own process, as an operator runs it; seconds and exit code."""
    import subprocess
    import sys

    clock = time.monotonic()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("sinergi")), *args], capture_output=True, text=True
    )
    print(done.stdout[-3000:], done.stderr[-2000:])
    return round(time.monotonic() - clock, 1), done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=500)
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--every-night", action="store_true", help="build the warehouse nightly")
    parser.add_argument("--out", type=Path, default=Path("var/month-backfill"))
    parser.add_argument(
        "--via",
        choices=("run", "airflow"),
        default="run",
        help="sinergi run, or Airflow's own backfill on `sinergi airflow up`",
    )
    parser.add_argument(
        "--rerun-only", action="store_true",
        help="the world and its month are there already (an earlier run): only run it again",
    )  # fmt: skip
    args = parser.parse_args()

    from sinergi import settings
    from sinergi.simulate.config import SimulationConfig
    from sinergi.simulate.kp2mi_api import serve_in_background
    from sinergi.simulate.simulator import Simulator

    start = date(2026, 1, 1)
    end = start + timedelta(days=args.nights - 1)
    world = args.out.resolve()
    if not args.rerun_only:
        Simulator(SimulationConfig(persons=args.persons, start=start, end=end, seed=5), world).run()
    os.environ.update(
        SINERGI_DEMO="1",
        SINERGI_LANDING_DIR=str(world / "landing"),
        SINERGI_SETTLE_SECONDS="0",
        SINERGI_KP2MI_TOKEN=TOKEN,
    )
    build = "every-night" if args.every_night else "last-night"
    result: dict = {"persons": args.persons, "nights": args.nights, "warehouse_build": build,
                    "via": args.via}  # fmt: skip
    days = ("--from", start.isoformat(), "--to", end.isoformat(), "--warehouse-build", build)
    if args.via == "airflow":
        # a DAG unpaused by the backfill would also get its latest cron night, which this
        # world has no delivery for
        os.environ["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] = "False"
        first_pass = ("airflow", "backfill", *days, "--reprocess", "failed")
        second_pass = ("airflow", "backfill", *days, "--reprocess", "completed")
    else:
        first_pass = second_pass = ("run", *days)
    with serve_in_background(world, TOKEN, rate_limit_per_second=0) as api_url:
        os.environ["SINERGI_KP2MI_URL"] = api_url
        if args.via == "airflow" and sinergi("airflow", "up")[1] != 0:
            raise SystemExit("sinergi airflow up failed")
        try:
            if not args.rerun_only:
                result["first_seconds"], result["first_exit_code"] = sinergi(*first_pass)
            url = settings.warehouse_url()
            first = checksums(url)
            result["again_seconds"], result["again_exit_code"] = sinergi(*second_pass)
            again = checksums(url)
            # before `down`: with --via airflow, `down` stops the PostgreSQL `up` started
            result["sources_out_of_order"] = nights_in_order(url)
        finally:
            if args.via == "airflow":
                sinergi("airflow", "down")
    result["tables_compared"] = len(first)
    result["tables_changed_by_the_rerun"] = sorted(t for t in first if first[t] != again.get(t))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("month_backfill.json" if args.via == "run" else "month_backfill_airflow.json")
    if args.rerun_only and out.is_file():  # keep the first run's numbers
        result = json.loads(out.read_text()) | result
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
