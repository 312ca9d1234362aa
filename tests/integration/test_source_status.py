"""dq.source_status: which sources were stale for a business day, recorded idempotently."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from sinergi.ingest.schema import ensure_schema
from sinergi.source_status import record_source_status
from sinergi.sources.registry import SOURCES

pytestmark = pytest.mark.integration

SUN = date(2026, 1, 11)


def _batch(conn, source: str, day: date, verdict: str) -> None:
    conn.execute(
        "INSERT INTO dq.batch (source_system, logical_date, verdict, is_current) "
        "VALUES (%s, %s, %s, %s)",
        (source, day, verdict, verdict in ("passed", "warned")),
    )


def _rows(url: str, day: date) -> dict[str, tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT source_system, outcome, latest_accepted_date, last_due_date, is_stale "
            "FROM dq.source_status WHERE business_date = %s",
            (day,),
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_stale_sources_of_a_night_recorded_once_and_again(fresh_database):
    url = fresh_database
    with psycopg.connect(url) as conn:
        ensure_schema(conn)
        _batch(conn, "umkm_penerima", SUN, "passed")  # landed tonight
        _batch(conn, "kemenkop_anggota", date(2026, 1, 10), "passed")
        _batch(conn, "kemenkop_anggota", SUN, "missing")  # missing tonight: one night behind
        _batch(conn, "parekraf_pelatihan", date(2026, 1, 9), "warned")  # Friday; Sunday: none due
        _batch(conn, "bps_wilayah", date(2026, 1, 5), "passed")  # the backlog, first night
        _batch(conn, "kp2mi_pmi", date(2026, 1, 12), "passed")  # a later night: not counted
        _batch(conn, "kp2mi_pmi", SUN, "failed")
    events = [{"source": "kp2mi_program", "business_date": "2026-01-11", "outcome": "failed"}]

    result = record_source_status(url, SUN, events)
    rows = _rows(url, SUN)
    assert set(rows) == set(SOURCES), "one row per source"
    assert rows["umkm_penerima"] == ("landed", SUN, SUN, False)
    assert rows["kemenkop_anggota"] == ("missing", date(2026, 1, 10), SUN, True)
    assert rows["parekraf_pelatihan"] == ("not_expected", date(2026, 1, 9), date(2026, 1, 9),
                                          False)  # fmt: skip
    assert rows["bps_wilayah"] == ("not_expected", date(2026, 1, 5), date(2026, 1, 1), False)
    assert rows["kp2mi_pmi"] == ("failed", None, SUN, True)
    assert rows["kp2mi_program"] == ("failed", None, SUN, True), "the event's outcome"
    assert rows["kemendes_kegiatan"] == ("not_reported", None, SUN, True)
    assert set(result["stale"]) == {
        "kemenkop_anggota", "kp2mi_pmi", "kp2mi_program", "kemendes_kegiatan",
        "kemendes_idm", "bps_penduduk",
    }  # fmt: skip
    assert result["sources"]["kemenkop_anggota"]["latest_accepted_date"] == "2026-01-10"

    # A re-run (the same night built again) rewrites the same rows, one per source.
    record_source_status(url, SUN, events)
    assert _rows(url, SUN) == rows
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM dq.source_status").fetchone()[0] == len(SOURCES)
        # ... and when the night is caught up later, re-recording it says so.
        _batch(conn, "kemenkop_anggota", SUN, "passed")
    record_source_status(url, SUN, events)
    assert _rows(url, SUN)["kemenkop_anggota"] == ("landed", SUN, SUN, False)
