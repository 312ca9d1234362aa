"""Column names and values from ministry files never reach SQL unquoted.

Raw tables are made from the contract's column names (``EXPECTED_COLUMNS_BY_SOURCE``), never
from a delivery's header; a header or a JSON key that is not in the contract fails the batch
or quarantines the record with its name quoted in the message, and values travel by COPY.
Each case below plants a canary table and a header, key or value built to drop it, runs the
night, and checks the canary, the raw table's columns and the outcome.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from sinergi.ingest.schema import raw_columns
from sinergi.parse import EXPECTED_COLUMNS_BY_SOURCE
from sinergi.sources.registry import SOURCES
from tests.integration import test_bad_inputs as corpus
from tests.integration.test_bad_inputs import (
    KEMENDES,
    UMKM,
    _kemendes,
    _umkm,
    activity,
    night_batches,
    query,
    run_night,
    umkm_row,
)

pytestmark = pytest.mark.integration

deployment = corpus.deployment  # the fixture: a fresh warehouse, landing dir and home

EVIL = 'nik"; DROP TABLE canary; --'
EVIL_TOO = 'x" text); DROP TABLE canary; CREATE TABLE "y'


@pytest.fixture
def canary(deployment) -> str:
    with psycopg.connect(deployment.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.canary (alive boolean)")
        conn.execute("INSERT INTO public.canary VALUES (true)")
    return deployment.url


def assert_unharmed(url: str) -> None:
    assert query(url, "SELECT alive FROM public.canary") == [(True,)]
    for name in SOURCES:
        columns = [
            c
            for (c,) in query(
                url,
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' "
                "AND table_name = %s AND column_name NOT LIKE '\\_%%' ORDER BY ordinal_position",
                name,
            )
        ]
        assert columns == list(raw_columns(name)), name
    assert query(url, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'y'") == [
        (0,)
    ]


@pytest.mark.parametrize("header_name", [EVIL, EVIL_TOO])
def test_an_evil_header_renaming_a_column_fails_the_batch_harmlessly(
    deployment, canary, header_name
) -> None:
    header = [header_name if c == "NIK" else c for c in EXPECTED_COLUMNS_BY_SOURCE[UMKM.name]]
    rows = [{**umkm_row(1), header_name: "3273014501900001"}]
    _umkm(rows, header=header)(deployment.landing)

    night = run_night(UMKM, canary)

    (batch,) = night_batches(canary, UMKM.name)
    assert batch["verdict"] == "failed" and night.error == batch["verdict_reason"]
    assert repr(header_name) in batch["verdict_reason"] and "missing 'NIK'" in night.error
    assert_unharmed(canary)


def test_an_evil_extra_header_fails_the_batch_harmlessly(deployment, canary) -> None:
    header = [*EXPECTED_COLUMNS_BY_SOURCE[UMKM.name], EVIL_TOO]
    _umkm([{**umkm_row(1), EVIL_TOO: "1"}], header=header)(deployment.landing)
    assert run_night(UMKM, canary).error is not None
    assert [b["verdict"] for b in night_batches(canary, UMKM.name)] == ["failed"]
    assert_unharmed(canary)


def test_an_evil_json_key_quarantines_its_record_harmlessly(deployment, canary) -> None:
    record = activity(1, participants=1)
    record["peserta"][0][EVIL] = "1"
    _kemendes([json.dumps(activity(2)), json.dumps(record)])(deployment.landing)

    night = run_night(KEMENDES, canary)

    assert night.error is None and night.result["verdict"] == "warned"
    ((row, code, detail),) = query(
        canary, "SELECT source_row_number, reason_code, reason_detail FROM dq.quarantine"
    )
    assert (row, code) == (2, "unreadable_row") and repr(EVIL) in detail
    assert query(canary, "SELECT count(*) FROM raw.kemendes_kegiatan") == [(2,)]
    assert_unharmed(canary)


def test_evil_values_are_data(deployment, canary) -> None:
    values = {
        "NAMA_PENERIMA": "'); DROP TABLE canary; --",
        "NAMA_USAHA": "$$; DROP TABLE canary; $$",
        "NIK": "\\'; DROP TABLE canary; --",
        "NAMA_PROGRAM": ":name %s %(x)s {batch} ${injection}",
    }
    _umkm([umkm_row(1, **values)])(deployment.landing)
    night = run_night(UMKM, canary)
    assert night.error is None, night.error
    stored = query(
        canary, "SELECT nama_penerima, nama_usaha, nik, nama_program FROM raw.umkm_penerima"
    )
    assert stored == [tuple(values.values())]
    assert_unharmed(canary)
