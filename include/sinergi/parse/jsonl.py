"""Streaming reader for JSON Lines deliveries (Kemendes activities, KemenP2MI extracts).

Each line is one record and stands on its own, so a line that cannot be read (not UTF-8, not
JSON, absurdly long or deeply nested) becomes a problem row and reading goes on. Only a broken
file (unreadable, 0 bytes, corrupt or truncated gzip) raises DeliveryError.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sinergi.parse.csvfile import GZIP_ERRORS, open_binary, read_error
from sinergi.parse.rows import MAX_RAW_CHARS, ensure_readable_file

# A Kemendes activity with hundreds of participants is a few hundred KB; a line past this is
# pathological and is kept as a problem row rather than parsed.
MAX_LINE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class JsonLine:
    """One non-blank line: its decoded record, or the reason it could not be decoded."""

    line_number: int
    raw_text: str
    record: object = None
    problem: str | None = None


def _reject_constant(name: str) -> object:
    # NaN and Infinity are not JSON; Python's decoder would accept them silently.
    raise ValueError(f"{name} is not a JSON value")


def decode_json(text: str) -> object:
    """Decode one JSON document, keeping numbers as the text they were written as.

    Keeping ``36`` or ``1.50`` as written is "as received", and avoids Python's limit on
    converting very long integers.
    """
    return _DECODER.decode(text)


# One decoder for every line: json.loads with these options would build a new one per call.
_DECODER = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=_reject_constant)


def _skip_rest_of_line(source: str, path: Path, stream, gzipped: bool) -> None:
    """Consume an over-long line in bounded chunks, without holding it in memory."""
    while True:
        try:
            chunk = stream.readline(1024 * 1024)
        except (OSError, *GZIP_ERRORS) as error:
            raise read_error(source, path, gzipped, error) from error
        if not chunk or chunk.endswith(b"\n"):
            return


def read_json_lines(source: str, path: Path) -> Iterator[JsonLine]:
    """Yield every non-blank line of a ``.jsonl`` or ``.jsonl.gz`` file, decoded if possible."""
    gzipped = path.name.endswith(".gz")
    # 0 bytes is not a gzip stream, but it is a valid plain JSONL file with no records.
    ensure_readable_file(source, path, "a gzip stream" if gzipped else None)
    with open_binary(source, path, gzipped) as stream:
        line_number = 0
        while True:
            try:
                raw = stream.readline(MAX_LINE_BYTES + 1)
            except (OSError, *GZIP_ERRORS) as error:
                raise read_error(source, path, gzipped, error) from error
            if not raw:
                return
            line_number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                _skip_rest_of_line(source, path, stream, gzipped)
                yield JsonLine(
                    line_number,
                    raw[: MAX_RAW_CHARS * 4].decode("utf-8", errors="replace")[:MAX_RAW_CHARS],
                    problem=f"line {line_number} is longer than {MAX_LINE_BYTES} bytes",
                )
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                yield JsonLine(
                    line_number,
                    raw.decode("utf-8", errors="backslashreplace").rstrip("\r\n"),
                    problem=f"line {line_number} is not UTF-8: byte 0x{raw[error.start]:02X} "
                    f"at position {error.start} of the line",
                )
                continue
            text = text.rstrip("\r\n")
            if line_number == 1:
                text = text.removeprefix("\ufeff")
            if not text.strip():
                continue  # a blank line carries no record
            try:
                record = decode_json(text)
            except RecursionError:
                yield JsonLine(
                    line_number, text, problem=f"line {line_number} is nested too deeply"
                )
                continue
            except ValueError as error:
                yield JsonLine(
                    line_number, text, problem=f"line {line_number} is not valid JSON: {error}"
                )
                continue
            yield JsonLine(line_number, text, record=record)
