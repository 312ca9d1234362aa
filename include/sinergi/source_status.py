"""Which sources were stale for a business day: the warehouse DAG's ``record_source_status``.

The warehouse build of day ``D`` runs once every source's ingest DAG has reported how its
night ended (the outcome Asset events: ``landed``, ``duplicate``, ``not_expected``,
``missing``, ``failed``; ``sinergi.sources.registry.OUTCOMES``). It then records, per source,
one row of ``dq.source_status`` for ``D``:

* ``outcome``: the source's outcome event for ``D`` if the run was triggered by one, else
  what ``dq.batch`` says about the night (its latest row), else ``not_expected`` when the
  calendar had no delivery due, else ``not_reported``;
* ``latest_accepted_date``: the newest night up to ``D`` with a batch that passed or warned;
* ``last_due_date``: the latest night up to ``D`` the calendar has a delivery due
  (``SourceSpec.last_due_on_or_before``);
* ``is_stale``: the marts built for ``D`` lack a delivery the calendar says is due, i.e.
  ``latest_accepted_date`` is before ``last_due_date`` (or nothing was ever accepted).

So a weekday source is not stale on Saturday when Friday loaded, a monthly one is not stale
on the 20th when the 1st loaded, and a daily source whose file was missing is stale until a
later night loads. Everything is computed from ``dq.batch`` rows up to ``D`` and the
registry, never from the clock: recording ``D`` again (a re-run) gives the same rows (an
upsert on ``(business_date, source_system)``; only ``recorded_at`` moves).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

import psycopg

from sinergi.ingest.batches import OUTCOME_OF_VERDICT
from sinergi.ingest.schema import ensure_schema
from sinergi.sources.registry import OUTCOMES, SOURCES, SourceSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceStatus:
    business_date: date
    source_system: str
    outcome: str
    latest_accepted_date: date | None
    last_due_date: date
    is_stale: bool


def is_stale(spec: SourceSpec, day: date, latest_accepted: date | None) -> bool:
    """Whether the newest accepted batch is older than the source's calendar allows on ``day``."""
    return latest_accepted is None or latest_accepted < spec.last_due_on_or_before(day)


def reported_outcomes(event_extras: Iterable[Mapping | None], day: date) -> dict[str, str]:
    """source -> outcome, from the outcome Asset events about ``day`` (a source's last event
    wins: a night re-run reports again). Events about other days, and events without a
    source or outcome (a ``raw.<source>`` event), are ignored."""
    outcomes: dict[str, str] = {}
    for extra in event_extras:
        if not extra or str(extra.get("business_date", ""))[:10] != day.isoformat():
            continue
        source, outcome = extra.get("source"), extra.get("outcome")
        if source in SOURCES and outcome in OUTCOMES:
            outcomes[source] = outcome
    return outcomes


def source_statuses(
    conn: psycopg.Connection, day: date, event_extras: Iterable[Mapping | None] = ()
) -> list[SourceStatus]:
    """The status of every registered source for business day ``day`` (see the module)."""
    reported = reported_outcomes(event_extras, day)
    accepted = dict(
        conn.execute(
            "SELECT source_system, max(logical_date) FROM dq.batch "
            "WHERE verdict IN ('passed', 'warned') AND logical_date <= %s "
            "GROUP BY source_system",
            (day,),
        ).fetchall()
    )
    accepted_before = dict(
        conn.execute(
            "SELECT source_system, max(logical_date) FROM dq.batch "
            "WHERE verdict IN ('passed', 'warned') AND logical_date < %s "
            "GROUP BY source_system",
            (day,),
        ).fetchall()
    )
    night_verdicts = dict(
        conn.execute(
            "SELECT DISTINCT ON (source_system) source_system, verdict FROM dq.batch "
            "WHERE logical_date = %s ORDER BY source_system, batch_id DESC",
            (day,),
        ).fetchall()
    )
    statuses = []
    for name, spec in SOURCES.items():
        if name in reported:
            outcome = reported[name]
        elif name in night_verdicts:
            outcome = OUTCOME_OF_VERDICT.get(night_verdicts[name], "failed")
        elif not spec.is_expected_on(day, first_night=name not in accepted_before):
            outcome = "not_expected"
        else:
            outcome = "not_reported"
        latest = accepted.get(name)
        statuses.append(
            SourceStatus(
                business_date=day,
                source_system=name,
                outcome=outcome,
                latest_accepted_date=latest,
                last_due_date=spec.last_due_on_or_before(day),
                is_stale=is_stale(spec, day, latest),
            )
        )
    return statuses


def record_source_status(
    warehouse_url: str, day: date, event_extras: Iterable[Mapping | None] = ()
) -> dict:
    """Write ``dq.source_status`` for ``day`` (one row per source, upserted) and return what
    was written: ``{"business_date", "stale": [sources], "sources": {source: row}}``."""
    with psycopg.connect(warehouse_url, application_name="sinergi-source-status") as conn:
        ensure_schema(conn)
        statuses = source_statuses(conn, day, event_extras)
        recorded_at = datetime.now(UTC)  # metadata: when it was recorded, not data
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO dq.source_status (business_date, source_system, outcome, "
                "latest_accepted_date, last_due_date, is_stale, recorded_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (business_date, source_system) DO UPDATE SET "
                "outcome = excluded.outcome, "
                "latest_accepted_date = excluded.latest_accepted_date, "
                "last_due_date = excluded.last_due_date, is_stale = excluded.is_stale, "
                "recorded_at = excluded.recorded_at",
                [
                    (s.business_date, s.source_system, s.outcome, s.latest_accepted_date,
                     s.last_due_date, s.is_stale, recorded_at)
                    for s in statuses
                ],
            )  # fmt: skip
    stale = [s.source_system for s in statuses if s.is_stale]
    for s in statuses:
        if s.is_stale:
            log.warning(
                "%s %s: stale: newest accepted batch %s, a delivery was due %s (night: %s)",
                s.source_system, day, s.latest_accepted_date or "never", s.last_due_date,
                s.outcome,
            )  # fmt: skip
    return {
        "business_date": day.isoformat(),
        "stale": stale,
        "sources": {
            s.source_system: {
                key: value.isoformat() if isinstance(value, date) else value
                for key, value in asdict(s).items()
                if key not in ("business_date", "source_system")
            }
            for s in statuses
        },
    }
