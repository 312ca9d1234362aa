"""The ground truth agrees with the deliveries, and the world is reproducible."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import date, timedelta

import openpyxl

from sinergi.simulate.config import SimulationConfig
from sinergi.simulate.nik import parse_nik
from sinergi.simulate.simulator import Simulator

from .test_deliveries import read_csv, truth_rows


def test_every_valid_nik_encodes_region_birth_date_and_sex(small_world):
    master = list(read_csv(small_world / "landing" / "bps" / "master_wilayah_202601.csv"))
    district_codes = {
        r["kode_kemendagri"].replace(".", "") for r in master if r["tingkat"] == "KECAMATAN"
    }
    for person in truth_rows(small_world, "persons.csv.gz"):
        parts = parse_nik(person["nik"], reference_date=date(2026, 1, 1))
        assert parts is not None, person["person_id"]
        assert parts.birth_date == date.fromisoformat(person["birth_date"])
        assert parts.is_female == (person["gender"] == "F")
        assert parts.district_code in district_codes, "a Kemendagri district, current or closed"
    niks = [p["nik"] for p in truth_rows(small_world, "persons.csv.gz")]
    assert len(niks) == len(set(niks)), "no two persons share a NIK"


def test_damaged_niks_are_marked_and_every_kind_occurs_at_scale(small_world):
    records = truth_rows(small_world, "source_records.csv.gz")
    persons = {p["person_id"]: p["nik"] for p in truth_rows(small_world, "persons.csv.gz")}
    for record in records:
        if record["nik_damage"] in ("", "excel_numeric"):
            continue
        assert record["nik_recorded"] != persons[record["person_id"]]
        assert record["nik_is_valid"] == "0"
    intact = [r for r in records if r["nik_damage"] == ""]
    assert all(r["nik_recorded"] == persons[r["person_id"]] for r in intact)
    assert {r["nik_damage"] for r in records} > {"", "missing"}


def test_invalid_rows_listed_in_truth_are_in_the_deliveries(small_world):
    invalid = list(read_csv(small_world / "truth" / "invalid_rows.csv"))
    for row in invalid:
        night = date.fromisoformat(row["logical_date"])
        if row["source_system"] == "kemendes_kegiatan":
            path = small_world / "landing" / "kemendes" / f"kegiatan_desa_{night:%Y%m%d}.jsonl.gz"
            ids = [
                json.loads(line)["id_kegiatan"]
                for line in gzip.decompress(path.read_bytes()).splitlines()
            ]
            assert row["source_record_id"] in ids
        elif row["source_system"] in ("kp2mi_pmi", "kp2mi_program"):
            text = (small_world / "api" / f"{row['source_system']}.jsonl").read_text()
            assert row["source_record_id"] in text
        elif row["source_system"] == "kemenkop_anggota":
            path = small_world / "landing" / "kemenkop" / f"anggota_koperasi_{night:%Y%m%d}.csv.gz"
            coop, member = row["source_record_id"].split("#")
            assert f"{coop},".encode() in gzip.decompress(path.read_bytes())
            assert f",{member},".encode() in gzip.decompress(path.read_bytes())


def test_overlaps_follow_the_contract_rule(small_world):
    """Recompute the overlaps from the enrolment truth, independently of the simulator's code."""
    ministry_of = {}
    by_person: dict[str, list[dict]] = {}
    for e in truth_rows(small_world, "enrollments.csv.gz"):
        if e["is_cancelled"] == "1" or e["is_deleted"] == "1":
            continue
        by_person.setdefault(e["person_id"], []).append(e)
        ministry_of[e["source_system"]] = e["ministry"]
    logical_date = date(2026, 1, 13)
    expected = set()
    for enrolments in by_person.values():
        for a in enrolments:
            for b in enrolments:
                if (a["source_system"], a["source_record_id"]) >= (
                    b["source_system"],
                    b["source_record_id"],
                ):
                    continue
                if a["category"] != b["category"] or a["ministry"] == b["ministry"]:
                    continue
                end_a = date.fromisoformat(a["end_date"]) if a["end_date"] else logical_date
                end_b = date.fromisoformat(b["end_date"]) if b["end_date"] else logical_date
                start = max(
                    date.fromisoformat(a["start_date"]), date.fromisoformat(b["start_date"])
                )
                if start <= min(end_a, end_b):
                    expected.add((a["source_record_id"], b["source_record_id"], a["category"]))
    found = {
        (o["source_record_id_a"], o["source_record_id_b"], o["category"])
        for o in truth_rows(small_world, "overlaps.csv.gz")
    }
    assert found == expected
    assert any(o[2] == "financing" for o in found), "deliberate concurrent loans exist"


def test_returnees_are_placements_that_came_home(small_world):
    returnees = list(read_csv(small_world / "truth" / "returnees.csv"))
    latest = {}
    for line in (small_world / "api" / "kp2mi_pmi.jsonl").read_text().splitlines():
        record = json.loads(line)
        latest[record["id_pmi"]] = record
    assert returnees
    for row in returnees:
        record = latest[row["id_pmi"]]
        assert record["status"] == "PURNA" and not record["deleted"]
        assert record["tanggal_kembali"] == row["return_date"]
    home = {k for k, r in latest.items() if r["status"] == "PURNA" and not r["deleted"]}
    home -= {k for k, r in latest.items() if r["tanggal_lahir"] and r["tanggal_lahir"] > "2027"}
    assert home == {r["id_pmi"] for r in returnees}


def _digest(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_and_another_seed_another_world(tmp_path):
    config = SimulationConfig(persons=120, start=date(2026, 3, 6), end=date(2026, 3, 10), seed=5)
    Simulator(config, tmp_path / "a").run()
    Simulator(config, tmp_path / "b").run()
    first = _digest(tmp_path / "a")
    assert first == _digest(tmp_path / "b")
    assert any(name.endswith(".xlsx") for name in first)
    other = SimulationConfig(persons=120, start=date(2026, 3, 6), end=date(2026, 3, 10), seed=6)
    Simulator(other, tmp_path / "c").run()
    assert _digest(tmp_path / "c")["api/kp2mi_pmi.jsonl"] != first["api/kp2mi_pmi.jsonl"]


def test_first_night_on_a_saturday_gives_parekraf_backlog_on_monday(tmp_path):
    config = SimulationConfig(persons=150, start=date(2026, 3, 7), end=date(2026, 3, 9), seed=2)
    Simulator(config, tmp_path).run()
    folder = tmp_path / "landing" / "parekraf"
    assert sorted(p.name for p in folder.iterdir()) == ["Peserta_Pelatihan_20260309.xlsx"]
    rows = list(openpyxl.load_workbook(folder / "Peserta_Pelatihan_20260309.xlsx", read_only=True)
                ["Peserta"].iter_rows(values_only=True))[4:-1]  # fmt: skip
    assert any(r[13].year < 2026 for r in rows), "the backlog arrives with the first weekday file"


def test_the_monthly_master_changes_with_a_split_inside_the_simulated_range(tmp_path):
    config = SimulationConfig(persons=50, start=date(2026, 5, 30), end=date(2026, 6, 2), seed=3)
    Simulator(config, tmp_path).run()
    bps = tmp_path / "landing" / "bps"
    may = list(read_csv(bps / "master_wilayah_202605.csv"))
    june = list(read_csv(bps / "master_wilayah_202606.csv"))
    closed_in_june = [r for r in june if r["berlaku_sampai"] == "2026-05-31"]
    assert closed_in_june and not [r for r in may if r["berlaku_sampai"] == "2026-05-31"]
    assert len(june) > len(may)
    assert (bps / "penduduk_kabkota_2026.csv").exists()
    assert not (bps / "master_wilayah_202607.csv").exists()
    assert date(2026, 6, 2) - timedelta(days=1) == date(2026, 6, 1)
