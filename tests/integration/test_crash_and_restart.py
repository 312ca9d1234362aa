"""Crash and restart: a night interrupted the hard way converges, on rerun, to a clean run.

Ingest (a hand-made night of UMKM and Kemenkop):

* ``kill -9`` of the worker process in the middle of the load (COPY half sent) and in the
  middle of validation (rows already moved to quarantine and committed, verdict not given);
* PostgreSQL stopped in the middle of the load (fast shutdown: sessions cut), then started;
* the KemenP2MI API down for a whole night: the next night's extract catches the window up.

After the rerun, every raw table and ``dq.batch`` / ``dq.quarantine`` /
``dq.validation_result`` have the same checksum (md5 of their ordered rows, wall-clock
metadata and local paths left out) as a clean run of the same deliveries in another database.

The warehouse build (a simulated night of every source, built with ``sinergi.worlds``):

* ``kill -9`` of the worker and its dbt (the whole process group) while dbt builds the marts;
* ``kill -9`` of the worker in identity resolution, after it wrote records, links and keys in
  its transaction and before it committed;
* PostgreSQL stopped while dbt builds the marts, then started.

After the rerun, every raw, ``dq``, ``marts`` and ``restricted`` table and the ``identity``
state have the same checksum as a clean build of the same night in another database.

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


# The schemas compared, every base table in them found from the catalog (a table left behind
# by a crash, such as dbt's ``<model>__dbt_tmp``, shows as a difference).
CHECKSUM_SCHEMAS = ("raw", "dq", "identity", "marts", "restricted")
# When a row was written and how long a step took differ between any two runs.
WALL_CLOCK_COLUMNS = {"_loaded_at", "recorded_at", "measured_at", "started_at", "seconds"}
# identity.run has a row per run of the step, and a rerun adds one (an empty delta) that a
# clean run lacks: what must agree is the state each night ended in, its latest run's counts.
IDENTITY_RUN = (
    "SELECT DISTINCT ON (night) night, model_version, records, clusters FROM identity.run "
    "ORDER BY night, started_at DESC"
)


def checksums(url: str) -> dict[str, tuple[int, str]]:
    """(row count, md5 of the ordered rows) of every table of CHECKSUM_SCHEMAS."""
    result = {}
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE'",
            (list(CHECKSUM_SCHEMAS),),
        ).fetchall()
        for schema, name in tables:
            table = f"{schema}.{name}"
            if table == "identity.run":
                select = sql.SQL(IDENTITY_RUN)
            else:
                columns = _DQ.get(table) or ", ".join(
                    f'"{c}"'
                    for (c,) in conn.execute(
                        "SELECT column_name FROM information_schema.columns WHERE "
                        "table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                        (schema, name),
                    )
                    if c not in WALL_CLOCK_COLUMNS
                )
                select = sql.SQL("SELECT {} FROM {}").format(
                    sql.SQL(columns), sql.Identifier(schema, name)
                )
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), "
                    "'')) FROM ({}) AS r"
                ).format(select)
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


@pytest.fixture(scope="module")
def clean_run(postgres_admin_url, tmp_path_factory) -> dict[str, tuple[int, str]]:
    """The checksums of an uninterrupted night of the same deliveries (once per module).

    Ingest only: the ingest faults are compared on raw and dq. The warehouse build has its
    own clean run below (``clean_build``), on a simulated night: these 3,000 hand-made
    Kemenkop members are near copies of one another, which identity resolution would spend
    some 100 s linking into two clusters."""
    name = _create_database(postgres_admin_url, "sinergi_test_clean")
    url = url_with_database(postgres_admin_url, name)
    root = tmp_path_factory.mktemp("clean")
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("SINERGI_HOME", str(root / "home"))
            env.setenv("SINERGI_LANDING_DIR", str(root / "landing"))
            env.setenv("SINERGI_SETTLE_SECONDS", "0")
            write_night(root / "landing")
            run_nights(url)
            sums = checksums(url)
    finally:
        _drop_database(postgres_admin_url, name)
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
    # the pause comes after `after_rows` rows went to COPY, by the parser's path or the COPY
    # lane's (in small chunks, so that earlier chunks are through COPY)
    parse_rows = parse.PARSERS[spec.name]
    def slow_parser(path):
        for number, row in enumerate(parse_rows(path)):
            if number == after_rows:
                pause()
            yield row
    parse.PARSERS[spec.name] = slow_parser
    from sinergi.ingest import copy_csv
    lane_chunks = copy_csv.read_chunks
    copy_csv.CHUNK_BYTES = 4096
    def slow_chunks(stream):
        lines = 0
        for chunk in lane_chunks(stream):
            lines += chunk.count(b"\\n")
            if lines > after_rows:
                pause()
            yield chunk
    copy_csv.read_chunks = slow_chunks
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
    from sinergi.ingest import copy_csv

    url = own_postgres.url("postgres")
    monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SINERGI_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("SINERGI_SETTLE_SECONDS", "0")
    write_night(tmp_path / "landing")
    assert run_night(UMKM, url).error is None

    parse_rows = parse.PARSERS[KEMENKOP.name]
    lane_chunks = copy_csv.read_chunks

    def parser_that_stops_the_database(path: Path):
        for number, row in enumerate(parse_rows(path)):
            if number == KILL_AFTER_ROWS:
                assert own_postgres.stop()  # fast shutdown: the COPY's session is cut
            yield row

    def lane_that_stops_the_database(stream):  # the COPY lane's path, in small chunks
        lines = 0
        for chunk in lane_chunks(stream):
            lines += chunk.count(b"\n")
            if lines > KILL_AFTER_ROWS and own_postgres.is_running():
                assert own_postgres.stop()
            yield chunk

    monkeypatch.setitem(parse.PARSERS, KEMENKOP.name, parser_that_stops_the_database)
    monkeypatch.setattr(copy_csv, "read_chunks", lane_that_stops_the_database)
    monkeypatch.setattr(copy_csv, "CHUNK_BYTES", 4096)
    with pytest.raises(psycopg.OperationalError):
        run_night(KEMENKOP, url)  # the task fails; Airflow retries it
    monkeypatch.setitem(parse.PARSERS, KEMENKOP.name, parse_rows)
    monkeypatch.setattr(copy_csv, "read_chunks", lane_chunks)

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


# --------------------------------------------------------------------------- the warehouse build

BUILD_NIGHT = date(2026, 1, 5)  # a Monday: every daily source delivers
BUILD_KEY = "crash-test-hmac-key-not-secret"


@pytest.fixture(scope="module")
def build_server(pg_base_dir: Path) -> Iterator:
    """A PostgreSQL server of this module's own: the PostgreSQL test stops and starts it."""
    from sinergi.db.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(pg_base_dir / "crash-build" / "data", _free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def copy_database(server, template: str, name: str) -> str:
    """A new database ``name`` holding what ``template`` holds (CREATE DATABASE … TEMPLATE)."""
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        # the copy needs the template to itself: close what a test's pools left open
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (template,),
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    return server.url(name)


@pytest.fixture(scope="module")
def dbt_target(tmp_path_factory) -> Path:
    """One dbt target directory for the module's builds, as on one worker: dbt then parses
    the project in full once and partially after (some 3 s less a build)."""
    return tmp_path_factory.mktemp("dbt-target")


@pytest.fixture(scope="module")
def ingested(build_server, dbt_target, tmp_path_factory) -> str:
    """The name of a database holding one simulated night of every source, ingested, with
    dbt built up to identity resolution's input (the template of the tests' databases).

    200 persons: some 300 source records, a few hundred rows per raw table, every mart filled.
    """
    from sinergi.simulate.config import SimulationConfig
    from sinergi.simulate.simulator import Simulator
    from sinergi.worlds import build_until_identity, ingest_world

    root = tmp_path_factory.mktemp("build")
    config = SimulationConfig(persons=200, start=BUILD_NIGHT, end=BUILD_NIGHT, seed=5)
    Simulator(config, root / "world").run()
    with psycopg.connect(build_server.url("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE ingested")
    url = build_server.url("ingested")
    ingest_world(url, root / "world", BUILD_NIGHT, BUILD_NIGHT, root / "home")
    build_until_identity(url, BUILD_NIGHT, BUILD_KEY, dbt_target)
    return "ingested"


def build_rest_of_night(url: str, target: Path) -> None:
    """What follows dbt's input of identity resolution: the step, then dbt from it on."""
    from sinergi.identity import resolve
    from sinergi.worlds import build_from_identity

    resolve.resolve_identities(url, BUILD_NIGHT, pii_key=BUILD_KEY)
    build_from_identity(url, BUILD_NIGHT, BUILD_KEY, target)


@pytest.fixture(scope="module")
def clean_build(build_server, ingested, dbt_target) -> dict[str, tuple[int, str]]:
    """The checksums of the night built without interruption (once per module)."""
    from sinergi.pipeline import MARTS

    url = copy_database(build_server, ingested, "clean_build")
    build_rest_of_night(url, dbt_target)
    sums = checksums(url)
    assert {f"marts.{mart}" for mart in MARTS} <= set(sums), sorted(sums)
    for table in ("marts.dim_worker", "marts.fct_enrollment", "identity.record", "identity.link"):
        assert sums[table][0] > 0, (table, sums[table])
    return sums


@pytest.fixture
def build_database(build_server, ingested) -> Iterator[str]:
    """A copy of the ingested night for one test, dropped after it."""
    name = f"crashed_{os.getpid()}_{clock.monotonic_ns()}"
    url = copy_database(build_server, ingested, name)
    yield url
    if not build_server.is_running():  # a failed PostgreSQL test may leave it stopped
        build_server.start()
    _drop_database(build_server.url("postgres"), name)


_BUILDER = """
import os, sys, time
from datetime import date
from pathlib import Path
from sinergi import worlds
from sinergi.identity import resolve

url, night, key, target = sys.argv[1], date.fromisoformat(sys.argv[2]), sys.argv[3], sys.argv[4]
where, marker = sys.argv[5], sys.argv[6]

if where == "identity":
    # records, links and keys written in the step's transaction, under its lock; no commit
    write_keys = resolve._write_keys
    def write_keys_then_pause(conn, *args):
        write_keys(conn, *args)
        with open(marker + ".tmp", "w") as out:
            out.write(str(conn.info.backend_pid))
        os.replace(marker + ".tmp", marker)  # the test reads a whole pid
        time.sleep(600)
    resolve._write_keys = write_keys_then_pause
    resolve.resolve_identities(url, night, pii_key=key)
else:  # "marts": identity resolution committed; wait while the test takes a lock
    resolve_identities = resolve.resolve_identities
    def resolve_then_wait(*args, **kwargs):
        summary = resolve_identities(*args, **kwargs)
        open(marker, "w").close()
        while not os.path.exists(marker + ".go"):
            time.sleep(0.05)
        return summary
    resolve.resolve_identities = resolve_then_wait
    resolve.resolve_identities(url, night, pii_key=key)  # the rest of the night's build
    worlds.build_from_identity(url, night, key, Path(target))
"""


def start_builder(
    url: str, where: str, tmp_path: Path, dbt_target: Path
) -> tuple[subprocess.Popen, Path]:
    """The rest of the night's build (``where`` = "marts": identity resolution, then dbt from
    it on) or the identity step alone, in a worker process of its own process group (so that
    its dbt can be killed with it); the marker it will write."""
    marker = tmp_path / f"reached-{where}"
    worker = subprocess.Popen(
        [sys.executable, "-c", _BUILDER, url, BUILD_NIGHT.isoformat(), BUILD_KEY,
         str(dbt_target), where, str(marker)],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    return worker, marker


def wait_for(worker: subprocess.Popen, reached, what: str, timeout: float = 600) -> None:
    """Until ``reached()``; fails with the worker's output if it ended first."""
    deadline = clock.monotonic() + timeout  # a busy machine imports slowly
    while not reached():
        assert worker.poll() is None, worker.communicate()[0][-3000:]
        assert clock.monotonic() < deadline, f"the worker never reached {what}"
        clock.sleep(0.05)


def kill_process_group(worker: subprocess.Popen) -> None:
    """SIGKILL the worker and every process of its group (dbt); wait until none is left."""
    os.killpg(worker.pid, signal.SIGKILL)
    assert worker.wait(timeout=30) == -signal.SIGKILL
    deadline = clock.monotonic() + 30
    while True:
        try:
            os.killpg(worker.pid, 0)  # does any process of the group remain?
        except ProcessLookupError:
            return
        assert clock.monotonic() < deadline, "a process of the killed worker's group survived"
        clock.sleep(0.05)


def build_until_a_mart_waits(
    url: str, tmp_path: Path, dbt_target: Path
) -> tuple[subprocess.Popen, psycopg.Connection]:
    """Start the rest of the night's build in a worker and stop it, deterministically, inside
    dbt's build of the marts: once identity resolution has committed, hold an exclusive lock
    on the table the mart ``worker_key_history`` reads, and wait until dbt's session waits
    for it. Returns the worker and the connection holding the lock (closing it releases it)."""
    worker, marker = start_builder(url, "marts", tmp_path, dbt_target)
    try:
        wait_for(worker, marker.exists, "the end of identity resolution")
        holder = psycopg.connect(url)
        holder.execute("LOCK TABLE identity.worker_key_history IN ACCESS EXCLUSIVE MODE")
        marker.with_name(marker.name + ".go").touch()
        wait_for(
            worker,
            lambda: (
                holder.execute(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted "
                    "AND relation = 'identity.worker_key_history'::regclass"
                ).fetchone()[0]
                > 0
            ),
            "dbt's build of marts.worker_key_history",
        )
    except BaseException:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        raise
    return worker, holder


def wait_until_alone(url: str, timeout: float = 60) -> None:
    """Until no other session is connected to the database (a killed client's backend
    notices on its next read that the socket is gone, and rolls back)."""
    deadline = clock.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]:
            assert clock.monotonic() < deadline, "a killed worker's session is still there"
            clock.sleep(0.05)


def dbt_leftovers(url: str) -> list[str]:
    """Relations a dbt model leaves while it swaps a table in (``__dbt_tmp``, ``__dbt_backup``)."""
    rows = query(
        url,
        "SELECT schemaname || '.' || tablename FROM pg_tables "
        "WHERE position('__dbt_' in tablename) > 0 "
        "UNION ALL SELECT schemaname || '.' || viewname FROM pg_views "
        "WHERE position('__dbt_' in viewname) > 0",
    )
    return [name for (name,) in rows]


def test_kill_9_during_dbt_then_rerun_equals_a_clean_run(
    build_database: str, clean_build, dbt_target, tmp_path
) -> None:
    url = build_database
    worker, holder = build_until_a_mart_waits(url, tmp_path, dbt_target)
    try:
        kill_process_group(worker)  # the worker and its dbt, mid-model
    finally:
        holder.close()  # the lock: dbt's orphaned session may go on, and roll back
    wait_until_alone(url)

    # What the crash left: identity committed, the model dbt was in never committed.
    assert query(url, "SELECT count(*) FROM identity.run")[0][0] == 1
    assert query(url, "SELECT to_regclass('marts.worker_key_history')")[0][0] is None

    # Airflow retries the killed model task and what follows it: the rest of the night.
    build_rest_of_night(url, dbt_target)
    assert dbt_leftovers(url) == []
    assert checksums(url) == clean_build


def test_kill_9_during_identity_resolution_then_rerun_equals_a_clean_run(
    build_database: str, clean_build, dbt_target, tmp_path
) -> None:
    from sinergi.identity import store

    url = build_database
    with psycopg.connect(url) as conn:  # the step's first transaction, committed on its own
        store.ensure_schema(conn)
    before = checksums(url)
    worker, marker = start_builder(url, "identity", tmp_path, dbt_target)
    try:
        wait_for(worker, marker.exists, "identity resolution's writes")
        backend = int(marker.read_text())
        # Inside the step's transaction: it holds the identity lock and has written rows.
        [(state, advisory)] = query(
            url,
            "SELECT a.state, count(l.pid) FROM pg_stat_activity a LEFT JOIN pg_locks l "
            "ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted "
            "WHERE a.pid = %s GROUP BY a.state",
            backend,
        )
        assert (state, advisory) == ("idle in transaction", 1)
        kill_process_group(worker)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    wait_until_alone(url)

    # Nothing of the killed step remains: no lock, no row (the state it started from).
    assert query(url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == [(0,)]
    assert query(url, "SELECT pg_try_advisory_lock(%s)", store.IDENTITY_LOCK_KEY) == [(True,)]
    assert checksums(url) == before
    assert query(url, "SELECT count(*) FROM identity.record") == [(0,)]

    build_rest_of_night(url, dbt_target)  # Airflow retries the step, then dbt goes on
    assert checksums(url) == clean_build


def test_postgres_stopped_during_dbt_then_started_and_rerun_equals_a_clean_run(
    build_server, build_database: str, clean_build, dbt_target, tmp_path
) -> None:
    url = build_database
    worker, holder = build_until_a_mart_waits(url, tmp_path, dbt_target)
    try:
        assert build_server.stop()  # fast shutdown: dbt's sessions are cut mid-model
        output = worker.communicate(timeout=600)[0]
        assert worker.returncode != 0 and "DbtError" in output, output[-3000:]
    finally:
        holder.close()
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        if not build_server.is_running():
            assert build_server.start()

    assert query(url, "SELECT to_regclass('marts.worker_key_history')")[0][0] is None
    # Airflow retries the failed model tasks and what follows them: the rest of the night.
    build_rest_of_night(url, dbt_target)
    assert dbt_leftovers(url) == []
    assert checksums(url) == clean_build
