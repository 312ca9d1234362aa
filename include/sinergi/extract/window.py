"""Which business day a run carries, and the time windows that follow from it.

All of Sinergi's calendar is Asia/Jakarta (WIB, UTC+7, no daylight saving): the logical date
``D`` of a nightly run is the business day whose changes the extracts carry (SOURCES.md,
"Common rules"). Nothing here reads the clock: every answer follows from the run's logical
date, so re-running a night gives the same windows and deadlines (DESIGN.md rule 1).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sinergi.sources.registry import SourceSpec

WIB = ZoneInfo("Asia/Jakarta")


def business_date(logical_date: datetime) -> date:
    """The business day ``D`` of a run with this logical date.

    The nightly DAGs run at 02:00 WIB on ``D+1`` with a cron *data-interval* timetable, so
    their logical date is the start of the interval, ``D 02:00 WIB``. A manual
    ``airflow dags test <dag> 2026-01-05`` has the logical date ``2026-01-05T00:00Z``, which is
    07:00 WIB on the same day. Both map to ``D`` by converting to WIB and taking the date.
    """
    if logical_date.tzinfo is None or logical_date.utcoffset() is None:
        # A naive datetime could be UTC or WIB: a 7-hour guess decides the business day.
        raise ValueError(
            f"logical date {logical_date.isoformat()} has no time zone; pass an aware datetime "
            "(Airflow's logical_date always is)"
        )
    return logical_date.astimezone(WIB).date()


def api_window(d: date) -> tuple[datetime, datetime]:
    """``[D 00:00+07:00, D+1 00:00+07:00)``: the records changed on ``D`` (SOURCES.md 1)."""
    start = datetime.combine(d, time(0, 0), tzinfo=WIB)
    end = datetime.combine(d + timedelta(days=1), time(0, 0), tzinfo=WIB)
    return start, end


def delivery_deadline(spec: SourceSpec, d: date) -> datetime:
    """When a file drop for ``D`` counts as missing: ``D+1 00:00 WIB`` plus the source's grace."""
    return datetime.combine(d + timedelta(days=1), spec.deadline_after_midnight, tzinfo=WIB)


def format_wib(moment: datetime) -> str:
    """``2026-01-06 06:00 WIB``: how a time appears in messages for the engineer on duty."""
    return f"{moment.astimezone(WIB):%Y-%m-%d %H:%M} WIB"
