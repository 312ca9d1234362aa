"""Replay a simulated world into a warehouse without Airflow: for evaluations and benchmarks.

``ingest_world`` runs, night by night and source by source, the same steps the ingest DAGs
run (plan, file drop or API extract, land, load, validate) as plain function calls, with the
simulator's KemenP2MI API served on 127.0.0.1 for the duration. ``build_warehouse`` then
builds dbt, resolves identity and builds the marts in the order the warehouse DAG does.

The nightly pipeline itself is ``sinergi run`` (through Airflow); this is the short path to a
filled warehouse when what is measured comes after it (identity quality, dbt speed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sinergi.pipeline import logical_date_of

API_TOKEN = "replay-token"  # the simulated API's token, valid only for its 127.0.0.1 server


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def ingest_environment(world: Path, home: Path) -> Iterator[None]:
    """What replaying ``world`` needs: its KemenP2MI API served on 127.0.0.1, its landing
    area, the API's Airflow connection, no settle time; ``home`` for the archive, Data Docs
    and Airflow's home unless one is set (never the user's ~/airflow)."""
    from sinergi.simulate.kp2mi_api import serve_in_background

    with (
        serve_in_background(world, API_TOKEN, rate_limit_per_second=0) as api_url,
        _environment(
            AIRFLOW_HOME=os.environ.get("AIRFLOW_HOME", str(home / "airflow")),
            SINERGI_HOME=str(home),
            SINERGI_LANDING_DIR=str(world / "landing"),
            SINERGI_SETTLE_SECONDS="0",
            AIRFLOW_CONN_KP2MI_API=f"http://:{API_TOKEN}@{api_url.removeprefix('http://')}",
        ),
    ):
        yield


def ingest_world(url: str, world: Path, start: date, end: date, home: Path) -> None:
    """Ingest every source's deliveries of ``world`` for nights ``start``..``end``.

    In ``ingest_environment(world, home)``."""
    from sinergi.ingest import nightly
    from sinergi.sources.registry import SOURCES

    with ingest_environment(world, home):
        day = start
        while day <= end:
            for spec in SOURCES.values():
                night = nightly.plan(spec, logical_date_of(day), url)
                if not night["expected"]:
                    continue
                if spec.kind == "api":
                    delivery = nightly.extract_api(spec, night, "kp2mi_api")
                else:
                    # any time long ago: the files are complete, no settling needed
                    delivery = nightly.poke_file_drop(
                            spec, night, url, world / "landing",
                            now=datetime(2000, 1, 1, tzinfo=UTC),
                        )  # fmt: skip
                    if delivery is None:
                        continue  # a missing night of the simulated delivery faults
                batch = nightly.load(spec, nightly.land(spec, delivery, url), url)
                nightly.validate(spec, batch, url)
            day += timedelta(days=1)


def _dbt_build(url: str, day: date, pii_key: str, target_path: Path, selection: dict) -> None:
    from sinergi import dbt_runner

    ((option, models),) = selection.items()
    dbt_runner.run_dbt(
        ["build", f"--{option}", *models],
        dbt_runner.dbt_environment(url, pii_key),
        target_path=target_path,
        dbt_vars={"logical_date": day.isoformat()},
    )


def build_until_identity(url: str, day: date, pii_key: str, target_path: Path) -> None:
    """dbt build of everything identity resolution reads (and all that does not need it)."""
    from sinergi import dbt_runner

    _dbt_build(url, day, pii_key, target_path, dbt_runner.BEFORE_IDENTITY)


def build_from_identity(url: str, day: date, pii_key: str, target_path: Path) -> None:
    """dbt build of the identity model and everything after it (the marts)."""
    from sinergi import dbt_runner

    _dbt_build(url, day, pii_key, target_path, dbt_runner.AFTER_IDENTITY)


def build_warehouse(url: str, day: date, pii_key: str, target_path: Path) -> None:
    """dbt up to the identity input, identity resolution, then the rest of dbt."""
    from sinergi.identity import resolve

    build_until_identity(url, day, pii_key, target_path)
    resolve.resolve_identities(url, day, pii_key=pii_key)
    build_from_identity(url, day, pii_key, target_path)
