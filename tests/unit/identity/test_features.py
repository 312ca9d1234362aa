"""What survives of a damaged NIK, and the name's parts (sinergi.identity.features)."""

from __future__ import annotations

import duckdb
import pytest

from sinergi.identity.features import FEATURES_SQL, SOURCE_COLUMNS


@pytest.fixture
def duck():
    connection = duckdb.connect()
    typed = ", ".join(f"{name} {kind}" for name, kind in SOURCE_COLUMNS.items())
    connection.execute(f"create table source_records ({typed})")
    yield connection
    connection.close()


def features_of(duck, nik_recorded, nik_status, name="SITI AMINAH", **values) -> dict:
    row = {name: None for name in SOURCE_COLUMNS} | {
        "source_system": "umkm_penerima", "source_record_id": "U-1",
        "nik_recorded": nik_recorded, "nik_status": nik_status, "name_normalised": name,
        "name_recorded": name, "is_deleted": False,
        "nik_normalised": nik_recorded if nik_status == "valid" else None,
    } | values  # fmt: skip
    duck.execute("delete from source_records")
    duck.execute(
        f"insert into source_records values ({', '.join('?' * len(SOURCE_COLUMNS))})",
        [row[name] for name in SOURCE_COLUMNS],
    )
    duck.execute(FEATURES_SQL)
    cursor = duck.execute("select * from records")
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchall()[0], strict=True))


def test_a_valid_nik_is_a_key_and_all_its_parts_are_compared(duck):
    f = features_of(duck, "3201014505900001", "valid")
    assert f["unique_id"] == "umkm_penerima:U-1"
    assert f["nik_valid"] == f["nik_digits"] == "3201014505900001"
    assert (f["nik_head12"], f["nik_regency"]) == ("320101450590", "3201")


@pytest.mark.parametrize(
    ("recorded", "status", "digits", "head12", "regency"),
    [
        # spreadsheet notation keeps six significant digits, the sixth maybe rounded
        ("3,20101E+15", "spreadsheet_damaged", None, None, "3201"),
        # a float round trip zeroed the tail: district and birth date survive
        ("3201014505900000", "spreadsheet_damaged", "3201014505900000", "320101450590", "3201"),
        # a dropped digit: one edit away from the real NIK
        ("320101450590001", "wrong_length", "320101450590001", None, "3201"),
        ("'3201 0145 0590 0001", "valid", "3201014505900001", "320101450590", "3201"),
        (None, "missing", None, None, None),
    ],
)
def test_a_damaged_nik_is_never_a_key_but_its_parts_are_compared(
    duck, recorded, status, digits, head12, regency
):
    f = features_of(duck, recorded, status)
    assert (f["nik_digits"], f["nik_head12"], f["nik_regency"]) == (digits, head12, regency)
    if status != "valid":
        assert f["nik_valid"] is None


def test_names_are_split_sorted_and_kept_plain_for_the_baseline(duck):
    f = features_of(duck, None, "missing", name="AMINAH SITI  RAHAYU", name_recorded="Hj. Siti")
    assert f["name_tokens"] == ["AMINAH", "SITI", "RAHAYU"]
    assert f["name_sorted"] == "AMINAH RAHAYU SITI"
    assert (f["name_first"], f["name_last"]) == ("AMINAH", "RAHAYU")
    assert f["name_plain"] == "HJ. SITI"
    mononym = features_of(duck, None, "missing", name="SUMIATI")
    assert mononym["name_last"] is None
