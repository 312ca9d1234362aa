"""Every simulated delivery, read back with plain parsers, carries the quirks of SOURCES.md."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from datetime import date, datetime, timedelta

import openpyxl

from sinergi.simulate.writers import KEMENKOP_COLUMNS, PAREKRAF_COLUMNS, UMKM_COLUMNS

from .conftest import SMALL_WORLD

NIGHTS = [SMALL_WORLD.start + timedelta(days=i) for i in range(13)]
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")  # fmt: skip


def test_umkm_csv_has_bom_crlf_semicolons_and_an_agreeing_ok_file(small_world):
    folder = small_world / "landing" / "umkm"
    rows_seen = 0
    for night in NIGHTS:  # UMKM delivers every night, header only when nothing changed
        path = folder / f"umkm_penerima_{night:%Y%m%d}.csv"
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 byte-order mark"
        lines = data.split(b"\r\n")
        assert lines[-1] == b"", "ends with CRLF"
        assert all(b"\n" not in line for line in lines), "no bare LF line ends"
        text = data.decode("utf-8-sig")
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
        assert tuple(records[0]) == UMKM_COLUMNS
        assert all(len(r) == len(UMKM_COLUMNS) for r in records)
        control = (folder / f"umkm_penerima_{night:%Y%m%d}.csv.ok").read_text().splitlines()
        assert control == [f"rows={len(records) - 1}", f"sha256={hashlib.sha256(data).hexdigest()}"]
        rows_seen += len(records) - 1
    assert rows_seen > 50
    backlog = (folder / "umkm_penerima_20260101.csv").read_text(encoding="utf-8-sig")
    stamps = [r[15] for r in csv.reader(io.StringIO(backlog), delimiter=";")][1:]
    assert any(datetime.strptime(s, "%d/%m/%Y %H:%M:%S").year < 2026 for s in stamps), (
        "the first night carries the backlog with its original update stamps"
    )
    amounts = [r[12] for r in csv.reader(io.StringIO(backlog), delimiter=";") if r[12]][1:]
    assert all(re.fullmatch(r"\d{1,3}(\.\d{3})+(,00)?", a) for a in amounts)


def test_parekraf_workbook_layout_weekday_cadence_and_numeric_nik_cells(small_world):
    folder = small_world / "landing" / "parekraf"
    numeric_niks = date_cells = 0
    for night in NIGHTS:
        path = folder / f"Peserta_Pelatihan_{night:%Y%m%d}.xlsx"
        if night.weekday() >= 5:
            assert not path.exists(), "no Parekraf file on Saturday or Sunday"
            continue
        rows = list(
            openpyxl.load_workbook(path, read_only=True)["Peserta"].iter_rows(values_only=True)
        )
        assert rows[0][0].startswith("DATA PESERTA PELATIHAN")
        assert rows[1][0] == f"Periode: {night.day} {MONTHS[night.month - 1]} {night.year}"
        assert all(v is None for v in rows[2])
        assert tuple(rows[3]) == PAREKRAF_COLUMNS, "header on row 4"
        footer = rows[-1]
        data = rows[4:-1]
        assert footer[0] == "Jumlah" and footer[1] == len(data)
        for row in data:
            if isinstance(row[3], int):
                numeric_niks += 1
                assert len(str(row[3])) == 16 and str(row[3]).endswith("0")
            if isinstance(row[5], datetime):
                date_cells += 1
    assert numeric_niks > 0 and date_cells > 0
    # Monday's file carries Saturday to Monday: nothing older than Saturday except backlog.
    monday = rows_of(folder / "Peserta_Pelatihan_20260105.xlsx")
    assert {r[13].date() for r in monday} <= {date(2026, 1, 3), date(2026, 1, 4), date(2026, 1, 5)}


def rows_of(path):
    return list(
        openpyxl.load_workbook(path, read_only=True)["Peserta"].iter_rows(values_only=True)
    )[4:-1]


def test_kemenkop_nightly_gzip_snapshot_with_rfc4180_quoting(small_world):
    folder = small_world / "landing" / "kemenkop"
    previous = None
    for night in NIGHTS:
        raw = (folder / f"anggota_koperasi_{night:%Y%m%d}.csv.gz").read_bytes()
        assert raw[:2] == b"\x1f\x8b"
        text = gzip.decompress(raw).decode("utf-8")
        assert "\r" not in text
        records = list(csv.reader(io.StringIO(text, newline="")))
        assert tuple(records[0]) == KEMENKOP_COLUMNS
        assert all(len(r) == 15 for r in records)
        members = {(r[0], r[5]) for r in records[1:]}
        if previous is not None:  # a full snapshot: most members are there every night
            assert len(members & previous) >= 0.9 * len(previous)
        previous = members
    assert any("," in r[1] for r in records[1:]), "a cooperative name with a comma, quoted"
    assert any(r[5].startswith("0") for r in records[1:]), "member numbers keep leading zeros"


def test_kemendes_nested_gzip_jsonl_with_ages(small_world):
    persons = {p["person_id"]: p for p in truth_rows(small_world, "persons.csv.gz")}
    participants = {
        r["source_record_id"]: persons[r["person_id"]]
        for r in truth_rows(small_world, "source_records.csv.gz")
        if r["source_system"] == "kemendes_kegiatan"
    }
    seen = 0
    for night in NIGHTS:
        path = small_world / "landing" / "kemendes" / f"kegiatan_desa_{night:%Y%m%d}.jsonl.gz"
        for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines():
            activity = json.loads(line)
            assert re.fullmatch(r"\d{10}", activity["kode_desa"]), "Kemendagri code, no dots"
            if activity["id_kegiatan"][8] == "9":  # deliberately invalid copies
                continue
            start = date.fromisoformat(activity["tanggal_mulai"])
            for n, person in enumerate(activity["peserta"], start=1):
                truth = participants[f"{activity['id_kegiatan']}#{n}"]
                birth = date.fromisoformat(truth["birth_date"])
                expected_age = (
                    start.year - birth.year - ((start.month, start.day) < (birth.month, birth.day))
                )
                assert person["usia"] == expected_age
                assert "tanggal_lahir" not in person
                seen += 1
    assert seen > 20
    assert (small_world / "landing" / "kemendes" / "idm_2025.csv").exists(), "IDM on night one"


def test_api_records_are_ordered_and_backlog_is_stamped_into_the_first_window(small_world):
    for source, key in (("kp2mi_pmi", "id_pmi"), ("kp2mi_program", "id_peserta")):
        text = (small_world / "api" / f"{source}.jsonl").read_text(encoding="utf-8")
        records = [json.loads(line) for line in text.splitlines()]
        stamps = [(datetime.fromisoformat(r["updated_at"]), r[key]) for r in records]
        assert stamps == sorted(stamps)
        assert all(r["updated_at"].endswith("+07:00") for r in records)
        first_window_end = datetime.fromisoformat("2026-01-01T06:00:00+07:00")
        window_start = datetime.fromisoformat("2026-01-01T00:00:00+07:00")
        assert min(s for s, _ in stamps) >= window_start
        backlog = [s for s, _ in stamps if s < first_window_end]
        assert len(backlog) > 0.8 * len({k for _, k in stamps})


def test_bps_master_crosswalk_differs_and_keeps_the_split(small_world):
    rows = list(read_csv(small_world / "landing" / "bps" / "master_wilayah_202601.csv"))
    districts = [r for r in rows if r["tingkat"] == "KECAMATAN" and not r["berlaku_sampai"]]
    # Were BPS numbers derived from Kemendagri's, district CC would be BPS CC0 everywhere.
    underivable = [
        r for r in districts if int(r["kode_bps"][4:7]) != int(r["kode_kemendagri"][6:8]) * 10
    ]
    assert len(underivable) > len(districts) / 3, "district numbering is independent"
    regencies = [r for r in rows if r["tingkat"] in ("KABUPATEN", "KOTA")]
    mismatched = [r for r in regencies if r["kode_bps"] != r["kode_kemendagri"].replace(".", "")]
    assert mismatched, "some regencies carry different codes in the two systems"
    closed = [r for r in rows if r["berlaku_sampai"]]
    assert closed and all(r["kode_bps_pengganti"] for r in closed), "a split with successors"
    population = list(read_csv(small_world / "landing" / "bps" / "penduduk_kabkota_2026.csv"))
    assert population and all(len(r["kode_bps"]) == 4 for r in population)


def read_csv(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def truth_rows(world, name):
    with gzip.open(world / "truth" / name, "rt", encoding="utf-8") as f:
        return list(csv.DictReader(f))
