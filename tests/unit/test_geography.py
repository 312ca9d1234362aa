"""Tests of the simulator's synthetic geography (``sinergi.simulate.geography``)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from sinergi.simulate.geography import (
    DESA,
    KABUPATEN,
    KECAMATAN,
    KELURAHAN,
    KOTA,
    MASTER_CSV_HEADER,
    PROVINSI,
    SPLITS,
    Geography,
    Region,
    build_geography,
    idm_status,
    master_csv_rows,
)

SAMPLE_MASTER = Path("/work/shared/samples/landing/bps/master_wilayah_202601.csv")

LEVEL_SHAPES = {
    PROVINSI: (2, 1),
    KABUPATEN: (4, 2),
    KOTA: (4, 2),
    KECAMATAN: (7, 3),
    DESA: (10, 4),
    KELURAHAN: (10, 4),
}
LEVEL_GROUPS = {
    PROVINSI: "province",
    KABUPATEN: "regency",
    KOTA: "regency",
    KECAMATAN: "district",
    DESA: "village",
    KELURAHAN: "village",
}
CHECK_DATES = (date(2024, 6, 1), date(2025, 1, 1), date(2026, 5, 31), date(2026, 6, 1))


@pytest.fixture(scope="module")
def geo() -> Geography:
    return build_geography(0)


def test_same_seed_same_rows(geo: Geography) -> None:
    assert build_geography(0).regions == geo.regions


def test_other_seed_changes_synthetic_names_not_real_ones(geo: Geography) -> None:
    other = build_geography(1)
    assert other.regions != geo.regions
    assert [r.name for r in other.provinces()] == [r.name for r in geo.provinces()]
    on = date(2026, 1, 1)
    assert [r.name for r in other.regencies(on)] == [r.name for r in geo.regencies(on)]


def test_counts(geo: Geography) -> None:
    on = date(2026, 1, 1)
    assert len(geo.provinces()) == 38
    assert 150 <= len(geo.regencies(on)) <= 210
    for regency in geo.regencies(on):
        districts = [r for r in geo.districts(on) if r.parent_bps_code == regency.bps_code]
        assert 2 <= len(districts) <= 5, regency.name
    per_district = Counter(v.parent_bps_code for v in geo.villages(on))
    assert min(per_district.values()) >= 4
    assert max(per_district.values()) <= 8


def test_every_province_has_regencies_and_big_senders_have_many(geo: Geography) -> None:
    by_province = Counter(r.bps_code[:2] for r in geo.regencies(date(2026, 1, 1)))
    assert {p.bps_code for p in geo.provinces()} == set(by_province)
    for big_sender in ("35", "33", "32", "52", "53", "18", "12", "36"):
        assert by_province[big_sender] >= 8, big_sender


def test_code_shapes_per_level(geo: Geography) -> None:
    for region in geo.regions:
        bps_length, kemendagri_parts = LEVEL_SHAPES[region.level]
        assert len(region.bps_code) == bps_length and region.bps_code.isdigit(), region
        parts = region.kemendagri_code.split(".")
        assert len(parts) == kemendagri_parts, region
        assert all(part.isdigit() for part in parts), region
        assert [len(p) for p in parts] == [2, 2, 2, 4][:kemendagri_parts], region
        # Province digits are shared by both systems.
        assert parts[0] == region.bps_code[:2]
        if region.level == DESA:
            assert parts[3].startswith("2")
        if region.level == KELURAHAN:
            assert parts[3].startswith("1")
        if region.level == KOTA:
            assert int(parts[1]) >= 71 and region.name.startswith("KOTA ")
        if region.level == KABUPATEN:
            assert int(parts[1]) < 71 and region.name.startswith("KABUPATEN ")
        if region.level == KECAMATAN:
            assert region.bps_code.endswith("0")
        assert region.name == region.name.upper()


def test_parent_links(geo: Geography) -> None:
    expected_parent_level = {
        KABUPATEN: (PROVINSI,),
        KOTA: (PROVINSI,),
        KECAMATAN: (KABUPATEN, KOTA),
        DESA: (KECAMATAN,),
        KELURAHAN: (KECAMATAN,),
    }
    for region in geo.regions:
        parent = geo.parent(region)
        if region.level == PROVINSI:
            assert parent is None
            continue
        assert parent is not None
        assert parent.level in expected_parent_level[region.level]
        assert region.bps_code.startswith(parent.bps_code)
        assert region.kemendagri_code.startswith(parent.kemendagri_code + ".")
        # Some version of the parent code exists throughout the child's validity (a district
        # untouched by a split spans both versions of its regency, as in the sample), and
        # parent() returns the version matching the child's end.
        geo.get(region.parent_bps_code, region.valid_from)
        if region.valid_to is None:
            assert parent.valid_to is None
        else:
            assert parent.valid_on(region.valid_to)


def test_codes_unique_per_level_among_valid_rows(geo: Geography) -> None:
    for on in CHECK_DATES:
        seen: dict[str, set[str]] = {}
        seen_kemendagri: dict[str, set[str]] = {}
        for region in geo.regions:
            if not region.valid_on(on):
                continue
            group = LEVEL_GROUPS[region.level]
            assert region.bps_code not in seen.setdefault(group, set()), (on, region)
            assert region.kemendagri_code not in seen_kemendagri.setdefault(group, set()), (
                on,
                region,
            )
            seen[group].add(region.bps_code)
            seen_kemendagri[group].add(region.kemendagri_code)


def test_district_and_village_numbering_is_independent(geo: Geography) -> None:
    districts = geo.districts(date(2026, 1, 1))
    same = sum(1 for d in districts if int(d.bps_code[4:7]) // 10 == int(d.kemendagri_code[6:8]))
    assert same < len(districts) * 0.4
    villages = geo.villages(date(2026, 1, 1))
    same_village = sum(1 for v in villages if int(v.bps_code[7:]) == int(v.kemendagri_code[-3:]))
    assert same_village < len(villages) * 0.5


def test_regency_codes_differ_between_systems(geo: Geography) -> None:
    mismatched = [
        r
        for r in geo.regencies(date(2026, 1, 1))
        if r.bps_code != r.kemendagri_code.replace(".", "")
    ]
    assert len(mismatched) >= 5
    simeulue = geo.get("1101", date(2026, 1, 1))
    assert (simeulue.name, simeulue.kemendagri_code) == ("KABUPATEN SIMEULUE", "11.09")


def test_same_name_regency_city_pairs(geo: Geography) -> None:
    bare: dict[str, set[str]] = {}
    for regency in geo.regencies(date(2026, 1, 1)):
        name = regency.name.removeprefix("KABUPATEN ").removeprefix("KOTA ")
        bare.setdefault(name, set()).add(regency.level)
    pairs = {name for name, levels in bare.items() if levels == {KABUPATEN, KOTA}}
    for name in ("CIREBON", "BOGOR", "MALANG", "KEDIRI", "SERANG", "TANGERANG", "BIMA", "KUPANG"):
        assert name in pairs
    assert len(pairs) >= 15


@pytest.mark.parametrize("split", SPLITS, ids=lambda s: s.new_name)
def test_split(geo: Geography, split) -> None:
    before = split.effective - timedelta(days=1)
    after = split.effective

    old = geo.get(split.regency_bps_code, before)
    assert old.valid_to == before
    assert old.successor_bps_codes == (split.regency_bps_code, split.new_bps_code)
    continuing = geo.get(split.regency_bps_code, after)
    assert continuing.valid_from == after and continuing.valid_to is None
    new = geo.get(split.new_bps_code, after)
    assert (new.kemendagri_code, new.name, new.valid_from) == (
        split.new_kemendagri_code,
        split.new_name,
        after,
    )
    with pytest.raises(KeyError):
        geo.get(split.new_bps_code, before)

    closed = [r for r in geo.regions if r.valid_to == before and r.level != KABUPATEN]
    closed_districts = [r for r in closed if r.level == KECAMATAN]
    assert len(closed_districts) == len(split.moved_districts)
    closed_villages = [r for r in closed if r.level in (DESA, KELURAHAN)]
    assert closed_villages
    for row in closed:
        assert len(row.successor_bps_codes) == 1
        successor = geo.get(row.successor_bps_codes[0], after)
        assert successor.valid_from == after
        assert successor.name == row.name and successor.level == row.level
        assert geo.regency_of(successor) == new
        assert geo.regency_of(row) == old
        # Kemendagri recodes the district but keeps the village's own number.
        assert successor.kemendagri_code.startswith(split.new_kemendagri_code + ".")
        if row.level != KECAMATAN:
            assert successor.kemendagri_code[-4:] == row.kemendagri_code[-4:]
    # Districts that stayed behind are untouched and now belong to the continuing regency.
    stayed = [d for d in geo.districts(after) if d.parent_bps_code == split.regency_bps_code]
    assert stayed and all(d.valid_to is None for d in stayed)
    assert all(geo.regency_of(d) == continuing for d in stayed)


def test_registration_district_code_predates_split(geo: Geography) -> None:
    split = SPLITS[0]
    village = next(
        v for v in geo.villages(date(2026, 1, 1)) if v.bps_code.startswith(split.new_bps_code)
    )
    old_village = next(
        r for r in geo.regions if village.bps_code in r.successor_bps_codes and r.valid_to
    )
    old_code = old_village.kemendagri_code[:8].replace(".", "")
    new_code = village.kemendagri_code[:8].replace(".", "")
    assert old_code != new_code
    assert geo.registration_district_code(village, date(1995, 3, 2)) == old_code
    assert geo.registration_district_code(village, date(2024, 12, 31)) == old_code
    assert geo.registration_district_code(village, date(2025, 1, 1)) == new_code
    assert geo.registration_district_code(village, date(2026, 2, 1)) == new_code
    # A village never moved always answers its own district.
    untouched = geo.get("3273010", date(2026, 1, 1))
    one = next(v for v in geo.villages(date(2026, 1, 1)) if v.parent_bps_code == "3273010")
    expected = untouched.kemendagri_code.replace(".", "")
    assert geo.registration_district_code(one, date(1990, 1, 1)) == expected


def test_master_rows_change_with_second_split(geo: Geography) -> None:
    december = geo.master_rows(date(2025, 12, 1))
    july = geo.master_rows(date(2026, 7, 1))
    second = SPLITS[1]
    assert not any(r.bps_code.startswith(second.new_bps_code) for r in december)
    assert any(r.bps_code == second.new_bps_code for r in july)
    assert len(july) > len(december)
    # December still shows the first split's closed rows (closed rows stay in the master).
    assert any(r.valid_to == date(2024, 12, 31) for r in december)
    # Before the second split takes effect its regency is shown open.
    cilacap = [r for r in december if r.bps_code == second.regency_bps_code]
    assert len(cilacap) == 1 and cilacap[0].valid_to is None
    cilacap = [r for r in july if r.bps_code == second.regency_bps_code]
    assert [r.valid_to for r in cilacap] == [date(2026, 5, 31), None]
    # Master order is hierarchical: every row comes after its parent's rows.
    position = {r.bps_code: i for i, r in enumerate(july)}
    assert all(position[r.parent_bps_code] < i for i, r in enumerate(july) if r.parent_bps_code)


def test_master_csv_rows_match_sample_format(geo: Geography) -> None:
    rows = geo.master_rows(date(2026, 1, 1))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(MASTER_CSV_HEADER)
    writer.writerows(master_csv_rows(rows))
    lines = text.getvalue().splitlines()
    if SAMPLE_MASTER.exists():
        assert lines[0] == SAMPLE_MASTER.read_text(encoding="utf-8").splitlines()[0]
    assert "32,32,JAWA BARAT,PROVINSI,,1999-01-01,," in lines
    assert "3201,32.01,KABUPATEN BOGOR,KABUPATEN,32,1999-01-01,2024-12-31,3201|3219" in lines
    closed_district = next(r for r in rows if r.level == KECAMATAN and r.valid_to)
    fields = master_csv_rows([closed_district])[0]
    assert fields[6:] == ["2024-12-31", closed_district.successor_bps_codes[0]]


def test_navigation(geo: Geography) -> None:
    on = date(2026, 1, 1)
    village = geo.villages(on)[100]
    district = geo.parent(village)
    assert district is not None and district.level == KECAMATAN
    regency = geo.regency_of(village)
    assert regency.bps_code == village.bps_code[:4]
    assert geo.regency_of(district) == regency
    assert geo.province_of(village).bps_code == village.bps_code[:2]
    assert geo.get(village.bps_code, on) == village
    with pytest.raises(KeyError):
        geo.get("0000", on)


def test_population(geo: Geography) -> None:
    for year in (2024, 2025, 2026):
        rows = geo.population(year)
        codes = [r[0] for r in rows]
        assert codes == sorted(set(codes))
        for code, row_year, total, working in rows:
            assert len(code) == 4 and row_year == year
            assert 50_000 <= total <= 5_000_000
            assert 0.65 <= working / total <= 0.75
    assert "3219" not in [r[0] for r in geo.population(2024)]
    assert "3219" in [r[0] for r in geo.population(2025)]
    assert "3330" in [r[0] for r in geo.population(2026)]
    assert geo.population(2026) == build_geography(0).population(2026)
    # A split shares the population out: the parts add up to about the whole.
    whole = dict((r[0], r[2]) for r in geo.population(2025))["3301"]
    parts = {r[0]: r[2] for r in geo.population(2026)}
    assert 0.98 < (parts["3301"] + parts["3330"]) / whole < 1.04


def test_idm(geo: Geography) -> None:
    rows = geo.idm(2025)
    desa_codes = {
        v.kemendagri_code.replace(".", "")
        for v in geo.villages(date(2025, 7, 1))
        if v.level == DESA
    }
    assert {r[0] for r in rows} == desa_codes
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    for code, name, score, status, year in rows:
        assert len(code) == 10 and code.isdigit() and code[6] == "2"
        assert name == name.upper() and year == 2025
        assert 0.0 < score < 1.0 and round(score, 4) == score
        assert status == idm_status(score)
    assert len({r[3] for r in rows}) == 5
    # The second split's new village codes appear in the year it happened.
    assert any(r[0].startswith("3330") for r in geo.idm(2026))


def test_idm_status_bands() -> None:
    assert idm_status(0.8155) == "MANDIRI"
    assert idm_status(0.8154) == "MAJU"
    assert idm_status(0.7072) == "BERKEMBANG"
    assert idm_status(0.5989) == "TERTINGGAL"
    assert idm_status(0.4907) == "SANGAT TERTINGGAL"


def test_name_variants(geo: Geography) -> None:
    provinces = {p.bps_code: p for p in geo.provinces()}
    assert geo.province_name_variants(provinces["33"]) == [
        "Jawa Tengah",
        "JAWA TENGAH",
        "Provinsi Jawa Tengah",
        "Prov. Jawa Tengah",
    ]
    assert geo.province_name_variants(provinces["31"])[0] == "DKI Jakarta"
    on = date(2026, 1, 1)
    assert geo.regency_name_variants(geo.get("3209", on)) == [
        "Kab. Cirebon",
        "KABUPATEN CIREBON",
        "Kabupaten Cirebon",
        "Cirebon",
    ]
    assert geo.regency_name_variants(geo.get("3274", on)) == [
        "Kota Cirebon",
        "KOTA CIREBON",
        "Cirebon",
    ]
    jakarta = geo.regency_name_variants(geo.get("3171", on))
    assert "Jakarta Selatan" in jakarta and "KOTA ADMINISTRASI JAKARTA SELATAN" in jakarta


def test_region_is_frozen() -> None:
    region = Region("11", "11", "ACEH", PROVINSI, None, date(1999, 1, 1))
    with pytest.raises(AttributeError):
        region.name = "X"  # type: ignore[misc]
