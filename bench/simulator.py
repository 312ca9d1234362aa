"""Benchmark the ministries' simulator: wall time, throughput and peak memory for 90 nights.

    make bench-simulator SCALE=100k      (or SCALE=1m; SCALE=10k for a quick look)

Runs ``sinergi simulate`` in a child process so its peak resident memory is measured alone,
and writes ``bench/results/simulator-<scale>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCALES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
START, END, NIGHTS = "2026-01-01", "2026-03-31", 90


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="100k")
    parser.add_argument("--keep", type=Path, help="write the world here and keep it")
    args = parser.parse_args()
    persons = SCALES[args.scale]
    out = args.keep or Path(tempfile.mkdtemp(prefix=f"sinergi-bench-{args.scale}-"))
    command = [
        sys.executable, "-m", "sinergi.cli", "simulate", "--persons", str(persons),
        "--from", START, "--to", END, "--seed", "1", "--out", str(out), "--no-progress",
    ]  # fmt: skip
    began = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - began
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    manifest = json.loads((out / "truth" / "manifest.json").read_text())
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    result = {
        "benchmark": "simulator",
        "scale": args.scale,
        "persons": persons,
        "nights": NIGHTS,
        "wall_seconds": round(seconds, 1),
        "persons_per_second": round(persons / seconds),
        "source_records": sum(manifest["source_records"].values()),
        "peak_rss_mib": round(peak_kib / 1024),
        "output_mib": round(size / 2**20),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "command": f"make bench-simulator SCALE={args.scale}",
    }
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"simulator-{args.scale}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if args.keep is None:
        shutil.rmtree(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
