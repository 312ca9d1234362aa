"""Crash and restart: a night interrupted the hard way converges, on rerun, to a clean run.

* ``kill -9`` of the worker process in the middle of the load (COPY half sent) and in the
  middle of validation (rows already moved to quarantine and committed, verdict not given);
* PostgreSQL stopped in the middle of the load (fast shutdown: sessions cut), then started;
* the KemenP2MI API down for a whole night: the next night's extract catches the window up.

After the rerun, every raw table and ``dq.batch`` / ``dq.quarantine`` /
``dq.validation_result`` have the same checksum (md5 of their ordered rows, wall-clock
metadata and local paths left out) as a clean run of the same deliveries in another database.

Reproduce: ``.venv/bin/pytest tests/integration/test_crash_and_restart.py`` (marker ``crash``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time as clock
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from sinergi.simulate.kp2mi_api import serve_in_background
from sinergi.sources.registry import SOURCES
from tests.conftest import _create_database, _drop_database, _free_port, url_with_database
from tests.integration import test_bad_inputs as corpus
from tests.integration.test_bad_inputs import (
    KEMENKOP,
    PMI,
    TOKEN,
    UMKM,
    WIB,
    Deployment,
    _kemenkop,
    _umkm,
    kemenkop_row,
    kemenkop_text,
    night_batches,
    pmi_record,
    query,
    run_night,
    umkm_row,
)

pytestmark = [pytest.mark.integration, pytest.mark.crash]

deployment = corpus.deployment  # the fixture: a fresh warehouse, landing dir and home

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KILL_AFTER_ROWS = 1000


def write_night(landing: Path) -> None:
    """UMKM's delta and a Kemenkop snapshot of 3,000 members, some bad (quarantined at load
    and at validation), so that a crash has partial rows in raw and quarantine to leave."""
    _umkm([umkm_row(n) for n in range(1, 40)])(landing)
    rows = [kemenkop_row(n) for n in range(1, 3001)]
    for n in range(0, 3000, 97):
        rows[n]["tanggal_masuk"] = "20250230"  # impossible date: quarantined by validation
    text = kemenkop_text(rows) + "320901234567,SHORT ROW\n"  # unreadable: quarantined at load
    _kemenkop(text)(landing)


# --------------------------------------------------------------------------- checksums

_DQ = {
    "dq.batch": "source_system, logical_date, location, content_sha256, rows_received, "
    "rows_loaded, rows_quarantined, verdict, verdict_reason, expectations_evaluated, "
    "expectations_failed, is_current, superseded_by, batch_id",
    "dq.quarantine": "batch_id, source_system, source_row_number, source_record_id, "
    "reason_code, reason_detail, raw_record",
    "dq.validation_result": "batch_id, source_system, logical_date, expectation, column_name, "
    "severity, success, unexpected_count",
}


def checksums(url: str) -> dict[str, tuple[int, str]]:
    """(row count, md5 of the ordered rows) of every raw table and of dq's tables."""
    result = {}
    with psycopg.connect(url) as conn:
        tables = {f"raw.{name}": None for name in SOURCES} | _DQ
        for table, columns in tables.items():
            schema, name = table.split(".")
            if columns is None:  # raw: every column but the load time
                columns = ", ".join(
                    f'"{c}"'
                    for (c,) in conn.execute(
                        "SELECT column_name FROM information_schema.columns WHERE "
                        "table_schema = %s AND table_name = %s AND column_name <> '_loaded_at' "
                        "ORDER BY ordinal_position",
                        (schema, name),
                    )
                )
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), "
                    "'')) FROM (SELECT {} FROM {}) AS r"
                ).format(sql.SQL(columns), sql.Identifier(schema, name))
            ).fetchone()
            result[table] = (row[0], row[1])
    return result


def run_nights(url: str) -> None:
    for spec in (UMKM, KEMENKOP):
        run_night(spec, url)


@pytest.fixture
def scratch_database(postgres_admin_url) -> Iterator[str]:
    """Another empty database on the test server, for the clean run to compare with."""
    name = _create_database(postgres_admin_url, "sinergi_test_clean")
    try:
        yield url_with_database(postgres_admin_url, name)
    finally:
        _drop_database(postgres_admin_url, name)


@pytest.fixture
def clean_run(scratch_database, tmp_path_factory, monkeypatch) -> dict[str, tuple[int, str]]:
    """The checksums of an uninterrupted night of the same deliveries."""
    root = tmp_path_factory.mktemp("clean")
    with monkeypatch.context() as env:
        env.setenv("SINERGI_HOME", str(root / "home"))
        env.setenv("SINERGI_LANDING_DIR", str(root / "landing"))
        env.setenv("SINERGI_SETTLE_SECONDS", "0")
        write_night(root / "landing")
        run_nights(scratch_database)
        sums = checksums(scratch_database)
    assert sums["raw.kemenkop_anggota"][0] > 2900 and sums["dq.quarantine"][0] > 30, sums
    return sums


# --------------------------------------------------------------------------- kill -9

_WORKER = """
import sys, time
from datetime import datetime, time as clock
from zoneinfo import ZoneInfo
from sinergi import parse
from sinergi.ingest import batches, nightly
from sinergi.sources.registry import SOURCES

spec, url, where, marker = SOURCES[sys.argv[1]], sys.argv[2], sys.argv[3], sys.argv[4]
after_rows = int(sys.argv[5])

def pause(*args, **kwargs):
    open(marker, "w").close()  # tell the test we are where it wants to kill us
    time.sleep(600)

if where == "load":
    parse_rows = parse.PARSERS[spec.name]
    def slow_parser(path):
        for number, row in enumerate(parse_rows(path)):
            if number == after_rows:
                pause()
            yield row
    parse.PARSERS[spec.name] = slow_parser
else:  # validation ran (rows moved to quarantine, results stored), no verdict given yet
    batches.finish_batch = pause

night = nightly.plan(spec, datetime(2026, 1, 5, 2, tzinfo=ZoneInfo("Asia/Jakarta")), url)
after_deadlines = datetime(2100, 1, 1, tzinfo=ZoneInfo("UTC"))
delivery = nightly.poke_file_drop(spec, night, url, now=after_deadlines)
nightly.validate(spec, nightly.load(spec, nightly.land(spec, delivery, url), url), url)
"""


def kill_worker_midway(spec, url: str, where: str, tmp_path: Path) -> None:
    """Run the night of ``spec`` in a worker process and SIGKILL it at ``where``."""
    marker = tmp_path / f"reached-{where}"
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER, spec.name, url, where, str(marker),
         str(KILL_AFTER_ROWS)],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = clock.monotonic() + 600  # a busy machine imports slowly
        while not marker.exists():
            assert worker.poll() is None, worker.communicate()[0][-3000:]
            assert clock.monotonic() < deadline, "the worker never reached the kill point"
            clock.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


@pytest.mark.parametrize("where", ["load", "validate"])
def test_kill_9_of_the_worker_then_rerun_equals_a_clean_run(
    deployment: Deployment, clean_run, tmp_path, where: str
) -> None:
    url = deployment.url
    write_night(deployment.landing)
    assert run_night(UMKM, url).error is None

    kill_worker_midway(KEMENKOP, url, where, tmp_path)

    # What the crash left: an open attempt, no verdict, nothing in force.
    (crashed,) = night_batches(url, KEMENKOP.name)
    assert crashed["verdict"] is None and not crashed["is_current"]
    in_raw = query(url, "SELECT count(*) FROM raw.kemenkop_anggota")[0][0]
    in_quarantine = query(
        url, "SELECT count(*) FROM dq.quarantine WHERE batch_id = %s", crashed["batch_id"]
    )[0][0]
    if where == "load":  # the COPY's transaction died with the worker
        assert (in_raw, in_quarantine) == (0, 0)
    else:  # validation had committed: rows in raw and quarantine, but no verdict
        assert in_raw > 2900 and in_quarantine > 30

    # Airflow retries the task (or an engineer clears it): the same night again.
    assert run_night(KEMENKOP, url).error is None
    assert checksums(url) == clean_run
    assert [b["verdict"] for b in night_batches(url, KEMENKOP.name)] == ["warned"]


def test_kill_9_during_validation_then_retrying_only_that_task_equals_a_clean_run(
    deployment: Deployment, clean_run, tmp_path
) -> None:
    """What Airflow does after a worker dies in ``validate``: it retries that task alone,
    with the batch its ``load`` task returned (the rows already moved to quarantine by the
    killed attempt are no longer in raw)."""
    from sinergi.ingest import nightly

    url = deployment.url
    write_night(deployment.landing)
    assert run_night(UMKM, url).error is None
    kill_worker_midway(KEMENKOP, url, "validate", tmp_path)

    (crashed,) = night_batches(url, KEMENKOP.name)
    loaded = {  # the XCom of the load task
        "source": KEMENKOP.name, "business_date": "2026-01-05", "first_night": False,
        "expected": True, "reason": "", "location": crashed["location"],
        "batch_id": crashed["batch_id"], "action": "load", "verdict": None,
        "archive_path": crashed["archive_path"], "rows_received": 3001,
    }  # fmt: skip
    assert nightly.validate(KEMENKOP, loaded, url)["verdict"] == "warned"
    assert checksums(url) == clean_run


# --------------------------------------------------------------------------- PostgreSQL stop


@pytest.fixture
def own_postgres(pg_tmp_path: Path) -> Iterator:
    """A PostgreSQL server of this test's own, which it may stop and start."""
    from sinergi.db.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(pg_tmp_path / "data", _free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_postgres_stopped_mid_load_then_started_and_rerun_equals_a_clean_run(
    own_postgres, clean_run, tmp_path, monkeypatch
) -> None:
    from sinergi import parse

    url = own_postgres.url("postgres")
    monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SINERGI_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("SINERGI_SETTLE_SECONDS", "0")
    write_night(tmp_path / "landing")
    assert run_night(UMKM, url).error is None

    parse_rows = parse.PARSERS[KEMENKOP.name]

    def parser_that_stops_the_database(path: Path):
        for number, row in enumerate(parse_rows(path)):
            if number == KILL_AFTER_ROWS:
                assert own_postgres.stop()  # fast shutdown: the COPY's session is cut
            yield row

    monkeypatch.setitem(parse.PARSERS, KEMENKOP.name, parser_that_stops_the_database)
    with pytest.raises(psycopg.OperationalError):
        run_night(KEMENKOP, url)  # the task fails; Airflow retries it
    monkeypatch.setitem(parse.PARSERS, KEMENKOP.name, parse_rows)

    with pytest.raises(psycopg.OperationalError):
        run_night(KEMENKOP, url)  # while the database is down, retries fail too
    assert own_postgres.start()
    assert run_night(KEMENKOP, url).error is None
    assert checksums(url) == clean_run


# --------------------------------------------------------------------------- API down a night

NIGHTS = [date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7)]


def write_api(directory: Path) -> list[dict]:
    """Two placements changed each night, one of them again the next night."""
    records = []
    for index, night in enumerate(NIGHTS):
        for hour, n in ((9, 2 * index + 1), (15, 2 * index + 2)):
            stamp = f"{night.isoformat()}T{hour:02d}:00:00+07:00"
            records.append(pmi_record(n, updated_at=stamp))
        if index:  # the first placement of the night before changes again
            stamp = f"{night.isoformat()}T18:00:00+07:00"
            records.append(pmi_record(2 * index - 1, status="PURNA", updated_at=stamp))
    records.sort(key=lambda r: (r["updated_at"], r["id_pmi"]))
    api = directory / "api"
    api.mkdir(parents=True)
    (api / "kp2mi_pmi.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (api / "kp2mi_program.jsonl").write_text("")
    return records


def test_api_down_all_night_is_caught_up_the_next_night(
    deployment: Deployment, scratch_database, tmp_path, monkeypatch
) -> None:
    import sinergi.extract.kp2mi as kp2mi
    from sinergi.extract.kp2mi import ExtractError

    write_api(tmp_path / "world")
    # Retries back off in real seconds; the test does not need to wait them out.
    extract = kp2mi.extract_to_jsonl
    monkeypatch.setattr(
        kp2mi, "extract_to_jsonl", lambda *a, **k: extract(*a, **k, sleep=lambda s: None)
    )
    with socket.socket() as probe:  # a port nothing listens on: the API is down
        probe.bind(("127.0.0.1", 0))
        down = f"http://:{TOKEN}@127.0.0.1:{probe.getsockname()[1]}"

    with serve_in_background(tmp_path / "world", TOKEN, rate_limit_per_second=0) as api_url:
        up = f"http://:{TOKEN}@{api_url[7:]}"
        monkeypatch.setenv("AIRFLOW_CONN_KP2MI_API", up)
        for night in NIGHTS:  # the clean run: the API up every night
            assert run_night(PMI, scratch_database, night).error is None
        clean = checksums(scratch_database)

        monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home-down"))
        assert run_night(PMI, deployment.url, NIGHTS[0]).error is None
        monkeypatch.setenv("AIRFLOW_CONN_KP2MI_API", down)
        for _attempt in range(4):  # the task and its three retries, all night
            with pytest.raises(ExtractError, match="gave up after 6 attempts"):
                run_night(PMI, deployment.url, NIGHTS[1])
        assert night_batches(deployment.url, PMI.name, NIGHTS[1]) == []
        monkeypatch.setenv("AIRFLOW_CONN_KP2MI_API", up)
        assert run_night(PMI, deployment.url, NIGHTS[2]).error is None

    batches = query(
        deployment.url,
        "SELECT logical_date, verdict, rows_received, location FROM dq.batch ORDER BY batch_id",
    )
    assert [(b[0], b[1], b[2]) for b in batches] == [
        (NIGHTS[0], "passed", 2),
        (NIGHTS[1], "passed", 3),  # caught up by the next night, in a batch of its own
        (NIGHTS[2], "passed", 3),
    ]
    assert "updated_from=2026-01-06T00:00:00+07:00" in batches[1][3]
    assert checksums(deployment.url) == clean, "the same raw and dq as a clean run"


def test_catch_up_nights_are_the_ones_since_the_last_loaded(deployment: Deployment) -> None:
    """``plan`` lists the API nights to catch up: none on the first night or after a loaded
    night; every night since the last loaded one otherwise (failed batches count as not
    loaded); at most MAX_CATCH_UP_DAYS back."""
    from sinergi.ingest import nightly

    def catch_up(day: date) -> list[str]:
        night = nightly.plan(PMI, datetime.combine(day, time(2), WIB), deployment.url)
        return night.get("catch_up", [])

    assert catch_up(date(2026, 1, 5)) == []
    with psycopg.connect(deployment.url) as conn:
        for night, verdict in ((date(2026, 1, 5), "passed"), (date(2026, 1, 6), "failed")):
            conn.execute(
                "INSERT INTO dq.batch (source_system, logical_date, verdict) VALUES (%s, %s, %s)",
                (PMI.name, night, verdict),
            )
    assert catch_up(date(2026, 1, 6)) == []
    assert catch_up(date(2026, 1, 8)) == ["2026-01-06", "2026-01-07"]
    far = catch_up(date(2026, 3, 1))
    assert len(far) == nightly.MAX_CATCH_UP_DAYS and far[-1] == "2026-02-28"
    assert catch_up(date(2026, 1, 5)) == [], "re-running the first night catches up nothing"
