"""Kemendes activities: JSONL.gz, participants flattened, bad lines kept as problem rows."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from sinergi.parse import RAW_LINE, DeliveryError, jsonl
from sinergi.parse.kemendes import EXPECTED_COLUMNS, parse_kemendes_kegiatan

KEMENDES = (
    Path(os.environ.get("SINERGI_SAMPLES_DIR", "/work/shared/samples")) / "landing" / "kemendes"
)


@pytest.fixture(autouse=True)
def _need_samples() -> None:
    if not KEMENDES.is_dir():
        pytest.skip(f"samples not found at {KEMENDES}")


def activity(activity_id: str = "KD-2026-000123", **changes: object) -> dict:
    record = {
        "id_kegiatan": activity_id,
        "kode_desa": "3209122005",
        "nama_desa": "Sindangjawa",
        "jenis_kegiatan": "PKTD",
        "tahun_anggaran": 2026,
        "tanggal_mulai": "2026-11-02",
        "tanggal_selesai": "2026-11-20",
        "peserta": [
            {
                "nik": "3209124708900003",
                "nama": "SITI AMINAH",
                "jenis_kelamin": "P",
                "usia": 36,
                "peran": "pekerja",
            }
        ],
        "updated_at": "2026-11-27T14:03:22+07:00",
        "dibatalkan": False,
    }
    record.update(changes)
    return record


def write_lines(directory: Path, lines: list[str | bytes]) -> Path:
    path = directory / "kemendes" / "kegiatan_desa_20260105.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines)
    path.write_bytes(gzip.compress(data))
    return path


def test_sample_row_counts() -> None:
    first = list(parse_kemendes_kegiatan(KEMENDES / "kegiatan_desa_20260101.jsonl.gz"))
    assert len(first) == 13  # 13 activities of one participant each
    assert [row.source_row_number for row in first] == list(range(1, 14))
    assert all(row.problem is None and list(row.values) == list(EXPECTED_COLUMNS) for row in first)
    assert list(parse_kemendes_kegiatan(KEMENDES / "kegiatan_desa_20260105.jsonl.gz")) == []
    (impossible_date,) = parse_kemendes_kegiatan(KEMENDES / "kegiatan_desa_20260106.jsonl.gz")
    assert impossible_date.values["tanggal_mulai"] == "2026-02-30"  # kept: the validator rejects


def test_scalars_become_text() -> None:
    row = next(parse_kemendes_kegiatan(KEMENDES / "kegiatan_desa_20260101.jsonl.gz"))
    assert row.values == {
        "id_kegiatan": "KD-2021-000101",
        "kode_desa": "3501032003",
        "nama_desa": "Karanganyar",
        "jenis_kegiatan": "PKTD",
        "tahun_anggaran": "2021",
        "tanggal_mulai": "2021-06-14",
        "tanggal_selesai": "2021-07-26",
        "updated_at": "2021-05-20T17:34:59+07:00",
        "dibatalkan": "false",
        "peserta_index": "1",
        "nik": "3501032311700004",
        "nama": "LEGAWA IRAWAN",
        "jenis_kelamin": "L",
        "usia": "50",
        "peran": "pekerja",
        "source_record_id": "KD-2021-000101#1",
    }


def test_participants_flattened_with_1_based_index(tmp_path: Path) -> None:
    people = [
        {
            "nik": f"320912470890000{n}",
            "nama": f"P{n}",
            "jenis_kelamin": "P",
            "usia": 30 + n,
            "peran": "pekerja",
        }
        for n in range(1, 4)
    ]
    path = write_lines(
        tmp_path,
        [
            json.dumps(activity("KD-1", dibatalkan=True)),
            json.dumps(activity("KD-2", peserta=people)),
        ],
    )
    rows = list(parse_kemendes_kegiatan(path))
    assert [row.source_row_number for row in rows] == [1, 2, 2, 2]
    assert [row.values["peserta_index"] for row in rows] == ["1", "1", "2", "3"]
    assert [row.values["source_record_id"] for row in rows] == [
        "KD-1#1",
        "KD-2#1",
        "KD-2#2",
        "KD-2#3",
    ]
    assert [row.values["usia"] for row in rows[1:]] == ["31", "32", "33"]
    assert rows[0].values["dibatalkan"] == "true"
    assert all(row.values["id_kegiatan"] == "KD-2" for row in rows[1:])


def test_activity_without_participants_is_one_row(tmp_path: Path) -> None:
    path = write_lines(tmp_path, [json.dumps(activity("KD-9", peserta=[]))])
    (row,) = parse_kemendes_kegiatan(path)
    assert row.problem is None
    assert row.values["id_kegiatan"] == "KD-9"
    assert row.values["source_record_id"] == "KD-9"
    assert all(
        row.values[name] is None for name in ("peserta_index", "nik", "nama", "usia", "peran")
    )


def test_malformed_line_is_a_problem_row_and_parsing_continues(tmp_path: Path) -> None:
    broken = '{"id_kegiatan": "KD-2", "peserta": ['
    path = write_lines(
        tmp_path, [json.dumps(activity("KD-1")), broken, "", json.dumps(activity("KD-3"))]
    )
    rows = list(parse_kemendes_kegiatan(path))
    assert [row.source_row_number for row in rows] == [1, 2, 4]
    assert rows[1].problem is not None and rows[1].problem.startswith("line 2 is not valid JSON")
    assert rows[1].values == {RAW_LINE: broken}
    assert rows[2].values["source_record_id"] == "KD-3#1"


@pytest.mark.parametrize(
    "line, problem",
    [
        ("[1, 2]", "line 1: the line is a JSON list, expected an object"),
        (json.dumps(activity(peserta="SITI")), "line 1: 'peserta' is a str, expected a list"),
        (
            json.dumps(activity(peserta=["SITI"])),
            "line 1: participant 1 is a str, expected an object",
        ),
        (json.dumps(activity(nama_desa={"a": 1})), "line 1: field 'nama_desa' is a dict"),
        (
            json.dumps(activity(email="x@y")),
            "line 1: the activity has field(s) not in the contract: 'email'",
        ),
        ('{"usia": NaN}', "line 1 is not valid JSON: NaN is not a JSON value"),
        ("[" * 100_000 + "]" * 100_000, "line 1 is nested too deeply"),
    ],
)
def test_wrong_shapes_are_problem_rows(tmp_path: Path, line: str, problem: str) -> None:
    path = write_lines(tmp_path, [line])
    (row,) = parse_kemendes_kegiatan(path)
    assert row.problem is not None and row.problem.startswith(problem)
    assert row.values[RAW_LINE] == line[:10_000]


def test_over_long_line_is_a_problem_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 1_000)
    long_line = json.dumps(activity("KD-LONG", nama_desa="X" * 5_000))
    path = write_lines(tmp_path, [long_line, json.dumps(activity("KD-NEXT"))])
    rows = list(parse_kemendes_kegiatan(path))
    assert rows[0].problem == "line 1 is longer than 1000 bytes"
    assert rows[0].values[RAW_LINE].startswith('{"id_kegiatan": "KD-LONG"')
    assert (rows[1].source_row_number, rows[1].values["id_kegiatan"]) == (2, "KD-NEXT")


def test_undecodable_line_is_a_problem_row(tmp_path: Path) -> None:
    bad = json.dumps(activity("KD-1", nama_desa="CAFÉ"), ensure_ascii=False).encode("cp1252")
    path = write_lines(tmp_path, [bad, json.dumps(activity("KD-2"))])
    rows = list(parse_kemendes_kegiatan(path))
    assert rows[0].problem is not None and rows[0].problem.startswith(
        "line 1 is not UTF-8: byte 0xC9"
    )
    assert "CAF\\xc9" in rows[0].values[RAW_LINE]
    assert rows[1].values["id_kegiatan"] == "KD-2"


def test_sql_and_html_kept_verbatim(tmp_path: Path) -> None:
    person = {
        "nik": "1",
        "nama": "'); DROP TABLE x;--",
        "jenis_kelamin": "L",
        "usia": 1,
        "peran": "peserta",
    }
    path = write_lines(
        tmp_path, [json.dumps(activity(nama_desa="<script>x</script>", peserta=[person]))]
    )
    (row,) = parse_kemendes_kegiatan(path)
    assert (row.values["nama_desa"], row.values["nama"]) == (
        "<script>x</script>",
        "'); DROP TABLE x;--",
    )


def test_truncated_gzip(tmp_path: Path) -> None:
    data = (KEMENDES / "kegiatan_desa_20260101.jsonl.gz").read_bytes()
    path = tmp_path / "kemendes" / "kegiatan_desa_20260101.jsonl.gz"
    path.parent.mkdir()
    path.write_bytes(data[:-20])
    with pytest.raises(DeliveryError) as error:
        list(parse_kemendes_kegiatan(path))
    message = str(error.value)
    assert message.startswith("kemendes_kegiatan: kemendes/kegiatan_desa_20260101.jsonl.gz: ")
    assert "gzip stream is corrupt or truncated" in message


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "kemendes" / "kegiatan_desa_20260105.jsonl.gz"
    path.parent.mkdir()
    path.touch()
    with pytest.raises(DeliveryError) as error:
        list(parse_kemendes_kegiatan(path))
    assert str(error.value) == (
        "kemendes_kegiatan: kemendes/kegiatan_desa_20260105.jsonl.gz: file is empty (0 bytes); "
        "even a night without changes has a gzip stream"
    )
