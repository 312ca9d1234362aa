"""How long each DAG file takes to parse, as the dag-processor parses it: in a fresh Python
process, with a DagBag of that one file. Median of several runs.

    make bench-dag-parse

Writes ``bench/results/dag-parse.json``. Target (issue 6): under 1 second per file.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5
PARSE_ONE_FILE = """
import sys, time
from airflow.dag_processing.dagbag import DagBag  # the processor has Airflow loaded already
started = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.perf_counter() - started
assert not bag.import_errors, bag.import_errors
print(f"{elapsed:.4f} {len(bag.dags)}")
"""


def main() -> int:
    env = {
        **os.environ,
        "AIRFLOW_HOME": tempfile.mkdtemp(prefix="sinergi-bench-airflow-"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    results = {}
    for path in sorted((ROOT / "dags").glob("*.py")):
        seconds, dags = [], 0
        for _ in range(RUNS):
            out = subprocess.run(
                [sys.executable, "-c", PARSE_ONE_FILE, str(path)],
                capture_output=True, text=True, check=True, env=env,
            ).stdout.split()  # fmt: skip
            seconds.append(float(out[-2]))
            dags = int(out[-1])
        results[path.name] = {
            "dags": dags,
            "median_seconds": round(statistics.median(seconds), 3),
            "max_seconds": round(max(seconds), 3),
            "runs": RUNS,
        }
    out_path = ROOT / "bench" / "results" / "dag-parse.json"
    out_path.parent.mkdir(exist_ok=True)
    out_path.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
