"""Housekeeping after the night: what the ``housekeeping`` DAG's tasks call.

Plain Python (no Airflow), each step idempotent:

* ``prune_archive``: delete archived deliveries older than the retention
  (``SINERGI_ARCHIVE_RETENTION_DAYS``, default 400 days before the business day), except a
  delivery whose batch is *in force*: a batch that is current for its night
  (``dq.batch.is_current``: the rows ``raw`` holds and dbt builds from) or the latest
  accepted batch of its source. What goes: superseded resends, failed, duplicate and
  incomplete deliveries, and archived bytes no batch refers to. The archive layout is
  ``<archive>/<source>/<YYYY-MM-DD>/<sha256>/<files>`` (``sinergi.ingest.archive``).
* ``prune_lineage_events``: OpenLineage event files below ``$SINERGI_HOME/lineage`` older
  than ``SINERGI_LINEAGE_RETENTION_DAYS`` (default 90).
* ``analyze``: ``ANALYZE`` every table of ``raw`` and ``marts``, so the planner's statistics
  follow the night's loads and rebuilds.
* ``publish_data_docs``: copy the Great Expectations Data Docs site to
  ``<docs>/data_docs`` (``<docs>`` is ``SINERGI_DOCS_DIR``, default ``$SINERGI_HOME/docs``,
  the folder a web server or file share publishes), swapped in whole.
* ``generate_dbt_docs``: ``dbt docs generate --static`` against the warehouse into
  ``<docs>/dbt`` (``static_index.html`` is one self-contained page).
* ``write_docs_index``: ``<docs>/index.html`` linking both.

The clock is never read: every age is counted from the business day the run is for.
"""

from __future__ import annotations

import html
import logging
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from sinergi import settings

log = logging.getLogger(__name__)

ARCHIVE_RETENTION_ENV = "SINERGI_ARCHIVE_RETENTION_DAYS"
LINEAGE_RETENTION_ENV = "SINERGI_LINEAGE_RETENTION_DAYS"
DOCS_DIR_ENV = "SINERGI_DOCS_DIR"
DEFAULT_ARCHIVE_RETENTION_DAYS = 400
DEFAULT_LINEAGE_RETENTION_DAYS = 90
ANALYZED_SCHEMAS = ("raw", "marts")

_NIGHT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# The OpenLineage file transport's names: events-YYYYmmdd-HHMMSS.ffffff.json
_LINEAGE_EVENT = re.compile(r"^events-(\d{8})-[\d.]+\.json$")


class HousekeepingError(RuntimeError):
    """A housekeeping step cannot run; the message says what to fix."""


def _days(variable: str, default: int) -> int:
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise HousekeepingError(f"{variable}={value!r} must be a whole number of days, >= 1")
    return int(value)


def archive_retention_days() -> int:
    return _days(ARCHIVE_RETENTION_ENV, DEFAULT_ARCHIVE_RETENTION_DAYS)


def lineage_retention_days() -> int:
    return _days(LINEAGE_RETENTION_ENV, DEFAULT_LINEAGE_RETENTION_DAYS)


def docs_dir() -> Path:
    """The published documentation: ``SINERGI_DOCS_DIR``, default ``$SINERGI_HOME/docs``."""
    value = os.environ.get(DOCS_DIR_ENV, "").strip()
    return Path(value).expanduser().resolve() if value else settings.sinergi_home() / "docs"


# -- archive retention ------------------------------------------------------------------------


@dataclass
class PruneResult:
    """What ``prune_archive`` did: delivery directories (``source/night/sha256``) removed and
    kept because a batch in force needs them, and the bytes freed."""

    cutoff: date
    deleted: list[str] = field(default_factory=list)
    kept_in_force: list[str] = field(default_factory=list)
    bytes_freed: int = 0

    def to_dict(self) -> dict:
        return {
            "cutoff": self.cutoff.isoformat(),
            "deleted": len(self.deleted),
            "kept_in_force": len(self.kept_in_force),
            "bytes_freed": self.bytes_freed,
        }


def batches_in_force(conn: psycopg.Connection) -> set[tuple[str, date, str]]:
    """(source, night, sha256) of every delivery a batch in force needs: current for its
    night, or the latest accepted (passed/warned) batch of its source."""
    rows = conn.execute(
        """
        SELECT source_system, logical_date, content_sha256 FROM dq.batch
        WHERE is_current AND content_sha256 IS NOT NULL
        UNION
        (
            SELECT DISTINCT ON (source_system) source_system, logical_date, content_sha256
            FROM dq.batch
            WHERE verdict IN ('passed', 'warned') AND content_sha256 IS NOT NULL
            ORDER BY source_system, logical_date DESC, batch_id DESC
        )
        """
    ).fetchall()
    return {(source, night, sha) for source, night, sha in rows}


def _has_batch_table(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT to_regclass('dq.batch') IS NOT NULL").fetchone()[0]


def prune_archive(
    warehouse_url: str,
    business_date: date,
    *,
    archive_dir: Path | None = None,
    retention_days: int | None = None,
    dry_run: bool = False,
) -> PruneResult:
    """Delete delivery directories of nights before ``business_date - retention`` that no
    batch in force needs (see the module docstring). Names only, never contents, are logged."""
    archive = Path(archive_dir) if archive_dir else settings.archive_dir()
    retention = retention_days if retention_days is not None else archive_retention_days()
    result = PruneResult(cutoff=business_date - timedelta(days=retention))
    if not archive.is_dir():
        log.info("no archive at %s: nothing to prune", archive)
        return result
    with psycopg.connect(warehouse_url, application_name="sinergi-housekeeping") as conn:
        if not _has_batch_table(conn):
            # No bookkeeping to tell what is in force: deleting anything would be a guess.
            raise HousekeepingError(
                "the warehouse has no dq.batch table: run an ingest night first; the archive "
                "is never pruned without knowing which deliveries are in force"
            )
        keep = batches_in_force(conn)
    for source_dir in sorted(p for p in archive.iterdir() if p.is_dir()):
        for night_dir in sorted(p for p in source_dir.iterdir() if p.is_dir()):
            if not _NIGHT.match(night_dir.name):
                continue  # not of the archive's layout: leave it alone
            night = date.fromisoformat(night_dir.name)
            if night >= result.cutoff:
                continue
            for delivery in sorted(p for p in night_dir.iterdir() if p.is_dir()):
                if not _SHA256.match(delivery.name):
                    continue
                name = f"{source_dir.name}/{night_dir.name}/{delivery.name[:12]}"
                if (source_dir.name, night, delivery.name) in keep:
                    result.kept_in_force.append(name)
                    continue
                size = sum(f.stat().st_size for f in delivery.rglob("*") if f.is_file())
                if not dry_run:
                    shutil.rmtree(delivery)
                result.deleted.append(name)
                result.bytes_freed += size
            if not dry_run and not any(night_dir.iterdir()):
                night_dir.rmdir()
    log.info(
        "archive retention %d days (nights before %s): %d deliveries deleted (%d bytes), %d "
        "kept because a batch in force needs them",
        retention, result.cutoff, len(result.deleted), result.bytes_freed,
        len(result.kept_in_force),
    )  # fmt: skip
    return result


def prune_lineage_events(
    business_date: date, *, lineage_dir: Path | None = None, retention_days: int | None = None
) -> int:
    """Delete OpenLineage event files written before ``business_date - retention``; how many."""
    folder = Path(lineage_dir) if lineage_dir else settings.sinergi_home() / "lineage"
    retention = retention_days if retention_days is not None else lineage_retention_days()
    cutoff = (business_date - timedelta(days=retention)).strftime("%Y%m%d")
    if not folder.is_dir():
        return 0
    deleted = 0
    for path in folder.iterdir():
        match = _LINEAGE_EVENT.match(path.name)
        if match and match.group(1) < cutoff:
            path.unlink()
            deleted += 1
    log.info("lineage events before %s: %d files deleted", cutoff, deleted)
    return deleted


# -- planner statistics ------------------------------------------------------------------------


def analyze(warehouse_url: str, schemas: tuple[str, ...] = ANALYZED_SCHEMAS) -> list[str]:
    """``ANALYZE`` each table of ``schemas`` (that exist); the tables analysed."""
    with psycopg.connect(
        warehouse_url, autocommit=True, application_name="sinergi-housekeeping"
    ) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE' ORDER BY 1, 2",
            (list(schemas),),
        ).fetchall()
        for schema, table in tables:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(schema, table)))
    names = [f"{schema}.{table}" for schema, table in tables]
    log.info("ANALYZE: %d tables in %s", len(names), ", ".join(schemas))
    return names


# -- documentation ----------------------------------------------------------------------------


def _swap_in(built: Path, target: Path) -> None:
    """Replace ``target`` by the directory ``built`` (same parent), the old one removed
    after: a reader sees the old or the new site, never half of one."""
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        os.replace(target, old)
    os.replace(built, target)
    shutil.rmtree(old, ignore_errors=True)


def publish_data_docs(source: Path | None = None, target: Path | None = None) -> Path | None:
    """Copy the Data Docs site into ``<docs>/data_docs``; its index, or None when Great
    Expectations has not built one yet (no validation ran)."""
    source = Path(source) if source else settings.data_docs_dir()
    target = Path(target) if target else docs_dir() / "data_docs"
    if not (source / "index.html").is_file():
        log.info("no Data Docs at %s yet (no validation has run): nothing to publish", source)
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f".{target.name}.building-{uuid.uuid4().hex[:8]}")
    shutil.copytree(source, building)
    _swap_in(building, target)
    log.info("Data Docs published to %s", target)
    return target / "index.html"


DBT_DOCS_FILES = ("static_index.html", "index.html", "manifest.json", "catalog.json")


def generate_dbt_docs(warehouse_url: str, business_date: date, target: Path | None = None) -> Path:
    """``dbt docs generate --static`` against the warehouse, published to ``<docs>/dbt``;
    the path of ``static_index.html`` (one file: models, columns, tests, lineage graph)."""
    from sinergi import dbt_runner

    target = Path(target) if target else docs_dir() / "dbt"
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.with_name(f".{target.name}.target-{uuid.uuid4().hex[:8]}")
    try:
        dbt_runner.run_dbt(
            ["docs", "generate", "--static"],
            dbt_runner.dbt_environment(warehouse_url, dbt_runner.pii_key()),
            target_path=work,
            dbt_vars={"logical_date": business_date.isoformat()},
        )
        building = target.with_name(f".{target.name}.building-{uuid.uuid4().hex[:8]}")
        building.mkdir()
        for name in DBT_DOCS_FILES:
            if (work / name).is_file():
                shutil.copy2(work / name, building / name)
        if not (building / "static_index.html").is_file():
            shutil.rmtree(building, ignore_errors=True)
            raise HousekeepingError(f"dbt docs generate wrote no static_index.html in {work}")
        _swap_in(building, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("dbt docs published to %s", target)
    return target / "static_index.html"


def write_docs_index(business_date: date, folder: Path | None = None) -> Path:
    """``<docs>/index.html``: links to what is published there."""
    folder = Path(folder) if folder else docs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    links = [
        ("data_docs/index.html", "Data Docs: every batch's validation, for data stewards"),
        ("dbt/static_index.html", "dbt docs: models, columns, tests and lineage"),
    ]
    items = "\n".join(
        f'  <li><a href="{href}">{html.escape(text)}</a></li>'
        for href, text in links
        if (folder / href).is_file()
    )
    page = (
        '<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>Sinergi docs</title>\n'
        f"<h1>Sinergi documentation</h1>\n<p>Published for business day "
        f"{business_date.isoformat()}.</p>\n<ul>\n{items}\n</ul>\n</html>\n"
    )
    index = folder / "index.html"
    temp = folder / f".index.html.{uuid.uuid4().hex[:8]}"
    temp.write_text(page, encoding="utf-8")
    os.replace(temp, index)
    return index
