"""dbt source freshness of the raw tables: the warehouse DAG's ``check_source_freshness``.

The thresholds are dbt's, declared per source in
``dbt_project/models/staging/_staging__sources.yml`` on ``_loaded_at``: a daily source warns
30 h after its last load and errors after 54 h; Parekraf, delivering on weekdays only, after
78 h and 102 h; the monthly BPS region master after 33 and 40 days. The two yearly files
have none.

``check_source_freshness`` runs ``dbt source freshness`` once for every raw source and reads
dbt's ``sources.json``, one ``SourceFreshness`` per source table. dbt exits non-zero when a
source is at ``error``; that is a result here, not a failure of the check. Only a run that
wrote no results (dbt could not start, the warehouse was unreachable) raises ``DbtError``.

Freshness compares the newest load with the clock, so it says something only about the
night that just ended. ``applies_to`` says whether a business day is that night; a rebuild of
an earlier day skips the check (the calendar-based ``dq.source_status`` covers every day).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sinergi import dbt_runner

# The states dbt reports per source table, worst last.
PASS, WARN, ERROR, RUNTIME_ERROR = "pass", "warn", "error", "runtime error"


@dataclass(frozen=True)
class SourceFreshness:
    source: str  # the raw table, which is the source system's name
    status: str  # pass, warn, error, runtime error (dbt's words)
    hours_since_load: float | None  # None when dbt could not measure it
    warn_after_hours: float | None
    error_after_hours: float | None
    message: str = ""  # dbt's error text for a runtime error

    def describe(self) -> str:
        """One line for the task log and the alert: the source, its age, the threshold."""
        if self.status == RUNTIME_ERROR:
            return f"{self.source}: freshness could not be measured: {self.message}"
        age = "never loaded" if self.hours_since_load is None else (
            f"last loaded {self.hours_since_load:.1f} h ago"
        )  # fmt: skip
        limit = self.error_after_hours if self.status == ERROR else self.warn_after_hours
        if self.status == PASS or limit is None:
            return f"{self.source}: {self.status}, {age}"
        return f"{self.source}: {self.status}, {age} (limit {limit:g} h)"


@dataclass(frozen=True)
class FreshnessReport:
    sources: tuple[SourceFreshness, ...]

    def with_status(self, *statuses: str) -> list[SourceFreshness]:
        return [s for s in self.sources if s.status in statuses]

    @property
    def failing(self) -> list[SourceFreshness]:
        """Sources past their error threshold, or whose freshness could not be measured."""
        return self.with_status(ERROR, RUNTIME_ERROR)

    @property
    def warning(self) -> list[SourceFreshness]:
        return self.with_status(WARN)

    def summary(self, sources: list[SourceFreshness]) -> str:
        return "; ".join(s.describe() for s in sources)

    def as_dict(self) -> dict:
        return {s.source: {"status": s.status, "hours_since_load": s.hours_since_load}
                for s in self.sources}  # fmt: skip


def applies_to(business_date: date, today: date) -> bool:
    """Whether freshness (load age against the clock) means anything for a build of
    ``business_date`` run on ``today`` (both in Asia/Jakarta): only for the night just ended,
    i.e. yesterday's business day (or today's, for a build started before midnight)."""
    return business_date >= today - timedelta(days=1)


def _hours(criterion: dict | None) -> float | None:
    if not criterion or criterion.get("count") is None:
        return None
    per_period = {"minute": 1 / 60, "hour": 1, "day": 24}
    return criterion["count"] * per_period[criterion["period"]]


def read_results(sources_json: Path) -> FreshnessReport:
    """The raw sources' freshness from dbt's ``sources.json`` (dbt's own artifact)."""
    results = json.loads(sources_json.read_text())["results"]
    sources = []
    for result in results:
        # unique_id: source.<project>.<source name>.<table>; only the raw tables are checked
        _, _, source_name, table = result["unique_id"].split(".", 3)
        if source_name != "raw":
            continue
        criteria = result.get("criteria") or {}
        age_seconds = result.get("max_loaded_at_time_ago_in_s")
        if str(result.get("max_loaded_at", "")).startswith("0001-"):
            age_seconds = None  # an empty table: dbt reports year 1 as its newest load
        sources.append(
            SourceFreshness(
                source=table,
                status=result["status"],
                hours_since_load=None if age_seconds is None else round(age_seconds / 3600, 1),
                warn_after_hours=_hours(criteria.get("warn_after")),
                error_after_hours=_hours(criteria.get("error_after")),
                message=(result.get("error") or "")[:300],
            )
        )
    return FreshnessReport(tuple(sorted(sources, key=lambda s: s.source)))


def check_source_freshness(warehouse_url: str, pii_key: str) -> FreshnessReport:
    """``dbt source freshness --select source:raw`` against the warehouse; its results."""
    with tempfile.TemporaryDirectory(prefix="sinergi-freshness-") as work:
        target = Path(work)
        output = target / "sources.json"  # dbt writes it into its target path
        try:
            dbt_runner.run_dbt(
                ["source", "freshness", "--select", "source:raw"],
                dbt_runner.dbt_environment(warehouse_url, pii_key),
                target_path=target,
            )
        except dbt_runner.DbtError:
            # dbt exits 1 when a source is at error; its results say which. No results at
            # all means dbt itself failed, and that error is the one to show.
            if not output.is_file():
                raise
        return read_results(output)
