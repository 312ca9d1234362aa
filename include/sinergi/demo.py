"""``make demo``: the whole nightly pipeline on a simulated world, on this machine.

1. simulate a small world of the ministries (2,000 persons, 1–14 January 2026),
2. start the project's own PostgreSQL and serve the simulated KemenP2MI API in the background,
3. run every night through Airflow with ``sinergi run`` logic: each source's ingest DAG
   (extract, land, load, validate), then the warehouse DAG (dbt through Cosmos),
4. print what the warehouse now holds and where to look next.

Demo mode (``SINERGI_DEMO=1``) uses the fixed demo HMAC key: simulated people only. The
warehouse is built once, after the last night (``--warehouse-build last-night``): the same
marts as a build every night, in a fraction of the time (see ``sinergi.pipeline``).
Everything is idempotent: running the demo again changes nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sinergi.simulate.config import SimulationConfig
from sinergi.simulate.simulator import Simulator

DEMO_WORLD = SimulationConfig(persons=2000, start=date(2026, 1, 1), end=date(2026, 1, 14), seed=7)
DEMO_TOKEN = "sinergi-demo-token"
BI_LOGIN = "bi_reader_demo"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("var/demo"))
    args = parser.parse_args(argv)
    console = Console()
    started = time.perf_counter()
    out = args.out.resolve()

    console.rule("1. The ministries deliver two weeks of nights")
    summary = Simulator(DEMO_WORLD, out).run()
    console.print(
        f"{summary.persons} persons, {summary.deliveries} deliveries, "
        f"{sum(summary.source_records.values())} source records in {out}/landing and "
        f"{out}/api; ground truth in {out}/truth"
    )

    console.rule("2. PostgreSQL and the KemenP2MI API")
    from sinergi.db.embedded import EmbeddedPostgres
    from sinergi.simulate.kp2mi_api import serve_in_background

    server = EmbeddedPostgres.from_settings()
    started_now = server.start()
    status = server.status()
    console.print(
        f"{'Started' if started_now else 'Already running'}: PostgreSQL on 127.0.0.1:"
        f"{status.port} (data in {status.data_dir}), databases warehouse and airflow."
    )
    os.environ.update(
        SINERGI_DEMO="1",
        SINERGI_LANDING_DIR=str(out / "landing"),
        SINERGI_SETTLE_SECONDS="0",  # the files were all written a moment ago
        SINERGI_KP2MI_TOKEN=DEMO_TOKEN,
        AIRFLOW__LOGGING__LOGGING_LEVEL=os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR"),
    )
    from sinergi import pipeline

    with serve_in_background(out, DEMO_TOKEN, rate_limit_per_second=0) as api_url:
        os.environ["SINERGI_KP2MI_URL"] = api_url
        console.print(f"KemenP2MI API simulator at {api_url}")

        console.rule("3. Every night through Airflow: ingest per source, then the warehouse")
        result = pipeline.run(
            DEMO_WORLD.start,
            DEMO_WORLD.end,
            warehouse_build="last-night",
            say=lambda line: console.print(line, soft_wrap=True, highlight=False),
        )

    from sinergi import settings

    url = settings.warehouse_url()
    console.rule("4. What the warehouse holds")
    _print_summary(console, url, out)
    docs = _dbt_docs(console, url)
    password = _bi_login(url)

    console.rule("Where to look next")
    from sinergi.db.embedded import find_bin_dir

    psql = find_bin_dir() / "psql"
    lines = [
        f"Data Docs (validation results for the ministries' stewards): "
        f"{settings.data_docs_dir() / 'index.html'}",
        f"dbt docs (models, columns, lineage): {docs}" if docs else "dbt docs: not generated",
        "Airflow UI: `make up` starts it on 127.0.0.1 and prints the address and the "
        "generated admin password; every run above is there (Airflow's metadata database "
        f"is the `airflow` database of this PostgreSQL, home {settings.sinergi_home() / 'airflow'}"
        "). `make down` stops it.",
    ]
    if password:
        lines.append(
            f"Query the marts as BI would (login {BI_LOGIN}, member of bi_reader; the password "
            "is shown only this once):\n"
            f'  {psql} "postgresql://{BI_LOGIN}:{password}@127.0.0.1:{status.port}/warehouse"'
            "\n  then e.g.  select category, count(*) from marts.fct_enrollment_overlap "
            "group by 1;"
        )
    else:
        lines.append(
            "No bi_reader role in the warehouse (the dbt grants did not run): query as the "
            f'superuser instead: {psql} "$(uv run sinergi db url)"'
        )
    lines.append("Stop PostgreSQL: make db-stop.   Run more nights: uv run sinergi run --help")
    console.print("\n".join(lines))
    minutes, seconds = divmod(round(time.perf_counter() - started), 60)
    console.print(f"Demo took {minutes} min {seconds} s.")
    return result.exit_code


def _print_summary(console: Console, url: str, world: Path) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        table = Table("source", "batches", "rows loaded", "rows quarantined", "not passed")
        for source, batches, loaded, quarantined, bad in conn.execute(
            "SELECT source_system, count(*), coalesce(sum(rows_loaded), 0), "
            "coalesce(sum(rows_quarantined), 0), "
            "count(*) FILTER (WHERE verdict NOT IN ('passed', 'warned')) "
            "FROM dq.batch WHERE is_current GROUP BY 1 ORDER BY 1"
        ):
            table.add_row(source, str(batches), str(loaded), str(quarantined), str(bad))
        console.print(table)
        if not _has_table(conn, "marts", "dim_worker"):
            console.print("[red]No marts: the warehouse build did not run (see above).[/red]")
            return
        workers, migrants, linked = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE is_migrant_worker), "
            "count(*) FILTER (WHERE source_record_count > 1) FROM marts.dim_worker"
        ).fetchone()
        console.print(
            f"Workers: {workers} harmonised persons ({migrants} migrant workers; {linked} "
            "seen in more than one source record)."
        )
        overlaps = Table("overlap category", "overlaps", "workers")
        for category, count, people in conn.execute(
            "SELECT category, count(*), count(DISTINCT worker_key) "
            "FROM marts.fct_enrollment_overlap GROUP BY 1 ORDER BY 2 DESC"
        ):
            overlaps.add_row(category, str(count), str(people))
        console.print(overlaps)
        returnees, reached = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE first_program_date_after_return IS NOT NULL)"
            " FROM marts.mart_returnee_pathways"
        ).fetchone()
    truth = json.loads((world / "truth" / "manifest.json").read_text())
    with open(world / "truth" / "returnees.csv", encoding="utf-8") as f:
        true_returnees = len({row["person_id"] for row in csv.DictReader(f)})
    share = f"{reached / returnees:.0%}" if returnees else "n/a"
    console.print(
        f"Returnees: {returnees} returned workers (ground truth: {true_returnees} persons); "
        f"{reached} ({share}) joined a programme after coming home. Ground truth overlaps: "
        f"{truth['overlaps']}."
    )


def _has_table(conn, schema: str, name: str) -> bool:
    return bool(
        conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (schema, name),
        ).fetchone()
    )


def _dbt_docs(console: Console, url: str) -> Path | None:
    """``dbt docs generate --static`` into $SINERGI_HOME/dbt_docs: one HTML file to open."""
    from sinergi import dbt_runner, settings

    target = settings.sinergi_home() / "dbt_docs"
    try:
        dbt_runner.run_dbt(
            ["docs", "generate", "--static"],
            dbt_runner.dbt_environment(url, dbt_runner.pii_key()),
            target_path=target,
            dbt_vars={"logical_date": DEMO_WORLD.end.isoformat()},
        )
    except dbt_runner.DbtError as error:
        console.print(f"[yellow]dbt docs not generated: {error}[/yellow]")
        return None
    return target / "static_index.html"


def _bi_login(url: str) -> str | None:
    """A demo login in role ``bi_reader`` with a fresh password (printed once, never
    stored); None when the warehouse has no ``bi_reader`` role yet."""
    import psycopg
    from psycopg import sql

    password = secrets.token_urlsafe(12)
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'bi_reader'").fetchone():
            return None
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (BI_LOGIN,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(BI_LOGIN), sql.Literal(password)
            )
        )
        conn.execute(sql.SQL("GRANT bi_reader TO {}").format(sql.Identifier(BI_LOGIN)))
    return password


if __name__ == "__main__":
    raise SystemExit(main())
