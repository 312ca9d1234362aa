"""Extract one day of the KemenP2MI REST API (SOURCES.md section 1) into a JSONL file.

The client is plain ``requests`` and knows nothing of Airflow, so it is tested against the
simulated API (``sinergi.simulate.kp2mi_api``) in a thread. Airflow supplies only the session:
``session_from_airflow_connection`` builds it from the ``kp2mi_api`` connection with the
HTTP provider's ``HttpHook``, which gives the connection's base URL, TLS and proxy settings
and extra headers; the connection's password is the bearer token.

What the API does and what the client does about it:

- ``429`` with ``Retry-After``: wait that long (capped) and ask for the same page again.
  Being throttled is the API working as designed, so it does not use up the retries for
  failures; only a page that stays throttled far too long fails the extract.
- ``5xx`` (``502``/``503`` happen) and connection errors: retry the same page with
  exponential backoff and jitter, up to ``max_attempts``; then ``ExtractError``.
- ``401``/``403``: the token is wrong; no retry can fix that, so ``AuthenticationError`` at
  once with a message that says where the token is configured.
- other ``4xx``: a request the API will never accept; ``ExtractError`` with its message.
- a ``200`` whose body is not the documented page (HTML from a proxy, broken JSON, paging that
  contradicts itself): ``ExtractError``. A silently short or duplicated extract would be
  worse than a failed task, which Airflow retries and shows in red.

Logs carry counts, pages and statuses only: never record contents (personal data).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

logger = logging.getLogger(__name__)

DEFAULT_CONN_ID = "kp2mi_api"
MAX_PER_PAGE = 1000  # the contract's maximum
# A Retry-After larger than this is not believed: one slow page must not stall a task for
# an hour because a gateway said so. Waiting again after the cap costs only another request.
MAX_RETRY_AFTER_SECONDS = 60.0
MAX_BACKOFF_SECONDS = 60.0
# How many 429s in a row one page may get before we give up. At 5 requests/s and a few
# concurrent extracts this is never reached; reaching it means the API is misbehaving.
MAX_RATE_LIMITED_PER_PAGE = 30
# (connect, read) seconds: without a timeout a dead connection hangs the task forever.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 120.0)
# Longest API error message quoted in an exception; the API's messages are short and carry
# no personal data, but a misbehaving server could send anything.
_MAX_QUOTED_MESSAGE = 300

Window = tuple[datetime, datetime]
Sleep = Callable[[float], None]


class ExtractError(Exception):
    """The extract failed; the message names endpoint, window, page and what went wrong."""


class AuthenticationError(ExtractError):
    """The API refused the token (``401``/``403``): retrying cannot help, fix the connection."""


@dataclass
class FetchStats:
    """Counters one ``fetch_window`` call fills in as it goes (for logs and the batch record)."""

    pages: int = 0  # pages received and accepted
    records: int = 0
    retries: int = 0  # every repeated request, whatever the reason
    rate_limited: int = 0  # of which answered 429
    total_pages: int | None = None
    total_records: int | None = None


@dataclass(frozen=True)
class ExtractResult:
    records: int
    pages: int
    retries: int
    path: Path
    sha256: str  # of the file's bytes: the content hash the landing step records


def _format_window(window: Window) -> str:
    return f"[{window[0].isoformat()}, {window[1].isoformat()})"


def _where(endpoint: str, window: Window, page: int) -> str:
    return f"GET {endpoint} window {_format_window(window)} page {page}"


def _api_message(response: requests.Response) -> str:
    """The API's own error message (``{"error": ..., "message": ...}``), or a description."""
    content_type = response.headers.get("Content-Type", "unknown content type")
    try:
        body = response.json()
    except ValueError:
        return f"no JSON error message ({content_type} body of {len(response.content)} bytes)"
    if isinstance(body, dict):
        text = " ".join(str(body[k]) for k in ("error", "message") if body.get(k) is not None)
        if text:
            return text[:_MAX_QUOTED_MESSAGE]
    return f"no error message in the {content_type} body"


def _retry_after_seconds(response: requests.Response) -> float | None:
    """``Retry-After`` as seconds (the API sends whole seconds), or None if absent or odd."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        # The HTTP-date form is allowed by RFC 9110 but not used by this API; fall back to
        # our own backoff rather than read the clock.
        return None
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return min(seconds, MAX_RETRY_AFTER_SECONDS)


def _backoff_seconds(failures: int, backoff_base: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: about base * 2^(n-1), spread so that several tasks
    retrying after the same outage do not hit the API in lockstep."""
    delay = min(backoff_base * (2 ** (failures - 1)), MAX_BACKOFF_SECONDS)
    return delay * (0.5 + rng.random() / 2)


def _parse_page(
    response: requests.Response, endpoint: str, window: Window, page: int
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """``(data, meta)`` of a ``200`` answer, or ``ExtractError`` if it is not a page."""
    where = _where(endpoint, window, page)
    content_type = response.headers.get("Content-Type", "")
    try:
        body = json.loads(response.content)
    except ValueError as error:
        kind = "an HTML page" if "html" in content_type.lower() else "malformed JSON"
        # The body is not quoted: it could hold anything, personal data included.
        raise ExtractError(
            f"{where}: the API answered 200 with {kind} ({content_type or 'no content type'}, "
            f"{len(response.content)} bytes; {error.__class__.__name__}) instead of a page of "
            "records. A proxy or the API is misbehaving; the task can be retried."
        ) from error
    if not isinstance(body, dict):
        raise ExtractError(f"{where}: the body is a JSON {type(body).__name__}, not an object")
    data = body.get("data")
    meta = body.get("meta")
    if not isinstance(data, list) or not isinstance(meta, dict):
        raise ExtractError(
            f"{where}: the body lacks a 'data' list and a 'meta' object "
            f"(keys found: {sorted(body)}); the API contract (SOURCES.md section 1) has changed"
        )
    numbers: dict[str, int] = {}
    for name in ("page", "total_pages", "total_records"):
        value = meta.get(name)
        # bool is an int in Python; true is not a page number.
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ExtractError(f"{where}: meta.{name} is {value!r}, expected a whole number >= 0")
        numbers[name] = value
    for position, record in enumerate(data, start=1):
        if not isinstance(record, dict):
            raise ExtractError(
                f"{where}: item {position} of 'data' is a JSON {type(record).__name__}, "
                "expected an object"
            )
    return data, numbers


def _get_page(
    session: requests.Session,
    url: str,
    endpoint: str,
    window: Window,
    page: int,
    *,
    max_attempts: int,
    sleep: Sleep,
    backoff_base: float,
    rng: random.Random,
    timeout: tuple[float, float] | float,
    stats: FetchStats,
    conn_id: str,
) -> requests.Response:
    """GET one page until it answers ``200``, retrying what is transient."""
    failures = 0
    rate_limited = 0
    while True:
        try:
            response = session.get(url, timeout=timeout)
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,  # the connection dropped mid-body
        ) as error:
            last = f"connection error ({error.__class__.__name__})"
        else:
            status = response.status_code
            if status == 200:
                return response
            if status == 429:
                rate_limited += 1
                if rate_limited > MAX_RATE_LIMITED_PER_PAGE:
                    raise ExtractError(
                        f"{_where(endpoint, window, page)}: still rate limited (429) after "
                        f"{MAX_RATE_LIMITED_PER_PAGE} waits; is another client using the "
                        "same token heavily? Retry the task later."
                    )
                wait = _retry_after_seconds(response)
                if wait is None:
                    wait = _backoff_seconds(min(rate_limited, 6), backoff_base, rng)
                stats.retries += 1
                stats.rate_limited += 1
                logger.info("GET %s page %d: 429, waiting %.1f s", endpoint, page, wait)
                sleep(wait)
                continue
            if status in (401, 403):
                raise AuthenticationError(
                    f"KemenP2MI API refused the token ({status}) for GET {endpoint}: check the "
                    f"password of Airflow connection `{conn_id}` (it is sent as "
                    "'Authorization: Bearer <password>')"
                )
            if 400 <= status < 500:
                raise ExtractError(
                    f"{_where(endpoint, window, page)}: the API rejected the request with "
                    f"{status}: {_api_message(response)}"
                )
            if status < 500:
                # 1xx/3xx would mean a redirect that requests did not follow, or worse.
                raise ExtractError(
                    f"{_where(endpoint, window, page)}: unexpected status {status}; "
                    "expected 200 with a page of records"
                )
            last = f"status {status}"
        failures += 1
        if failures >= max_attempts:
            raise ExtractError(
                f"{_where(endpoint, window, page)}: gave up after {failures} attempts; last "
                f"answer: {last}. The API is unavailable; the task can be retried later."
            )
        wait = _backoff_seconds(failures, backoff_base, rng)
        stats.retries += 1
        logger.warning(
            "GET %s page %d: %s (attempt %d of %d), retrying in %.1f s",
            endpoint,
            page,
            last,
            failures,
            max_attempts,
            wait,
        )
        sleep(wait)


def page_url(base_url: str, endpoint: str, window: Window, page: int, per_page: int) -> str:
    """The URL of one page. ``urlencode`` percent-encodes the ``+`` of ``+07:00`` as ``%2B``:
    left bare, a query string reads it as a space and the API rejects the timestamp."""
    for moment in window:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"window bound {moment.isoformat()} has no UTC offset")
    query = urlencode(
        {
            "updated_from": window[0].isoformat(),
            "updated_to": window[1].isoformat(),
            "page": page,
            "per_page": per_page,
        }
    )
    return f"{base_url.rstrip('/')}/{endpoint.lstrip('/')}?{query}"


def fetch_window(
    session: requests.Session,
    base_url: str,
    endpoint: str,
    window: Window,
    *,
    per_page: int = MAX_PER_PAGE,
    max_attempts: int = 6,
    sleep: Sleep = time.sleep,
    backoff_base: float = 1.0,
    timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
    stats: FetchStats | None = None,
    rng: random.Random | None = None,
    conn_id: str = DEFAULT_CONN_ID,
) -> Iterator[dict[str, Any]]:
    """Yield every record of ``endpoint`` changed in ``window`` (half-open), page by page.

    Pages are requested 1..total_pages in order and their records yielded in the API's
    order, ``(updated_at, id)``. ``conn_id`` only names the Airflow connection in the
    message of a refused token. ``stats`` (optional) is filled in as pages arrive; the
    consistency checks run as they do, so a consumer sees ``ExtractError`` before the end of
    the iteration if the API's paging contradicts itself.
    """
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be 1..{MAX_PER_PAGE}, got {per_page}")
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
    stats = stats if stats is not None else FetchStats()
    rng = rng if rng is not None else random.Random()
    first_totals: tuple[int, int] | None = None  # (total_pages, total_records) of page 1
    previous_page: set[str] = set()
    page = 1
    while True:
        response = _get_page(
            session,
            page_url(base_url, endpoint, window, page, per_page),
            endpoint,
            window,
            page,
            max_attempts=max_attempts,
            sleep=sleep,
            backoff_base=backoff_base,
            rng=rng,
            timeout=timeout,
            stats=stats,
            conn_id=conn_id,
        )
        data, meta = _parse_page(response, endpoint, window, page)
        where = _where(endpoint, window, page)
        totals = (meta["total_pages"], meta["total_records"])
        if meta["page"] != page:
            raise ExtractError(f"{where}: the API answered with meta.page={meta['page']}")
        if first_totals is None:
            first_totals = totals
            stats.total_pages, stats.total_records = totals
        elif totals != first_totals:
            # The window's records changed while we paged (or the API is broken): pages may
            # have shifted, so records could be skipped or doubled. Start over (retry).
            raise ExtractError(
                f"{where}: paging changed during the extract: page 1 said "
                f"total_pages={first_totals[0]}, total_records={first_totals[1]}, this page "
                f"says total_pages={totals[0]}, total_records={totals[1]}. Retry the task."
            )
        total_pages, total_records = first_totals
        # Only page 1 of an empty window (total_pages=0) may be empty.
        if total_pages > 0 and not data:
            raise ExtractError(
                f"{where}: empty page although total_pages={total_pages} "
                f"(total_records={total_records}); the API's paging is inconsistent"
            )
        # A record of this page identical to one of the previous page means the API served a
        # page twice (a paging bug, or an offset that moved): the extract would double rows.
        # Compared as canonical JSON text, never logged.
        this_page = {json.dumps(record, sort_keys=True, ensure_ascii=False) for record in data}
        repeated = len(this_page & previous_page)
        if repeated:
            raise ExtractError(
                f"{where}: {repeated} of its {len(data)} records repeat records of page "
                f"{page - 1}; the API's paging is inconsistent. Retry the task."
            )
        previous_page = this_page
        stats.pages += 1
        stats.records += len(data)
        if stats.records > total_records:
            raise ExtractError(
                f"{where}: received {stats.records} records so far, more than "
                f"total_records={total_records}; the API's paging is inconsistent"
            )
        logger.info("GET %s page %d/%d: %d records", endpoint, page, total_pages, len(data))
        yield from data
        if page >= total_pages:
            break
        page += 1
    if stats.records != total_records:
        raise ExtractError(
            f"GET {endpoint} window {_format_window(window)}: received {stats.records} records "
            f"in {stats.pages} pages but the API said total_records={total_records}; the "
            "extract is incomplete. Retry the task."
        )


def extract_to_jsonl(
    session: requests.Session,
    base_url: str,
    endpoint: str,
    window: Window,
    out_path: str | os.PathLike[str],
    *,
    per_page: int = MAX_PER_PAGE,
    max_attempts: int = 6,
    sleep: Sleep = time.sleep,
    backoff_base: float = 1.0,
    timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
    rng: random.Random | None = None,
    conn_id: str = DEFAULT_CONN_ID,
) -> ExtractResult:
    """Write every record of the window to ``out_path``, one JSON object per line.

    The file appears only when complete (temp file in the same directory, fsync, rename), so
    a crash or a failed page never leaves a partial extract that a later step could load.
    Records are written as received, in the API's order and key order, UTF-8 without
    escaping (``ensure_ascii=False``) and ``\\n`` line ends: the same records give the same
    bytes, so a re-run of the same window has the same content hash. An empty window gives
    an empty file.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    stats = FetchStats()
    digest = hashlib.sha256()
    handle, temp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", dir=out_path.parent)
    temp_path = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as stream:
            for record in fetch_window(
                session,
                base_url,
                endpoint,
                window,
                per_page=per_page,
                max_attempts=max_attempts,
                sleep=sleep,
                backoff_base=backoff_base,
                timeout=timeout,
                stats=stats,
                rng=rng,
                conn_id=conn_id,
            ):
                line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
                digest.update(line)
                stream.write(line)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_path, out_path)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    logger.info(
        "GET %s window %s: %d records in %d pages (%d retries, %d rate limited) -> %s",
        endpoint,
        _format_window(window),
        stats.records,
        stats.pages,
        stats.retries,
        stats.rate_limited,
        out_path.name,
    )
    return ExtractResult(
        records=stats.records,
        pages=stats.pages,
        retries=stats.retries,
        path=out_path,
        sha256=digest.hexdigest(),
    )


def session_from_airflow_connection(
    conn_id: str = DEFAULT_CONN_ID,
) -> tuple[requests.Session, str]:
    """A ``requests.Session`` and base URL built by Airflow's ``HttpHook`` from ``conn_id``.

    ``HttpHook.get_conn()`` resolves the connection (metadata DB, secrets backend or an
    ``AIRFLOW_CONN_KP2MI_API`` environment variable), applies its extra headers and TLS/proxy
    extras, and sets ``hook.base_url`` from host, schema (the URL scheme, default ``http``)
    and port. The connection's password is the bearer token.

    Airflow is imported here, not at module level, so this module stays importable (and
    testable) without it and DAG parsing pays nothing for it.
    """
    from airflow.providers.http.hooks.http import HttpHook

    hook = HttpHook(method="GET", http_conn_id=conn_id)
    connection = hook.get_connection(conn_id)
    if not connection.password:
        raise AuthenticationError(
            f"Airflow connection `{conn_id}` has no password: put the KemenP2MI API bearer "
            "token in its Password field"
        )
    session = hook.get_conn(
        headers={"Authorization": f"Bearer {connection.password}", "Accept": "application/json"}
    )
    # With a login set, HttpHook installs HTTPBasicAuth, which requests applies after the
    # headers and so would replace our bearer token. The API knows only bearer auth.
    session.auth = None
    return session, hook.base_url
