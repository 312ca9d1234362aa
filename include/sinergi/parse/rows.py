"""What every parser yields, and the small helpers they share to turn values into text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sinergi.parse.errors import DeliveryError

# A row that could not be read as a record carries only its raw text under this key, so the
# loader can quarantine it with the reason in ``ParsedRow.problem``.
RAW_LINE = "raw_line"

# Raw text kept for a problem row: enough for a person to recognise the record, bounded so one
# pathological line cannot blow up the quarantine table.
MAX_RAW_CHARS = 10_000


@dataclass(frozen=True, slots=True)
class ParsedRow:
    """One record of a delivery, its values as received, as text.

    ``source_row_number`` is 1-based and points where a person would look: the worksheet row
    (Excel), the physical line of the record's first line (CSV), the line (JSONL; for a nested
    Kemendes participant, the line of its activity), or the position in an API extract.

    ``values`` maps the source's own column names to text, ``None`` for empty or missing.
    When ``problem`` is set the record could not be read (malformed JSON, wrong field count,
    ...) and ``values`` is ``{RAW_LINE: <raw text, truncated>}``: kept for quarantine, never
    dropped.
    """

    source_row_number: int
    values: dict[str, str | None]
    problem: str | None = None


def problem_row(source_row_number: int, raw_text: str, problem: str) -> ParsedRow:
    """A row kept only as raw text, with the reason it could not be read."""
    return ParsedRow(source_row_number, {RAW_LINE: raw_text[:MAX_RAW_CHARS]}, problem)


def empty_to_none(text: str) -> str | None:
    """Empty text means no value; anything else, whitespace included, is kept as received."""
    return text if text != "" else None


class RecordProblem(ValueError):
    """A single record has the wrong shape; the parser turns it into a problem row."""


def json_scalar_to_text(field: str, value: object) -> str | None:
    """A decoded JSON value as text: null -> None, true/false as JSON writes them.

    Numbers from our JSONL reader already arrive as their original text (see ``jsonl``); ints
    and floats from an API client's decoder are written back the way JSON would.
    A nested object or array where the contract has a scalar is a record problem.
    """
    if value is None:
        return None
    if isinstance(value, bool):  # before int: bool is a subclass of int
        return "true" if value else "false"
    if isinstance(value, str):
        return empty_to_none(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    raise RecordProblem(f"field {field!r} is a {type(value).__name__}, expected a single value")


def check_fields(record: dict, allowed: tuple[str, ...], what: str) -> None:
    """Reject fields the contract does not know: silently dropping them would hide a change."""
    unexpected = [key for key in record if key not in allowed]
    if unexpected:
        raise RecordProblem(
            f"{what} has field(s) not in the contract: {', '.join(map(repr, unexpected))}"
        )


def ensure_readable_file(source: str, path: Path, expected: str | None) -> None:
    """Fail early, with a clear message, for a missing, non-regular or 0-byte delivery.

    ``expected`` says what even an empty night's file holds (e.g. "a header line"); None for a
    format where 0 bytes is a valid delivery of nothing (plain JSONL).
    """
    if not path.exists():
        raise DeliveryError(source, path, "file not found")
    if not path.is_file():
        raise DeliveryError(source, path, "is not a regular file")
    if expected is not None and path.stat().st_size == 0:
        raise DeliveryError(
            source, path, f"file is empty (0 bytes); even a night without changes has {expected}"
        )
