"""Simulated KemenP2MI REST API (SOURCES.md section 1): ``sinergi simulate serve-kp2mi``.

Serves the record versions that the simulator wrote under ``DIR/api/``:

- ``GET /api/v1/pmi``              from ``kp2mi_pmi.jsonl``     (id field ``id_pmi``)
- ``GET /api/v1/peserta-program``  from ``kp2mi_program.jsonl`` (id field ``id_peserta``)

Each file holds one JSON object per line, one line per record *version*, sorted by
``(updated_at, id)``. The files can hold millions of lines, so records are never kept in
memory: at startup each file is indexed once into two ``array('q')`` columns (``updated_at``
as epoch microseconds, byte offset of the line). A request finds its window with ``bisect``
and reads only the lines of its page with one ``seek`` + ``read``. The lines are spliced into
the response unchanged ("records as stored"); they were validated as JSON while indexing.

Behaviour a client can rely on (this is the contract the Airflow extract is tested against):

- Auth: ``Authorization: Bearer <token>``; missing or wrong -> ``401``.
- ``updated_from`` and ``updated_to`` are required, ISO 8601 *with* an offset (``+07:00``,
  ``Z``, ...), half-open ``[from, to)``; otherwise ``400`` naming the parameter.
- ``page`` from 1 (default 1); ``per_page`` 1..1000 (default 500, the value in the contract's
  example); otherwise ``400``. A page past the end answers ``200`` with empty ``data``.
- ``meta.total_pages`` is ``ceil(total_records / per_page)``, so ``0`` when the window is
  empty: a client looping ``for page in range(1, total_pages + 1)`` then makes no extra call.
- Order of checks: unknown path ``404`` (free), then the rate limit (``429`` with
  ``Retry-After`` in whole seconds >= 1; every request to an endpoint counts, as at a real
  gateway, but rejected ones do not), then injected transient failures (``503``, or ``502``
  with an HTML body as a real proxy sends), then auth, then parameters.
- Error bodies are JSON ``{"error": "<code>", "message": "<what to do>"}`` (except that 502).
- The server binds ``127.0.0.1`` only. Each request is logged as one line (method, path
  without query, status, record count, time); record contents never reach the log.
- If a data file changes on disk while serving (the simulator re-ran), it is re-indexed
  before the next request to that endpoint instead of serving stale byte offsets.

Server library: the stdlib ``http.server.ThreadingHTTPServer``. It needs no extra package,
starts and stops synchronously in a thread (what ``serve_in_background`` needs for tests),
and a raw-bytes response fits the "records as stored" splice. FastAPI/uvicorn would add an
event loop and a lifecycle to manage for no gain at this size.
"""

from __future__ import annotations

import argparse
import bisect
import hmac
import json
import logging
import math
import os
import random
import re
import sys
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

# Loopback only: the simulator serves synthetic but realistic-looking personal data and has
# no business being reachable from the network. Deliberately not configurable.
HOST = "127.0.0.1"
DEFAULT_PORT = 8085
DEFAULT_RATE_LIMIT_PER_SECOND = 5
DEFAULT_PER_PAGE = 500
MAX_PER_PAGE = 1000
TOKEN_ENV = "SINERGI_KP2MI_TOKEN"
# Share of injected failures that are 502 rather than 503: the contract says both happen.
_BAD_GATEWAY_SHARE = 0.25

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_DIGITS = re.compile(r"[0-9]+")


class DataFileError(ValueError):
    """A data file is missing, malformed or out of order; the message names file and line."""


@dataclass(frozen=True)
class Endpoint:
    path: str
    file_name: str
    id_field: str


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("/api/v1/pmi", "kp2mi_pmi.jsonl", "id_pmi"),
    Endpoint("/api/v1/peserta-program", "kp2mi_program.jsonl", "id_peserta"),
)


def resolve_api_dir(data_dir: str | os.PathLike[str]) -> Path:
    """Return the directory holding the endpoint files, given the simulator's DIR or DIR/api."""
    base = Path(data_dir)
    for candidate in (base / "api", base):
        if all((candidate / e.file_name).is_file() for e in ENDPOINTS):
            return candidate
    wanted = ", ".join(e.file_name for e in ENDPOINTS)
    raise DataFileError(
        f"no KemenP2MI API data under {base}: expected {wanted} in {base / 'api'} or {base}. "
        "Run the simulator first, or point --data at its output directory."
    )


def to_epoch_us(moment: datetime) -> int:
    """Epoch microseconds of an aware datetime, exact (no float rounding at window edges)."""
    return (moment - _EPOCH) // _MICROSECOND


# --------------------------------------------------------------------------------------------
# Index of one data file
# --------------------------------------------------------------------------------------------


@dataclass
class RecordIndex:
    """Sorted ``updated_at`` (epoch us) and byte offset of every record line of one file."""

    path: Path
    timestamps: array  # array('q'): epoch microseconds, non-decreasing
    offsets: array  # array('q'): byte offset of the line start
    end_offset: int  # file size when indexed: where the last line ends
    signature: tuple[int, int, int]  # (inode, size, mtime_ns) to notice a rewritten file

    @classmethod
    def build(cls, path: Path, id_field: str) -> RecordIndex:
        """Index ``path``, checking every line is a JSON record sorted by ``(updated_at, id)``."""
        timestamps = array("q")
        offsets = array("q")
        previous: tuple[int, str] | None = None
        started = time.perf_counter()
        try:
            stat = path.stat()
            with path.open("rb") as handle:
                offset = 0
                for line_number, line in enumerate(handle, start=1):
                    line_start = offset
                    offset += len(line)
                    if not line.strip():
                        continue  # a trailing blank line is harmless; it is never served
                    key = _record_key(line, id_field, path, line_number)
                    if previous is not None and key < previous:
                        raise DataFileError(
                            f"{path}:{line_number}: not sorted by (updated_at, {id_field}): "
                            f"{key[1]} at {_format_us(key[0])} comes after {previous[1]} at "
                            f"{_format_us(previous[0])}. The API serves pages in that order; "
                            "fix the simulator's output or sort the file."
                        )
                    previous = key
                    timestamps.append(key[0])
                    offsets.append(line_start)
        except OSError as exc:
            raise DataFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
        logger.info(
            "indexed %s: %d record versions in %.1f s",
            path,
            len(offsets),
            time.perf_counter() - started,
        )
        return cls(
            path=path,
            timestamps=timestamps,
            offsets=offsets,
            end_offset=offset,
            signature=_signature(stat),
        )

    def __len__(self) -> int:
        return len(self.offsets)

    def window(self, from_us: int, to_us: int) -> tuple[int, int]:
        """Positions ``[lo, hi)`` of the records with ``from_us <= updated_at < to_us``."""
        lo = bisect.bisect_left(self.timestamps, from_us)
        hi = bisect.bisect_left(self.timestamps, to_us, lo)
        return lo, hi

    def read_lines(self, start: int, stop: int) -> list[bytes]:
        """The stored lines of positions ``[start, stop)``, without line ends."""
        if start >= stop:
            return []
        begin = self.offsets[start]
        end = self.offsets[stop] if stop < len(self.offsets) else self.end_offset
        # Opened per request: threads never share a file position.
        with self.path.open("rb") as handle:
            handle.seek(begin)
            chunk = handle.read(end - begin)
        lines = [line.strip() for line in chunk.splitlines() if line.strip()]
        if len(lines) != stop - start:
            raise DataFileError(
                f"{self.path} changed while being read (expected {stop - start} lines, "
                f"got {len(lines)}); retry the request"
            )
        return lines


def _record_key(line: bytes, id_field: str, path: Path, line_number: int) -> tuple[int, str]:
    """``(updated_at epoch us, id)`` of one line; errors name file and line, never contents."""
    where = f"{path}:{line_number}"
    try:
        record = json.loads(line)
    except ValueError as exc:
        raise DataFileError(f"{where}: not a JSON object ({exc.__class__.__name__})") from exc
    if not isinstance(record, dict):
        raise DataFileError(f"{where}: expected a JSON object per line")
    record_id = record.get(id_field)
    if not isinstance(record_id, str) or not record_id:
        raise DataFileError(f"{where}: missing or non-string {id_field!r}")
    stamp = record.get("updated_at")
    try:
        moment = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise DataFileError(
            f"{where}: 'updated_at' must be ISO 8601 with an offset, e.g. "
            f"2026-01-01T00:19:32+07:00 (record {record_id})"
        )
    return to_epoch_us(moment), record_id


def _signature(stat: os.stat_result) -> tuple[int, int, int]:
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _format_us(epoch_us: int) -> str:
    return (_EPOCH + timedelta(microseconds=epoch_us)).isoformat()


# --------------------------------------------------------------------------------------------
# Rate limit and failure injection
# --------------------------------------------------------------------------------------------


class SlidingWindowRateLimiter:
    """At most ``limit`` accepted requests in any 1-second window, across all clients.

    A sliding log rather than a token bucket: "5 requests/s" then means exactly that, with no
    burst allowance a client could come to depend on. ``limit=0`` disables the limit.
    """

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 0:
            raise ValueError(f"rate limit must be >= 0 requests/s (0 disables it), got {limit}")
        self.limit = limit
        self._clock = clock
        self._accepted: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> int | None:
        """Admit one request: ``None`` if admitted, else the whole seconds to wait (>= 1)."""
        if self.limit == 0:
            return None
        with self._lock:
            now = self._clock()
            while self._accepted and self._accepted[0] <= now - 1.0:
                self._accepted.popleft()
            if len(self._accepted) < self.limit:
                self._accepted.append(now)
                return None
            # The oldest admitted request leaves the window at oldest + 1 s. Retry-After has
            # whole seconds only, so round up and never say 0 (a client would retry at once).
            return max(1, math.ceil(self._accepted[0] + 1.0 - now))


class FailureInjector:
    """Transient 502/503 at ``rate``, from a seeded RNG so a test run is reproducible."""

    def __init__(self, rate: float, seed: int) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"failure rate must be between 0.0 and 1.0, got {rate}")
        self.rate = rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self) -> int | None:
        """The status of an injected failure for this request, or ``None``."""
        if self.rate == 0.0:
            return None
        with self._lock:  # one RNG shared by handler threads: keep its sequence intact
            if self._random.random() >= self.rate:
                return None
            return 502 if self._random.random() < _BAD_GATEWAY_SHARE else 503


# --------------------------------------------------------------------------------------------
# Request handling, independent of the HTTP server
# --------------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    record_count: int | None = None  # for the log line only


def _error(status: int, code: str, message: str, **headers: str) -> Response:
    body = json.dumps({"error": code, "message": message}).encode()
    return Response(status, body, headers=dict(headers))


class _BadRequest(Exception):
    """A query parameter problem; the message is returned to the client as is."""


class Kp2miApi:
    """The API's behaviour: ``handle`` maps one request to one ``Response``."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        token: str,
        rate_limit_per_second: int = DEFAULT_RATE_LIMIT_PER_SECOND,
        failure_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        if not token:
            raise ValueError(f"a bearer token is required (set {TOKEN_ENV} or pass --token)")
        self.api_dir = resolve_api_dir(data_dir)
        self._token = token.encode()
        self.rate_limiter = SlidingWindowRateLimiter(rate_limit_per_second)
        self.failures = FailureInjector(failure_rate, seed)
        self._endpoints = {e.path: e for e in ENDPOINTS}
        self._indexes = {
            e.path: RecordIndex.build(self.api_dir / e.file_name, e.id_field) for e in ENDPOINTS
        }
        self._reindex_lock = threading.Lock()

    def handle(self, method: str, target: str, authorization: str | None) -> Response:
        """Answer ``method target`` (path plus query) given the ``Authorization`` header."""
        url = urlsplit(target)
        endpoint = self._endpoints.get(url.path)
        if endpoint is None:
            known = ", ".join(self._endpoints)
            return _error(404, "not_found", f"unknown path {url.path}; endpoints: {known}")
        if method != "GET":
            return _error(405, "method_not_allowed", "only GET is supported", Allow="GET")

        retry_after = self.rate_limiter.acquire()
        if retry_after is not None:
            return _error(
                429,
                "rate_limited",
                f"more than {self.rate_limiter.limit} requests/s; retry after {retry_after} s",
                **{"Retry-After": str(retry_after)},
            )
        failure = self.failures.draw()
        if failure == 502:
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            return Response(502, body, content_type="text/html")
        if failure == 503:
            return _error(503, "unavailable", "service temporarily unavailable; retry later")
        if not self._authorized(authorization):
            return _error(
                401,
                "unauthorized",
                "missing or invalid bearer token; send 'Authorization: Bearer <token>'",
                **{"WWW-Authenticate": 'Bearer realm="kp2mi"'},
            )
        try:
            from_us, to_us, page, per_page = _parse_query(url.query)
        except _BadRequest as exc:
            return _error(400, "bad_request", str(exc))
        return self._page(endpoint, from_us, to_us, page, per_page)

    def _authorized(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        # Constant-time comparison: the simulator should not teach a timing leak.
        return hmac.compare_digest(token.strip().encode(), self._token)

    def _page(
        self, endpoint: Endpoint, from_us: int, to_us: int, page: int, per_page: int
    ) -> Response:
        index = self._current_index(endpoint)
        lo, hi = index.window(from_us, to_us)
        total_records = hi - lo
        start = min(lo + (page - 1) * per_page, hi)
        stop = min(start + per_page, hi)
        lines = index.read_lines(start, stop)
        meta = {
            "page": page,
            "per_page": per_page,
            "total_pages": math.ceil(total_records / per_page),
            "total_records": total_records,
        }
        body = b'{"data": [' + b", ".join(lines) + b'], "meta": ' + json.dumps(meta).encode()
        return Response(200, body + b"}", record_count=len(lines))

    def _current_index(self, endpoint: Endpoint) -> RecordIndex:
        """The endpoint's index, rebuilt first if its file was rewritten since indexing."""
        index = self._indexes[endpoint.path]
        try:
            current = _signature(index.path.stat())
        except OSError as exc:
            raise DataFileError(f"cannot read {index.path}: {exc.strerror or exc}") from exc
        if current == index.signature:
            return index
        with self._reindex_lock:
            index = self._indexes[endpoint.path]
            if _signature(index.path.stat()) != index.signature:
                logger.info("%s changed on disk; re-indexing", index.path)
                index = RecordIndex.build(index.path, endpoint.id_field)
                self._indexes[endpoint.path] = index
            return index


def _parse_query(query: str) -> tuple[int, int, int, int]:
    """``(from_us, to_us, page, per_page)`` from the query string, or ``_BadRequest``."""
    params = parse_qs(query, keep_blank_values=True)
    for name, values in params.items():
        if len(values) > 1:
            raise _BadRequest(f"parameter {name!r} given {len(values)} times; give it once")
    values = {name: vals[0] for name, vals in params.items()}
    from_us = _parse_instant(values, "updated_from")
    to_us = _parse_instant(values, "updated_to")
    if from_us > to_us:
        raise _BadRequest("updated_from must not be later than updated_to")
    page = _parse_int(values, "page", default=1, low=1, high=None)
    per_page = _parse_int(values, "per_page", default=DEFAULT_PER_PAGE, low=1, high=MAX_PER_PAGE)
    return from_us, to_us, page, per_page


def _parse_instant(values: Mapping[str, str], name: str) -> int:
    raw = values.get(name)
    if raw is None or raw == "":
        raise _BadRequest(f"{name} is required (ISO 8601 with offset, e.g. 2026-01-01T00:00+07:00)")
    hint = ""
    if " " in raw:
        # An unencoded '+07:00' arrives as ' 07:00': '+' means space in a query string.
        hint = "; encode '+' in the offset as %2B"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise _BadRequest(f"{name}={raw!r} is not an ISO 8601 timestamp{hint}") from None
    if moment.tzinfo is None:
        raise _BadRequest(
            f"{name}={raw!r} has no UTC offset; add one, e.g. +07:00 (WIB) or Z{hint}"
        )
    return to_epoch_us(moment)


def _parse_int(
    values: Mapping[str, str], name: str, default: int, low: int, high: int | None
) -> int:
    raw = values.get(name)
    if raw is None:
        return default
    limits = f"from {low}" if high is None else f"from {low} to {high}"
    # Digits only: int() would also take ' 5', '+5' and '1_000'.
    if not _DIGITS.fullmatch(raw):
        raise _BadRequest(f"{name}={raw!r} must be a whole number {limits}")
    number = int(raw)
    if number < low or (high is not None and number > high):
        raise _BadRequest(f"{name}={number} is out of range; use a whole number {limits}")
    return number


# --------------------------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a client's session would expect
    timeout = 60  # close idle keep-alive connections so their threads end
    # Headers and body go out in two writes; with Nagle on, keep-alive clients wait ~40 ms
    # for a delayed ACK on every request after the first.
    disable_nagle_algorithm = True
    server: Kp2miApiServer

    # do_<METHOD> names are fixed by BaseHTTPRequestHandler.
    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self.close_connection = True  # the body is not read; don't parse it as a request
        self._dispatch()

    do_PUT = do_PATCH = do_DELETE = do_POST

    def _dispatch(self) -> None:
        started = time.perf_counter()
        try:
            response = self.server.api.handle(
                self.command, self.path, self.headers.get("Authorization")
            )
        except Exception:
            # The traceback names files and lines, never record contents.
            logger.exception("error answering %s %s", self.command, urlsplit(self.path).path)
            response = _error(500, "internal_error", "simulator error; see the server log")
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)
        # One line per request; the path without query and no body, so no personal data.
        count = "" if response.record_count is None else f" {response.record_count} records"
        logger.info(
            "%s %s %d%s %.1f ms",
            self.command,
            urlsplit(self.path).path,
            response.status,
            count,
            (time.perf_counter() - started) * 1000,
        )

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: ``_dispatch`` logs its own line."""

    def log_message(self, format: str, *args: object) -> None:
        # Only http.server's own errors (malformed request line, timeouts) still get here.
        logger.warning("%s: %s", self.address_string(), format % args)


class Kp2miApiServer(ThreadingHTTPServer):
    """The HTTP server around a ``Kp2miApi``, bound to 127.0.0.1."""

    daemon_threads = True  # a stuck keep-alive connection must not block shutdown

    def __init__(self, api: Kp2miApi, port: int = 0) -> None:
        super().__init__((HOST, port), _Handler)
        self.api = api

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def make_server(
    data_dir: str | os.PathLike[str],
    token: str,
    rate_limit_per_second: int = DEFAULT_RATE_LIMIT_PER_SECOND,
    failure_rate: float = 0.0,
    seed: int = 0,
    port: int = 0,
) -> Kp2miApiServer:
    """Index the data and bind the server (``port=0``: any free port); not yet serving."""
    api = Kp2miApi(data_dir, token, rate_limit_per_second, failure_rate, seed)
    return Kp2miApiServer(api, port)


@contextmanager
def serve_in_background(
    data_dir: str | os.PathLike[str],
    token: str,
    rate_limit_per_second: int = DEFAULT_RATE_LIMIT_PER_SECOND,
    failure_rate: float = 0.0,
    seed: int = 0,
    port: int = 0,
) -> Iterator[str]:
    """Serve in a thread; yield the base URL (``http://127.0.0.1:PORT``); stop on exit."""
    server = make_server(data_dir, token, rate_limit_per_second, failure_rate, seed, port)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll interval
        name=f"kp2mi-api-{server.server_address[1]}",
        daemon=True,
    )
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------------------------
# Command line: ``sinergi simulate serve-kp2mi``
# --------------------------------------------------------------------------------------------


def register_serve_command(simulate_subcommands: argparse._SubParsersAction) -> None:
    """Add ``serve-kp2mi`` to the ``sinergi simulate`` subcommands."""
    parser = simulate_subcommands.add_parser(
        "serve-kp2mi",
        help="serve the simulated KemenP2MI REST API on 127.0.0.1",
        description=(
            "Serve GET /api/v1/pmi and GET /api/v1/peserta-program from the simulator's "
            "output, with bearer auth, a rate limit and optional transient failures. "
            "Listens on 127.0.0.1 only. Stop with Ctrl-C."
        ),
    )
    parser.add_argument(
        "--data",
        required=True,
        type=Path,
        metavar="DIR",
        help="the simulator's output directory (or its api/ subdirectory)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0 picks one"
    )
    parser.add_argument(
        "--token",
        default=None,
        help=(
            f"bearer token clients must send; default ${TOKEN_ENV}. Prefer the environment "
            "variable: a command-line token is visible to other users in the process list"
        ),
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=DEFAULT_RATE_LIMIT_PER_SECOND,
        metavar="N",
        help=f"requests per second before 429 (default {DEFAULT_RATE_LIMIT_PER_SECOND}; 0: off)",
    )
    parser.add_argument(
        "--failure-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="share of requests answered 503/502, 0.0 to 1.0 (default 0.0)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the failure draws (default 0)")
    parser.set_defaults(handler=_serve_command)


def _serve_command(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; the exit code is 0 then, 2 for bad options or data, 1 if unbindable."""
    token = args.token or os.environ.get(TOKEN_ENV, "")
    if not token:
        print(
            f"serve-kp2mi: no token. Set {TOKEN_ENV} (or pass --token) to the bearer token "
            "the extract will send.",
            file=sys.stderr,
        )
        return 2
    # No-op when the application already configured logging.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        server = make_server(
            args.data, token, args.rate_limit, args.failure_rate, args.seed, args.port
        )
    except (DataFileError, ValueError) as exc:
        print(f"serve-kp2mi: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"serve-kp2mi: cannot listen on {HOST}:{args.port}: {exc.strerror or exc}. "
            "Is another server using it? Pick another port with --port.",
            file=sys.stderr,
        )
        return 1
    with server:
        print(
            f"KemenP2MI API simulator at {server.url} (data {server.api.api_dir}, "
            f"{args.rate_limit} req/s, failure rate {args.failure_rate}); Ctrl-C to stop",
            file=sys.stderr,
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("serve-kp2mi: stopped", file=sys.stderr)
    return 0
