"""KemenP2MI API records, in memory or landed as JSONL."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sinergi.parse import RAW_LINE, parse_kp2mi_jsonl, parse_kp2mi_records
from sinergi.parse.kp2mi import (
    PMI_EXPECTED_COLUMNS,
    PROGRAM_EXPECTED_COLUMNS,
    parse_kp2mi_pmi,
    parse_kp2mi_program,
)

API = Path(os.environ.get("SINERGI_SAMPLES_DIR", "/work/shared/samples")) / "api"


@pytest.fixture(autouse=True)
def _need_samples() -> None:
    if not API.is_dir():
        pytest.skip(f"samples not found at {API}")


def program_record(**changes: object) -> dict:
    record = json.loads((API / "kp2mi_program.jsonl").read_text().splitlines()[0])
    record.update(changes)
    return record


def test_sample_extracts() -> None:
    pmi = list(parse_kp2mi_pmi(API / "kp2mi_pmi.jsonl"))
    program = list(parse_kp2mi_program(API / "kp2mi_program.jsonl"))
    assert (len(pmi), len(program)) == (30, 8)
    assert [row.source_row_number for row in pmi] == list(range(1, 31))
    assert all(
        row.problem is None and list(row.values) == list(PMI_EXPECTED_COLUMNS) for row in pmi
    )
    assert all(list(row.values) == list(PROGRAM_EXPECTED_COLUMNS) for row in program)
    assert pmi[0].values["deleted"] == "false"
    assert pmi[0].values["updated_at"] == "2026-01-01T00:19:32+07:00"
    assert program[0].values["nilai_rp"] is None  # JSON null
    assert program[1].values["nik"] == "120404 050185 0001"  # damaged NIK kept


def test_source_is_taken_from_the_file_name() -> None:
    rows = list(parse_kp2mi_jsonl(API / "kp2mi_program.jsonl"))
    assert len(rows) == 8 and "id_peserta" in rows[0].values


def test_unknown_file_name_needs_an_explicit_source(tmp_path: Path) -> None:
    path = tmp_path / "extract.jsonl"
    path.write_text("{}\n")
    with pytest.raises(ValueError, match="pass source= one of kp2mi_pmi, kp2mi_program"):
        list(parse_kp2mi_jsonl(path))


def test_records_from_the_api_client() -> None:
    records = [
        program_record(nilai_rp=25_000_000, deleted=True, nama="<script>x</script>"),
        "not an object",
        program_record(kode_program={"nested": 1}),
        program_record(email="x@y"),
        program_record(nama="'); DROP TABLE x;--"),
    ]
    rows = list(parse_kp2mi_records(records, "kp2mi_program"))
    assert [row.source_row_number for row in rows] == [1, 2, 3, 4, 5]
    assert rows[0].values["nilai_rp"] == "25000000"
    assert rows[0].values["deleted"] == "true"
    assert rows[0].values["nama"] == "<script>x</script>"
    assert rows[1].problem == "record 2: the record is a JSON str, expected an object"
    assert rows[1].values == {RAW_LINE: '"not an object"'}
    assert rows[2].problem == "record 3: field 'kode_program' is a dict, expected a single value"
    assert rows[3].problem == "record 4: the record has field(s) not in the contract: 'email'"
    assert rows[4].values["nama"] == "'); DROP TABLE x;--"


def test_missing_field_reads_as_null() -> None:
    record = program_record()
    del record["tanggal_selesai"]
    (row,) = parse_kp2mi_records([record], "kp2mi_program")
    assert row.problem is None and row.values["tanggal_selesai"] is None


def test_unknown_source_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown KemenP2MI source 'kp2mi_x'"):
        list(parse_kp2mi_records([], "kp2mi_x"))


def test_malformed_jsonl_line_is_a_problem_row(tmp_path: Path) -> None:
    lines = (API / "kp2mi_pmi.jsonl").read_text().splitlines()[:2]
    path = tmp_path / "kp2mi_pmi_20260101.jsonl"
    path.write_text(lines[0] + "\n" + '{"id_pmi": "PMI1",\n' + lines[1] + "\n")
    rows = list(parse_kp2mi_jsonl(path))
    assert [row.source_row_number for row in rows] == [1, 2, 3]
    assert rows[1].problem is not None and rows[1].problem.startswith("line 2 is not valid JSON")
    assert rows[1].values == {RAW_LINE: '{"id_pmi": "PMI1",'}
    assert rows[2].problem is None


def test_empty_plain_jsonl_is_an_extract_without_records(tmp_path: Path) -> None:
    path = tmp_path / "kp2mi_pmi_20260105.jsonl"
    path.touch()
    assert list(parse_kp2mi_jsonl(path)) == []
