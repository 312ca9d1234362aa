"""``make demo``: what Sinergi can show on a fresh machine today.

1. simulate a small world of the ministries (a few thousand persons, four weeks of nights),
2. read every delivery back with the pipeline's parsers and count rows per source,
3. start the project's own PostgreSQL and say how to reach it.

The nightly pipeline (Airflow, Great Expectations, dbt) that will load these deliveries into
the warehouse is not built yet; when it is, this demo runs it too.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sinergi.simulate.config import SimulationConfig
from sinergi.simulate.simulator import Simulator

DEMO_WORLD = SimulationConfig(persons=3000, start=date(2026, 1, 1), end=date(2026, 1, 28), seed=7)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("var/demo"))
    parser.add_argument("--no-db", action="store_true", help="do not start the embedded PostgreSQL")
    args = parser.parse_args(argv)
    console = Console()

    console.rule("1. The ministries deliver four weeks of nights")
    summary = Simulator(DEMO_WORLD, args.out).run()
    console.print(
        f"{summary.persons} persons, {summary.deliveries} deliveries, "
        f"{sum(summary.source_records.values())} source records in {args.out}/landing and "
        f"{args.out}/api; ground truth in {args.out}/truth"
    )

    console.rule("2. Every delivery read back by the pipeline's parsers")
    console.print(_parsed_table(args.out))
    truth = json.loads((args.out / "truth" / "manifest.json").read_text())
    console.print(
        f"Ground truth: {truth['overlaps']} cross-ministry overlaps, {truth['returnees']} "
        f"returnees, {truth['invalid_rows']} deliberately invalid rows to be quarantined."
    )

    if not args.no_db:
        console.rule("3. The project's own PostgreSQL")
        from sinergi.db.embedded import EmbeddedPostgres

        server = EmbeddedPostgres.from_settings()
        started = server.start()
        status = server.status()
        console.print(
            f"{'Started' if started else 'Already running'}: PostgreSQL on 127.0.0.1:"
            f"{status.port} (data in {status.data_dir}), databases warehouse and airflow."
        )
        console.print('Connect: psql "$(uv run sinergi db url)"   Stop: make db-stop')

    console.rule("Next")
    console.print(
        "Serve the KemenP2MI API from this world:\n"
        f"  SINERGI_KP2MI_TOKEN=demo uv run sinergi simulate serve-kp2mi --data {args.out}\n"
        "Not built yet: the nightly Airflow pipeline (extract, land, load, validate with Great "
        "Expectations) and the dbt warehouse; see the open issues."
    )
    return 0


def _parsed_table(world: Path) -> Table:
    from sinergi.parse import PARSERS

    with open(world / "truth" / "deliveries.csv") as f:
        deliveries = list(csv.DictReader(f))
    files: Counter[str] = Counter()
    rows: Counter[str] = Counter()
    problems: Counter[str] = Counter()
    for delivery in deliveries:
        source = delivery["source_system"]
        files[source] += 1
        for row in PARSERS[source](world / delivery["path"]):
            rows[source] += 1
            problems[source] += row.problem is not None
    table = Table("source", "deliveries", "rows parsed", "unreadable rows")
    for source in sorted(files):
        table.add_row(source, str(files[source]), str(rows[source]), str(problems[source]))
    return table


if __name__ == "__main__":
    raise SystemExit(main())
