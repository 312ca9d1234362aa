"""Business day, API window and deadlines: WIB calendar math around midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pendulum
import pytest

from sinergi.extract.window import WIB, api_window, business_date, delivery_deadline, format_wib
from sinergi.sources.registry import SOURCES


def test_nightly_run_logical_date_is_d_0200_wib() -> None:
    # Cron data-interval timetable "0 2 * * *" in Asia/Jakarta: the run at D+1 02:00 has the
    # logical date D 02:00 WIB, which is D-1 19:00 UTC.
    logical = datetime(2026, 1, 5, 2, 0, tzinfo=WIB)
    assert logical.astimezone(UTC) == datetime(2026, 1, 4, 19, 0, tzinfo=UTC)
    assert business_date(logical) == date(2026, 1, 5)
    assert business_date(logical.astimezone(UTC)) == date(2026, 1, 5)


def test_manual_dags_test_logical_date_midnight_utc() -> None:
    # `airflow dags test <dag> 2026-01-05` -> 2026-01-05T00:00Z = 07:00 WIB the same day.
    assert business_date(datetime(2026, 1, 5, tzinfo=UTC)) == date(2026, 1, 5)
    assert business_date(pendulum.datetime(2026, 1, 5, tz="UTC")) == date(2026, 1, 5)


def test_business_date_around_wib_midnight() -> None:
    # 16:59:59 UTC is 23:59:59 WIB (still D); 17:00 UTC is 00:00 WIB on D+1.
    assert business_date(datetime(2026, 1, 5, 16, 59, 59, tzinfo=UTC)) == date(2026, 1, 5)
    assert business_date(datetime(2026, 1, 5, 17, 0, tzinfo=UTC)) == date(2026, 1, 6)


def test_business_date_rejects_naive_datetime() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        business_date(datetime(2026, 1, 5, 2, 0))


def test_api_window_is_half_open_wib_day() -> None:
    start, end = api_window(date(2026, 1, 5))
    assert start.isoformat() == "2026-01-05T00:00:00+07:00"
    assert end.isoformat() == "2026-01-06T00:00:00+07:00"
    assert end - start == timedelta(days=1)


def test_api_window_no_dst_and_year_end() -> None:
    # WIB has no daylight saving: every window is exactly 24 h, also across a year end and
    # on dates where other zones switch (last Sunday of March).
    for d in (date(2026, 3, 29), date(2026, 10, 25), date(2026, 12, 31), date(2028, 2, 29)):
        start, end = api_window(d)
        assert end - start == timedelta(hours=24)
        assert start.utcoffset() == end.utcoffset() == timedelta(hours=7)
    assert api_window(date(2026, 12, 31))[1].date() == date(2027, 1, 1)


def test_delivery_deadline_is_next_day_plus_grace() -> None:
    spec = SOURCES["umkm_penerima"]
    assert spec.deadline_after_midnight == time(6, 0)
    deadline = delivery_deadline(spec, date(2026, 1, 5))
    assert deadline == datetime(2026, 1, 6, 6, 0, tzinfo=WIB)
    assert format_wib(deadline) == "2026-01-06 06:00 WIB"
    assert format_wib(deadline.astimezone(UTC)) == "2026-01-06 06:00 WIB"
