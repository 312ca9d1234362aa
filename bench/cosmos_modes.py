"""Cosmos LOCAL vs WATCHER: the warehouse DAG's dbt build on the demo world, both ways.

    make bench-cosmos            # or: python bench/cosmos_modes.py [--home DIR] [--reuse]

1. builds the demo world in a throwaway ``SINERGI_HOME`` (``var/bench-cosmos`` by default):
   ``python -m sinergi.demo`` there, on its own embedded PostgreSQL port: 2,000 persons,
   14 nights ingested, the warehouse built once (``--reuse`` skips this when it is done);
2. writes two variants of ``dags/warehouse.py`` into a private DAGs folder, identical but
   for the DAG id, ``schedule=None`` and Cosmos' execution mode: ``ExecutionMode.LOCAL``
   (what the DAG uses: a ``dbt run``/``dbt test`` process per model, ~80 tasks) and
   ``ExecutionMode.WATCHER`` (one producer task runs a single ``dbt build``; each model's
   task is a sensor that finishes when the producer reports that model done);
3. starts Airflow as ``make up`` does (``sinergi.airflow_services.up``: API server,
   scheduler with the LocalExecutor at parallelism 4, DAG processor, triggerer), with that
   DAGs folder, triggers each variant for business day 2026-01-14 and times the run from
   the metadata database (run start to end), then stops everything.

Writes ``bench/results/cosmos_modes.json``; the summary is in ``docs/BENCHMARKS.md``.
``dags/warehouse.py`` itself is not changed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "cosmos_modes.json"
BUSINESS_DATE = "2026-01-14"  # the demo world's last night
MODES = ("LOCAL", "WATCHER")
RUN_TIMEOUT_S = 3600


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def variant_source(mode: str) -> str:
    """``dags/warehouse.py`` with another DAG id, no schedule and Cosmos mode ``mode``."""
    source = (ROOT / "dags" / "warehouse.py").read_text()
    replacements = [
        ("dag_id=pipeline.WAREHOUSE_DAG_ID,", f'dag_id="bench_warehouse_{mode.lower()}",'),
        ("schedule=EVERY_SOURCE_REPORTED,", "schedule=None,"),
        ("execution_mode=ExecutionMode.LOCAL,", f"execution_mode=ExecutionMode.{mode},"),
    ]
    for old, new in replacements:
        if source.count(old) != 1:
            raise SystemExit(f"dags/warehouse.py changed: {old!r} not found once; update the bench")
        source = source.replace(old, new)
    return source


def _request(url: str, token: str | None = None, body: dict | None = None, method=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read() or b"{}")


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def run_stats(base: str, token: str, dag_id: str, run: dict) -> dict:
    """Timings of one run from the REST API (also of an unfinished one)."""
    run_id = run["dag_run_id"]
    url = f"{base}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=1000"
    tis = _request(url, token)["task_instances"]
    ends = [ti["end_date"] for ti in tis if ti["end_date"]]
    last = run["end_date"] or (max(ends) if ends else run["start_date"])
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "state": run["state"],
        "wall_seconds": round(_seconds(run["start_date"], last), 1) if run["start_date"] else None,
        "tasks": len(tis),
        "tasks_finished": sum(ti["state"] in ("success", "failed", "skipped") for ti in tis),
        "dbt_tasks": sum(ti["task_id"].startswith("dbt.") for ti in tis),
        "task_seconds_total": round(sum(ti["duration"] or 0 for ti in tis), 1),
        "not_successful": sorted(
            ti["task_id"] for ti in tis if ti["state"] not in ("success", "skipped")
        ),
    }


def settle_earlier_runs(base: str, token: str, dag_id: str) -> list[dict]:
    """Runs left over by an interrupted bench: their timings, then marked failed so the
    scheduler does not resume them during the next measurement."""
    earlier = []
    for run in _request(f"{base}/api/v2/dags/{dag_id}/dagRuns", token)["dag_runs"]:
        stats = run_stats(base, token, dag_id, run)
        if run["state"] not in ("success", "failed"):
            url = f"{base}/api/v2/dags/{dag_id}/dagRuns/{run['dag_run_id']}"
            _request(url, token, {"state": "failed"}, method="PATCH")
            stats["interrupted"] = True
        earlier.append(stats)
    return earlier


def run_variant(base: str, token: str, dag_id: str) -> dict:
    """Unpause and trigger ``dag_id``; wait for the run; its timings."""
    deadline = time.monotonic() + 180
    while True:  # the DAG processor must have parsed the file first
        try:
            _request(f"{base}/api/v2/dags/{dag_id}", token)
            break
        except urllib.error.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(3)
    _request(f"{base}/api/v2/dags/{dag_id}", token, {"is_paused": False}, method="PATCH")
    run = _request(
        f"{base}/api/v2/dags/{dag_id}/dagRuns",
        token,
        {"logical_date": None, "conf": {"business_date": BUSINESS_DATE}},
    )
    run_id = run["dag_run_id"]
    print(f"  {dag_id}: triggered {run_id}", flush=True)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        run = _request(f"{base}/api/v2/dags/{dag_id}/dagRuns/{run_id}", token)
        if run["state"] in ("success", "failed"):
            break
        if time.monotonic() > deadline:
            print(f"  {dag_id} did not finish in {RUN_TIMEOUT_S} s: recording it unfinished")
            break
        time.sleep(5)
    return run_stats(base, token, dag_id, run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / "var" / "bench-cosmos")
    parser.add_argument("--reuse", action="store_true", help="keep an already built demo world")
    parser.add_argument("--modes", default=",".join(MODES), help="e.g. WATCHER (default: both)")
    args = parser.parse_args(argv)
    home = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    port_file = home / "bench-db-port"
    if not port_file.exists():
        port_file.write_text(str(_free_port()))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SINERGI_"))}
    env.update(
        SINERGI_HOME=str(home),
        SINERGI_DB_PORT=port_file.read_text().strip(),
        SINERGI_DEMO="1",
        SINERGI_LINEAGE="off",  # the same for both modes; lineage is not what is measured
    )
    marker = home / "demo-done"
    demo_seconds = None
    if not (args.reuse and marker.exists()):
        print(f"1. demo world in {home} (about 6 minutes)", flush=True)
        began = time.monotonic()
        demo = subprocess.run(
            [sys.executable, "-m", "sinergi.demo", "--out", str(home / "world")],
            env=env, cwd=ROOT,
        )  # fmt: skip
        demo_seconds = round(time.monotonic() - began, 1)
        if demo.returncode != 0:
            # The nights are ingested either way; a failing dbt model fails in both modes.
            print(f"warning: the demo exited {demo.returncode}; benchmarking what loaded")
        marker.write_text(f"{demo.returncode}\n")

    dags = home / "bench_dags"
    dags.mkdir(exist_ok=True)
    for mode in MODES:
        (dags / f"bench_warehouse_{mode.lower()}.py").write_text(variant_source(mode))

    # This process becomes `make up`, with the variants' DAGs folder instead of dags/.
    os.environ.clear()
    os.environ.update(env)
    os.environ["SINERGI_AIRFLOW_PORT"] = str(_free_port())
    from sinergi import airflow_home, airflow_services

    project_environment = airflow_home.environment

    def bench_environment(*args, **kwargs):
        return {**project_environment(*args, **kwargs), "AIRFLOW__CORE__DAGS_FOLDER": str(dags)}

    airflow_home.environment = bench_environment
    results = []
    print("2. Airflow up with the two variants", flush=True)
    airflow_services.up()
    try:
        port = airflow_services.read_port()
        base = f"http://127.0.0.1:{port}"
        password = airflow_services.admin_password()
        token = _request(f"{base}/auth/token", body={"username": "admin", "password": password})[
            "access_token"
        ]
        earlier = {}
        for mode in MODES:
            dag_id = f"bench_warehouse_{mode.lower()}"
            try:
                _request(f"{base}/api/v2/dags/{dag_id}", token)
            except urllib.error.HTTPError:
                continue  # not parsed yet: nothing earlier to settle
            earlier[mode] = settle_earlier_runs(base, token, dag_id)
        for mode in args.modes.split(","):
            print(f"3. {mode}", flush=True)
            result = run_variant(base, token, f"bench_warehouse_{mode.lower()}")
            result["mode"] = mode
            print(f"   {result}", flush=True)
            results.append(result)
    finally:
        airflow_services.down()
        from sinergi.db.embedded import EmbeddedPostgres

        EmbeddedPostgres.from_settings().stop()  # the demo started it

    cpu = re.sub(r"\s+", " ", platform.processor() or platform.machine())
    report = {
        "world": "demo: 2,000 persons, 1-14 January 2026, warehouse built for 2026-01-14",
        "executor": "LocalExecutor, parallelism 4, scheduler + triggerer (sinergi airflow up)",
        "machine": {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version()},
        "demo_seconds": demo_seconds,
        "runs": results,
        "earlier_runs": earlier,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {RESULTS}")
    print("| mode | state | wall time | tasks | task time summed |\n|---|---|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['mode']} | {r['state']} | {r['wall_seconds']} s | {r['tasks']} | "
            f"{r['task_seconds_total']} s |"
        )
    return 0 if all(r["state"] == "success" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
