"""Identity resolution night by night on a real PostgreSQL, with hand-made records.

The records stand in for dbt's ``intermediate.int_source_records__unioned`` (the step's only
input), so each night is a few seconds and every case is exact:

* night 1: four people, each alone; keys issued, nothing in the history;
* night 2: a new Parekraf record carries A's valid NIK and B's name and birth date: it bridges
  A and B into one person. The surviving key follows the documented rule (oldest, then
  smallest), the other is recorded as merged into it; D and E, untouched, keep their keys and
  their rows are not even rewritten; a rerun of the night changes nothing;
* night 3: a case officer's decisions are honoured: B and C "different" (B splits off with a
  new key, recorded), D and E "same" (merged, recorded);
* a full re-link gives the same people as the incremental nights.
"""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from sinergi.identity.resolve import resolve_identities

pytestmark = pytest.mark.integration

PII_KEY = "identity-test-key-0123456789"
NIGHT_1, NIGHT_2, NIGHT_3 = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)
NIK_A, NIK_D = "3201014505900001", "3302022012850002"

COLUMNS = (
    "source_system", "source_record_id", "nik_recorded", "nik_normalised", "nik_status",
    "name_recorded", "name_normalised", "gender", "birth_date", "birth_year",
    "home_regency_code", "home_province_code", "is_deleted",
)  # fmt: skip


def record(source, record_id, nik, name, gender, born, regency):
    return (
        source, record_id, nik, nik, "valid" if nik else "missing", name, name, gender,
        born, int(born[:4]) if born else None, regency, regency[:2], False,
    )  # fmt: skip


A = record("kp2mi_pmi", "PMI0000000001", NIK_A, "SITI AMINAH", "F", "1990-05-05", "3201")
B = record("umkm_penerima", "UMKM-1", None, "AMINAH RAHAYU", "F", "1990-05-05", "3201")
D = record("kemenkop_anggota", "K1#1", NIK_D, "BUDI SANTOSO", "M", "1985-12-20", "3302")
E = record("parekraf_pelatihan", "PRK-9", None, "JOKO PRASETYO", "M", "1970-01-01", "3372")
# the bridge: A's NIK (so a deterministic link; the names share AMINAH), B's name and birth
C = record("parekraf_pelatihan", "PRK-1", NIK_A, "AMINAH RAHAYU", "F", "1990-05-05", "3201")


def uid(row) -> str:
    return f"{row[0]}:{row[1]}"


@pytest.fixture
def warehouse(fresh_database):
    with psycopg.connect(fresh_database) as conn:
        conn.execute("CREATE SCHEMA intermediate")
        conn.execute(
            "CREATE TABLE intermediate.int_source_records__unioned (source_system text,"
            " source_record_id text, nik_recorded text, nik_normalised text, nik_status text,"
            " name_recorded text, name_normalised text, gender text, birth_date date,"
            " birth_year integer, home_regency_code text, home_province_code text,"
            " is_deleted boolean)"
        )
    return fresh_database


def deliver(url: str, *rows) -> None:
    with (
        psycopg.connect(url) as conn,
        conn.cursor().copy(
            f"COPY intermediate.int_source_records__unioned ({', '.join(COLUMNS)}) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def night(url: str, day: date, **options):
    return resolve_identities(url, day, pii_key=PII_KEY, **options)


def keys(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT unique_id, worker_key FROM identity.record"))


def table(url: str, statement: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(statement).fetchall()


def decide(url: str, first, second, decision: str) -> None:
    left, right = sorted((uid(first), uid(second)))
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO identity.match_review (unique_id_l, unique_id_r, source_system_l,"
            " source_record_id_l, source_system_r, source_record_id_r, match_probability,"
            " queued_night, decision, decided_by, decided_at) VALUES"
            " (%s, %s, %s, %s, %s, %s, 0.7, %s, %s, 'officer-1', now())"
            " ON CONFLICT (unique_id_l, unique_id_r) DO UPDATE SET decision = excluded.decision",
            (left, right, *left.split(":", 1), *right.split(":", 1), NIGHT_2, decision),
        )


def people(key_of: dict[str, str]) -> set[frozenset]:
    groups: dict[str, set] = {}
    for record_id, key in key_of.items():
        groups.setdefault(key, set()).add(record_id)
    return {frozenset(group) for group in groups.values()}


def test_keys_across_nights_merges_splits_reviews_and_a_full_relink(warehouse):
    url = warehouse

    # night 1: four people
    deliver(url, A, B, D, E)
    first = night(url, NIGHT_1)
    assert first.mode == "full" and first.records == 4
    night_1 = keys(url)
    assert len(set(night_1.values())) == 4, "A and B are not linked without the bridge"
    assert night_1[uid(A)] == first_key_of_nik(NIK_A)
    assert table(url, "SELECT * FROM identity.worker_key_history") == []

    # night 2: C bridges A and B
    deliver(url, C)
    second = night(url, NIGHT_2)
    assert second.mode == "incremental"
    assert second.records_changed == 1, "only the new record is linked again"
    night_2 = keys(url)
    survivor = min(night_1[uid(A)], night_1[uid(B)])  # both from night 1: the smallest
    merged = max(night_1[uid(A)], night_1[uid(B)])
    assert night_2[uid(A)] == night_2[uid(B)] == night_2[uid(C)] == survivor
    assert table(
        url, "SELECT old_worker_key, new_worker_key, night, reason, records_moved"
        " FROM identity.worker_key_history",
    ) == [(merged, survivor, NIGHT_2, "merge", 1)]  # fmt: skip
    assert table(
        url, f"SELECT retired_night, successor_key FROM identity.worker_key"
        f" WHERE worker_key = '{merged}'",
    ) == [(NIGHT_2, survivor)]  # fmt: skip
    # untouched people keep their keys, and their rows were not rewritten
    for untouched in (D, E):
        assert night_2[uid(untouched)] == night_1[uid(untouched)]
    assert table(
        url, "SELECT unique_id FROM identity.record WHERE changed_night = '2026-01-01'"
        " ORDER BY unique_id",
    ) == sorted([(uid(D),), (uid(E),)])  # fmt: skip
    methods = dict(table(url, "SELECT unique_id, match_method FROM identity.record"))
    assert methods[uid(A)] == methods[uid(C)] == "nik_exact"
    assert methods[uid(B)] == "probabilistic" and methods[uid(D)] == "single_record"

    # a rerun of night 2 changes nothing
    again = night(url, NIGHT_2)
    assert (again.records_changed, again.key_changes, again.keys_issued) == (0, 0, 0)
    assert keys(url) == night_2

    # night 3: a case officer says B and C are different people, D and E the same one
    decide(url, B, C, "different")
    decide(url, D, E, "same")
    third = night(url, NIGHT_3)
    night_3 = keys(url)
    assert night_3[uid(A)] == night_3[uid(C)] == survivor, "the larger part keeps the key"
    split_key = night_3[uid(B)]
    assert split_key not in night_1.values(), "a new key, never one issued before"
    assert night_3[uid(D)] == night_3[uid(E)] == min(night_1[uid(D)], night_1[uid(E)])
    history = table(
        url, "SELECT old_worker_key, new_worker_key, reason FROM identity.worker_key_history"
        " WHERE night = '2026-01-03' ORDER BY reason",
    )  # fmt: skip
    assert history == [
        (max(night_1[uid(D)], night_1[uid(E)]), night_3[uid(D)], "merge"),
        (survivor, split_key, "split"),
    ]
    assert third.key_changes == 2

    # a full re-link gives the same people and changes no key
    before = table(url, "SELECT * FROM identity.record ORDER BY unique_id")
    full = night(url, NIGHT_3, full=True)
    assert full.mode == "full" and full.key_changes == 0
    assert people(keys(url)) == people(night_3)
    assert table(url, "SELECT * FROM identity.record ORDER BY unique_id") == before

    # the linkage measures are there for every night and source
    assert len(table(url, "SELECT * FROM dq.linkage_metric")) == 4 * 3, "4 sources, 3 nights"


def first_key_of_nik(nik: str) -> str:
    from sinergi.identity.resolve import worker_key_from_nik

    return worker_key_from_nik(nik, PII_KEY)
