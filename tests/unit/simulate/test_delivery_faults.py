"""Deliveries that go wrong (SOURCES.md: nothing on a night, the same file twice, a broken
file), at a configurable rate, and the ministry re-sending the rows with its next good one."""

from __future__ import annotations

import csv
import gzip
import json
import zlib
from datetime import date

import pytest

from sinergi.parse import PARSERS, DeliveryError
from sinergi.simulate.config import SimulationConfig
from sinergi.simulate.simulator import Simulator

FAULTY = SimulationConfig(
    persons=800, start=date(2026, 1, 1), end=date(2026, 1, 20), seed=8, delivery_fault_rate=0.35
)


@pytest.fixture(scope="module")
def faulty_world(tmp_path_factory):
    out = tmp_path_factory.mktemp("faulty")
    Simulator(FAULTY, out).run()
    with open(out / "truth" / "deliveries.csv", encoding="utf-8") as f:
        return out, list(csv.DictReader(f))


def test_every_kind_of_fault_occurs_and_is_in_the_truth(faulty_world):
    out, deliveries = faulty_world
    faults = {(d["source_system"], d["fault"]) for d in deliveries if d["fault"]}
    assert {fault for _, fault in faults} == {"missing", "broken", "duplicate"}
    assert all(d["fault"] == "" for d in deliveries if d["logical_date"] == "2026-01-01")
    for d in deliveries:
        path = out / d["path"]
        if d["fault"] == "missing":
            assert not path.exists(), d
        elif d["fault"] == "broken":
            with pytest.raises((DeliveryError, EOFError, zlib.error, OSError)):
                list(PARSERS[d["source_system"]](path))
        elif d["fault"] == "duplicate":
            earlier = [
                e for e in deliveries
                if e["source_system"] == d["source_system"] and e["fault"] == ""
                and e["logical_date"] < d["logical_date"]
            ]  # fmt: skip
            assert path.read_bytes() == (out / earlier[-1]["path"]).read_bytes()


def _ids(out, delivery) -> set[str]:
    path = out / delivery["path"]
    if delivery["source_system"] == "kemendes_kegiatan":
        lines = gzip.decompress(path.read_bytes()).decode().splitlines()
        return {json.loads(line)["id_kegiatan"] for line in lines}
    key = {"umkm_penerima": "ID_PENERIMA", "parekraf_pelatihan": "ID Peserta"}
    return {
        row.values[key[delivery["source_system"]]] or ""
        for row in PARSERS[delivery["source_system"]](path)
    }


def test_rows_of_a_bad_night_come_with_the_next_good_delivery(faulty_world):
    """Nothing is lost: the records a faulty night owed appear in the next good delivery."""
    out, deliveries = faulty_world
    clean = SimulationConfig(persons=800, start=date(2026, 1, 1), end=date(2026, 1, 20), seed=8)
    reference = out.parent / "clean"
    Simulator(clean, reference).run()
    with open(reference / "truth" / "deliveries.csv", encoding="utf-8") as f:
        clean_deliveries = {(d["source_system"], d["logical_date"]): d for d in csv.DictReader(f)}
    checked = 0
    for source in ("umkm_penerima", "parekraf_pelatihan", "kemendes_kegiatan"):
        nights = [d for d in deliveries if d["source_system"] == source]
        owed: set[str] = set()
        for d in nights:
            owed |= _ids(reference, clean_deliveries[(source, d["logical_date"])])
            if d["fault"]:
                continue
            delivered = _ids(out, d)
            assert owed <= delivered, (source, d["logical_date"], owed - delivered)
            checked += len(owed)
            owed = set()
    assert checked > 50
