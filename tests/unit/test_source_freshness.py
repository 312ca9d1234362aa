"""Reading dbt's freshness results, and which builds the clock-based check applies to."""

from __future__ import annotations

import json
from datetime import date

from sinergi.source_freshness import applies_to, read_results

DAILY = {"warn_after": {"count": 30, "period": "hour"},
         "error_after": {"count": 54, "period": "hour"}, "filter": None}  # fmt: skip
MONTHLY = {"warn_after": {"count": 33, "period": "day"},
           "error_after": {"count": 40, "period": "day"}, "filter": None}  # fmt: skip


def _result(table, status, hours, criteria=DAILY, source="raw", **more):
    return {
        "unique_id": f"source.sinergi.{source}.{table}",
        "status": status,
        "max_loaded_at": "2026-01-05T19:00:00+00:00",
        "max_loaded_at_time_ago_in_s": None if hours is None else hours * 3600,
        "criteria": criteria,
        **more,
    }


def test_each_raw_source_with_its_age_and_the_limit_it_crossed(tmp_path):
    sources_json = tmp_path / "sources.json"
    results = [
        _result("kp2mi_pmi", "pass", 2),
        _result("umkm_penerima", "warn", 40),
        _result("kemenkop_anggota", "error", 60),
        _result("bps_wilayah", "warn", 34 * 24, MONTHLY),
        # an empty table: dbt says year 1 and a huge age
        _result("kemendes_kegiatan", "error", 17_758_966, max_loaded_at="0001-01-01T00:00:00"),
        _result(
            "parekraf_pelatihan",
            "runtime error",
            None,
            criteria={},
            error='relation "raw.parekraf_pelatihan" does not exist',
        ),  # fmt: skip
        _result("batch", "error", 99, source="dq"),  # not a raw table: not ours to judge here
    ]
    sources_json.write_text(json.dumps({"results": results}))

    report = read_results(sources_json)

    lines = {s.source: s.describe() for s in report.sources}
    assert lines == {
        "bps_wilayah": "bps_wilayah: warn, last loaded 816.0 h ago (limit 792 h)",
        "kemendes_kegiatan": "kemendes_kegiatan: error, never loaded (limit 54 h)",
        "kemenkop_anggota": "kemenkop_anggota: error, last loaded 60.0 h ago (limit 54 h)",
        "kp2mi_pmi": "kp2mi_pmi: pass, last loaded 2.0 h ago",
        "parekraf_pelatihan": "parekraf_pelatihan: freshness could not be measured: "
        'relation "raw.parekraf_pelatihan" does not exist',
        "umkm_penerima": "umkm_penerima: warn, last loaded 40.0 h ago (limit 30 h)",
    }
    assert [s.source for s in report.failing] == [
        "kemendes_kegiatan", "kemenkop_anggota", "parekraf_pelatihan",
    ]  # fmt: skip
    assert [s.source for s in report.warning] == ["bps_wilayah", "umkm_penerima"]
    assert report.as_dict()["kp2mi_pmi"] == {"status": "pass", "hours_since_load": 2.0}


def test_applies_to_last_nights_build_only():
    today = date(2026, 1, 6)
    assert applies_to(date(2026, 1, 5), today)  # 02:00 WIB build of yesterday
    assert applies_to(date(2026, 1, 6), today)  # a build of today started before midnight
    assert not applies_to(date(2026, 1, 4), today)  # a re-run or backfill of an earlier day
