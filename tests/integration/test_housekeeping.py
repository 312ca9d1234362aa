"""Housekeeping: archive retention never touches a delivery in force, ANALYZE, the docs
published; and the housekeeping DAG doing all of it in one ``dag.test()`` run."""

from __future__ import annotations

import hashlib
import os
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from sinergi import housekeeping
from sinergi.ingest.schema import ensure_schema

pytestmark = pytest.mark.integration

DAGS = Path(__file__).resolve().parents[2] / "dags"
TODAY = date(2027, 3, 1)  # business day of the housekeeping run
OLD = date(2026, 1, 5)  # more than 400 days before TODAY
RECENT = date(2027, 2, 20)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _deliver(archive: Path, source: str, night: date, content: str) -> Path:
    """An archived delivery as ``sinergi.ingest.archive`` lays it out (read-only file)."""
    folder = archive / source / night.isoformat() / _sha(content)
    folder.mkdir(parents=True)
    path = folder / f"{source}_{night:%Y%m%d}.csv"
    path.write_text(content)
    path.chmod(0o444)
    return folder


def _batch(conn, source, night, content, verdict, is_current=False) -> None:
    conn.execute(
        "INSERT INTO dq.batch (source_system, logical_date, content_sha256, verdict, is_current)"
        " VALUES (%s, %s, %s, %s, %s)",
        (source, night, _sha(content), verdict, is_current),
    )


@pytest.fixture
def seeded(fresh_database, tmp_path):
    """An archive and dq.batch with every kind of delivery; yields (url, archive, folders)."""
    archive = tmp_path / "archive"
    folders = {
        "old_current": _deliver(archive, "umkm_penerima", OLD, "old current"),
        "old_superseded": _deliver(archive, "umkm_penerima", OLD, "old first send"),
        "old_failed": _deliver(archive, "kemenkop_anggota", OLD, "old broken"),
        "old_orphan": _deliver(archive, "kemenkop_anggota", OLD, "landed, never booked"),
        "old_latest_accepted": _deliver(archive, "bps_penduduk", OLD, "yearly"),
        "recent_failed": _deliver(archive, "kemenkop_anggota", RECENT, "recent broken"),
    }
    with psycopg.connect(fresh_database) as conn:
        ensure_schema(conn)
        _batch(conn, "umkm_penerima", OLD, "old first send", "passed")
        _batch(conn, "umkm_penerima", OLD, "old current", "passed", is_current=True)
        _batch(conn, "kemenkop_anggota", OLD, "old broken", "failed")
        _batch(conn, "kemenkop_anggota", RECENT, "recent broken", "failed")
        # Superseded by a resend that failed? No: the yearly source's only accepted batch,
        # not current (as if its night were replaced), is still its latest accepted one.
        _batch(conn, "bps_penduduk", OLD, "yearly", "warned")
    return fresh_database, archive, folders


def test_retention_deletes_only_expired_deliveries_out_of_force(seeded):
    url, archive, folders = seeded
    dry = housekeeping.prune_archive(url, TODAY, archive_dir=archive, dry_run=True)
    assert len(dry.deleted) == 3 and all(path.exists() for path in folders.values())

    result = housekeeping.prune_archive(url, TODAY, archive_dir=archive)
    assert result.cutoff == date(2026, 1, 25)
    gone = {name for name, path in folders.items() if not path.exists()}
    assert gone == {"old_superseded", "old_failed", "old_orphan"}
    assert len(result.kept_in_force) == 2
    assert result.bytes_freed == sum(
        len(text) for text in ("old first send", "old broken", "landed, never booked")
    )
    # Idempotent: a second run finds nothing more to do.
    again = housekeeping.prune_archive(url, TODAY, archive_dir=archive)
    assert again.deleted == [] and len(again.kept_in_force) == 2


def test_retention_is_configurable_and_refuses_without_bookkeeping(
    seeded, fresh_database, monkeypatch, tmp_path
):
    url, archive, folders = seeded
    monkeypatch.setenv(housekeeping.ARCHIVE_RETENTION_ENV, "5")
    result = housekeeping.prune_archive(url, TODAY, archive_dir=archive)
    assert not folders["recent_failed"].exists(), "9 days old with a 5-day retention"
    assert folders["old_current"].exists()
    assert len(result.deleted) == 4
    monkeypatch.setenv(housekeeping.ARCHIVE_RETENTION_ENV, "a year")
    with pytest.raises(housekeeping.HousekeepingError, match="SINERGI_ARCHIVE_RETENTION_DAYS"):
        housekeeping.prune_archive(url, TODAY, archive_dir=archive)

    with psycopg.connect(url) as conn:
        conn.execute("DROP SCHEMA dq CASCADE")
    with pytest.raises(housekeeping.HousekeepingError, match="dq.batch"):
        housekeeping.prune_archive(url, TODAY, archive_dir=archive, retention_days=1)
    assert folders["old_current"].exists()


def test_lineage_events_expire(tmp_path):
    for name in (
        "events-20261101-010203.000001.json",
        "events-20270228-235959.999999.json",
        "not-an-event.json",
    ):
        (tmp_path / name).write_text("{}")
    deleted = housekeeping.prune_lineage_events(TODAY, lineage_dir=tmp_path, retention_days=90)
    assert deleted == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "events-20270228-235959.999999.json",
        "not-an-event.json",
    ]


def test_analyze_raw_and_marts(fresh_database):
    with psycopg.connect(fresh_database) as conn:
        for schema in ("raw", "marts", "staging"):
            conn.execute(f"CREATE SCHEMA {schema}")
            conn.execute(f"CREATE TABLE {schema}.t AS SELECT generate_series(1, 100) AS n")
    assert housekeeping.analyze(fresh_database) == ["marts.t", "raw.t"]
    with psycopg.connect(fresh_database) as conn:
        analysed = conn.execute(
            "SELECT schemaname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL ORDER BY 1"
        ).fetchall()
    assert analysed == [("marts",), ("raw",)]


def test_publish_data_docs_swaps_the_site_in(tmp_path):
    site, published = tmp_path / "data_docs", tmp_path / "docs" / "data_docs"
    assert housekeeping.publish_data_docs(site, published) is None, "nothing built yet"
    (site / "validations").mkdir(parents=True)
    (site / "index.html").write_text("v1")
    (site / "validations" / "a.html").write_text("a")
    assert housekeeping.publish_data_docs(site, published) == published / "index.html"
    (site / "index.html").write_text("v2")
    (site / "validations" / "a.html").unlink()
    housekeeping.publish_data_docs(site, published)
    assert (published / "index.html").read_text() == "v2"
    assert not (published / "validations" / "a.html").exists(), "the old site is replaced"
    assert sorted(p.name for p in published.parent.iterdir()) == ["data_docs"]


def test_the_housekeeping_dag_run(seeded, airflow_db, tmp_path, monkeypatch):
    """One ``dag.test()`` run: every task succeeds, and the archive, statistics and docs are
    as the steps promise (dbt docs generated against the real warehouse)."""
    from airflow.dag_processing.dagbag import DagBag

    url, archive, folders = seeded
    home = tmp_path  # the seeded archive is $SINERGI_HOME/archive
    (home / "data_docs").mkdir()
    (home / "data_docs" / "index.html").write_text("<html>data docs</html>")
    monkeypatch.setenv("SINERGI_HOME", str(home))
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", url)
    monkeypatch.setenv("SINERGI_PII_KEY", "housekeeping-test-key-0123456789")
    monkeypatch.delenv("SINERGI_DOCS_DIR", raising=False)

    bag = DagBag(dag_folder=str(DAGS / "housekeeping.py"))
    assert bag.import_errors == {}
    dag = bag.dags["housekeeping"]
    logical = datetime.combine(TODAY, time(6), ZoneInfo("Asia/Jakarta"))
    run = dag.test(logical_date=logical)
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "success", states
    assert set(states.values()) == {"success"}, states

    assert not folders["old_failed"].exists() and folders["old_current"].exists()
    docs = home / "docs"
    assert (docs / "data_docs" / "index.html").read_text() == "<html>data docs</html>"
    static = (docs / "dbt" / "static_index.html").read_text()
    assert "dim_worker" in static, "the dbt docs describe the project's models"
    index = (docs / "index.html").read_text()
    assert 'href="dbt/static_index.html"' in index and 'href="data_docs/index.html"' in index
    assert "2027-03-01" in index
    leftovers = [p.name for p in docs.iterdir() if p.name.startswith(".")]
    assert leftovers == [], "no half-built folders left behind"
    assert os.access(docs / "dbt" / "static_index.html", os.R_OK)
