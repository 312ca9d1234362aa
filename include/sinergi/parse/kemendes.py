"""Kemendes PDT: nightly village activities (JSONL.gz, participants nested) and yearly IDM CSV."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sinergi.parse.csvfile import DelimitedFormat
from sinergi.parse.jsonl import read_json_lines
from sinergi.parse.rows import (
    ParsedRow,
    RecordProblem,
    check_fields,
    json_scalar_to_text,
    problem_row,
)

SOURCE_KEGIATAN = "kemendes_kegiatan"
SOURCE_IDM = "kemendes_idm"

ACTIVITY_FIELDS: tuple[str, ...] = (
    "id_kegiatan",
    "kode_desa",
    "nama_desa",
    "jenis_kegiatan",
    "tahun_anggaran",
    "tanggal_mulai",
    "tanggal_selesai",
    "updated_at",
    "dibatalkan",
)
PARTICIPANTS_FIELD = "peserta"
PARTICIPANT_FIELDS: tuple[str, ...] = ("nik", "nama", "jenis_kelamin", "usia", "peran")

# One flattened row per participant: the activity's fields, the participant's position and
# fields, and a record id unique per participant: ``<id_kegiatan>#<peserta_index>``.
EXPECTED_COLUMNS: tuple[str, ...] = (
    *ACTIVITY_FIELDS,
    "peserta_index",
    *PARTICIPANT_FIELDS,
    "source_record_id",
)

IDM_EXPECTED_COLUMNS: tuple[str, ...] = (
    "kode_desa",
    "nama_desa",
    "skor_idm",
    "status_idm",
    "tahun",
)
IDM_FORMAT = DelimitedFormat(SOURCE_IDM, IDM_EXPECTED_COLUMNS, delimiter=",")


def flatten_activity(activity: object) -> list[dict[str, str | None]]:
    """One dict per participant of an activity; raise RecordProblem if its shape is wrong.

    An activity without participants (empty, null or missing ``peserta``) still gives one row,
    participant fields None, so that the change to the activity itself is not lost; its
    ``source_record_id`` is the bare ``id_kegiatan``.
    """
    if not isinstance(activity, dict):
        raise RecordProblem(f"the line is a JSON {type(activity).__name__}, expected an object")
    check_fields(activity, (*ACTIVITY_FIELDS, PARTICIPANTS_FIELD), "the activity")
    base = {name: json_scalar_to_text(name, activity.get(name)) for name in ACTIVITY_FIELDS}
    participants = activity.get(PARTICIPANTS_FIELD)
    if participants is None:
        participants = []
    if not isinstance(participants, list):
        raise RecordProblem(
            f"'peserta' is a {type(participants).__name__}, expected a list of participants"
        )
    activity_id = base["id_kegiatan"]
    if not participants:
        empty = dict.fromkeys(("peserta_index", *PARTICIPANT_FIELDS))
        return [{**base, **empty, "source_record_id": activity_id}]

    rows = []
    for index, participant in enumerate(participants, start=1):
        if not isinstance(participant, dict):
            raise RecordProblem(
                f"participant {index} is a {type(participant).__name__}, expected an object"
            )
        check_fields(participant, PARTICIPANT_FIELDS, f"participant {index}")
        fields = {
            name: json_scalar_to_text(f"peserta[{index}].{name}", participant.get(name))
            for name in PARTICIPANT_FIELDS
        }
        record_id = f"{activity_id}#{index}" if activity_id is not None else None
        rows.append({**base, "peserta_index": str(index), **fields, "source_record_id": record_id})
    return rows


def parse_kemendes_kegiatan(path: Path) -> Iterator[ParsedRow]:
    """``kemendes/kegiatan_desa_YYYYMMDD.jsonl.gz``: one row per participant, line-numbered.

    A line that is not a well-formed activity becomes one problem row holding its raw text;
    reading continues with the next line.
    """
    for line in read_json_lines(SOURCE_KEGIATAN, path):
        if line.problem is not None:
            yield problem_row(line.line_number, line.raw_text, line.problem)
            continue
        try:
            flattened = flatten_activity(line.record)
        except RecordProblem as error:
            yield problem_row(line.line_number, line.raw_text, f"line {line.line_number}: {error}")
            continue
        for values in flattened:
            yield ParsedRow(line.line_number, values)


def parse_kemendes_idm(path: Path) -> Iterator[ParsedRow]:
    """``kemendes/idm_YYYY.csv``: UTF-8, ``,``, header, one row per village."""
    return IDM_FORMAT.read(path)
