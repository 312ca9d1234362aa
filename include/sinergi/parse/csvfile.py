"""Streaming reader for the delimited-text deliveries (UMKM, Kemenkop, Kemendes IDM, BPS).

Bytes are read line by line and decoded strictly as UTF-8 by us, not by ``io.TextIOWrapper``,
so that a wrongly encoded file fails with the absolute byte offset of the first bad byte
instead of a chunk-relative one. The decoded lines feed the stdlib ``csv`` module, which joins
the lines of a quoted multi-line field; we keep the raw lines of the current record so a record
with the wrong number of fields can be quarantined with its text.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sinergi.parse.errors import DeliveryError
from sinergi.parse.rows import ParsedRow, empty_to_none, ensure_readable_file, problem_row

# The csv module refuses fields over 128 KiB by default; a ministry's free-text field can be
# larger (a pasted document), and must load verbatim, not fail the delivery as "bad quoting".
FIELD_SIZE_LIMIT = 64 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), FIELD_SIZE_LIMIT))

UTF8_BOM = "\ufeff"

# No CSV line of ours comes near this; a longer one means the file is not what we think it is
# (binary data, no line ends) and reading it whole would exhaust memory.
MAX_LINE_BYTES = 10 * 1024 * 1024

# The csv module's complaint about a CR or LF inside an unquoted field (the line ends are ours
# to split, so a line only ever holds a bare CR there).
BARE_LINE_BREAK = "new-line character seen in unquoted field"

# What gzip/zlib raise for a corrupt or truncated stream (EOFError: no end-of-stream marker).
GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


def open_binary(source: str, path: Path, gzipped: bool) -> BinaryIO:
    """Open a delivery for reading bytes, transparently decompressing a gzip one."""
    try:
        return gzip.open(path, "rb") if gzipped else path.open("rb")
    except OSError as error:
        raise DeliveryError(source, path, f"cannot open: {error}") from error


def read_error(source: str, path: Path, gzipped: bool, error: Exception) -> DeliveryError:
    """A read failure as an actionable delivery error."""
    if gzipped and isinstance(error, GZIP_ERRORS):
        return DeliveryError(
            source,
            path,
            f"gzip stream is corrupt or truncated ({error}); the file was probably cut off "
            "in transfer, ask for it again",
        )
    return DeliveryError(source, path, f"cannot read: {error}")


class _Lines:
    """Iterator of decoded text lines (line ends kept, as ``csv`` wants them).

    Keeps the physical line count and the raw lines of the record being read.
    """

    def __init__(
        self, source: str, path: Path, stream: BinaryIO, gzipped: bool, encoding_note: str
    ) -> None:
        self.source = source
        self.path = path
        self.stream = stream
        self.gzipped = gzipped
        self.encoding_note = encoding_note
        self.line_number = 0  # physical lines read so far
        self.offset = 0  # bytes (of the uncompressed data) read so far
        self.record_lines: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        try:
            raw = self.stream.readline(MAX_LINE_BYTES + 1)
        except (OSError, *GZIP_ERRORS) as error:
            raise read_error(self.source, self.path, self.gzipped, error) from error
        if not raw:
            raise StopIteration
        self.line_number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise DeliveryError(
                self.source,
                self.path,
                f"line {self.line_number} is longer than {MAX_LINE_BYTES} bytes; "
                "this does not look like a line-oriented CSV",
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            where = "offset" if not self.gzipped else "offset of the uncompressed data"
            raise DeliveryError(
                self.source,
                self.path,
                f"not UTF-8: byte 0x{raw[error.start]:02X} at {where} "
                f"{self.offset + error.start} (line {self.line_number}); "
                f"the contract says {self.encoding_note}",
            ) from error
        if self.line_number == 1 and text.startswith(UTF8_BOM):
            # The BOM belongs to the file, not to the first column's name.
            text = text[len(UTF8_BOM) :]
        self.offset += len(raw)
        self.record_lines.append(text)
        return text


def _started(first_line: int, lines: _Lines) -> str:
    """Where a broken record began, when it spans lines (an unbalanced quote reads on)."""
    if lines.line_number <= first_line:
        return ""
    return f", in the record that starts at line {first_line}: look for an unbalanced quote there"


def header_mismatch(
    found: list[str], expected: tuple[str, ...], delimiter: str | None, where: str = "header"
) -> str | None:
    """How ``found`` differs from the contract's header, or None when it matches.

    ``delimiter`` is the file's field separator (None for a spreadsheet): a header read as a
    single column most likely means the file uses another one.
    """
    if tuple(found) == expected:
        return None
    shown = {None: None, "\t": "TAB"}.get(delimiter, delimiter)
    if delimiter is not None and len(found) == 1 and len(expected) > 1:
        others = [d for d in (";", ",", "\t", "|") if d != delimiter and d in found[0]]
        hint = f" (it contains {others[0]!r})" if others else ""
        return (
            f"{where} has 1 column{hint}, expected {len(expected)} separated by {shown!r} "
            "— is the delimiter wrong?"
        )
    folded = {name.strip().casefold() for name in expected}
    if found and not any(name.strip().casefold() in folded for name in found):
        # Most likely the header is missing and this is the first data row: its values (a
        # name, a NIK) must not end up in a message that dq.batch shows to BI readers. (A
        # header whose names only changed case is still listed below.)
        return (
            f"{where} has none of the contract's column names: is the header missing? "
            f"(found {len(found)} values, not shown here because a data row may hold personal "
            f"data; expected {len(expected)}: {(shown or ', ').join(expected)})"
        )
    duplicates = sorted({name for name in found if found.count(name) > 1})
    missing = [name for name in expected if name not in found]
    unexpected = [name for name in found if name not in expected]
    parts = []
    if missing:
        parts.append(f"missing {', '.join(map(repr, missing))}")
    if unexpected:
        parts.append(f"unexpected {', '.join(map(repr, unexpected))}")
    if duplicates:
        parts.append(f"repeated {', '.join(map(repr, duplicates))}")
    if not parts:
        parts.append("same columns in a different order")
    return (
        f"{where} does not match the contract: {'; '.join(parts)} "
        f"(found {len(found)} columns, expected {len(expected)}: "
        f"{(shown or ', ').join(expected)})"
    )


def bare_line_break_row(line_number: int, raw_text: str) -> ParsedRow:
    """The problem row for a record with a CR (or lone LF) inside an unquoted field."""
    return problem_row(
        line_number,
        raw_text.rstrip("\r\n"),
        f"line {line_number} has a line break (CR) inside an unquoted field; "
        "a value with a line break must be quoted",
    )


def wrong_field_count_row(line_number: int, raw_text: str, found: int, width: int) -> ParsedRow:
    """The problem row for a record with more or fewer fields than the header."""
    return problem_row(
        line_number,
        raw_text.rstrip("\r\n"),
        f"line {line_number} has {found} fields, expected {width}",
    )


@dataclass(frozen=True)
class DelimitedFormat:
    """How one source's delimited delivery is written: what ``read_delimited`` needs to read
    it, kept in one place so the COPY lane (``sinergi.ingest.copy_csv``) reads it the same."""

    source: str
    expected_columns: tuple[str, ...]
    delimiter: str
    gzipped: bool = False
    encoding_note: str = "UTF-8"

    def read(self, path: Path) -> Iterator[ParsedRow]:
        return read_delimited(
            self.source,
            path,
            self.expected_columns,
            delimiter=self.delimiter,
            gzipped=self.gzipped,
            encoding_note=self.encoding_note,
        )


def read_delimited(
    source: str,
    path: Path,
    expected_columns: tuple[str, ...],
    *,
    delimiter: str,
    gzipped: bool = False,
    encoding_note: str = "UTF-8",
) -> Iterator[ParsedRow]:
    """Yield the data records of a delimited file with a header, values as received.

    Whole-file problems (empty, unreadable, not UTF-8, header mismatch, broken quoting,
    truncated gzip) raise DeliveryError, possibly after some rows were yielded: an encoding
    error or a truncated gzip only shows where it happens. A record with the wrong number of
    fields becomes a problem row. Blank lines carry no record and are skipped.
    """
    ensure_readable_file(source, path, "a header line" if not gzipped else "a gzip stream")
    with open_binary(source, path, gzipped) as stream:
        lines = _Lines(source, path, stream, gzipped, encoding_note)
        # RFC 4180: '"' quotes, '""' inside a quoted field; a stray quote inside an unquoted
        # field is kept as a literal character. strict=True so that an unbalanced quote fails
        # the delivery instead of silently swallowing the following records into one field.
        reader = csv.reader(
            lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=True
        )

        def next_record() -> tuple[int, list[str] | ParsedRow] | None:
            lines.record_lines.clear()
            first_line = lines.line_number + 1
            try:
                return first_line, next(reader)
            except StopIteration:
                return None
            except csv.Error as error:
                if BARE_LINE_BREAK in str(error):
                    # A stray CR (or a lone LF from an editor) inside one unquoted field:
                    # the damage is confined to this line, and the reader goes on with the
                    # next one. The row is quarantined, not the delivery failed.
                    raw_text = "".join(lines.record_lines)
                    return first_line, bare_line_break_row(first_line, raw_text)
                started = _started(first_line, lines)
                raise DeliveryError(
                    source,
                    path,
                    f"malformed CSV at line {lines.line_number} ({error}){started}; "
                    "the quoting of the file is broken",
                ) from error

        header_record = next_record()
        while header_record is not None and header_record[1] == []:
            header_record = next_record()
        if header_record is not None and isinstance(header_record[1], ParsedRow):
            raise DeliveryError(source, path, f"header: {header_record[1].problem}")
        if header_record is None:
            raise DeliveryError(
                source, path, f"no header line; expected: {delimiter.join(expected_columns)}"
            )
        mismatch = header_mismatch(header_record[1], expected_columns, delimiter)
        if mismatch is not None:
            raise DeliveryError(source, path, mismatch)

        width = len(expected_columns)
        while (record := next_record()) is not None:
            line_number, fields = record
            if isinstance(fields, ParsedRow):
                yield fields
                continue
            if not fields:
                continue
            if len(fields) != width:
                raw_text = "".join(lines.record_lines)
                yield wrong_field_count_row(line_number, raw_text, len(fields), width)
                continue
            values = {
                name: empty_to_none(value)
                for name, value in zip(expected_columns, fields, strict=True)
            }
            yield ParsedRow(line_number, values)
