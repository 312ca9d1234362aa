"""The COPY lane for delimited deliveries: PostgreSQL parses the plain lines, Python the rest.

Our CSV reader (``sinergi.parse.csvfile``) makes every value a Python string, and psycopg
escapes it back into COPY's format: about 25,000 rows/s, a tenth of a bare ``COPY`` of the
same file. Most lines need none of that. A line with no quote character and no carriage return
inside it is split by the ``csv`` module exactly where ``COPY (FORMAT csv)`` splits it: at each
delimiter, nothing unquoted, an empty field is no value. Such lines go to COPY as the bytes we
received, behind their lineage (batch id, load time, line number). A line with a quote or a
stray CR is read by the ``csv`` module as the parser reads it (its record may span lines) and
written to COPY quoted. A line with the wrong number of fields is a problem row, with the
parser's own message.

So the rows in raw, their line numbers and the problem rows in quarantine are the ones
``load_rows`` over the parser gives; ``tests/integration/test_copy_lanes.py`` loads ordinary and
damaged files both ways and compares.

What concerns the whole file (a header that does not match, bytes that are not UTF-8, a NUL
byte, gzip damage, a line past the limit) raises ``NeedsParser`` before or during the COPY.
The caller (``sinergi.ingest.load_file``) rolls the lane back and loads through the parser,
which names the problem exactly as it always has.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import psycopg
from psycopg import sql

from sinergi.ingest.load import (
    QUARANTINE_FLUSH_ROWS,
    LoadCounts,
    copy_quarantine,
    unreadable_tuple,
)
from sinergi.ingest.schema import raw_columns, raw_table
from sinergi.parse import DelimitedFormat, ParsedRow
from sinergi.parse.csvfile import (
    BARE_LINE_BREAK,
    GZIP_ERRORS,
    MAX_LINE_BYTES,
    UTF8_BOM,
    bare_line_break_row,
    header_mismatch,
    open_binary,
    wrong_field_count_row,
)
from sinergi.parse.errors import DeliveryError
from sinergi.sources.registry import SourceSpec

log = logging.getLogger(__name__)

# Bytes read (after gzip) at a time: each chunk of whole lines is one write to COPY.
CHUNK_BYTES = 1 << 20


class NeedsParser(Exception):
    """This delivery must go through the Python parser; the message says why (no row values)."""


def load_delimited(
    conn: psycopg.Connection,
    source: SourceSpec,
    batch_id: int,
    path: Path,
    loaded_at: datetime,
    fmt: DelimitedFormat,
) -> LoadCounts:
    """COPY a delimited delivery into ``raw.<source>`` as batch ``batch_id``, problem rows into
    ``dq.quarantine``; what ``load_rows`` over ``fmt.read(path)`` would do, faster.

    The caller has cleared the batch's earlier rows (``clear_batch_rows``). Raises
    ``NeedsParser`` for anything it leaves to the parser; the caller must then roll back what
    this call wrote (run it in a savepoint: ``conn.transaction()``).
    """
    try:
        if path.stat().st_size == 0:
            raise NeedsParser("the file is empty")
        with open_binary(fmt.source, path, fmt.gzipped) as stream:
            return _load(conn, source, batch_id, stream, loaded_at, fmt)
    except (DeliveryError, OSError, *GZIP_ERRORS) as error:
        raise NeedsParser(f"cannot read the file ({type(error).__name__})") from None


def _load(
    conn: psycopg.Connection,
    source: SourceSpec,
    batch_id: int,
    stream: BinaryIO,
    loaded_at: datetime,
    fmt: DelimitedFormat,
) -> LoadCounts:
    _check_header(stream, fmt)
    columns = raw_columns(source)
    copy_statement = sql.SQL(
        "COPY {table} (_batch_id, _loaded_at, _source_row_number, {columns}) FROM STDIN "
        "(FORMAT csv, DELIMITER {delimiter})"
    ).format(
        table=raw_table(source),
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        delimiter=sql.Literal(fmt.delimiter),
    )
    lineage = f"{int(batch_id)}{fmt.delimiter}{loaded_at.isoformat()}{fmt.delimiter}".encode()
    rows = _Rows(lineage, fmt)
    with conn.cursor() as cur:
        with cur.copy(copy_statement) as copy:
            chunks = read_chunks(stream)
            for chunk in chunks:
                copy.write(rows.from_chunk(chunk, chunks))
        problems = rows.problems
        copy_quarantine(cur, [unreadable_tuple(batch_id, source, r, loaded_at) for r in problems])
    log.info(
        "%s batch %s (COPY lane): %d rows received, %d loaded into raw, %d quarantined as "
        "unreadable",
        source.name,
        batch_id,
        rows.received,
        rows.loaded,
        len(problems),
    )
    return LoadCounts(received=rows.received, loaded=rows.loaded, unreadable=len(problems))


def _check_header(stream: BinaryIO, fmt: DelimitedFormat) -> None:
    """Read the header line; anything but the contract's exact header is the parser's to name."""
    first = stream.readline(MAX_LINE_BYTES + 1)
    if not first.endswith(b"\n"):
        raise NeedsParser("no complete header line")
    try:
        text = first.decode("utf-8").removeprefix(UTF8_BOM)
        header = next(csv.reader([text], delimiter=fmt.delimiter, quotechar='"', strict=True))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        raise NeedsParser("the header is not a plain CSV line") from None
    if header_mismatch(header, fmt.expected_columns, fmt.delimiter) is not None:
        raise NeedsParser("the header does not match the contract")


class _Rows:
    """Turns chunks of complete lines into COPY's input, counting as the parser counts."""

    def __init__(self, lineage: bytes, fmt: DelimitedFormat) -> None:
        self.lineage = lineage
        self.fmt = fmt
        self.delimiter = fmt.delimiter.encode()
        self.width = len(fmt.expected_columns)
        self.number = 1  # the physical line last read; the header is line 1
        self.received = 0
        self.loaded = 0
        self.problems: list[ParsedRow] = []

    def from_chunk(self, chunk: bytes, chunks: Iterator[bytes]) -> bytes:
        """COPY's lines for ``chunk`` (and for any later chunks a record runs into)."""
        if b'"' not in chunk and chunk.count(b"\r") == chunk.count(b"\r\n"):
            # The common case, in bulk: no quotes, CR only in line ends, every line a record.
            lines = split_lines(chunk.replace(b"\r\n", b"\n") if b"\r" in chunk else chunk)
            separators = self.width - 1
            if all(line.count(self.delimiter) == separators for line in lines):
                first = self.number + 1
                self.number += len(lines)
                self.received += len(lines)
                self.loaded += len(lines)
                lineage, delimiter = self.lineage, self.delimiter
                return b"".join(
                    [
                        b"%b%d%b%b\n" % (lineage, n, delimiter, line)
                        for n, line in enumerate(lines, first)
                    ]
                )
        return self._line_by_line(_Cursor(chunk, chunks, self.number))

    def _line_by_line(self, cursor: _Cursor) -> bytes:
        out: list[bytes] = []
        separators = self.width - 1
        for line in cursor:
            number = cursor.number
            body = line[:-1] if line.endswith(b"\r") else line
            if b'"' in body or b"\r" in body:
                record = self._read_record(cursor, line)
            elif not body:
                continue  # a blank line carries no record
            elif body.count(self.delimiter) == separators:
                record = body
            else:
                found = body.count(self.delimiter) + 1
                record = wrong_field_count_row(number, line.decode(), found, self.width)
            if record is None:
                continue
            self.received += 1
            if isinstance(record, ParsedRow):
                self.problems.append(record)
                if len(self.problems) > QUARANTINE_FLUSH_ROWS:
                    # A file this damaged is rare: the parser's path bounds its memory.
                    raise NeedsParser(f"more than {QUARANTINE_FLUSH_ROWS} problem rows")
            else:
                self.loaded += 1
                out.append(b"%b%d%b%b\n" % (self.lineage, number, self.delimiter, record))
        self.number = cursor.number
        return b"".join(out)

    def _read_record(self, cursor: _Cursor, first: bytes) -> bytes | ParsedRow | None:
        """The record starting at ``first``, read by the ``csv`` module as the parser reads
        it: a CSV line for COPY, a problem row, or None for a blank record."""
        number = cursor.number
        consumed = [first.decode("utf-8") + "\n"]

        def lines() -> Iterator[str]:
            yield consumed[0]
            for line in cursor.continuation():  # a quoted field goes on to the next line
                consumed.append(line.decode("utf-8") + "\n")
                yield consumed[-1]

        delimiter = self.fmt.delimiter
        reader = csv.reader(lines(), delimiter=delimiter, quotechar='"', strict=True)
        try:
            fields = next(reader)
        except csv.Error as error:
            if BARE_LINE_BREAK in str(error):
                return bare_line_break_row(number, "".join(consumed))
            raise NeedsParser("broken quoting") from None
        except StopIteration:
            raise NeedsParser("a quoted field runs to the end of the file") from None
        if not fields:
            return None
        if len(fields) != self.width:
            return wrong_field_count_row(number, "".join(consumed), len(fields), self.width)
        return delimiter.join(_quoted(value) for value in fields).encode("utf-8")


class _Cursor:
    """The lines of one chunk, numbered; a record that runs past it reads on into the next."""

    def __init__(self, chunk: bytes, chunks: Iterator[bytes], number: int) -> None:
        self.lines = split_lines(chunk)
        self.index = 0
        self.chunks = chunks
        self.number = number

    def __iter__(self) -> _Cursor:
        return self

    def __next__(self) -> bytes:
        if self.index >= len(self.lines):
            raise StopIteration
        line = self.lines[self.index]
        self.index += 1
        self.number += 1
        return line

    def continuation(self) -> Iterator[bytes]:
        """The lines after the current one, across chunks."""
        while True:
            yield from self
            chunk = next(self.chunks, None)
            if chunk is None:
                return
            self.lines = split_lines(chunk)
            self.index = 0


def split_lines(chunk: bytes) -> list[bytes]:
    lines = chunk.split(b"\n")
    lines.pop()  # the empty piece after the last "\n"
    return lines


def read_chunks(stream: BinaryIO) -> Iterator[bytes]:
    """The data lines in chunks of whole lines, each ending in "\\n" (one is added to a last
    line without it). Each chunk is checked whole: UTF-8 and no NUL byte, else the parser's."""
    rest = b""
    while data := stream.read(CHUNK_BYTES):
        data = rest + data
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            if len(data) > MAX_LINE_BYTES:
                raise NeedsParser(f"a line longer than {MAX_LINE_BYTES} bytes")
            rest = data
            continue
        chunk, rest = data[:cut], data[cut:]
        _check_bytes(chunk)
        yield chunk
    if rest:
        _check_bytes(rest)
        yield rest + b"\n"


def _check_bytes(data: bytes) -> None:
    if b"\x00" in data:
        raise NeedsParser("a NUL byte")
    if not data.isascii():  # much faster than decoding, and most chunks are ASCII
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise NeedsParser("bytes that are not UTF-8") from None


def _quoted(value: str) -> str:
    # Empty stays unquoted: COPY (FORMAT csv) reads that as NULL, as the parser reads None.
    return '"' + value.replace('"', '""') + '"' if value else ""
