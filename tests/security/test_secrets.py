"""Secrets come only from the environment or Airflow connections, never from the repository.

Every file of the repository outside ``tests/`` (tests use throwaway keys on throwaway
databases) is scanned for what a secret looks like: a private key block, a cloud access key,
a URL with a password in it, a string literal given to a name that says password, secret,
token or key, a long random-looking literal. The only literals allowed are values that say in
their own text that they are not secrets (the demo key of ``SINERGI_DEMO=1``, the simulated
API's tokens on 127.0.0.1), and those must only be used where the documented switch says so.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Literals that announce themselves as not secret: the demo key (simulated people), tokens of
# the simulated API on 127.0.0.1 (demo, replay, bench, test), and the placeholders of
# .env.example (``change-me``), which the deployment replaces.
NOT_SECRET_MARKERS = (
    "demo",
    "not-secret",
    "replay",
    "bench",
    "test",
    "simulat",
    "example",
    "placeholder",
    "change-me",
)

PATTERNS = {
    "private key block": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub or Slack token": re.compile(r"\b(ghp_[A-Za-z0-9]{30,}|xox[abp]-[A-Za-z0-9-]{10,})"),
    # scheme://user:password@host with a literal password (not ${VAR}, <...>, {...}, %s)
    "password in a URL": re.compile(
        r"[a-z][a-z0-9+.-]*://[^\s:/@'\"]*:(?!\$\{|<|\{|%|\*|password@|pass@|\$)"
        r"[^\s:/@'\"]{3,}@[\w.-]+"
    ),
    # NAME = "literal" / NAME: literal where NAME says it holds a secret
    "secret assigned a literal": re.compile(
        r"(?i)\b[\w]*(password|passwd|secret|token|api_key|apikey|pii_key|private_key|"
        r"fernet_key|access_key)\b['\"]?\s*[:=]\s*[rbf]?['\"]([^'\"\s]{6,})['\"]"
    ),
}

# A literal assigned to a secret-looking name is fine when it names where the secret comes
# from (an environment variable, a file name, a config key), not the secret itself.
NAME_NOT_VALUE = re.compile(
    r"^([A-Z][A-Z0-9_]+|[\w.-]+\.(json|txt|yml|yaml|env|pem)|[a-z]+(_[a-z]+)+|"
    r"sinergi\.pii_key)$"
)


def repository_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    files = []
    for name in listed:
        path = PROJECT_ROOT / name
        if name.startswith(("tests/", "uv.lock")) or not path.is_file():
            continue
        if path.suffix in (".png", ".gz", ".xlsx", ".ico", ".woff", ".woff2", ".pdf"):
            continue
        files.append(path)
    return files


def findings(text: str) -> list[tuple[str, str]]:
    found = []
    for kind, pattern in PATTERNS.items():
        for match in pattern.finditer(text):
            literal = match.group(2) if kind.startswith("secret") else match.group(0)
            if kind.startswith("secret") and NAME_NOT_VALUE.match(literal):
                continue
            if any(marker in literal.lower() for marker in NOT_SECRET_MARKERS):
                continue
            found.append((kind, match.group(0)[:80]))
    return found


def test_the_scan_finds_what_it_looks_for() -> None:
    """The patterns are not vacuous: each catches a planted secret, and passes the look-alikes
    the repository legitimately holds."""
    planted = {
        "-----BEGIN RSA PRIVATE KEY-----": "private key block",
        "aws = 'AKIAABCDEFGHIJKLMNOP'": "AWS access key id",
        "url = 'postgresql://sinergi:s3cr3tpw@db.internal:5432/warehouse'": "password in a URL",
        'SINERGI_PII_KEY = "d41d8cd98f00b204e980"': "secret assigned a literal",
        'password: "hunter2hunter2"': "secret assigned a literal",
        "token='9f8e7d6c5b4a'": "secret assigned a literal",
    }
    for text, kind in planted.items():
        assert kind in [k for k, _ in findings(text)], text
    harmless = [
        'PII_KEY_ENV = "SINERGI_PII_KEY"',
        'DEMO_PII_KEY = "sinergi-demo-only-key-not-secret"',
        "postgresql://user:password@host:5432/airflow",
        "postgresql+psycopg2://airflow:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}@postgres:5432",
        'PASSWORDS_FILE = "simple_auth_manager_passwords.json"',
        "password: \"{{ env_var('SINERGI_DBT_PASSWORD', '') }}\"",
    ]
    for text in harmless:
        assert findings(text) == [], text


def test_no_secret_literal_in_the_repository() -> None:
    files = repository_files()
    assert len(files) > 100, "the scan sees the repository"
    leaks = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        leaks += [(str(path.relative_to(PROJECT_ROOT)), *found) for found in findings(text)]
    assert leaks == [], leaks


def test_compose_takes_every_secret_from_the_environment() -> None:
    text = (PROJECT_ROOT / "docker-compose.yml").read_text()
    names = ("PASSWORD", "SECRET", "FERNET_KEY", "PII_KEY", "AIRFLOW_CONN_")
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if not sep or line.strip().startswith("#") or not any(n in key for n in names):
            continue
        if key.endswith("_FILE"):
            continue
        assert "${" in value, f"docker-compose.yml sets {key.strip()} to a literal"


def test_dbt_profile_reads_credentials_from_the_environment_only() -> None:
    profile = (PROJECT_ROOT / "dbt_project" / "profiles.yml").read_text()
    for field in ("host", "user", "password", "dbname", "port"):
        (line,) = [x for x in profile.splitlines() if x.strip().startswith(f"{field}:")]
        assert "env_var(" in line, line


def test_the_pii_key_comes_from_the_environment_or_the_demo_switch(monkeypatch) -> None:
    from sinergi import dbt_runner

    monkeypatch.delenv("SINERGI_PII_KEY", raising=False)
    monkeypatch.delenv("SINERGI_DEMO", raising=False)
    with pytest.raises(dbt_runner.PiiKeyMissingError, match="SINERGI_PII_KEY"):
        dbt_runner.pii_key()
    monkeypatch.setenv("SINERGI_DEMO", "1")
    assert dbt_runner.pii_key() == dbt_runner.DEMO_PII_KEY
    monkeypatch.delenv("SINERGI_DEMO")
    monkeypatch.setenv("SINERGI_PII_KEY", "k" * 32)
    assert dbt_runner.pii_key() == "k" * 32
