"""Airflow's own backfill on the real local stack (``sinergi airflow up``): ordered,
idempotent, resumable after a failed night.

A tiny simulated world of three nights (1-3 January 2026), two sources (KemenP2MI placements
by API, UMKM by file drop: the cheapest pair that still shows a night's order, the API
catch-up and a file that does not come). UMKM's delivery of 2 January is held back.

1. ``sinergi airflow backfill`` (one Airflow backfill per ingest DAG, max_active_runs 1, no
   warehouse build): every source's runs execute one after another in logical-date order;
   UMKM's second night fails (``missing``) and its third night still runs; exit code 1;
2. the delivery arrives; the same command (``--reprocess failed``) reruns just that night:
   ``dq.batch`` holds one current, accepted batch per source and night;
3. the whole backfill again with ``--reprocess completed``: every run again, and ``dq.batch``
   and the raw tables are identical (rows and checksums).

The scheduler's own cron schedule is off in this test (``[scheduler] use_job_schedule``):
unpausing a DAG would otherwise also create its latest scheduled night (catchup is off), a
night in 2026-11 this world has no delivery for. Backfill runs are not affected by it.
Every process the test starts is stopped by ``sinergi airflow down``, also on failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time as clock
import urllib.request
from datetime import date, datetime, time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from sinergi.pipeline import WIB
from sinergi.simulate.config import SimulationConfig
from sinergi.simulate.kp2mi_api import serve_in_background
from sinergi.simulate.simulator import Simulator
from tests.integration.test_airflow_services import _free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORLD = SimulationConfig(persons=40, start=date(2026, 1, 1), end=date(2026, 1, 3), seed=7)
NIGHTS = [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]
SOURCES = ("kp2mi_pmi", "umkm_penerima")
HELD_BACK = ("umkm/umkm_penerima_20260102.csv", "umkm/umkm_penerima_20260102.csv.ok")
TOKEN = "backfill-test-token"
PII_KEY = "backfill-test-hmac-key-0123456789abcdef"
SINERGI = Path(sys.executable).with_name("sinergi")
BATCH_COLUMNS = (
    "batch_id, source_system, logical_date, location, content_sha256, rows_received, "
    "rows_loaded, rows_quarantined, verdict, is_current, superseded_by"
)


def _sinergi(env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SINERGI), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _backfill(env: dict, reprocess: str) -> subprocess.CompletedProcess:
    args = ["airflow", "backfill", "--from", "2026-01-01", "--to", "2026-01-03"]
    args += [f"--source={name}" for name in SOURCES]
    began = clock.monotonic()
    done = _sinergi(env, *args, "--reprocess", reprocess, "--warehouse-build", "none")
    print(f"backfill --reprocess {reprocess}: {clock.monotonic() - began:.0f} s\n{done.stdout}")
    return done


def _warehouse_url(env: dict) -> str:
    url = _sinergi(env, "db", "url")
    assert url.returncode == 0, url.stderr
    return url.stdout.strip().splitlines()[-1]


def _api(env: dict, path: str) -> dict:
    home = Path(env["SINERGI_HOME"])
    password = json.loads((home / "airflow/simple_auth_manager_passwords.json").read_text())
    base = f"http://127.0.0.1:{env['SINERGI_AIRFLOW_PORT']}"
    body = json.dumps({"username": "admin", "password": password["admin"]}).encode()
    request = urllib.request.Request(
        f"{base}/auth/token", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        token = json.loads(reply.read())["access_token"]
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())


def _runs(env: dict, source: str) -> list[dict]:
    """The DAG's backfill runs (one per night: a rerun clears and reuses the night's run)."""
    reply = _api(env, f"/api/v2/dags/ingest_{source}/dagRuns?limit=100&order_by=logical_date")
    return [run for run in reply["dag_runs"] if run["run_type"] == "backfill"]


def _assert_in_order(runs: list[dict]) -> None:
    """One run per night, each started after the previous night's run ended."""
    days = [datetime.fromisoformat(run["logical_date"]).astimezone(WIB) for run in runs]
    assert days == [datetime.combine(d, time(2), WIB) for d in NIGHTS], runs
    starts = [datetime.fromisoformat(run["start_date"]) for run in runs]
    ends = [datetime.fromisoformat(run["end_date"]) for run in runs]
    for n in range(1, len(runs)):
        assert starts[n] >= ends[n - 1], f"night {n + 1} started before night {n} ended: {runs}"


def _batches(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            f"SELECT {BATCH_COLUMNS} FROM dq.batch WHERE source_system = ANY(%s) "
            "ORDER BY source_system, logical_date, batch_id",
            (list(SOURCES),),
        ).fetchall()


def _raw_checksums(url: str) -> dict[str, tuple[int, str]]:
    """(rows, md5 of the ordered rows without the load time) of each source's raw table."""
    sums = {}
    with psycopg.connect(url) as conn:
        for source in SOURCES:
            columns = [
                c
                for (c,) in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE "
                    "table_schema = 'raw' AND table_name = %s ORDER BY ordinal_position",
                    (source,),
                )
                if c != "_loaded_at"
            ]
            select = sql.SQL("SELECT {} FROM {}").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier("raw", source)
            )
            sums[source] = conn.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(r::text, E'\\n' ORDER BY "
                    "r::text), '')) FROM ({}) AS r"
                ).format(select)
            ).fetchone()
    return sums


def _current(url: str) -> dict[tuple[str, date], tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT source_system, logical_date, verdict, rows_received, rows_loaded, "
            "rows_quarantined, count(*) OVER (PARTITION BY source_system, logical_date) "
            "FROM dq.batch WHERE is_current AND source_system = ANY(%s)",
            (list(SOURCES),),
        ).fetchall()
    return {(s, d): rest for s, d, *rest in rows}


@pytest.fixture
def world(pg_tmp_path: Path) -> Path:
    out = pg_tmp_path / "world"
    Simulator(WORLD, out).run()
    return out


@pytest.fixture
def stack_env(pg_tmp_path: Path, world: Path):
    """The environment of `sinergi airflow up` (and of the backfill command), with the
    world's KemenP2MI API served on 127.0.0.1 for the test's duration."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AIRFLOW")
        and key not in ("SINERGI_WAREHOUSE_URL", "SINERGI_AIRFLOW_DB_URL", "SINERGI_DB_DIR")
    }
    with serve_in_background(world, TOKEN, rate_limit_per_second=0) as api_url:
        env.update(
            SINERGI_HOME=str(pg_tmp_path / "home"),
            SINERGI_DB_PORT=str(_free_port()),
            SINERGI_AIRFLOW_PORT=str(_free_port()),
            SINERGI_LANDING_DIR=str(world / "landing"),
            SINERGI_SETTLE_SECONDS="0",
            SINERGI_PII_KEY=PII_KEY,
            SINERGI_KP2MI_URL=api_url,
            SINERGI_KP2MI_TOKEN=TOKEN,
            SINERGI_LINEAGE="off",
            AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",
        )
        yield env


@pytest.mark.timeout(900)
def test_backfill_ordered_resumable_idempotent(stack_env: dict, world: Path) -> None:
    env = stack_env
    landing = world / "landing"
    held = world / "held"
    for name in HELD_BACK:
        (held / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(landing / name, held / name)
    began = clock.monotonic()
    try:
        up = _sinergi(env, "airflow", "up", timeout=300)
        assert up.returncode == 0, up.stdout + up.stderr
        print(f"up: {clock.monotonic() - began:.0f} s")
        url = _warehouse_url(env)

        # 1. Three nights of both sources; UMKM's second night has no delivery.
        first = _backfill(env, "failed")
        assert first.returncode == 1, first.stdout + first.stderr
        assert "2026-01-02  ingest_umkm_penerima" in first.stdout
        for source in SOURCES:
            runs = _runs(env, source)
            _assert_in_order(runs)
            states = [run["state"] for run in runs]
            expected = ["success", "failed", "success"] if source == "umkm_penerima" else None
            assert states == (expected or ["success"] * 3), (source, states)
        # the night is recorded missing (not in force), the other five are
        assert set(_current(url)) == {(s, d) for s in SOURCES for d in NIGHTS} - {
            ("umkm_penerima", NIGHTS[1])
        }
        umkm_night_2 = [b for b in _batches(url) if b[1] == "umkm_penerima" and b[2] == NIGHTS[1]]
        assert [b[8] for b in umkm_night_2] == ["missing"], umkm_night_2
        # each source's nights loaded in order: batch ids grow with the logical date
        for source in SOURCES:
            ids = [b[0] for b in _batches(url) if b[1] == source and b[8] != "missing"]
            assert ids == sorted(ids), _batches(url)

        # Backfill runs report like scheduled ones: an outcome Asset event per night.
        events = _api(
            env,
            "/api/v2/assets/events?source_dag_id=ingest_umkm_penerima"
            "&source_task_id=report_outcome&order_by=timestamp&limit=100",
        )["asset_events"]
        assert [(e["extra"]["business_date"], e["extra"]["outcome"]) for e in events] == [
            ("2026-01-01", "landed"),
            ("2026-01-02", "missing"),
            ("2026-01-03", "landed"),
        ], events

        # 2. The delivery arrives: rerunning just the failed night converges.
        for name in HELD_BACK:
            shutil.move(held / name, landing / name)
        resumed = _backfill(env, "failed")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        lines = [line for line in resumed.stdout.splitlines() if line.startswith("2026-")]
        assert lines == [lines[0]] and "2026-01-02  ingest_umkm_penerima" in lines[0], lines
        current = _current(url)
        assert set(current) == {(s, d) for s in SOURCES for d in NIGHTS}, current
        for key, (verdict, received, loaded, quarantined, count) in current.items():
            assert count == 1, key
            assert verdict in ("passed", "warned"), (key, verdict)
            assert received == loaded + quarantined, key
        batches, raw = _batches(url), _raw_checksums(url)
        assert all(rows > 0 for rows, _ in raw.values()), raw

        # 3. The whole backfill again, every night reprocessed: nothing changes.
        again = _backfill(env, "completed")
        assert again.returncode == 0, again.stdout + again.stderr
        assert len([line for line in again.stdout.splitlines() if "success" in line]) == 6
        for source in SOURCES:
            runs = _runs(env, source)
            _assert_in_order(runs)
            assert [run["state"] for run in runs] == ["success"] * 3
        assert _batches(url) == batches
        assert _raw_checksums(url) == raw

        # The warehouse DAG was paused during the backfills and is as it was (paused).
        assert _api(env, "/api/v2/dags/warehouse")["is_paused"] is True
        print(f"total: {clock.monotonic() - began:.0f} s")
    finally:
        stopped = _sinergi(env, "airflow", "down", timeout=120)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
