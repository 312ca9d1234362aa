"""End to end: ``sinergi run`` on a small simulated world, checked against the simulator's
ground truth, then run again to show a re-run changes nothing.

``sinergi run`` runs as the operator would type it (a separate process, its own Airflow
metadata database on the test PostgreSQL, its own SINERGI_HOME), against a fresh warehouse.
"""

from __future__ import annotations

import csv
import gzip
import os
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from sinergi.pipeline import MARTS  # the contract's marts, listed once
from sinergi.simulate.config import SimulationConfig
from sinergi.simulate.kp2mi_api import serve_in_background
from sinergi.simulate.simulator import Simulator
from tests.conftest import url_with_database

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORLD = SimulationConfig(persons=300, start=date(2026, 1, 1), end=date(2026, 1, 4), seed=11)
TOKEN = "e2e-token"
PII_KEY = "e2e-test-hmac-key-0123456789abcdef"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    Simulator(WORLD, out).run()
    return out


@pytest.fixture(scope="module")
def airflow_database(postgres_admin_url):
    """A fresh database for Airflow's metadata, as the embedded server's `airflow` would be."""
    name = f"sinergi_test_airflow_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield url_with_database(postgres_admin_url, name)
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def sinergi_run(world, fresh_database, airflow_database, tmp_path):
    """``sinergi run --from 2026-01-01 --to 2026-01-04`` as a function of nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SINERGI_"))}
    env.update(
        SINERGI_HOME=str(tmp_path / "home"),
        SINERGI_WAREHOUSE_URL=fresh_database,
        SINERGI_AIRFLOW_DB_URL=airflow_database,
        SINERGI_LANDING_DIR=str(world / "landing"),
        SINERGI_SETTLE_SECONDS="0",
        SINERGI_PII_KEY=PII_KEY,
        SINERGI_KP2MI_TOKEN=TOKEN,
    )
    sinergi = str(Path(sys.executable).with_name("sinergi"))
    with serve_in_background(world, TOKEN, rate_limit_per_second=0) as api_url:
        env["SINERGI_KP2MI_URL"] = api_url

        def run() -> subprocess.CompletedProcess:
            return subprocess.run(
                [sinergi, "run", "--from", "2026-01-01", "--to", "2026-01-04",
                 "--warehouse-build", "last-night"],
                env=env, capture_output=True, text=True, timeout=1200,
            )  # fmt: skip

        yield run, fresh_database, tmp_path / "home"


def query(url: str, statement: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(statement).fetchall()


def marts_contents(url: str) -> dict[str, list[tuple]]:
    return {table: query(url, f"SELECT * FROM marts.{table} ORDER BY 1, 2, 3") for table in MARTS}


def overlap_pairs(url: str) -> set[tuple]:
    """Each overlap as (category, {(source, record id) of a, (source, record id) of b})."""
    rows = query(
        url,
        "SELECT o.category, a.source_system, a.source_record_id, b.source_system, "
        "b.source_record_id FROM marts.fct_enrollment_overlap AS o "
        "INNER JOIN marts.fct_enrollment AS a ON a.enrollment_key = o.enrollment_key_a "
        "INNER JOIN marts.fct_enrollment AS b ON b.enrollment_key = o.enrollment_key_b",
    )
    return {(c, frozenset({(sa, ra), (sb, rb)})) for c, sa, ra, sb, rb in rows}


def truth_overlaps(world: Path) -> tuple[set[tuple], set[tuple]]:
    """(every true overlap, those between two records with valid NIKs)."""
    every, valid = set(), set()
    with gzip.open(world / "truth" / "overlaps.csv.gz", "rt", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            pair = (
                row["category"],
                frozenset(
                    {
                        (row["source_system_a"], row["source_record_id_a"]),
                        (row["source_system_b"], row["source_record_id_b"]),
                    }
                ),
            )
            every.add(pair)
            if row["both_nik_valid"] in ("1", "true", "True"):
                valid.add(pair)
    return every, valid


@pytest.mark.timeout(1800)  # two `sinergi run`s of 4 nights: minutes, more on a busy machine
def test_sinergi_run_end_to_end_and_again(sinergi_run, world):
    run, url, home = sinergi_run
    first = run()
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    lines = [line for line in first.stdout.splitlines() if line.startswith("2026-01-0")]
    assert len([line for line in lines if "warehouse" in line]) == 1
    assert len(lines) == 4 * 9 + 1, "a line per source and night, and the build"
    assert (home / "airflow" / "logs" / "sinergi-run.log").is_file()

    marts = marts_contents(url)
    assert all(marts[t] for t in ("dim_worker", "fct_enrollment", "dim_program")), {
        t: len(rows) for t, rows in marts.items()
    }

    # Overlaps: NIK-exact identity finds every overlap between records with valid NIKs, and
    # the mart holds no overlap that is not real.
    every, valid = truth_overlaps(world)
    found = overlap_pairs(url)
    assert valid, "the world has overlaps to find"
    assert valid - found == set(), "overlaps between records with valid NIKs are missed"
    assert found - every == set(), "false overlaps"

    # The mart has a row per returned worker; the truth a row per returned placement.
    with open(world / "truth" / "returnees.csv", encoding="utf-8") as f:
        returnees = len({row["person_id"] for row in csv.DictReader(f)})
    assert len(marts["mart_returnee_pathways"]) == returnees

    # identity resolution ran inside the build and measured every person source
    sources = {s for (s,) in query(url, "SELECT DISTINCT source_system FROM identity.record")}
    measured = query(url, "SELECT source_system FROM dq.linkage_metric WHERE night = '2026-01-04'")
    assert len(sources) == 6 and {s for (s,) in measured} == sources

    unbalanced = query(
        url,
        "SELECT batch_id, source_system, rows_received, rows_loaded, rows_quarantined "
        "FROM dq.batch WHERE rows_received IS NOT NULL "
        "AND rows_received <> rows_loaded + rows_quarantined",
    )
    assert unbalanced == [], "every received row is loaded or quarantined"

    second = run()
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    assert marts_contents(url) == marts, "re-running the nights changed the marts"
