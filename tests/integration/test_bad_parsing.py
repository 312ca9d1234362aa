"""Unit tests (no database) for the fixes the bad-input corpus led to.

* A bare CR inside an unquoted CSV field used to fail the whole delivery ("new-line character
  seen in unquoted field"); now that row alone is quarantined and reading goes on.
* An unbalanced quote reported the line where reading stopped (the end of the file), not the
  line of the record it opened in.
* A parser's message about the archived copy used to name the archive's ``<sha256>/``
  directory; the night's message now names the delivery as it sits in the landing area.

The third fix (KemenP2MI nights whose extract failed are caught up by the next night) needs a
database: ``test_crash_and_restart.py::test_api_down_all_night_is_caught_up_the_next_night``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sinergi.parse import EXPECTED_COLUMNS_BY_SOURCE, PARSERS, DeliveryError

HEADER = ";".join(EXPECTED_COLUMNS_BY_SOURCE["umkm_penerima"])
GOOD = ";".join(["UMKM-000000001", *["x"] * 15])


def _umkm(tmp_path: Path, lines: list[str]) -> Path:
    data = ("\ufeff" + "".join(line + "\r\n" for line in lines)).encode()
    path = tmp_path / "umkm" / "umkm_penerima_20260105.csv"
    path.parent.mkdir()
    path.write_bytes(data)
    ok = f"rows={len(lines) - 1}\nsha256={hashlib.sha256(data).hexdigest()}\n"
    path.with_name(path.name + ".ok").write_text(ok)
    return path


def test_bare_cr_in_an_unquoted_field_quarantines_that_row_only(tmp_path: Path) -> None:
    broken = GOOD.replace("x", "WARUNG\rSITI", 1)
    path = _umkm(tmp_path, [HEADER, GOOD, broken, GOOD.replace("0001", "0003")])
    rows = list(PARSERS["umkm_penerima"](path))
    assert [(r.source_row_number, r.problem is None) for r in rows] == [
        (2, True),
        (3, False),
        (4, True),
    ]
    assert "line 3 has a line break (CR) inside an unquoted field" in rows[1].problem
    assert rows[1].values == {"raw_line": broken}, "the row's text is kept for the steward"
    assert rows[2].values["ID_PENERIMA"] == "UMKM-000000003"


def test_bare_cr_in_the_header_fails_the_delivery(tmp_path: Path) -> None:
    path = _umkm(tmp_path, [HEADER.replace("NIK", "N\rIK"), GOOD])
    with pytest.raises(DeliveryError, match="header: line 1 has a line break"):
        list(PARSERS["umkm_penerima"](path))


def test_a_quoted_cr_is_still_a_value(tmp_path: Path) -> None:
    path = _umkm(tmp_path, [HEADER, GOOD.replace("x", '"WARUNG\rSITI"', 1)])
    (row,) = PARSERS["umkm_penerima"](path)
    assert row.problem is None and row.values["NIK"] == "WARUNG\rSITI"


def test_delivery_message_names_the_landing_location_not_the_archive() -> None:
    from sinergi.ingest.nightly import _delivery_message

    archived = Path("/x/archive/kemenkop_anggota/2026-01-05") / ("a" * 64) / "anggota.csv.gz"
    error = DeliveryError("kemenkop_anggota", archived, "header does not match")
    message = _delivery_message(error, "kemenkop/anggota_koperasi_20260105.csv.gz")
    assert message == (
        "kemenkop_anggota: kemenkop/anggota_koperasi_20260105.csv.gz: header does not match"
    )
    assert "a" * 64 not in message


def test_unbalanced_quote_names_the_line_the_record_starts_at(tmp_path: Path) -> None:
    lines = [HEADER, GOOD, GOOD.replace("x", '"WARUNG', 1), GOOD, GOOD]
    path = _umkm(tmp_path, lines)
    with pytest.raises(DeliveryError) as caught:
        list(PARSERS["umkm_penerima"](path))
    message = str(caught.value)
    assert "malformed CSV at line 5 (unexpected end of data)" in message
    assert "in the record that starts at line 3: look for an unbalanced quote there" in message
