"""The generated ingest DAGs, run for simulated nights against a real PostgreSQL.

Each DAG runs in-process with ``dag.test()`` on a throwaway Airflow metadata database (as the
scheduler would run it: logical date D 02:00 WIB); the warehouse is a fresh database; file
drops come from a copy of a simulated world, the KemenP2MI API from the simulated server.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from sinergi.simulate.config import SimulationConfig
from sinergi.simulate.kp2mi_api import serve_in_background
from sinergi.simulate.simulator import Simulator
from sinergi.sources.registry import SOURCES

pytestmark = pytest.mark.integration

WIB = ZoneInfo("Asia/Jakarta")
# Thursday 1 to Monday 5 January 2026: a weekend without Parekraf, the first of a month.
WORLD = SimulationConfig(persons=250, start=date(2026, 1, 1), end=date(2026, 1, 5), seed=21)
TOKEN = "test-token"
JAN = {n: date(2026, 1, n) for n in range(1, 6)}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    Simulator(WORLD, out).run()
    return out


@pytest.fixture
def deployment(world, fresh_database, airflow_db, tmp_path, monkeypatch):
    """One pipeline deployment: its own warehouse, landing dir (a copy we may break), state
    dir and the simulated API. Yields (warehouse URL, landing dir)."""
    landing = tmp_path / "landing"
    shutil.copytree(world / "landing", landing)
    with serve_in_background(world, TOKEN, rate_limit_per_second=0) as api_url:
        monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", fresh_database)
        monkeypatch.setenv("AIRFLOW_CONN_KP2MI_API", f"http://:{TOKEN}@{api_url[7:]}")
        monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("SINERGI_LANDING_DIR", str(landing))
        monkeypatch.setenv("SINERGI_SETTLE_SECONDS", "0")
        yield fresh_database, landing


def run_night(source: str, day: date) -> str:
    """Run one night of a source's DAG as the scheduler would; the run's final state."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    run = bag.get_dag(f"ingest_{source}").test(logical_date=datetime.combine(day, time(2), WIB))
    return str(run.state)


def outcome_event(source: str, day: date) -> dict:
    """The extra of the latest outcome Asset event of ``source`` about ``day`` (the Airflow
    metadata database is shared by the module's tests: events of other tests are older)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        extras = [
            dict(extra or {})
            for (extra,) in session.query(AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .filter(AssetModel.name == f"outcome.{source}")
            .order_by(AssetEvent.id)
        ]
    of_day = [e for e in extras if e.get("business_date") == day.isoformat()]
    assert of_day, f"no outcome event of {source} for {day}"
    return of_day[-1]


def query(url: str, statement: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(statement, params).fetchall()


def batches(url: str, source: str) -> list[tuple]:
    return query(
        url,
        "SELECT logical_date, verdict, rows_received, rows_loaded, rows_quarantined, "
        "is_current, verdict_reason FROM dq.batch WHERE source_system = %s ORDER BY batch_id",
        source,
    )


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Everything a night leaves in raw and dq, minus wall-clock metadata."""
    tables = {
        "dq.batch": "SELECT batch_id, source_system, logical_date, location, content_sha256, "
        "rows_received, rows_loaded, rows_quarantined, verdict, verdict_reason, is_current "
        "FROM dq.batch ORDER BY batch_id",
        "dq.quarantine": "SELECT batch_id, source_row_number, reason_code, raw_record::text "
        "FROM dq.quarantine ORDER BY 1, 2, 3",
        "dq.validation_result": "SELECT batch_id, expectation, success, unexpected_count "
        "FROM dq.validation_result ORDER BY 1, 2",
    }
    for name in SOURCES:
        tables[f"raw.{name}"] = (
            f"SELECT * EXCEPT_LOADED FROM raw.{name} ORDER BY _batch_id, _source_row_number"
        )
    result = {}
    for table, statement in tables.items():
        if "EXCEPT_LOADED" in statement:
            rows = query(url, statement.replace("* EXCEPT_LOADED", "*"))
            result[table] = [row[:-1] for row in rows]  # _loaded_at is load-time metadata
        else:
            result[table] = query(url, statement)
    return result


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_source_loads_its_nights(deployment, source):
    url, _ = deployment
    spec = SOURCES[source]
    for day in (JAN[1], JAN[2], JAN[3]):
        assert run_night(source, day) == "success", (source, day)
    rows = batches(url, source)
    expected_days = [d for d in (JAN[1], JAN[2], JAN[3]) if spec.is_expected_on(d, d == JAN[1])]
    assert [r[0] for r in rows] == expected_days, "one batch per expected night, none else"
    for day, verdict, received, loaded, quarantined, is_current, _ in rows:
        assert verdict in ("passed", "warned") and is_current, (source, day, verdict)
        assert received == loaded + quarantined, (source, day)
    raw = query(
        url,
        f"SELECT count(*), count(_batch_id), count(_source_row_number), count(_loaded_at) "
        f"FROM raw.{source}",
    )[0]
    assert raw[0] == sum(r[3] for r in rows) and len(set(raw)) == 1, "lineage on every row"
    assert sum(r[2] for r in rows) > 0, "the backlog night carried rows"


def test_rerunning_a_night_changes_nothing(deployment):
    url, _ = deployment
    for source in ("umkm_penerima", "kp2mi_pmi", "kemenkop_anggota"):
        assert run_night(source, JAN[1]) == "success"
    before = snapshot(url)
    for source in ("umkm_penerima", "kp2mi_pmi", "kemenkop_anggota"):
        assert run_night(source, JAN[1]) == "success"
    assert snapshot(url) == before


def test_missing_delivery_fails_the_night_and_other_sources_go_on(deployment):
    url, landing = deployment
    (landing / "kemenkop" / "anggota_koperasi_20260102.csv.gz").unlink()
    assert run_night("kemenkop_anggota", JAN[2]) == "failed"
    assert run_night("umkm_penerima", JAN[2]) == "success"
    ((verdict, reason),) = [(r[1], r[6]) for r in batches(url, "kemenkop_anggota")]
    assert verdict == "missing"
    assert "kemenkop/anggota_koperasi_20260102.csv.gz" in reason and "WIB" in reason
    # The run is red, and the night is reported all the same (the warehouse does not wait).
    missing = outcome_event("kemenkop_anggota", JAN[2])
    assert missing["outcome"] == "missing" and missing["verdict"] == "missing"
    assert "anggota_koperasi_20260102.csv.gz" in missing["reason"]
    landed = outcome_event("umkm_penerima", JAN[2])
    assert (landed["outcome"], landed["verdict"]) == ("landed", "passed")
    current = "SELECT batch_id FROM dq.batch WHERE source_system = %s AND is_current"
    assert landed["batch_id"] == query(url, current, "umkm_penerima")[0][0]
    assert run_night("kemenkop_anggota", JAN[2]) == "failed"
    assert len(batches(url, "kemenkop_anggota")) == 1, "a re-run records it once"


def test_a_night_without_a_delivery_due_reports_not_expected(deployment):
    """Parekraf delivers Monday to Friday: Saturday's run skips, and still reports."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    url, _ = deployment
    assert run_night("parekraf_pelatihan", JAN[3]) == "success"
    report = outcome_event("parekraf_pelatihan", JAN[3])
    assert report["outcome"] == "not_expected" and report["source"] == "parekraf_pelatihan"
    assert batches(url, "parekraf_pelatihan") == []
    with create_session() as session:
        states = dict(
            session.query(TaskInstance.task_id, TaskInstance.state).filter(
                TaskInstance.dag_id == "ingest_parekraf_pelatihan"
            )
        )
    assert states.pop("report_outcome") == "success"
    assert set(states.values()) == {"skipped"}, states


def test_umkm_without_its_ok_file_is_incomplete(deployment):
    url, landing = deployment
    (landing / "umkm" / "umkm_penerima_20260101.csv.ok").unlink()
    assert run_night("umkm_penerima", JAN[1]) == "failed"
    assert [r[1] for r in batches(url, "umkm_penerima")] == ["incomplete"]


def test_duplicate_and_resend(deployment):
    url, landing = deployment
    umkm = landing / "umkm"
    assert run_night("umkm_penerima", JAN[1]) == "success"
    # The ministry sends the 1st's (non-empty) extract again as the 2nd's: a duplicate.
    for suffix in (".csv", ".csv.ok"):
        shutil.copy(
            umkm / f"umkm_penerima_20260101{suffix}", umkm / f"umkm_penerima_20260102{suffix}"
        )
    assert run_night("umkm_penerima", JAN[2]) == "success"
    assert batches(url, "umkm_penerima")[-1][1] == "duplicate"
    # Then it resends the 1st with different content: the new batch replaces the old one.
    resent = umkm / "umkm_penerima_20260101.csv"
    lines = resent.read_bytes().split(b"\r\n")
    data = b"\r\n".join(lines[:2] + [b""])  # header and the first row only
    resent.write_bytes(data)
    (umkm / "umkm_penerima_20260101.csv.ok").write_text(
        f"rows=1\nsha256={hashlib.sha256(data).hexdigest()}\n"
    )
    assert run_night("umkm_penerima", JAN[1]) == "success"
    first, duplicate, resend = batches(url, "umkm_penerima")
    assert (first[0], first[5]) == (JAN[1], False), "the first delivery is history"
    assert (resend[0], resend[2], resend[5]) == (JAN[1], 1, True)
    assert query(url, "SELECT count(*) FROM raw.umkm_penerima")[0][0] == resend[3]


def test_a_truncated_gzip_fails_with_a_message_naming_source_and_file(deployment):
    url, landing = deployment
    path = landing / "kemendes" / "kegiatan_desa_20260101.jsonl.gz"
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    assert run_night("kemendes_kegiatan", JAN[1]) == "failed"
    ((verdict, reason),) = [(r[1], r[6]) for r in batches(url, "kemendes_kegiatan")]
    assert verdict == "failed"
    assert "kemendes_kegiatan" in reason and "kegiatan_desa_20260101.jsonl.gz" in reason
    assert query(url, "SELECT count(*) FROM raw.kemendes_kegiatan")[0][0] == 0
    with gzip.open(path) as broken, pytest.raises(EOFError):
        broken.read()


def test_airflow_dags_test_cli(deployment):
    """What an engineer types: `airflow dags test <dag> <date>` (a separate process)."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "dags", "test",
         "ingest_bps_penduduk", "2026-01-01"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    url, _ = deployment
    assert [r[1] for r in batches(url, "bps_penduduk")] == ["passed"]


def _rename_umkm_column(path: Path) -> None:
    data = path.read_bytes().replace(b"TGL_MULAI", b"TANGGAL_MULAI", 1)
    path.write_bytes(data)
    _rewrite_ok(path, data)


def _umkm_wrong_delimiter(path: Path) -> None:
    data = path.read_bytes().replace(b";", b",")
    path.write_bytes(data)
    _rewrite_ok(path, data)


def _umkm_windows_1252(path: Path) -> None:
    text = path.read_bytes().decode("utf-8-sig").replace("ID_PENERIMA;", "ID_PENERIMA;", 1)
    lines = text.split("\r\n")
    lines[1] = lines[1].replace(";", ";José ", 1) if len(lines) > 1 else lines[1]
    data = "\r\n".join(lines).encode("cp1252", errors="replace")
    path.write_bytes(data)
    _rewrite_ok(path, data)


def _rewrite_ok(path: Path, data: bytes) -> None:
    rows = max(0, data.count(b"\r\n") - 1)
    Path(f"{path}.ok").write_text(f"rows={rows}\nsha256={hashlib.sha256(data).hexdigest()}\n")


def _empty_file(path: Path) -> None:
    path.write_bytes(b"")


def _parekraf_header_one_row_lower(path: Path) -> None:
    import openpyxl

    workbook = openpyxl.load_workbook(path)
    workbook["Peserta"].insert_rows(4)
    workbook.save(path)


BROKEN_DELIVERIES = {
    "renamed column": ("umkm_penerima", "umkm/umkm_penerima_20260101.csv", _rename_umkm_column,
                       "TGL_MULAI"),
    "wrong delimiter": ("umkm_penerima", "umkm/umkm_penerima_20260101.csv",
                        _umkm_wrong_delimiter, "delimiter"),
    "Windows-1252": ("umkm_penerima", "umkm/umkm_penerima_20260101.csv", _umkm_windows_1252,
                     "UTF-8"),
    "0-byte file": ("kemenkop_anggota", "kemenkop/anggota_koperasi_20260101.csv.gz",
                    _empty_file, "anggota_koperasi_20260101.csv.gz"),
    "Excel header one row lower": ("parekraf_pelatihan",
                                   "parekraf/Peserta_Pelatihan_20260101.xlsx",
                                   _parekraf_header_one_row_lower, "row"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BROKEN_DELIVERIES))
def test_a_broken_delivery_fails_its_batch_with_an_actionable_message(deployment, case):
    url, landing = deployment
    source, relative, breaker, mentioned = BROKEN_DELIVERIES[case]
    breaker(landing / relative)
    assert run_night(source, JAN[1]) == "failed"
    assert run_night("kemendes_kegiatan", JAN[1]) == "success", "other ministries go on"
    rows = batches(url, source)
    # A 0-byte file is an incomplete delivery (still being written, or cut off), not a bad one.
    assert [r[1] for r in rows] == ["incomplete" if case == "0-byte file" else "failed"], rows
    reason = rows[0][6]
    assert source in reason and Path(relative).name in reason and mentioned in reason, reason
    assert query(url, f"SELECT count(*) FROM raw.{source}")[0][0] == 0
    if case != "0-byte file":  # a delivery that never completed is not archived
        archived = list((Path(os.environ["SINERGI_HOME"]) / "archive" / source).rglob("*"))
        assert any(p.name == Path(relative).name for p in archived), "the bytes are archived"


def test_a_malformed_jsonl_line_is_quarantined_and_the_rest_loads(deployment):
    url, landing = deployment
    path = landing / "kemendes" / "kegiatan_desa_20260101.jsonl.gz"
    lines = gzip.decompress(path.read_bytes()).split(b"\n")
    lines.insert(1, b'{"id_kegiatan": "KD-2026-000999", "peserta": [ this is not json')
    path.write_bytes(gzip.compress(b"\n".join(lines)))
    assert run_night("kemendes_kegiatan", JAN[1]) == "success"
    ((verdict, received, loaded, quarantined),) = [
        (r[1], r[2], r[3], r[4]) for r in batches(url, "kemendes_kegiatan")
    ]
    assert verdict == "warned" and received == loaded + quarantined and quarantined >= 1
    reasons = query(url, "SELECT reason_code, source_row_number FROM dq.quarantine")
    assert ("unreadable_row", 2) in reasons


def test_a_late_delivery_before_the_deadline_is_waited_for(deployment):
    """The sensor's poke: nothing yet and before the deadline -> wait; then it arrives."""
    from sinergi.ingest import nightly

    url, landing = deployment
    spec = SOURCES["kemenkop_anggota"]
    path = landing / "kemenkop" / "anggota_koperasi_20260102.csv.gz"
    held_back = path.read_bytes()
    path.unlink()
    night = nightly.plan(spec, datetime(2026, 1, 2, 2, 0, tzinfo=WIB), url)
    before_deadline = datetime(2026, 1, 3, 3, 0, tzinfo=WIB)
    assert nightly.poke_file_drop(spec, night, url, landing, now=before_deadline) is None
    path.write_bytes(held_back)
    found = nightly.poke_file_drop(spec, night, url, landing, now=before_deadline)
    assert found["location"] == "kemenkop/anggota_koperasi_20260102.csv.gz"
    after_deadline = datetime(2026, 1, 3, 7, 0, tzinfo=WIB)
    path.unlink()
    with pytest.raises(nightly.NotRetryable, match="no delivery"):
        nightly.poke_file_drop(spec, night, url, landing, now=after_deadline)


@pytest.fixture
def flaky_api(world, fresh_database, airflow_db, tmp_path, monkeypatch):
    """The KemenP2MI API at its real rate limit, failing a third of the requests."""
    with serve_in_background(
        world, TOKEN, rate_limit_per_second=5, failure_rate=0.3, seed=3
    ) as url:
        monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", fresh_database)
        monkeypatch.setenv("AIRFLOW_CONN_KP2MI_API", f"http://:{TOKEN}@{url[7:]}")
        monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
        yield fresh_database, url


def test_api_extract_survives_rate_limits_and_503s(flaky_api, world):
    url, _ = flaky_api
    assert run_night("kp2mi_program", JAN[1]) == "success"
    ((verdict, received),) = [(r[1], r[2]) for r in batches(url, "kp2mi_program")]
    expected = sum(
        1 for line in (world / "api" / "kp2mi_program.jsonl").read_text().splitlines()
        if '"updated_at": "2026-01-01' in line
    )  # fmt: skip
    assert verdict in ("passed", "warned") and received == expected


def test_a_wrong_token_fails_at_once_with_a_clear_message(flaky_api, monkeypatch, caplog):
    url, api_url = flaky_api
    monkeypatch.setenv("AIRFLOW_CONN_KP2MI_API", f"http://:wrong-token@{api_url[7:]}")
    assert run_night("kp2mi_pmi", JAN[1]) == "failed"
    assert "refused the token" in caplog.text and "kp2mi_api" in caplog.text
    # Nothing was landed; the night is on record as missing, saying why and what to do.
    ((day, verdict, received, _, _, is_current, reason),) = batches(url, "kp2mi_pmi")
    assert (day, verdict, received, is_current) == (JAN[1], "missing", None, False)
    assert "refused the token" in reason and "kp2mi_api" in reason and "catches" in reason
    ((location,),) = query(url, "SELECT location FROM dq.batch WHERE source_system = 'kp2mi_pmi'")
    assert "updated_from=2026-01-01T00:00:00+07:00" in location
    report = outcome_event("kp2mi_pmi", JAN[1])
    assert (report["outcome"], report["verdict"]) == ("missing", "missing")
