"""Identity resolution at scale: the full first link and an incremental night, time and memory.

    python bench/identity_scale.py --persons 1000000

Simulates a world of three nights, replays the first two into a fresh database on the embedded
PostgreSQL (`sinergi db start`), builds dbt up to the identity input, and measures the identity
step (in this process, so its peak memory is this process's): the full link of nights 1-2,
then night 3 replayed and linked incrementally. Writes bench/results/identity_<persons>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import psutil

from sinergi import settings, worlds
from sinergi.identity import evaluate, resolve

RESULTS = Path(__file__).resolve().parent / "results"
PII_KEY = "identity-benchmark-key-not-secret"


class PeakMemory:
    """Peak resident memory of this process while the block runs (sampled every 50 ms)."""

    def __enter__(self):
        self.process, self.peak, self.running = psutil.Process(), 0, True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.05)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.peak_mib = round(self.peak / 2**20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=100_000)
    args = parser.parse_args()
    admin_url = settings.warehouse_url().rsplit("/", 1)[0] + "/postgres"
    spec = evaluate.WorldSpec(persons=args.persons, nights=3, seed=31)
    database = f"identity_scale_{args.persons}"
    result: dict = {
        "persons": args.persons,
        "machine": f"{psutil.cpu_count()} cores, {round(psutil.virtual_memory().total / 2**30)}"
        f" GiB, {platform.python_version()}",
        "load_average_at_start": [round(x, 2) for x in psutil.getloadavg()],
    }
    with tempfile.TemporaryDirectory(prefix="sinergi-identity-scale-") as folder:
        workdir = Path(folder)
        started = time.monotonic()
        url = _prepare_two_nights(spec, admin_url, workdir, database)
        result["simulate_and_ingest_seconds"] = round(time.monotonic() - started, 1)
        second = spec.start + timedelta(days=1)
        worlds.build_until_identity(url, second, PII_KEY, workdir / "dbt")
        with PeakMemory() as memory:
            full = resolve.resolve_identities(url, second, pii_key=PII_KEY)
        result["full_link"] = full.as_dict() | {"peak_rss_mib": memory.peak_mib}
        worlds.ingest_world(url, workdir / "world", spec.end, spec.end, workdir / "home")
        worlds.build_until_identity(url, spec.end, PII_KEY, workdir / "dbt")
        with PeakMemory() as memory:
            night = resolve.resolve_identities(url, spec.end, pii_key=PII_KEY)
        result["incremental_night"] = night.as_dict() | {"peak_rss_mib": memory.peak_mib}
        result["incremental_over_full"] = round(night.seconds / full.seconds, 3)
        evaluate.drop_database(admin_url, database)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"identity_{args.persons}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def _prepare_two_nights(spec, admin_url: str, workdir: Path, database: str) -> str:
    """Simulate all of ``spec``'s nights; replay only the first two into a new database."""
    import psycopg

    from sinergi.simulate.config import SimulationConfig
    from sinergi.simulate.simulator import Simulator

    config = SimulationConfig(persons=spec.persons, start=spec.start, end=spec.end, seed=spec.seed)
    Simulator(config, workdir / "world").run()
    evaluate.drop_database(admin_url, database)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    url = admin_url.rsplit("/", 1)[0] + f"/{database}"
    second = spec.start + timedelta(days=1)
    worlds.ingest_world(url, workdir / "world", spec.start, second, workdir / "home")
    return url


if __name__ == "__main__":
    main()
