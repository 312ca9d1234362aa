"""Landing deliveries in the immutable archive (no database)."""

from __future__ import annotations

import hashlib
import stat
from datetime import date
from pathlib import Path

import pytest

from sinergi.ingest.archive import (
    DeliveryNotFound,
    LandedDelivery,
    api_window_location,
    land_bytes_file,
    land_file,
)
from sinergi.sources.registry import SOURCES

NIGHT = date(2026, 1, 5)
UMKM = SOURCES["umkm_penerima"]
KEMENKOP = SOURCES["kemenkop_anggota"]
PMI = SOURCES["kp2mi_pmi"]


def _deliver(landing: Path, relative: str, content: bytes) -> Path:
    path = landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_land_file_archives_by_source_date_and_hash(tmp_path: Path) -> None:
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    content = b"nomor_induk_koperasi,nama_koperasi\n" * 1000
    _deliver(landing, KEMENKOP.delivery_path(NIGHT), content)

    landed = land_file(KEMENKOP, NIGHT, landing, archive)

    sha = hashlib.sha256(content).hexdigest()
    assert landed.content_sha256 == sha
    assert landed.size_bytes == len(content)
    assert landed.location == "kemenkop/anggota_koperasi_20260105.csv.gz"
    assert landed.archive_path == (
        archive / "kemenkop_anggota" / "2026-01-05" / sha / "anggota_koperasi_20260105.csv.gz"
    )
    assert landed.archive_path.read_bytes() == content
    assert landed.control_archive_path is None
    # No temporary files left behind.
    assert _files(archive) == [landed.archive_path]


def test_archived_files_are_read_only(tmp_path: Path) -> None:
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    _deliver(landing, UMKM.delivery_path(NIGHT), b"ID_PENERIMA\r\n")
    _deliver(landing, UMKM.delivery_path(NIGHT) + ".ok", b"rows=0\nsha256=00\n")

    landed = land_file(UMKM, NIGHT, landing, archive)

    for path in (landed.archive_path, landed.control_archive_path):
        assert path is not None
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0


def test_land_file_is_idempotent(tmp_path: Path) -> None:
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    _deliver(landing, KEMENKOP.delivery_path(NIGHT), b"same bytes\n")

    first = land_file(KEMENKOP, NIGHT, landing, archive)
    mtime = first.archive_path.stat().st_mtime_ns
    second = land_file(KEMENKOP, NIGHT, landing, archive)

    assert second == first
    assert first.archive_path.stat().st_mtime_ns == mtime  # not rewritten
    assert _files(archive) == [first.archive_path]


def test_resend_with_other_content_keeps_both(tmp_path: Path) -> None:
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    path = _deliver(landing, KEMENKOP.delivery_path(NIGHT), b"first version\n")
    first = land_file(KEMENKOP, NIGHT, landing, archive)
    path.write_bytes(b"second version\n")
    second = land_file(KEMENKOP, NIGHT, landing, archive)

    assert first.content_sha256 != second.content_sha256
    assert first.archive_path.read_bytes() == b"first version\n"
    assert second.archive_path.read_bytes() == b"second version\n"


def test_umkm_control_file_is_archived_next_to_the_csv(tmp_path: Path) -> None:
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    csv = b"\xef\xbb\xbfID_PENERIMA;NIK\r\n"
    control = f"rows=0\nsha256={hashlib.sha256(csv).hexdigest()}\n".encode()
    _deliver(landing, UMKM.delivery_path(NIGHT), csv)

    # The CSV alone is still archived (it was received); the .ok is not there yet.
    without_ok = land_file(UMKM, NIGHT, landing, archive)
    assert without_ok.control_archive_path is None

    _deliver(landing, UMKM.delivery_path(NIGHT) + ".ok", control)
    with_ok = land_file(UMKM, NIGHT, landing, archive)
    assert with_ok.archive_path == without_ok.archive_path
    assert with_ok.control_archive_path == with_ok.archive_path.with_name(
        "umkm_penerima_20260105.csv.ok"
    )
    assert with_ok.control_archive_path.read_bytes() == control


def test_corrected_control_file_replaces_the_canonical_one_and_keeps_the_old(
    tmp_path: Path,
) -> None:
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    _deliver(landing, UMKM.delivery_path(NIGHT), b"csv")
    ok_path = _deliver(landing, UMKM.delivery_path(NIGHT) + ".ok", b"rows=9\n")
    first = land_file(UMKM, NIGHT, landing, archive)
    ok_path.write_bytes(b"rows=0\n")
    second = land_file(UMKM, NIGHT, landing, archive)

    assert second.control_archive_path is not None
    assert second.control_archive_path.read_bytes() == b"rows=0\n"
    old_sha = hashlib.sha256(b"rows=9\n").hexdigest()[:12]
    kept = first.archive_path.with_name(f"umkm_penerima_20260105.csv.ok.{old_sha}")
    assert kept.read_bytes() == b"rows=9\n"


def test_missing_delivery_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DeliveryNotFound) as caught:
        land_file(UMKM, NIGHT, tmp_path / "landing", tmp_path / "archive")
    message = str(caught.value)
    assert "umkm_penerima" in message
    assert "2026-01-05" in message
    assert "umkm_penerima_20260105.csv" in message
    assert isinstance(caught.value, FileNotFoundError)
    assert not (tmp_path / "archive").exists() or _files(tmp_path / "archive") == []


def test_land_bytes_file_uses_the_api_window_as_location(tmp_path: Path) -> None:
    extract = tmp_path / "extract" / "kp2mi_pmi_20260105.jsonl"
    extract.parent.mkdir()
    extract.write_bytes(b'{"id_pmi": "PMI0000000001"}\n')

    landed = land_bytes_file(PMI, NIGHT, extract, tmp_path / "archive")

    assert landed.location == (
        "GET /api/v1/pmi updated_from=2026-01-05T00:00:00+07:00 "
        "updated_to=2026-01-06T00:00:00+07:00"
    )
    assert landed.location == api_window_location(PMI, NIGHT)
    assert landed.archive_path.name == "kp2mi_pmi_20260105.jsonl"
    assert landed.content_sha256 == hashlib.sha256(extract.read_bytes()).hexdigest()
    assert land_bytes_file(PMI, NIGHT, extract, tmp_path / "archive") == landed

    with pytest.raises(DeliveryNotFound):
        land_bytes_file(PMI, NIGHT, tmp_path / "nope.jsonl", tmp_path / "archive")


def test_large_file_is_streamed_and_hashed_correctly(tmp_path: Path) -> None:
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    content = bytes(range(256)) * (3 * 4096 + 7)  # ~3 MiB, not a multiple of the chunk size
    _deliver(landing, KEMENKOP.delivery_path(NIGHT), content)
    landed = land_file(KEMENKOP, NIGHT, landing, archive)
    assert landed.content_sha256 == hashlib.sha256(content).hexdigest()
    assert landed.size_bytes == len(content)


def test_landed_delivery_round_trips_through_a_dict(tmp_path: Path) -> None:
    landing, archive = tmp_path / "landing", tmp_path / "archive"
    _deliver(landing, UMKM.delivery_path(NIGHT), b"x")
    _deliver(landing, UMKM.delivery_path(NIGHT) + ".ok", b"y")
    landed = land_file(UMKM, NIGHT, landing, archive)
    assert LandedDelivery.from_dict(landed.to_dict()) == landed
