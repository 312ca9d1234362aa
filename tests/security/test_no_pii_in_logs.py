"""No NIK, name or birth date of a simulated person in logs, messages or reports.

The simulator's ground truth (``truth/persons.csv.gz``) lists every person's NIK, name and
birth date; every one of them (birth dates in every format the ministries write) is searched
for in:

* the ingest steps' logs at DEBUG level (every logger: ours, Great Expectations, psycopg,
  Airflow's HTTP hook), what they print, the messages a person reads in ``dq.batch``, the
  validation results, the Data Docs site and Great Expectations' own files, for one night of
  every ministry, with rows that break (quarantined) and a delivery that fails built from
  real persons' data;
* the Airflow and dbt output of ``sinergi run``: the log the end-to-end test
  (``tests/e2e/test_pipeline.py``) leaves in this pytest session, scanned against that
  world's truth (same seed, same persons), so no second multi-minute pipeline runs in CI.
  Run alone (no end-to-end log in the session), this test runs a one-night ``sinergi run``
  of a small world itself, with ``--verbose`` (Airflow's INFO task logs too), and scans its
  printed output as well.

Deliveries themselves (the archive, the extracts, ``raw``, ``dq.quarantine``) hold personal
data by design and are not scanned.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.conftest import url_with_database

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NIGHT = date(2026, 1, 1)


def pii_of(world: Path) -> dict[str, str]:
    """Every NIK, name and birth date (in each ministry's formats) of the world's persons,
    mapped to what it is (for the failure message, which shows no value)."""
    values: dict[str, str] = {}
    with gzip.open(world / "truth" / "persons.csv.gz", "rt", encoding="utf-8") as stream:
        for person in csv.DictReader(stream):
            values[person["nik"]] = f"NIK of {person['person_id']}"
            if len(person["name"]) >= 5:
                values[person["name"]] = f"name of {person['person_id']}"
            born = date.fromisoformat(person["birth_date"])
            for form in ("%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%d-%m-%Y"):
                values[born.strftime(form)] = f"birth date of {person['person_id']}"
    return values


def leaks(text: str, pii: dict[str, str]) -> list[str]:
    """What of ``pii`` occurs in ``text`` (NIKs and compact dates only as whole numbers)."""
    found = []
    numbers = set(re.findall(r"(?<![0-9])[0-9]{8,16}(?![0-9])", text))
    for value, what in pii.items():
        if value.isdigit():
            if value in numbers:
                found.append(what)
        elif value in text:
            found.append(what)
    return sorted(set(found))


def files_text(*roots: Path) -> str:
    parts = []
    for root in roots:
        for path in sorted(root.rglob("*")) if root.exists() else []:
            if path.is_file():
                parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(parts)


# --------------------------------------------------------------------------- ingest, DEBUG


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from sinergi.simulate.config import SimulationConfig
    from sinergi.simulate.simulator import Simulator

    out = tmp_path_factory.mktemp("pii-world")
    Simulator(SimulationConfig(persons=30, start=NIGHT, end=NIGHT, seed=8), out).run()
    return out


def plant_broken_rows(landing: Path, person: dict[str, str]) -> None:
    """Rows built from a real person's data that break: an UMKM row with too few fields
    (quarantined unreadable) and a Kemendes line that is not JSON (same)."""
    import hashlib

    umkm = landing / "umkm" / "umkm_penerima_20260101.csv"
    data = umkm.read_bytes() + f"UMKM-999999999;{person['nik']};{person['name']}\r\n".encode()
    umkm.write_bytes(data)
    ok = umkm.with_name(umkm.name + ".ok")
    rows = int(ok.read_text().split()[0].split("=")[1]) + 1
    ok.write_text(f"rows={rows}\nsha256={hashlib.sha256(data).hexdigest()}\n")
    kemendes = landing / "kemendes" / "kegiatan_desa_20260101.jsonl.gz"
    broken = json.dumps({"id_kegiatan": "KD-9", "peserta": [{"nik": person["nik"]}]})[:-3]
    line = "\n" + broken + ', "nama": ' + json.dumps(person["name"]) + "\n"  # not closed
    kemendes.write_bytes(gzip.compress(gzip.decompress(kemendes.read_bytes()) + line.encode()))


def ingest_night(url: str, world: Path, home: Path, monkeypatch) -> None:
    """Every source's night, as the ingest DAG's tasks run it (a failed night goes on to the
    next source, as the DAGs do)."""
    from sinergi.simulate.kp2mi_api import serve_in_background
    from sinergi.sources.registry import SOURCES
    from tests.integration.test_bad_inputs import run_night

    monkeypatch.setenv("SINERGI_HOME", str(home))
    monkeypatch.setenv("SINERGI_LANDING_DIR", str(world / "landing"))
    monkeypatch.setenv("SINERGI_SETTLE_SECONDS", "0")
    with serve_in_background(world, "pii-scan-token", rate_limit_per_second=0) as api_url:
        monkeypatch.setenv("AIRFLOW_CONN_KP2MI_API", f"http://:pii-scan-token@{api_url[7:]}")
        for spec in SOURCES.values():
            run_night(spec, url, NIGHT)


def test_ingest_logs_messages_and_reports_hold_no_pii(
    world, fresh_database, tmp_path, caplog, capfd, monkeypatch
) -> None:
    landing = tmp_path / "world"
    shutil.copytree(world / "landing", landing / "landing")
    shutil.copytree(world / "api", landing / "api")
    with gzip.open(world / "truth" / "persons.csv.gz", "rt", encoding="utf-8") as stream:
        person = next(csv.DictReader(stream))
    plant_broken_rows(landing / "landing", person)
    # A delivery that fails as a whole: Kemenkop's header drifted.
    kemenkop = landing / "landing" / "kemenkop" / "anggota_koperasi_20260101.csv.gz"
    text = gzip.decompress(kemenkop.read_bytes()).replace(b"nama_anggota", b"nama", 1)
    kemenkop.write_bytes(gzip.compress(text))

    # Airflow configures logging when first imported: import it first, then listen to every
    # logger at its most talkative.
    import airflow.providers.http.hooks.http  # noqa: F401

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    home = tmp_path / "home"
    try:
        ingest_night(fresh_database, landing, home, monkeypatch)
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
    logged = stream.getvalue() + caplog.text

    with psycopg.connect(fresh_database) as conn:
        outcomes = conn.execute(
            "SELECT source_system, verdict, rows_quarantined FROM dq.batch ORDER BY 1"
        ).fetchall()
        messages = conn.execute(
            "SELECT coalesce(verdict_reason, '') || ' ' || coalesce(location, '') FROM dq.batch "
            "UNION ALL SELECT result::text FROM dq.validation_result "
            "UNION ALL SELECT reason_code || ' ' || coalesce(reason_detail, '') "
            "FROM dq.quarantine"
        ).fetchall()
    verdicts = {source: (verdict, quarantined) for source, verdict, quarantined in outcomes}
    assert verdicts["kemenkop_anggota"][0] == "failed"
    assert verdicts["umkm_penerima"][1] >= 1 and verdicts["kemendes_kegiatan"][1] >= 1
    assert "batch 5 failed" in logged and "rows quarantined" in logged, "the logs are captured"

    pii = pii_of(world)
    assert leaks(f"x {person['nik']} {person['name']} y", pii), "the scan finds planted PII"
    captured = capfd.readouterr()
    scanned = {
        "logs": logged,
        "printed output": captured.out + captured.err,
        "dq messages and validation results": "\n".join(m for (m,) in messages),
        "Data Docs and GX files": files_text(home / "data_docs", home / "great_expectations"),
    }
    assert len(scanned["Data Docs and GX files"]) > 10_000, "the reports were written"
    found = {where: leaks(text, pii) for where, text in scanned.items()}
    assert found == {where: [] for where in scanned}, found


# --------------------------------------------------------------------------- sinergi run


def e2e_home(tmp_path_factory) -> Path | None:
    """The SINERGI_HOME the end-to-end test left in this session, if it ran. When it ran but
    did not get to the warehouse build, this test fails too (nothing to scan), rather than
    add a pipeline run of its own to a suite that is already red."""
    base = tmp_path_factory.getbasetemp()
    logs = sorted(base.glob("test_sinergi_run_end_to_end*/home/airflow/logs/sinergi-run.log"))
    if not logs:
        return None
    home = logs[0].parents[2]
    if "Running with dbt" not in files_text(home / "airflow" / "logs"):
        pytest.fail(f"the end-to-end run in this session stopped early ({home}): no log to scan")
    return home


@pytest.mark.timeout(1800)  # run alone, it runs a pipeline of its own
def test_sinergi_run_output_holds_no_pii(
    tmp_path_factory, postgres_admin_url, fresh_database, tmp_path
) -> None:
    from sinergi.simulate.config import SimulationConfig
    from sinergi.simulate.simulator import Simulator

    home = e2e_home(tmp_path_factory)
    printed = ""
    if home is not None:
        from tests.e2e.test_pipeline import WORLD

        config = WORLD
    else:
        config = SimulationConfig(persons=30, start=NIGHT, end=NIGHT, seed=8)
    world = tmp_path / "world"
    Simulator(config, world).run()
    if home is None:
        home, printed = run_pipeline(world, postgres_admin_url, fresh_database, tmp_path)

    pii = pii_of(world)
    logs = files_text(home / "airflow" / "logs")
    assert "Running with dbt" in logs, "the run's Airflow and dbt output is there"
    assert leaks(logs + printed, pii) == []


def run_pipeline(world: Path, admin_url: str, warehouse: str, tmp_path: Path) -> tuple[Path, str]:
    """``sinergi run --verbose`` for one night; (its SINERGI_HOME, what it printed)."""
    from sinergi.simulate.kp2mi_api import serve_in_background

    airflow_db = f"sinergi_test_airflow_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(airflow_db)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SINERGI_"))}
    env.update(
        SINERGI_HOME=str(tmp_path / "home"),
        SINERGI_WAREHOUSE_URL=warehouse,
        SINERGI_AIRFLOW_DB_URL=url_with_database(admin_url, airflow_db),
        SINERGI_LANDING_DIR=str(world / "landing"),
        SINERGI_SETTLE_SECONDS="0",
        SINERGI_PII_KEY="pii-scan-hmac-key-0123456789abcdef",
        SINERGI_KP2MI_TOKEN="pii-scan-token",
    )
    try:
        with serve_in_background(world, "pii-scan-token", rate_limit_per_second=0) as api_url:
            env["SINERGI_KP2MI_URL"] = api_url
            result = subprocess.run(
                [str(Path(sys.executable).with_name("sinergi")), "run", "--from",
                 NIGHT.isoformat(), "--to", NIGHT.isoformat(), "--warehouse-build",
                 "last-night", "--verbose"],
                env=env, capture_output=True, text=True, timeout=1700,
            )  # fmt: skip
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(airflow_db))
            )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp_path / "home", result.stdout + result.stderr
