"""Benchmark the nightly pipeline: full initial build, then single nights, stage by stage.

    make bench-pipeline SCALE=100k        (SCALE=10k for a quick look, SCALE=1m for the big one)
    python bench/pipeline.py --scale 10k --nights 30 --single-nights 3

Simulates a world (or reuses one, ``--world``), creates a database of its own on the
warehouse's server, and runs without Airflow, timing each call:

* the **full build**: the first night (it carries the sources' 8-year backlog) through every
  source's ingest steps (``sinergi.ingest.nightly``: plan, extract or file-drop poke, land,
  load, validate), then dbt up to the identity input, identity resolution, dbt from identity;
* **single nights**: the next ``--single-nights`` nights, each ingested and built the same way
  (medians reported);
* the **reference points** on the same files: bare ``COPY`` of the first night's deliveries
  into empty tables (the ingest limit), and a naive pipeline (pandas read + ``to_sql``, pandas
  checks, ``dbt build --full-refresh`` with identity re-linked in full) for the full build and
  the last single night.

Per stage: wall time, rows, rows/s, peak resident memory of this process and its children
(sampled by psutil every 50 ms; the PostgreSQL server is not a child and is not counted), and
the warehouse size (``pg_database_size``). Writes ``bench/results/pipeline_<scale>.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import os
import platform
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg

SCALES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}
START = date(2026, 1, 1)
SEED = 1
PII_KEY = "pipeline-benchmark-key-not-secret"
RESULTS = Path(__file__).parent / "results"
INGEST_STAGES = ("plan", "extract", "land", "load", "validate")
BUILD_STAGES = ("dbt_before_identity", "identity", "dbt_after_identity")

# Targets of issue 7.
TARGET_INGEST_VS_COPY = 0.8
TARGET_NIGHT_VS_FULL = 0.05
TARGET_1M_VS_100K = 11.0
TARGET_NAIVE_SPEEDUP = 10.0
TARGET_PEAK_MIB = 4096


# -- measuring ---------------------------------------------------------------------------


class MemorySampler:
    """Samples the resident memory of this process and all its children in a thread; each
    open ``window`` keeps the highest sum it saw."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.process = psutil.Process()
        self.windows: list[list[int]] = []
        self.overall = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> int:
        total = 0
        for proc in [self.process, *self.process.children(recursive=True)]:
            with suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self._record(self.sample())
            self._stop.wait(self.interval)

    def _record(self, value: int) -> None:
        self.overall = max(self.overall, value)
        for window in list(self.windows):
            window[0] = max(window[0], value)

    @contextmanager
    def window(self) -> Iterator[list[int]]:
        peak = [self.sample()]
        self.windows.append(peak)
        try:
            yield peak
        finally:
            self._record(self.sample())
            self.windows.remove(peak)


class Recorder:
    """One row per timed call: phase, night, source, stage, seconds, rows, peak memory."""

    def __init__(self, sampler: MemorySampler, profile_stage: str | None = None) -> None:
        self.sampler = sampler
        self.rows: list[dict] = []
        self.profile_stage = profile_stage
        self.profiler = cProfile.Profile() if profile_stage else None

    @contextmanager
    def measure(self, phase: str, night: date, stage: str, source: str = "") -> Iterator[dict]:
        row = {"phase": phase, "night": night.isoformat(), "source": source, "stage": stage}
        profiling = self.profiler is not None and stage == self.profile_stage
        with self.sampler.window() as peak:
            began = time.perf_counter()
            if profiling:
                self.profiler.enable()
            try:
                yield row
            finally:
                if profiling:
                    self.profiler.disable()
                row["seconds"] = round(time.perf_counter() - began, 3)
                row["peak_rss_mib"] = round(peak[0] / 2**20)
                self.rows.append(row)
                rows = row.get("rows", "")
                print(f"  {phase} {row['night']} {source or '-'} {stage}: {row['seconds']} s,"
                      f" {rows} rows, {row['peak_rss_mib']} MiB", flush=True)  # fmt: skip

    def select(self, phase: str, night: str | None = None) -> list[dict]:
        return [r for r in self.rows if r["phase"] == phase and night in (None, r["night"])]

    def profile_top(self, count: int = 25) -> list[dict]:
        if self.profiler is None:
            return []
        stats = pstats.Stats(self.profiler)
        entries = sorted(stats.stats.items(), key=lambda item: item[1][3], reverse=True)
        return [
            {
                "function": f"{Path(file).name}:{line}({name})",
                "calls": calls,
                "own_seconds": round(own, 3),
                "cumulative_seconds": round(cumulative, 3),
            }
            for (file, line, name), (_, calls, own, cumulative, _) in entries[:count]
        ]


def summarise(rows: list[dict]) -> dict:
    """Per stage: seconds, rows, rows/s and peak memory summed (peaks: max) over ``rows``."""
    stages: dict[str, dict] = {}
    for row in rows:
        stage = stages.setdefault(row["stage"], {"seconds": 0.0, "rows": 0, "peak_rss_mib": 0})
        stage["seconds"] += row["seconds"]
        stage["rows"] += row.get("rows", 0) or 0
        stage["peak_rss_mib"] = max(stage["peak_rss_mib"], row["peak_rss_mib"])
    for stage in stages.values():
        stage["seconds"] = round(stage["seconds"], 2)
        seconds = stage["seconds"]
        stage["rows_per_second"] = round(stage["rows"] / seconds) if seconds else None
    return {
        "stages": stages,
        "seconds": round(sum(s["seconds"] for s in stages.values()), 2),
        "peak_rss_mib": max((s["peak_rss_mib"] for s in stages.values()), default=0),
    }


# -- the database --------------------------------------------------------------------------


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def recreate_database(admin_url: str, database: str) -> None:
    drop_database(admin_url, database)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')


def drop_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def database_mib(url: str) -> float:
    with psycopg.connect(url) as conn:
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return round(size / 2**20, 1)


def count_rows(url: str, relation: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]


# -- the pipeline, timed per stage ---------------------------------------------------------


def _lines(path: Path) -> int:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        return sum(1 for _ in handle)


def ingest_night(rec: Recorder, phase: str, url: str, world: Path, day: date) -> list[dict]:
    """Every source's ingest steps for ``day``, each call timed; the batches it landed."""
    from sinergi.ingest import nightly
    from sinergi.pipeline import logical_date_of
    from sinergi.sources.registry import SOURCES

    landed = []
    for spec in SOURCES.values():
        with rec.measure(phase, day, "plan", spec.name):
            night = nightly.plan(spec, logical_date_of(day), url)
        if not night["expected"]:
            continue
        with rec.measure(phase, day, "extract", spec.name) as row:
            if spec.kind == "api":
                delivery = nightly.extract_api(spec, night, "kp2mi_api")
                row["rows"] = _lines(Path(delivery["extract_path"]))
            else:
                delivery = nightly.poke_file_drop(
                    spec, night, url, world / "landing", now=datetime(2000, 1, 1, tzinfo=UTC)
                )
        if delivery is None:
            continue  # a night the simulator left undelivered
        with rec.measure(phase, day, "land", spec.name) as land_row:
            batch = nightly.land(spec, delivery, url)
        with rec.measure(phase, day, "load", spec.name) as load_row:
            batch = nightly.load(spec, batch, url)
            load_row["rows"] = batch.get("rows_received", 0)
        land_row["rows"] = load_row["rows"]
        with rec.measure(phase, day, "validate", spec.name) as row:
            try:
                outcome = nightly.validate(spec, batch, url)
            except nightly.NotRetryable as error:  # a failed batch is a result, not a crash
                outcome = {"verdict": "failed", "reason": str(error)}
            row["rows"] = load_row["rows"]
            row["verdict"] = outcome.get("verdict") or batch.get("action")
        landed.append({"source": spec.name, "kind": spec.kind, **batch})
    return landed


def dbt_slowest(target: Path, count: int = 8) -> list[dict]:
    """The slowest nodes of the last dbt invocation (its run_results.json)."""
    path = target / "run_results.json"
    if not path.is_file():
        return []
    results = json.loads(path.read_text())["results"]
    results.sort(key=lambda r: r["execution_time"], reverse=True)
    return [
        {"node": r["unique_id"].split(".", 2)[-1], "seconds": round(r["execution_time"], 2)}
        for r in results[:count]
    ]


def build_night(
    rec: Recorder, phase: str, url: str, day: date, target: Path, full_refresh: bool = False
) -> dict:
    """dbt up to the identity input, identity, dbt from identity: each timed; the slowest
    dbt models and the identity summary."""
    from sinergi import dbt_runner
    from sinergi.identity import resolve

    environment_ = dbt_runner.dbt_environment(url, PII_KEY)
    slowest = {}

    def dbt(stage: str, selection: dict) -> None:
        ((option, models),) = selection.items()
        args = ["build", f"--{option}", *models] + (["--full-refresh"] if full_refresh else [])
        with rec.measure(phase, day, stage) as row:
            dbt_runner.run_dbt(
                args, environment_, target_path=target, dbt_vars={"logical_date": day.isoformat()}
            )
            row["rows"] = records
        slowest[stage] = dbt_slowest(target)

    records = _raw_rows(url)
    dbt("dbt_before_identity", dbt_runner.BEFORE_IDENTITY)
    with rec.measure(phase, day, "identity") as row:
        summary = resolve.resolve_identities(url, day, pii_key=PII_KEY, full=full_refresh)
        row["rows"] = summary.records
    dbt("dbt_after_identity", dbt_runner.AFTER_IDENTITY)
    return {"dbt_slowest": slowest, "identity": summary.as_dict()}


def _raw_rows(url: str) -> int:
    """Rows in raw.* (the dbt stages' input)."""
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT quote_ident(table_name) FROM information_schema.tables"
                " WHERE table_schema = 'raw'"
            )
        ]
        return sum(conn.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0] for t in tables)


# -- reference: bare COPY ------------------------------------------------------------------


def _copy_options(path: Path) -> tuple[int, str]:
    """(columns, COPY options) for a delivery file; JSONL as one text column."""
    name = path.name.removesuffix(".gz")
    if name.endswith(".jsonl"):
        return 1, "FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01'"
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        header = handle.readline()
    delimiter = ";" if header.count(";") > header.count(",") else ","
    columns = header.count(delimiter) + 1
    return columns, f"FORMAT csv, DELIMITER '{delimiter}', HEADER true, ON_ERROR ignore"


def bare_copy(url: str, batches: list[dict]) -> dict:
    """COPY each delivery file as received (gzip decompressed in this process) into an empty
    table of text columns, one transaction per file, as fast as PostgreSQL takes CSV."""
    files = []
    with psycopg.connect(url) as conn:
        conn.execute("DROP SCHEMA IF EXISTS bench_copy CASCADE")
        conn.execute("CREATE SCHEMA bench_copy")
        conn.commit()
        for batch in batches:
            path = Path(batch.get("archive_path", ""))
            if batch.get("action") != "load" or path.suffix == ".xlsx" or not path.is_file():
                continue
            columns, options = _copy_options(path)
            table = f"bench_copy.{batch['source']}"
            cols = ", ".join(f"c{i} text" for i in range(columns))
            conn.execute(f"CREATE TABLE {table} ({cols})")
            conn.commit()
            opener = gzip.open if path.suffix == ".gz" else open
            began = time.perf_counter()
            with (
                conn.cursor() as cur,
                opener(path, "rb") as handle,
                cur.copy(f"COPY {table} FROM STDIN ({options})") as copy,
            ):
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
            conn.commit()
            seconds = time.perf_counter() - began
            rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            files.append(
                {"source": batch["source"], "file": path.name, "rows": rows,
                 "seconds": round(seconds, 3)}
            )  # fmt: skip
        conn.execute("DROP SCHEMA bench_copy CASCADE")
        conn.commit()
    return {"files": files}


# -- reference: the naive pipeline -----------------------------------------------------------


def _naive_read(source: str, path: Path):
    import pandas as pd

    name = path.name.removesuffix(".gz")
    if name.endswith(".jsonl"):
        frame = pd.read_json(path, lines=True, dtype=False)
        for column in frame.columns:  # nested values (participants) as JSON text
            if frame[column].map(lambda v: isinstance(v, (list, dict))).any():
                frame[column] = frame[column].map(json.dumps)
        return frame
    if name.endswith(".xlsx"):
        return pd.read_excel(path, sheet_name="Peserta", header=3, dtype=str)
    separator = ";" if source == "umkm_penerima" else ","
    return pd.read_csv(path, sep=separator, dtype=str, encoding="utf-8-sig")


def _naive_checks(frame) -> int:
    """What a first validation of a pandas frame looks like: ids present and unique, NIKs of
    16 digits, dates that parse. The number of failing values."""
    import pandas as pd

    failures = 0
    if frame.empty:
        return failures
    first = frame.columns[0]
    failures += int(frame[first].isna().sum()) + int(frame[first].duplicated().sum())
    for column in frame.columns:
        lowered = str(column).lower()
        if "nik" in lowered:
            failures += int((~frame[column].astype(str).str.fullmatch(r"\d{16}")).sum())
        elif lowered.startswith(("tgl", "tanggal")):
            parsed = pd.to_datetime(frame[column], errors="coerce", format="mixed")
            failures += int((parsed.isna() & frame[column].notna()).sum())
    return failures


def naive_night(rec: Recorder, url: str, day: date, batches: list[dict], target: Path) -> dict:
    """pandas read + ``to_sql`` of the night's delivery files, pandas checks, then dbt
    ``build --full-refresh`` with identity re-linked in full (same models, same data)."""
    from sqlalchemy import create_engine

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS naive")
    failures = 0
    for batch in batches:
        path = Path(batch.get("archive_path", ""))
        if batch.get("action") != "load" or not path.is_file():
            continue
        with rec.measure("naive", day, "read_to_sql", batch["source"]) as row:
            frame = _naive_read(batch["source"], path)
            if len(frame.columns):
                frame.to_sql(
                    batch["source"], engine, schema="naive", if_exists="append", index=False
                )
            row["rows"] = len(frame)
        with rec.measure("naive", day, "pandas_checks", batch["source"]) as row:
            failures += _naive_checks(frame)
            row["rows"] = len(frame)
    engine.dispose()
    built = build_night(rec, "naive", url, day, target, full_refresh=True)
    return {"check_failures": failures, **built}


# -- the run -----------------------------------------------------------------------------------


def simulate(rec: Recorder, persons: int, nights: int, out: Path) -> None:
    end = START + timedelta(days=nights - 1)
    command = [
        sys.executable, "-m", "sinergi.cli", "simulate", "--persons", str(persons),
        "--from", START.isoformat(), "--to", end.isoformat(), "--seed", str(SEED),
        "--out", str(out), "--no-progress",
    ]  # fmt: skip
    with rec.measure("simulate", START, "simulate"):
        subprocess.run(command, check=True)


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def machine() -> dict:
    memory = psutil.virtual_memory().total
    return {
        "arch": platform.machine(),
        "nproc": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "python": platform.python_version(),
        "load_average_at_start": load_average(),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 4)


def _median_night(rows: list[dict]) -> dict:
    nights = sorted({r["night"] for r in rows})
    per_night = [summarise([r for r in rows if r["night"] == n]) for n in nights]
    if not per_night:
        return {}
    median_seconds = statistics.median(n["seconds"] for n in per_night)
    stages = {}
    for stage in {s for n in per_night for s in n["stages"]}:
        values = [n["stages"][stage] for n in per_night if stage in n["stages"]]
        stages[stage] = {
            "seconds_median": round(statistics.median(v["seconds"] for v in values), 2),
            "rows_median": statistics.median(v["rows"] for v in values),
            "peak_rss_mib": max(v["peak_rss_mib"] for v in values),
        }
    return {
        "nights": nights,
        "seconds_each": [n["seconds"] for n in per_night],
        "seconds_median": round(median_seconds, 2),
        "stages": stages,
        "peak_rss_mib": max(n["peak_rss_mib"] for n in per_night),
    }


def targets(result: dict) -> dict:
    """The issue's ratios from the measured numbers."""
    full = result["full_build"]
    ingest = result["bare_copy"]
    out: dict = {}
    copy_rows = sum(f["rows"] for f in ingest["files"])
    copy_seconds = sum(f["seconds"] for f in ingest["files"])
    copied = {f["source"] for f in ingest["files"]}
    first = [r for r in result["calls"] if r["phase"] == "full_build" and r["source"] in copied]
    land_load = sum(r["seconds"] for r in first if r["stage"] in ("land", "load"))
    with_validate = land_load + sum(r["seconds"] for r in first if r["stage"] == "validate")
    out["ingest_vs_bare_copy"] = {
        "sources": sorted(copied),
        "file_rows": copy_rows,
        "bare_copy_seconds": round(copy_seconds, 2),
        "bare_copy_rows_per_second": round(copy_rows / copy_seconds) if copy_seconds else None,
        "ingest_land_load_seconds": round(land_load, 2),
        "ingest_rows_per_second": round(copy_rows / land_load) if land_load else None,
        "ratio": ratio(copy_seconds, land_load),
        "ratio_with_validate": ratio(copy_seconds, with_validate),
        "target": f">= {TARGET_INGEST_VS_COPY}",
    }
    out["ingest_vs_bare_copy"]["met"] = (out["ingest_vs_bare_copy"]["ratio"] or 0) >= 0.8
    night = result["single_nights"]
    share = ratio(night.get("seconds_median"), full["seconds"])
    out["night_vs_full_build"] = {
        "night_seconds_median": night.get("seconds_median"),
        "full_build_seconds": full["seconds"],
        "ratio": share,
        "target": f"<= {TARGET_NIGHT_VS_FULL}",
        "met": share is not None and share <= TARGET_NIGHT_VS_FULL,
    }
    naive = result.get("naive") or {}
    if naive.get("night"):
        ours = night["seconds_each"][-1]
        speedup = ratio(naive["night"]["seconds"], ours)
        out["naive_vs_night"] = {
            "night": naive["night_date"],
            "ours_seconds": ours,
            "naive_seconds": naive["night"]["seconds"],
            "speedup": speedup,
            "full_build_speedup": ratio(
                (naive.get("full_build") or {}).get("seconds"), full["seconds"]
            ),
            "target": f">= {TARGET_NAIVE_SPEEDUP}x",
            "met": speedup is not None and speedup >= TARGET_NAIVE_SPEEDUP,
        }
    peak = max(full["peak_rss_mib"], night.get("peak_rss_mib", 0))
    out["peak_memory"] = {
        "peak_rss_mib": peak,
        "target": f"< {TARGET_PEAK_MIB} MiB at 1m",
        "met_at_this_scale": peak < TARGET_PEAK_MIB,
    }
    return out


def _out_path(args: argparse.Namespace) -> Path:
    return args.out or RESULTS / f"pipeline_{args.scale}.json"


def _checkpoint(args: argparse.Namespace, result: dict, rec: Recorder) -> None:
    """Write what is measured so far (``"partial": true``): a long run that dies later
    keeps its full build."""
    path = _out_path(args).with_suffix(".partial.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**result, "partial": True, "calls": rec.rows}, indent=2) + "\n")


def run(args: argparse.Namespace) -> dict:
    from sinergi import dbt_runner, settings, worlds

    persons = SCALES.get(args.scale) or int(args.scale)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix=f"sinergi-bench-pipeline-{args.scale}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    home, target = workdir / "home", workdir / "dbt-target"
    warehouse_url = settings.warehouse_url()
    admin_url = with_database(warehouse_url, "postgres")
    database = f"bench_pipeline_{args.scale}"
    url = with_database(warehouse_url, database)
    dbt_runner.ensure_manifest()
    result: dict = {
        "benchmark": "pipeline",
        "scale": args.scale,
        "persons": persons,
        "nights_simulated": args.nights,
        "single_nights_requested": args.single_nights,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "command": f"make bench-pipeline SCALE={args.scale}",
    }
    loads: list[list[float]] = []
    stop = threading.Event()

    def watch_load() -> None:
        while not stop.wait(15):
            loads.append(load_average())

    threading.Thread(target=watch_load, daemon=True).start()
    with MemorySampler() as sampler:
        rec = Recorder(sampler, args.profile)
        world = args.world
        if world is None:
            world = workdir / "world"
            if not (world / "truth" / "manifest.json").is_file():
                simulate(rec, persons, args.nights, world)
        manifest = json.loads((world / "truth" / "manifest.json").read_text())
        result["source_records"] = sum(manifest["source_records"].values())
        recreate_database(admin_url, database)
        nights = [START + timedelta(days=n) for n in range(1 + args.single_nights)]
        try:
            with worlds.ingest_environment(world, home):
                print(f"full build: night {nights[0]}", flush=True)
                first = ingest_night(rec, "full_build", url, world, nights[0])
                built = build_night(rec, "full_build", url, nights[0], target)
                result["full_build"] = summarise(rec.select("full_build"))
                result["full_build"].update(built)
                result["warehouse_mib_after_full_build"] = database_mib(url)
                print(f"  {result['full_build']['seconds']} s; bare COPY", flush=True)
                result["bare_copy"] = bare_copy(url, first)
                _checkpoint(args, result, rec)
                for day in nights[1:]:
                    print(f"single night {day}", flush=True)
                    last = ingest_night(rec, "night", url, world, day)
                    result.setdefault("night_builds", {})[day.isoformat()] = build_night(
                        rec, "night", url, day, target
                    )
                result["single_nights"] = _median_night(rec.select("night"))
                result["warehouse_mib_after_nights"] = database_mib(url)
                _checkpoint(args, result, rec)
                # The naive pipeline last, so a run out of time keeps our own numbers: first
                # the last single night (the target's reference), then the full build (its
                # dbt as of night 1, over raw that also holds the single nights' few rows).
                if not args.skip_naive and args.single_nights:
                    naive: dict = {"night_date": nights[-1].isoformat()}
                    result["naive"] = naive
                    try:
                        print("  naive single night", flush=True)
                        extra = naive_night(rec, url, nights[-1], last, target)
                        naive["night"] = summarise(rec.select("naive", nights[-1].isoformat()))
                        naive["night"]["check_failures"] = extra["check_failures"]
                        _checkpoint(args, result, rec)
                        print("  naive full build", flush=True)
                        extra = naive_night(rec, url, nights[0], first, target)
                        naive["full_build"] = summarise(rec.select("naive", nights[0].isoformat()))
                        naive["full_build"]["check_failures"] = extra["check_failures"]
                        naive["full_build"]["dbt_slowest"] = extra["dbt_slowest"]
                    except Exception as error:  # a reference point must not lose the run
                        naive["error"] = f"{type(error).__name__}: {error}"
        finally:
            stop.set()
            if not args.keep_db:
                drop_database(admin_url, database)
        result["peak_rss_mib_overall"] = round(sampler.overall / 2**20)
    # the largest single child (dbt, the simulator), as the kernel counted it
    result["children_max_rss_mib"] = round(
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    )
    result["machine"]["load_average_during_run"] = {
        "samples": len(loads),
        "max_1min": max((v[0] for v in loads), default=None),
        "mean_1min": round(statistics.mean(v[0] for v in loads), 2) if loads else None,
    }
    if "simulate" in {r["phase"] for r in rec.rows}:
        result["simulate_seconds"] = summarise(rec.select("simulate"))["seconds"]
    result["calls"] = rec.rows
    result["profile"] = {"stage": args.profile, "top_cumulative": rec.profile_top()}
    result["targets"] = targets(result)
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    if not args.keep_world and args.world is None and args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def _cell(stage: dict | None, key: str = "seconds") -> str:
    return "" if not stage else f"{stage[key]:,.1f}"


def markdown(results: list[dict]) -> str:
    """The tables of docs/BENCHMARKS.md from result files (``--table``)."""
    lines = [
        "| scale | phase | extract | land | load | validate | dbt before identity | identity"
        " | dbt after identity | total | peak RSS | warehouse |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        full, night = result["full_build"], result.get("single_nights")
        night = night if isinstance(night, dict) else {}
        stages = full["stages"]
        row = [_cell(stages.get(s)) for s in ("extract", "land", "load", "validate", *BUILD_STAGES)]
        lines.append(
            f"| {result['scale']} | full build | " + " | ".join(row)
            + f" | {full['seconds']:,.1f} | {full['peak_rss_mib']:,} MiB"
            f" | {result['warehouse_mib_after_full_build']:,} MiB |"
        )  # fmt: skip
        if night:
            after = result.get("warehouse_mib_after_nights", "–")
            stages = night["stages"]
            row = [
                _cell(stages.get(s), "seconds_median")
                for s in ("extract", "land", "load", "validate", *BUILD_STAGES)
            ]
            lines.append(
                f"| {result['scale']} | night (median of {len(night['nights'])}) | "
                + " | ".join(row) + f" | {night['seconds_median']:,.1f}"
                f" | {night['peak_rss_mib']:,} MiB | {after} MiB |"
            )  # fmt: skip
    lines += ["", "| scale | stage (full build) | rows | rows/s |", "|---|---|---:|---:|"]
    for result in results:
        for stage, values in result["full_build"]["stages"].items():
            if values["rows"]:
                lines.append(
                    f"| {result['scale']} | {stage} | {values['rows']:,}"
                    f" | {values['rows_per_second'] or 0:,} |"
                )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, nargs="+", help="print the tables of these results")
    parser.add_argument("--scale", default="100k", help="10k, 100k, 1m (or 1k, or a number)")
    parser.add_argument("--nights", type=int, default=30, help="nights to simulate")
    parser.add_argument("--single-nights", type=int, default=3, help="nights after the first")
    parser.add_argument("--world", type=Path, help="reuse a simulated world")
    parser.add_argument("--workdir", type=Path, help="work here and keep it")
    parser.add_argument("--keep-world", action="store_true")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument(
        "--profile",
        choices=INGEST_STAGES + BUILD_STAGES,
        help="cProfile this stage's calls (slows it down: not for the headline run)",
    )
    parser.add_argument("--out", type=Path, help="result file (default bench/results/...)")
    args = parser.parse_args()
    if args.table:
        print(markdown([json.loads(path.read_text()) for path in args.table]))
        return 0
    if args.single_nights + 1 > args.nights:
        parser.error("--single-nights must leave the first night: at most --nights - 1")
    result = run(args)
    out = _out_path(args)
    out.with_suffix(".partial.json").unlink(missing_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    brief = {k: v for k, v in result.items() if k not in ("calls", "night_builds")}
    print(json.dumps(brief, indent=2))
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
