"""What the file sensor sees: delivery states on the simulator's landing files."""

from __future__ import annotations

import csv
import hashlib
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from sinergi.extract.file_drop import (
    DeliveryState,
    check_delivery,
    deadline_outcome,
)
from sinergi.parse import PARSERS, DeliveryError
from sinergi.simulate.config import SimulationConfig
from sinergi.simulate.simulator import Simulator
from sinergi.sources.registry import SOURCES

START, END = date(2026, 1, 1), date(2026, 1, 6)  # Thursday to Tuesday
FILE_SOURCES = [spec for spec in SOURCES.values() if spec.kind == "file"]
UMKM = SOURCES["umkm_penerima"]


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("file_drop_sim")
    Simulator(SimulationConfig(persons=300, start=START, end=END, seed=1), out).run()
    return out


@pytest.fixture
def landing(sim_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the landing area, for tests that damage it."""
    return Path(shutil.copytree(sim_dir / "landing", tmp_path / "landing"))


def _delivered(sim_dir: Path) -> set[tuple[date, str]]:
    with (sim_dir / "truth" / "deliveries.csv").open(newline="", encoding="utf-8") as stream:
        return {
            (date.fromisoformat(row["logical_date"]), row["source_system"])
            for row in csv.DictReader(stream)
        }


def test_every_source_every_night_matches_what_the_simulator_delivered(sim_dir: Path) -> None:
    delivered = _delivered(sim_dir)
    landing = sim_dir / "landing"
    d = START
    while d <= END:
        for spec in FILE_SOURCES:
            status = check_delivery(spec, d, landing, first_night=d == START)
            expected = (
                DeliveryState.READY if (d, spec.name) in delivered else (DeliveryState.NOT_EXPECTED)
            )
            assert status.state is expected, (d, spec.name, status.message)
            if status.state is DeliveryState.READY:
                stat = status.path.stat()
                assert (status.size, status.mtime_ns) == (stat.st_size, stat.st_mtime_ns)
                assert status.relative_path in status.message
        d += timedelta(days=1)


def test_parekraf_weekend_is_not_expected_not_a_failure(sim_dir: Path) -> None:
    spec = SOURCES["parekraf_pelatihan"]
    saturday = date(2026, 1, 3)
    status = check_delivery(spec, saturday, sim_dir / "landing")
    assert status.state is DeliveryState.NOT_EXPECTED
    assert status.message == (
        "parekraf_pelatihan: no delivery expected for Saturday 2026-01-03 "
        "(PAREKRAF delivers Monday to Friday only)"
    )
    assert deadline_outcome(status) == ("not_expected", status.message)
    assert check_delivery(spec, date(2026, 1, 5), sim_dir / "landing").is_ready  # Monday


def test_reference_sources_depend_on_first_night(sim_dir: Path) -> None:
    landing = sim_dir / "landing"
    wilayah = SOURCES["bps_wilayah"]
    assert check_delivery(wilayah, date(2026, 1, 5), landing).state is DeliveryState.NOT_EXPECTED
    status = check_delivery(wilayah, date(2026, 1, 5), landing, first_night=True)
    assert status.is_ready and status.relative_path == "bps/master_wilayah_202601.csv"


def test_missing_file_is_waiting_then_missing_after_the_deadline(landing: Path) -> None:
    d = date(2026, 1, 5)
    (landing / "umkm" / "umkm_penerima_20260105.csv").unlink()
    (landing / "umkm" / "umkm_penerima_20260105.csv.ok").unlink()
    status = check_delivery(UMKM, d, landing)
    assert status.state is DeliveryState.WAITING
    assert status.size is None and status.mtime_ns is None
    assert "umkm/umkm_penerima_20260105.csv" in status.message
    assert "2026-01-06 06:00 WIB" in status.message
    assert deadline_outcome(status) == (
        "missing",
        "umkm_penerima: no delivery umkm/umkm_penerima_20260105.csv by 2026-01-06 06:00 WIB",
    )

    kemenkop = SOURCES["kemenkop_anggota"]
    (landing / "kemenkop" / "anggota_koperasi_20260105.csv.gz").unlink()
    verdict, message = deadline_outcome(check_delivery(kemenkop, d, landing))
    assert verdict == "missing"
    assert message == (
        "kemenkop_anggota: no delivery kemenkop/anggota_koperasi_20260105.csv.gz "
        "by 2026-01-06 06:00 WIB"
    )


def test_umkm_csv_without_ok_is_incomplete(landing: Path) -> None:
    (landing / "umkm" / "umkm_penerima_20260101.csv.ok").unlink()
    status = check_delivery(UMKM, START, landing)
    assert status.state is DeliveryState.INCOMPLETE
    assert "umkm_penerima_20260101.csv.ok is missing" in (status.reason or "")
    verdict, message = deadline_outcome(status)
    assert verdict == "incomplete"
    assert message.startswith(
        "umkm_penerima: delivery umkm/umkm_penerima_20260101.csv still incomplete at "
        "2026-01-02 06:00 WIB: control file umkm/umkm_penerima_20260101.csv.ok is missing"
    )


def test_umkm_ok_without_csv_is_waiting(landing: Path) -> None:
    (landing / "umkm" / "umkm_penerima_20260101.csv").unlink()
    status = check_delivery(UMKM, START, landing)
    assert status.state is DeliveryState.WAITING
    assert "its .ok control file is there, the CSV is not" in status.message


def test_umkm_ok_with_wrong_sha256_is_incomplete(landing: Path) -> None:
    path_ok = landing / "umkm" / "umkm_penerima_20260101.csv.ok"
    rows = path_ok.read_text().splitlines()[0]
    path_ok.write_text(f"{rows}\nsha256={'0' * 64}\n")
    status = check_delivery(UMKM, START, landing)
    assert status.state is DeliveryState.INCOMPLETE
    assert "sha256 of the CSV is" in (status.reason or "")


def test_umkm_ok_with_wrong_row_count_is_complete_and_fails_at_loading(landing: Path) -> None:
    """The sha256 agrees: the CSV is exactly what the ministry wrote, so it is delivered; its
    row count disagreeing with the .ok is a content error that fails the batch when loading."""
    path_ok = landing / "umkm" / "umkm_penerima_20260101.csv.ok"
    sha = path_ok.read_text().splitlines()[1]
    path_ok.write_text(f"rows=7\n{sha}\n")
    status = check_delivery(UMKM, START, landing)
    assert status.state is DeliveryState.READY
    with pytest.raises(DeliveryError, match="data rows but"):
        list(PARSERS["umkm_penerima"](landing / "umkm" / "umkm_penerima_20260101.csv"))


def test_umkm_ok_written_before_the_csv_is_complete(landing: Path) -> None:
    """The .ok is final, the CSV still growing: incomplete until the CSV catches up."""
    csv_path = landing / "umkm" / "umkm_penerima_20260101.csv"
    full = csv_path.read_bytes()
    csv_path.write_bytes(full[: len(full) // 2])
    status = check_delivery(UMKM, START, landing)
    assert status.state is DeliveryState.INCOMPLETE
    assert "sha256" in (status.reason or "")
    assert status.size == len(full) // 2

    csv_path.write_bytes(full)
    status = check_delivery(UMKM, START, landing)
    assert status.is_ready and status.size == len(full)
    assert (
        hashlib.sha256(full).hexdigest() in (csv_path.with_name(csv_path.name + ".ok")).read_text()
    )


def test_malformed_ok_is_incomplete(landing: Path) -> None:
    (landing / "umkm" / "umkm_penerima_20260101.csv.ok").write_text("rows=1")  # half written
    status = check_delivery(UMKM, START, landing)
    assert status.state is DeliveryState.INCOMPLETE
    assert "control file is malformed" in (status.reason or "")


def test_empty_file_is_incomplete(landing: Path) -> None:
    spec = SOURCES["kemendes_kegiatan"]
    (landing / "kemendes" / "kegiatan_desa_20260105.jsonl.gz").write_bytes(b"")
    status = check_delivery(spec, date(2026, 1, 5), landing)
    assert status.state is DeliveryState.INCOMPLETE and status.size == 0
    assert deadline_outcome(status)[0] == "incomplete"


def test_api_source_is_not_a_file_drop(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="delivered by API"):
        check_delivery(SOURCES["kp2mi_pmi"], START, tmp_path)
