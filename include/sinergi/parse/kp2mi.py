"""KemenP2MI: records from the REST API, as pages in memory or an extract landed as JSONL."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from sinergi.parse.jsonl import read_json_lines
from sinergi.parse.rows import (
    ParsedRow,
    RecordProblem,
    check_fields,
    json_scalar_to_text,
    problem_row,
)

SOURCE_PMI = "kp2mi_pmi"
SOURCE_PROGRAM = "kp2mi_program"

PMI_EXPECTED_COLUMNS: tuple[str, ...] = (
    "id_pmi",
    "nik",
    "nama",
    "jenis_kelamin",
    "tempat_lahir",
    "tanggal_lahir",
    "kode_desa_asal",
    "negara_penempatan",
    "sektor",
    "skema",
    "tanggal_berangkat",
    "tanggal_kembali",
    "status",
    "updated_at",
    "deleted",
)
PROGRAM_EXPECTED_COLUMNS: tuple[str, ...] = (
    "id_peserta",
    "id_pmi",
    "nik",
    "nama",
    "jenis_kelamin",
    "tanggal_lahir",
    "kode_program",
    "nama_program",
    "tanggal_mulai",
    "tanggal_selesai",
    "nilai_rp",
    "status",
    "updated_at",
    "deleted",
)
EXPECTED_COLUMNS_BY_ENDPOINT: dict[str, tuple[str, ...]] = {
    SOURCE_PMI: PMI_EXPECTED_COLUMNS,
    SOURCE_PROGRAM: PROGRAM_EXPECTED_COLUMNS,
}


def _columns_for(source: str) -> tuple[str, ...]:
    try:
        return EXPECTED_COLUMNS_BY_ENDPOINT[source]
    except KeyError:
        raise ValueError(
            f"unknown KemenP2MI source {source!r}; expected one of "
            f"{', '.join(EXPECTED_COLUMNS_BY_ENDPOINT)}"
        ) from None


def record_to_values(record: object, columns: tuple[str, ...]) -> dict[str, str | None]:
    """One API record as text values; raise RecordProblem if it is not a flat known object.

    A field missing from the record is None (as null); a field the contract does not list is a
    problem, so a change in the API shows up instead of being dropped.
    """
    if not isinstance(record, dict):
        raise RecordProblem(f"the record is a JSON {type(record).__name__}, expected an object")
    check_fields(record, columns, "the record")
    # Strings (nearly every value) inline: a call per field was most of the parsing time.
    values: dict[str, str | None] = {}
    for name in columns:
        value = record.get(name)
        values[name] = (value or None) if type(value) is str else json_scalar_to_text(name, value)
    return values


def parse_kp2mi_records(records: Iterable[object], source: str) -> Iterator[ParsedRow]:
    """Records as the API client decoded them, numbered by position in the extract (1-based)."""
    columns = _columns_for(source)
    for position, record in enumerate(records, start=1):
        try:
            values = record_to_values(record, columns)
        except RecordProblem as error:
            raw_text = json.dumps(record, ensure_ascii=False, default=str)
            yield problem_row(position, raw_text, f"record {position}: {error}")
            continue
        yield ParsedRow(position, values)


def _source_from_name(path: Path) -> str:
    # The extract is landed under the source's name (kp2mi_pmi*.jsonl, kp2mi_program*.jsonl).
    for source in EXPECTED_COLUMNS_BY_ENDPOINT:
        if path.name.startswith(source):
            return source
    raise ValueError(
        f"cannot tell the KemenP2MI endpoint from the file name {path.name!r}; "
        f"pass source= one of {', '.join(EXPECTED_COLUMNS_BY_ENDPOINT)}"
    )


def parse_kp2mi_jsonl(path: Path, source: str | None = None) -> Iterator[ParsedRow]:
    """An extract landed as JSONL (or ``.jsonl.gz``), one record per line, row = line number.

    ``source`` defaults to what the file name starts with (``kp2mi_pmi`` or ``kp2mi_program``).
    A malformed line becomes a problem row holding its text; reading continues.
    """
    source = source if source is not None else _source_from_name(path)
    columns = _columns_for(source)
    for line in read_json_lines(source, path):
        if line.problem is not None:
            yield problem_row(line.line_number, line.raw_text, line.problem)
            continue
        try:
            values = record_to_values(line.record, columns)
        except RecordProblem as error:
            yield problem_row(line.line_number, line.raw_text, f"line {line.line_number}: {error}")
            continue
        yield ParsedRow(line.line_number, values)


def parse_kp2mi_pmi(path: Path) -> Iterator[ParsedRow]:
    """The ``GET /api/v1/pmi`` extract landed as JSONL."""
    return parse_kp2mi_jsonl(path, SOURCE_PMI)


def parse_kp2mi_program(path: Path) -> Iterator[ParsedRow]:
    """The ``GET /api/v1/peserta-program`` extract landed as JSONL."""
    return parse_kp2mi_jsonl(path, SOURCE_PROGRAM)
