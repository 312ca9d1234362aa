"""The KemenP2MI API client: against the simulated API in a thread, and against scripted
answers for the misbehaviour the simulator does not produce (broken pages, paging drift)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from sinergi.extract.kp2mi import (
    MAX_RETRY_AFTER_SECONDS,
    AuthenticationError,
    ExtractError,
    FetchStats,
    extract_to_jsonl,
    fetch_window,
    page_url,
)
from sinergi.extract.window import api_window
from sinergi.simulate.config import SimulationConfig
from sinergi.simulate.kp2mi_api import serve_in_background
from sinergi.simulate.simulator import Simulator

TOKEN = "test-token"
PMI = "/api/v1/pmi"
PROGRAM = "/api/v1/peserta-program"
DAY = date(2026, 1, 1)  # the simulated first night: every record of the world


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kp2mi_sim")
    config = SimulationConfig(persons=300, start=date(2026, 1, 1), end=date(2026, 1, 6), seed=1)
    Simulator(config, out).run()
    return out


def _records_in_window(path: Path, window: tuple[datetime, datetime]) -> list[dict]:
    """The simulated data of one window, in the file's (updated_at, id) order."""
    with path.open(encoding="utf-8") as stream:
        records = [json.loads(line) for line in stream if line.strip()]
    return [r for r in records if window[0] <= datetime.fromisoformat(r["updated_at"]) < window[1]]


def _authorized_session(token: str = TOKEN) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def _no_sleep(seconds: float) -> None:
    """Retries without waiting (the simulated failures are random, not time-based)."""


# --------------------------------------------------------------------------------------------
# Against the simulated API
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "file_name", "id_field"),
    [(PMI, "kp2mi_pmi.jsonl", "id_pmi"), (PROGRAM, "kp2mi_program.jsonl", "id_peserta")],
)
def test_all_pages_equal_the_window_of_the_data(
    sim_dir: Path, endpoint: str, file_name: str, id_field: str
) -> None:
    with serve_in_background(sim_dir, TOKEN, rate_limit_per_second=0) as base_url:
        for d in (date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 4)):
            window = api_window(d)
            expected = _records_in_window(sim_dir / "api" / file_name, window)
            stats = FetchStats()
            got = list(
                fetch_window(
                    _authorized_session(), base_url, endpoint, window, per_page=7, stats=stats
                )
            )
            assert [r[id_field] for r in got] == [r[id_field] for r in expected]
            assert got == expected
            assert stats.records == stats.total_records == len(expected)
            assert stats.total_pages == -(-len(expected) // 7)
            assert stats.pages == max(1, stats.total_pages)  # an empty window is one request
            assert stats.retries == 0
    assert len(_records_in_window(sim_dir / "api" / file_name, api_window(DAY))) > 50


def test_survives_rate_limit_honouring_retry_after(sim_dir: Path) -> None:
    window = api_window(DAY)
    expected = _records_in_window(sim_dir / "api" / "kp2mi_pmi.jsonl", window)
    waits: list[float] = []

    def short_sleep(seconds: float) -> None:
        # Honour Retry-After, compressed 4x to keep the test fast: a few extra 429s result.
        waits.append(seconds)
        time.sleep(seconds / 4)

    stats = FetchStats()
    with serve_in_background(sim_dir, TOKEN, rate_limit_per_second=3) as base_url:
        got = list(
            fetch_window(
                _authorized_session(),
                base_url,
                PMI,
                window,
                per_page=15,
                sleep=short_sleep,
                stats=stats,
            )
        )
    assert [r["id_pmi"] for r in got] == [r["id_pmi"] for r in expected]
    assert stats.rate_limited > 0
    assert stats.retries == stats.rate_limited
    assert waits and all(w >= 1 for w in waits)  # the server's Retry-After, whole seconds


def test_survives_transient_502_503_and_reports_retries(sim_dir: Path, tmp_path: Path) -> None:
    window = api_window(DAY)
    expected = _records_in_window(sim_dir / "api" / "kp2mi_program.jsonl", window)
    waits: list[float] = []
    with serve_in_background(
        sim_dir, TOKEN, rate_limit_per_second=0, failure_rate=0.3, seed=7
    ) as base_url:
        result = extract_to_jsonl(
            _authorized_session(),
            base_url,
            PROGRAM,
            window,
            tmp_path / "kp2mi_program.jsonl",
            per_page=10,
            max_attempts=8,
            sleep=waits.append,
            rng=random.Random(0),
        )
    lines = result.path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id_peserta"] for line in lines] == [r["id_peserta"] for r in expected]
    assert result.records == len(expected)
    assert result.pages == -(-len(expected) // 10)
    assert result.retries > 0 and result.retries == len(waits)
    # Exponential backoff with jitter: base 1 s, factor between 0.5 and 1.
    assert all(0.5 <= w <= 64 for w in waits)


def test_wrong_token_fails_at_once_with_an_actionable_message(sim_dir: Path) -> None:
    calls: list[str] = []

    class CountingSession(requests.Session):
        def get(self, url, **kwargs):  # type: ignore[override]
            calls.append(url)
            return super().get(url, **kwargs)

    session = CountingSession()
    session.headers["Authorization"] = "Bearer wrong"
    waits: list[float] = []
    with (
        serve_in_background(sim_dir, TOKEN, rate_limit_per_second=0) as base_url,
        pytest.raises(AuthenticationError) as caught,
    ):
        list(fetch_window(session, base_url, PMI, api_window(DAY), sleep=waits.append))
    assert str(caught.value) == (
        "KemenP2MI API refused the token (401) for GET /api/v1/pmi: check the password of "
        "Airflow connection `kp2mi_api` (it is sent as 'Authorization: Bearer <password>')"
    )
    assert len(calls) == 1 and waits == []


def test_extract_is_deterministic_and_atomic(sim_dir: Path, tmp_path: Path) -> None:
    window = api_window(DAY)
    with serve_in_background(sim_dir, TOKEN, rate_limit_per_second=0) as base_url:
        first = extract_to_jsonl(
            _authorized_session(), base_url, PMI, window, tmp_path / "a" / "pmi.jsonl"
        )
        second = extract_to_jsonl(
            _authorized_session(), base_url, PMI, window, tmp_path / "b" / "pmi.jsonl", per_page=9
        )
        empty = extract_to_jsonl(
            _authorized_session(), base_url, PMI, api_window(date(2026, 1, 2)), tmp_path / "e"
        )
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == second.sha256
    assert (first.records, first.pages, second.pages) == (second.records, 1, -(-first.records // 9))
    assert empty.records == 0 and empty.path.read_bytes() == b""
    # Only the final files: no temporary files left behind.
    files = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["e", "pmi.jsonl", "pmi.jsonl"]


# Run in a subprocess: importing Airflow reads AIRFLOW_HOME once per process, and these tests
# must not fix it for the rest of the test session. One process for all connection forms,
# because importing Airflow takes seconds: the env connection is looked up at each call.
_AIRFLOW_SCRIPT = """
import json, os, sys
from datetime import date
from sinergi.extract.kp2mi import (
    AuthenticationError, fetch_window, session_from_airflow_connection,
)
from sinergi.extract.window import api_window

answers = {}
for form, value in json.loads(sys.argv[1]).items():
    os.environ["AIRFLOW_CONN_KP2MI_API"] = value
    try:
        session, base_url = session_from_airflow_connection()
    except AuthenticationError as error:
        answers[form] = {"error": str(error)}
        continue
    records = list(fetch_window(session, base_url, "/api/v1/pmi", api_window(date(2026, 1, 1))))
    answers[form] = {
        "base_url": base_url,
        "auth": repr(session.auth),
        "x_client": session.headers.get("X-Client"),
        "records": len(records),
    }
print(json.dumps(answers))
"""


def test_session_from_airflow_env_connection(sim_dir: Path, tmp_path: Path) -> None:
    """Airflow resolves AIRFLOW_CONN_KP2MI_API (URI or JSON) without a metadata database."""
    expected = len(_records_in_window(sim_dir / "api" / "kp2mi_pmi.jsonl", api_window(DAY)))
    with serve_in_background(sim_dir, TOKEN, rate_limit_per_second=0) as base_url:
        port = urlsplit(base_url).port
        forms = {
            # URI form: no login, the password is the token.
            "uri": f"http://:{TOKEN}@127.0.0.1:{port}",
            # JSON form with a login: HttpHook would add basic auth, which must not win.
            "json": json.dumps(
                {
                    "conn_type": "http",
                    "host": "127.0.0.1",
                    "port": port,
                    "login": "sinergi",
                    "password": TOKEN,
                    "extra": {"X-Client": "sinergi"},
                }
            ),
            "no_password": f"http://127.0.0.1:{port}",
        }
        env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
        done = subprocess.run(
            [sys.executable, "-c", _AIRFLOW_SCRIPT, json.dumps(forms)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    for form in ("uri", "json"):
        assert answers[form]["base_url"] == base_url
        assert answers[form]["auth"] == "None"
        assert answers[form]["records"] == expected
    assert answers["json"]["x_client"] == "sinergi"  # connection extras become headers
    assert answers["no_password"]["error"] == (
        "Airflow connection `kp2mi_api` has no password: put the KemenP2MI API bearer token "
        "in its Password field"
    )


# --------------------------------------------------------------------------------------------
# Scripted answers
# --------------------------------------------------------------------------------------------

WINDOW = api_window(date(2026, 1, 5))
Answer = requests.Response | Exception


def _response(
    status: int,
    body: bytes | dict,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if isinstance(body, dict) else body
    response.headers = CaseInsensitiveDict({"Content-Type": content_type, **(headers or {})})
    return response


def _page(page: int, ids: list[int], total_pages: int, total_records: int) -> requests.Response:
    data = [{"id_pmi": f"PMI{i:010d}", "nama": "É"} for i in ids]
    meta = {"page": page, "per_page": 2, "total_pages": total_pages, "total_records": total_records}
    return _response(200, {"data": data, "meta": meta})


class ScriptedSession:
    """Answers GETs from a script: a function of the page number and the attempt."""

    def __init__(self, answer: Callable[[int, int], Answer]) -> None:
        self.answer = answer
        self.requests: list[str] = []
        self._attempts: dict[int, int] = {}

    def get(self, url: str, timeout: object = None) -> requests.Response:
        self.requests.append(url)
        page = int(parse_qs(urlsplit(url).query)["page"][0])
        self._attempts[page] = self._attempts.get(page, 0) + 1
        result = self.answer(page, self._attempts[page])
        if isinstance(result, Exception):
            raise result
        return result


def _fetch(session: ScriptedSession, **kwargs: object) -> list[dict]:
    kwargs.setdefault("sleep", _no_sleep)
    return list(fetch_window(session, "http://api.test", PMI, WINDOW, per_page=2, **kwargs))  # type: ignore[arg-type]


def _good(page: int, attempt: int) -> Answer:
    return {1: _page(1, [1, 2], 2, 3), 2: _page(2, [3], 2, 3)}[page]


def test_page_url_encodes_the_offset_plus() -> None:
    url = page_url("http://api.test/", "/api/v1/pmi", WINDOW, 3, 500)
    assert url == (
        "http://api.test/api/v1/pmi?updated_from=2026-01-05T00%3A00%3A00%2B07%3A00"
        "&updated_to=2026-01-06T00%3A00%3A00%2B07%3A00&page=3&per_page=500"
    )


def test_scripted_happy_path() -> None:
    session = ScriptedSession(_good)
    assert [r["id_pmi"] for r in _fetch(session)] == [
        "PMI0000000001",
        "PMI0000000002",
        "PMI0000000003",
    ]
    assert len(session.requests) == 2


def test_retry_after_is_honoured_and_capped() -> None:
    def answer(page: int, attempt: int) -> Answer:
        if page == 1 and attempt == 1:
            return _response(429, {"error": "rate_limited"}, headers={"Retry-After": "2"})
        if page == 2 and attempt == 1:
            return _response(429, {"error": "rate_limited"}, headers={"Retry-After": "3600"})
        return _good(page, attempt)

    waits: list[float] = []
    stats = FetchStats()
    assert len(_fetch(ScriptedSession(answer), sleep=waits.append, stats=stats)) == 3
    assert waits == [2.0, MAX_RETRY_AFTER_SECONDS]
    assert (stats.retries, stats.rate_limited) == (2, 2)


def test_many_429s_do_not_use_up_failure_attempts() -> None:
    def answer(page: int, attempt: int) -> Answer:
        if attempt <= 10:  # more 429s than max_attempts, then success
            return _response(429, {"error": "rate_limited"}, headers={"Retry-After": "1"})
        return _good(page, attempt)

    assert len(_fetch(ScriptedSession(answer), max_attempts=3)) == 3


def test_endless_429_fails_eventually() -> None:
    session = ScriptedSession(
        lambda page, attempt: _response(429, {}, headers={"Retry-After": "1"})
    )
    with pytest.raises(ExtractError, match="still rate limited"):
        _fetch(session)


def test_5xx_and_connection_errors_are_retried_with_backoff() -> None:
    def answer(page: int, attempt: int) -> Answer:
        if page == 1 and attempt == 1:
            return requests.ConnectionError("connection refused")
        if page == 1 and attempt == 2:
            return _response(502, b"<html>502 Bad Gateway</html>", "text/html")
        if page == 2 and attempt == 1:
            return _response(503, {"error": "unavailable"})
        return _good(page, attempt)

    waits: list[float] = []
    stats = FetchStats()
    records = _fetch(ScriptedSession(answer), sleep=waits.append, stats=stats, rng=random.Random(1))
    assert len(records) == 3 and stats.retries == 3
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0 and 0.5 <= waits[2] <= 1.0


def test_5xx_gives_up_after_max_attempts_naming_endpoint_window_page_status() -> None:
    def answer(page: int, attempt: int) -> Answer:
        return _good(page, attempt) if page == 1 else _response(503, {"error": "unavailable"})

    session = ScriptedSession(answer)
    with pytest.raises(ExtractError) as caught:
        _fetch(session, max_attempts=4)
    message = str(caught.value)
    assert "GET /api/v1/pmi" in message
    assert "[2026-01-05T00:00:00+07:00, 2026-01-06T00:00:00+07:00)" in message
    assert "page 2" in message and "4 attempts" in message and "status 503" in message
    assert len(session.requests) == 1 + 4


def test_403_is_an_authentication_error() -> None:
    session = ScriptedSession(lambda page, attempt: _response(403, {"error": "forbidden"}))
    with pytest.raises(AuthenticationError, match=r"refused the token \(403\)"):
        _fetch(session)
    assert len(session.requests) == 1


def test_other_4xx_raises_with_the_api_message() -> None:
    body = {"error": "bad_request", "message": "per_page=5000 is out of range"}
    session = ScriptedSession(lambda page, attempt: _response(400, body))
    with pytest.raises(ExtractError, match="rejected the request with 400: bad_request per_page"):
        _fetch(session)
    assert len(session.requests) == 1


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (_response(200, b'{"data": [{"id_pmi": "PMI1"', "application/json"), "malformed JSON"),
        (_response(200, b"<html><body>Maintenance</body></html>", "text/html"), "an HTML page"),
        (_response(200, {"records": []}), "lacks a 'data' list and a 'meta' object"),
        (_response(200, b"[]"), "not an object"),
        (
            _response(
                200, {"data": [1], "meta": {"page": 1, "total_pages": 1, "total_records": 1}}
            ),
            "item 1 of 'data' is a JSON int",
        ),
        (
            _response(
                200, {"data": [], "meta": {"page": 1, "total_pages": "1", "total_records": 0}}
            ),
            "meta.total_pages is '1'",
        ),
    ],
)
def test_malformed_pages_raise(response: requests.Response, expected: str) -> None:
    with pytest.raises(ExtractError, match=expected) as caught:
        _fetch(ScriptedSession(lambda page, attempt: response))
    assert "Maintenance" not in str(caught.value)  # bodies are never quoted


def test_repeated_page_raises() -> None:
    def answer(page: int, attempt: int) -> Answer:
        return {1: _page(1, [1, 2], 3, 5), 2: _page(2, [2, 3], 3, 5), 3: _page(3, [4], 3, 5)}[page]

    with pytest.raises(ExtractError, match="page 2: 1 of its 2 records repeat records of page 1"):
        _fetch(ScriptedSession(answer))


def test_total_pages_drift_raises() -> None:
    def answer(page: int, attempt: int) -> Answer:
        return {1: _page(1, [1, 2], 2, 4), 2: _page(2, [3, 4], 3, 5)}[page]

    with pytest.raises(ExtractError, match="paging changed during the extract"):
        _fetch(ScriptedSession(answer))


def test_fewer_records_than_total_records_raises() -> None:
    def answer(page: int, attempt: int) -> Answer:
        return {1: _page(1, [1, 2], 2, 4), 2: _page(2, [3], 2, 4)}[page]

    with pytest.raises(
        ExtractError, match="received 3 records in 2 pages but the API said total_records=4"
    ):
        _fetch(ScriptedSession(answer))


def test_empty_page_before_the_end_raises() -> None:
    def answer(page: int, attempt: int) -> Answer:
        return {1: _page(1, [1, 2], 2, 3), 2: _page(2, [], 2, 3)}[page]

    with pytest.raises(ExtractError, match="empty page although total_pages=2"):
        _fetch(ScriptedSession(answer))


def test_failed_extract_leaves_no_file(tmp_path: Path) -> None:
    def answer(page: int, attempt: int) -> Answer:
        return _good(page, attempt) if page == 1 else _response(200, b"<html/>", "text/html")

    out = tmp_path / "pmi.jsonl"
    with pytest.raises(ExtractError):
        extract_to_jsonl(ScriptedSession(answer), "http://api.test", PMI, WINDOW, out, per_page=2)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_output_is_utf8_one_object_per_line(tmp_path: Path) -> None:
    result = extract_to_jsonl(
        ScriptedSession(_good),
        "http://api.test",
        PMI,
        WINDOW,
        tmp_path / "pmi.jsonl",
        per_page=2,  # type: ignore[arg-type]
    )
    assert (
        result.path.read_bytes()
        == (
            '{"id_pmi": "PMI0000000001", "nama": "É"}\n'
            '{"id_pmi": "PMI0000000002", "nama": "É"}\n'
            '{"id_pmi": "PMI0000000003", "nama": "É"}\n'
        ).encode()
    )
    assert (result.records, result.pages, result.retries) == (3, 2, 0)
