"""The simulated KemenP2MI API (SOURCES.md section 1) as the Airflow extract will see it."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from sinergi.simulate import kp2mi_api
from sinergi.simulate.kp2mi_api import (
    DataFileError,
    FailureInjector,
    Kp2miApi,
    SlidingWindowRateLimiter,
    make_server,
    register_serve_command,
    resolve_api_dir,
    serve_in_background,
)

SAMPLES = Path("/work/shared/samples/api")
TOKEN = "test-token"
WIB = timezone(timedelta(hours=7))
PMI = "/api/v1/pmi"
PROGRAM = "/api/v1/peserta-program"


def _client(base_url: str, token: str | None = TOKEN) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    # trust_env=False: a proxy from the environment must not intercept 127.0.0.1.
    return httpx.Client(base_url=base_url, headers=headers, trust_env=False, timeout=5)


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _window(start: str, end: str, **extra: object) -> dict[str, object]:
    return {"updated_from": start, "updated_to": end, **extra}


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    """The shared samples laid out as the simulator writes them: DIR/api/*.jsonl."""
    if not SAMPLES.is_dir():
        pytest.skip(f"samples not found at {SAMPLES}")
    shutil.copytree(SAMPLES, tmp_path / "api")
    return tmp_path


def _generated_pmi(n_ids: int = 7) -> list[dict]:
    """Versions over two days with timestamp ties (id breaks them) and repeated ids."""
    base = datetime(2026, 1, 1, tzinfo=WIB)
    records = []
    for i in range(n_ids):
        for version in range(3):
            # Every 2 ids share a stamp; each id changes again 12 and 24 hours later.
            stamp = base + timedelta(hours=12 * version, minutes=(i // 2) * 10)
            records.append(
                {
                    "id_pmi": f"PMI{1000000000 + (n_ids - i):010d}",  # ids descend as i grows
                    "nama": f"ORANG {i}",
                    "status": ["TERDAFTAR", "BERANGKAT", "BEKERJA"][version],
                    "updated_at": stamp.isoformat(),
                    "deleted": False,
                }
            )
    records.sort(key=lambda r: (datetime.fromisoformat(r["updated_at"]), r["id_pmi"]))
    return records


@pytest.fixture
def generated_dir(tmp_path: Path) -> Path:
    api = tmp_path / "api"
    api.mkdir()
    _write_jsonl(api / "kp2mi_pmi.jsonl", _generated_pmi())
    _write_jsonl(api / "kp2mi_program.jsonl", [])
    return tmp_path


@pytest.fixture
def sample_url(sample_dir: Path) -> Iterator[str]:
    with serve_in_background(sample_dir, TOKEN, rate_limit_per_second=0) as url:
        yield url


# ---------------------------------------------------------------------------------------------
# Windows, paging, meta
# ---------------------------------------------------------------------------------------------


def test_first_night_window_returns_records_as_stored(sample_dir: Path, sample_url: str) -> None:
    stored = _read_jsonl(sample_dir / "api" / "kp2mi_pmi.jsonl")
    with _client(sample_url) as client:
        response = client.get(
            PMI, params=_window("2026-01-01T00:00:00+07:00", "2026-01-02T00:00:00+07:00")
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    expected = [r for r in stored if r["updated_at"].startswith("2026-01-01")]
    assert body["data"] == expected
    assert body["meta"] == {"page": 1, "per_page": 500, "total_pages": 1, "total_records": 29}


def test_window_is_half_open(sample_url: str) -> None:
    # PMI1735020333 is stamped 00:19:32, PMI2587601991 exactly 00:21:21.
    with _client(sample_url) as client:
        body = client.get(
            PMI, params=_window("2026-01-01T00:19:32+07:00", "2026-01-01T00:21:21+07:00")
        ).json()
    assert [r["id_pmi"] for r in body["data"]] == ["PMI1735020333", "PMI1095017381"]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2025-12-31T17:19:32Z", "2025-12-31T17:21:21Z"),
        ("2025-12-31T17:19:32+00:00", "2025-12-31T17:21:21.000000+00:00"),
        ("2026-01-01T02:19:32+09:00", "2026-01-01T02:21:21+09:00"),
    ],
)
def test_other_offsets_name_the_same_instants(sample_url: str, start: str, end: str) -> None:
    with _client(sample_url) as client:
        body = client.get(PMI, params=_window(start, end)).json()
    assert [r["id_pmi"] for r in body["data"]] == ["PMI1735020333", "PMI1095017381"]


def test_program_endpoint_serves_its_own_file(sample_dir: Path, sample_url: str) -> None:
    stored = _read_jsonl(sample_dir / "api" / "kp2mi_program.jsonl")
    with _client(sample_url) as client:
        body = client.get(
            PROGRAM, params=_window("2026-01-01T00:00+07:00", "2026-01-08T00:00+07:00")
        ).json()
    # All 8 versions, the last stamped 2026-01-07 19:27, fall before 2026-01-08.
    assert body["data"] == stored
    assert body["meta"]["total_records"] == 8


def test_all_pages_return_every_record_once_in_order(generated_dir: Path) -> None:
    stored = _read_jsonl(generated_dir / "api" / "kp2mi_pmi.jsonl")
    start, end = "2026-01-01T00:10:00+07:00", "2026-01-02T00:10:00+07:00"
    lo = datetime.fromisoformat(start)
    hi = datetime.fromisoformat(end)
    expected = [r for r in stored if lo <= datetime.fromisoformat(r["updated_at"]) < hi]
    assert 10 < len(expected) < len(stored)  # the window cuts on both sides

    with (
        serve_in_background(generated_dir, TOKEN, rate_limit_per_second=0) as url,
        _client(url) as client,
    ):
        first = client.get(PMI, params=_window(start, end, per_page=4)).json()
        total_pages = first["meta"]["total_pages"]
        pages = [first] + [
            client.get(PMI, params=_window(start, end, per_page=4, page=p)).json()
            for p in range(2, total_pages + 1)
        ]
        past_end = client.get(
            PMI, params=_window(start, end, per_page=4, page=total_pages + 1)
        ).json()

    assert total_pages == -(-len(expected) // 4)
    got = [r for page in pages for r in page["data"]]
    assert got == expected
    keys = [(datetime.fromisoformat(r["updated_at"]), r["id_pmi"]) for r in got]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    for number, page in enumerate(pages, start=1):
        assert page["meta"] == {
            "page": number,
            "per_page": 4,
            "total_pages": total_pages,
            "total_records": len(expected),
        }
    assert past_end["data"] == []
    assert past_end["meta"]["page"] == total_pages + 1
    assert past_end["meta"]["total_records"] == len(expected)


def test_empty_window_has_zero_pages(generated_dir: Path) -> None:
    api = Kp2miApi(generated_dir, TOKEN, rate_limit_per_second=0)
    for path in (PMI, PROGRAM):  # a window with nothing in it, and an empty file
        response = api.handle(
            "GET",
            f"{path}?updated_from=2027-01-01T00:00%2B07:00&updated_to=2027-01-02T00:00%2B07:00",
            f"Bearer {TOKEN}",
        )
        assert response.status == 200
        assert json.loads(response.body) == {
            "data": [],
            "meta": {"page": 1, "per_page": 500, "total_pages": 0, "total_records": 0},
        }


def test_rewritten_file_is_reindexed(generated_dir: Path) -> None:
    api = Kp2miApi(generated_dir, TOKEN, rate_limit_per_second=0)
    target = f"{PROGRAM}?updated_from=2026-01-01T00:00Z&updated_to=2026-01-02T00:00Z"
    assert json.loads(api.handle("GET", target, f"Bearer {TOKEN}").body)["data"] == []
    record = {"id_peserta": "PP0000000001", "updated_at": "2026-01-01T08:00:00+07:00"}
    _write_jsonl(generated_dir / "api" / "kp2mi_program.jsonl", [record])
    assert json.loads(api.handle("GET", target, f"Bearer {TOKEN}").body)["data"] == [record]


# ---------------------------------------------------------------------------------------------
# Errors: 400, 401, 404, 405, 429, 502/503
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "named"),
    [
        (
            "updated_from=2026-01-01T00:00%2B07:00&updated_to=2026-01-02T00:00%2B07:00&per_page=1001",
            "per_page",
        ),
        (
            "updated_from=2026-01-01T00:00%2B07:00&updated_to=2026-01-02T00:00%2B07:00&per_page=0",
            "per_page",
        ),
        (
            "updated_from=2026-01-01T00:00%2B07:00&updated_to=2026-01-02T00:00%2B07:00&page=0",
            "page",
        ),
        (
            "updated_from=2026-01-01T00:00%2B07:00&updated_to=2026-01-02T00:00%2B07:00&page=x",
            "page",
        ),
        (
            "updated_from=2026-13-01T00:00%2B07:00&updated_to=2026-01-02T00:00%2B07:00",
            "updated_from",
        ),
        ("updated_from=2026-01-01T00:00:00&updated_to=2026-01-02T00:00%2B07:00", "updated_from"),
        ("updated_from=2026-01-01T00:00%2B07:00&updated_to=2026-01-02", "updated_to"),
        ("updated_from=2026-01-01T00:00%2B07:00", "updated_to"),
        ("updated_from=2026-01-02T00:00Z&updated_to=2026-01-01T00:00Z", "updated_from"),
        (
            "updated_from=2026-01-01T00:00Z&updated_from=2026-01-01T00:00Z"
            "&updated_to=2026-01-02T00:00Z",
            "updated_from",
        ),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    generated_dir: Path, query: str, named: str
) -> None:
    api = Kp2miApi(generated_dir, TOKEN, rate_limit_per_second=0)
    response = api.handle("GET", f"{PMI}?{query}", f"Bearer {TOKEN}")
    assert response.status == 400
    body = json.loads(response.body)
    assert body["error"] == "bad_request"
    assert named in body["message"]


def test_unencoded_plus_gets_a_hint(generated_dir: Path) -> None:
    api = Kp2miApi(generated_dir, TOKEN, rate_limit_per_second=0)
    query = "updated_from=2026-01-01T00:00+07:00&updated_to=2026-01-02T00:00%2B07:00"
    response = api.handle("GET", f"{PMI}?{query}", f"Bearer {TOKEN}")
    assert response.status == 400
    assert "%2B" in json.loads(response.body)["message"]


def test_http_400_on_per_page_1001_and_bad_date(sample_url: str) -> None:
    with _client(sample_url) as client:
        too_big = client.get(
            PMI, params=_window("2026-01-01T00:00+07:00", "2026-01-02T00:00+07:00", per_page=1001)
        )
        bad_date = client.get(PMI, params=_window("kemarin", "2026-01-02T00:00+07:00"))
        at_max = client.get(
            PMI, params=_window("2026-01-01T00:00+07:00", "2026-01-02T00:00+07:00", per_page=1000)
        )
    assert too_big.status_code == 400 and "per_page" in too_big.json()["message"]
    assert bad_date.status_code == 400 and "updated_from" in bad_date.json()["message"]
    assert at_max.status_code == 200


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_missing_or_wrong_token_is_401(sample_url: str, token: str | None) -> None:
    with _client(sample_url, token=token) as client:
        response = client.get(PMI, params=_window("2026-01-01T00:00Z", "2026-01-02T00:00Z"))
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_other_auth_schemes_are_401(generated_dir: Path) -> None:
    api = Kp2miApi(generated_dir, TOKEN, rate_limit_per_second=0)
    target = f"{PMI}?updated_from=2026-01-01T00:00Z&updated_to=2026-01-02T00:00Z"
    assert api.handle("GET", target, f"Basic {TOKEN}").status == 401
    assert api.handle("GET", target, TOKEN).status == 401
    assert api.handle("GET", target, "Bearer ").status == 401
    assert api.handle("GET", target, None).status == 401
    assert api.handle("GET", target, f"bearer {TOKEN}").status == 200  # scheme is case-blind


def test_unknown_path_is_404_and_post_is_405(sample_url: str) -> None:
    with _client(sample_url) as client:
        assert client.get("/api/v1/pmi/").status_code == 404
        assert client.get("/api/v2/pmi").status_code == 404
        response = client.post(PMI, content=b"{}")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


def test_rate_limit_answers_429_with_retry_after(sample_dir: Path) -> None:
    params = _window("2026-01-01T00:00Z", "2026-01-02T00:00Z")
    with (
        serve_in_background(sample_dir, TOKEN, rate_limit_per_second=2) as url,
        _client(url) as client,
    ):
        statuses = [client.get(PMI, params=params) for _ in range(3)]
    assert [r.status_code for r in statuses[:2]] == [200, 200]
    limited = statuses[2]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"] == "rate_limited"


def test_rate_limiter_window_slides() -> None:
    now = [100.0]
    limiter = SlidingWindowRateLimiter(2, clock=lambda: now[0])
    assert limiter.acquire() is None
    now[0] = 100.4
    assert limiter.acquire() is None
    assert limiter.acquire() == 1  # 3rd within a second
    now[0] = 101.0  # the first request has left the window
    assert limiter.acquire() is None
    assert limiter.acquire() == 1  # 100.4 and 101.0 are still inside
    now[0] = 101.45
    assert limiter.acquire() is None
    assert SlidingWindowRateLimiter(0).acquire() is None  # 0 disables the limit


def test_failures_at_rate_one_are_transient_and_reproducible(sample_dir: Path) -> None:
    params = _window("2026-01-01T00:00Z", "2026-01-02T00:00Z")
    runs = []
    for _ in range(2):
        with (
            serve_in_background(
                sample_dir, TOKEN, rate_limit_per_second=0, failure_rate=1.0, seed=7
            ) as url,
            _client(url) as client,
        ):
            runs.append([client.get(PMI, params=params) for _ in range(12)])
    statuses = [r.status_code for r in runs[0]]
    assert set(statuses) == {502, 503}  # both transient kinds the contract names
    assert statuses == [r.status_code for r in runs[1]]  # same seed, same sequence
    unavailable = next(r for r in runs[0] if r.status_code == 503)
    assert unavailable.json()["error"] == "unavailable"


def test_failure_rate_is_roughly_respected() -> None:
    injector = FailureInjector(0.2, seed=1)
    failures = sum(injector.draw() is not None for _ in range(2000))
    assert 300 < failures < 500
    assert all(FailureInjector(0.0, seed=1).draw() is None for _ in range(100))
    with pytest.raises(ValueError, match="between 0.0 and 1.0"):
        FailureInjector(1.5, seed=0)


# ---------------------------------------------------------------------------------------------
# Server: binding, logging, data files
# ---------------------------------------------------------------------------------------------


def test_binds_loopback_only(sample_dir: Path) -> None:
    server = make_server(sample_dir, TOKEN)
    try:
        assert server.server_address[0] == "127.0.0.1"
        assert server.url == f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.server_close()
    with serve_in_background(sample_dir, TOKEN) as url:
        assert url.startswith("http://127.0.0.1:")


def test_one_log_line_per_request_without_record_contents(
    sample_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=kp2mi_api.__name__)
    with _client(sample_url) as client:
        client.get(PMI, params=_window("2026-01-01T00:00Z", "2026-01-02T00:00Z"))
        client.get("/nope")
    lines = [r.getMessage() for r in caplog.records if r.name == kp2mi_api.__name__]
    assert len(lines) == 2
    assert lines[0].startswith("GET /api/v1/pmi 200 ")
    assert lines[1].startswith("GET /nope 404")
    log = "\n".join(lines)
    for secret in ("UNJANI", "3306047009010001", "2026-01-01", TOKEN):
        assert secret not in log


def test_data_dir_may_be_dir_or_dir_api(sample_dir: Path, tmp_path: Path) -> None:
    assert resolve_api_dir(sample_dir) == sample_dir / "api"
    assert resolve_api_dir(sample_dir / "api") == sample_dir / "api"
    with pytest.raises(DataFileError, match="kp2mi_pmi.jsonl"):
        resolve_api_dir(tmp_path / "nowhere")


def test_unsorted_file_is_refused_naming_file_and_line(generated_dir: Path) -> None:
    path = generated_dir / "api" / "kp2mi_pmi.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    lines[3], lines[4] = lines[4], lines[3]
    path.write_text("".join(lines))
    with pytest.raises(DataFileError, match=r"kp2mi_pmi\.jsonl:5: not sorted"):
        Kp2miApi(generated_dir, TOKEN)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("not json", "not a JSON object"),
        ('{"id_pmi": "PMI1", "updated_at": "2026-01-01T00:00:00"}', "with an offset"),
        ('{"updated_at": "2026-01-01T00:00:00+07:00"}', "'id_pmi'"),
    ],
)
def test_malformed_line_is_refused_naming_file_and_line(
    generated_dir: Path, line: str, problem: str
) -> None:
    path = generated_dir / "api" / "kp2mi_pmi.jsonl"
    path.write_text('{"id_pmi": "PMI0", "updated_at": "2025-01-01T00:00:00+07:00"}\n' + line)
    with pytest.raises(DataFileError, match=r"kp2mi_pmi\.jsonl:2: ") as raised:
        Kp2miApi(generated_dir, TOKEN)
    assert problem in str(raised.value)


def test_empty_token_is_refused(sample_dir: Path) -> None:
    with pytest.raises(ValueError, match="SINERGI_KP2MI_TOKEN"):
        Kp2miApi(sample_dir, "")


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sinergi simulate")
    register_serve_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["serve-kp2mi", *argv])


def test_cli_defaults(tmp_path: Path) -> None:
    args = _parse("--data", str(tmp_path))
    assert (args.port, args.token, args.rate_limit, args.failure_rate, args.seed) == (
        8085,
        None,
        5,
        0.0,
        0,
    )
    assert args.handler is kp2mi_api._serve_command


def test_cli_refuses_to_start_without_token(
    sample_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SINERGI_KP2MI_TOKEN", raising=False)
    args = _parse("--data", str(sample_dir), "--port", "0")
    assert args.handler(args) == 2
    assert "SINERGI_KP2MI_TOKEN" in capsys.readouterr().err


def test_cli_reports_missing_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SINERGI_KP2MI_TOKEN", TOKEN)
    args = _parse("--data", str(tmp_path), "--port", "0")
    assert args.handler(args) == 2
    assert "Run the simulator first" in capsys.readouterr().err


def test_cli_serves_until_ctrl_c(
    sample_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SINERGI_KP2MI_TOKEN", TOKEN)
    seen: list[tuple[str, int]] = []

    def interrupted(self: kp2mi_api.Kp2miApiServer, poll_interval: float = 0.5) -> None:
        seen.append((self.server_address[0], self.api.rate_limiter.limit))
        raise KeyboardInterrupt

    monkeypatch.setattr(kp2mi_api.Kp2miApiServer, "serve_forever", interrupted)
    args = _parse("--data", str(sample_dir / "api"), "--port", "0", "--rate-limit", "3")
    assert args.handler(args) == 0
    assert seen == [("127.0.0.1", 3)]
    assert "http://127.0.0.1:" in capsys.readouterr().err
