"""Stale sources: the calendar's last due night, and which outcome events count for a day."""

from __future__ import annotations

from datetime import date

import pytest

from sinergi.source_status import is_stale, reported_outcomes
from sinergi.sources.registry import SOURCES

SAT, SUN, MON = date(2026, 1, 10), date(2026, 1, 11), date(2026, 1, 12)
FRI = date(2026, 1, 9)


@pytest.mark.parametrize(
    ("source", "day", "due"),
    [
        ("umkm_penerima", SUN, SUN),  # daily: that night
        ("kp2mi_pmi", MON, MON),
        ("parekraf_pelatihan", SAT, FRI),  # weekdays: Friday over the weekend
        ("parekraf_pelatihan", SUN, FRI),
        ("parekraf_pelatihan", MON, MON),
        ("bps_wilayah", date(2026, 1, 20), date(2026, 1, 1)),  # monthly: the 1st
        ("bps_wilayah", date(2026, 2, 1), date(2026, 2, 1)),
        ("bps_penduduk", date(2026, 11, 28), date(2026, 1, 1)),  # yearly: 1 January
        ("kemendes_idm", date(2026, 6, 30), date(2025, 7, 1)),  # yearly in July
        ("kemendes_idm", date(2026, 7, 2), date(2026, 7, 1)),
    ],
)
def test_last_due_night(source, day, due):
    assert SOURCES[source].last_due_on_or_before(day) == due


def test_stale_when_the_newest_accepted_batch_is_older_than_the_last_due_night():
    umkm, parekraf, bps = (SOURCES[n] for n in ("umkm_penerima", "parekraf_pelatihan",
                                                 "bps_wilayah"))  # fmt: skip
    assert not is_stale(umkm, SUN, SUN)
    assert is_stale(umkm, SUN, SAT), "a daily source one night behind"
    assert not is_stale(parekraf, SUN, FRI), "no weekend file is due"
    assert is_stale(parekraf, MON, FRI), "Monday's file is due"
    assert not is_stale(bps, date(2026, 1, 20), date(2026, 1, 5)), "first-night backlog"
    assert is_stale(bps, date(2026, 2, 3), date(2026, 1, 5)), "February's master is due"
    assert is_stale(umkm, SUN, None), "never loaded"


def test_reported_outcomes_of_the_day_the_last_event_wins():
    extras = [
        {"source": "umkm_penerima", "business_date": "2026-01-11", "outcome": "failed"},
        {"source": "umkm_penerima", "business_date": "2026-01-11", "outcome": "landed"},
        {"source": "kp2mi_pmi", "business_date": "2026-01-10", "outcome": "missing"},  # not D
        {"source": "parekraf_pelatihan", "business_date": "2026-01-11",
         "outcome": "not_expected"},
        {"business_date": "2026-01-11", "batch_id": 3, "verdict": "passed"},  # a raw.<src> event
        {"source": "nope", "business_date": "2026-01-11", "outcome": "landed"},
        None,
    ]  # fmt: skip
    assert reported_outcomes(extras, SUN) == {
        "umkm_penerima": "landed",
        "parekraf_pelatihan": "not_expected",
    }


def test_the_ingest_report_of_a_night_that_needs_no_database_lookup():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sinergi.ingest.nightly import report_outcome

    spec = SOURCES["parekraf_pelatihan"]
    at = datetime(2026, 1, 10, 2, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
    no_db = "postgresql://nowhere.invalid/none"  # none of these cases may connect

    def report(night, batch=None):
        return report_outcome(spec, at, no_db, night=night, batch=batch, extracted=True)

    night = {"business_date": "2026-01-10", "expected": False, "reason": "no delivery"}
    assert report(night)["outcome"] == "not_expected"
    assert report(None) | {"reason": ""} == {
        "source": "parekraf_pelatihan", "business_date": "2026-01-10", "outcome": "failed",
        "verdict": None, "batch_id": None, "reason": "",
    }, "plan did not finish: the day from the logical date"  # fmt: skip
    night = {**night, "expected": True}
    landed = report(night, {"batch_id": 4, "verdict": "warned", "publish": True})
    assert (landed["outcome"], landed["verdict"], landed["batch_id"]) == ("landed", "warned", 4)
    duplicate = report(night, {"batch_id": 5, "verdict": "duplicate", "publish": False})
    assert duplicate["outcome"] == "duplicate"
