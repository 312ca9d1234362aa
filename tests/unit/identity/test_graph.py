"""The stable-key rule of identity resolution (sinergi.identity.graph), case by case."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from sinergi.identity.graph import MERGE, SPLIT, KeyChange, assign_keys, connected_components

NIGHT_1, NIGHT_2 = date(2026, 1, 1), date(2026, 1, 2)


def fresh_keys(records):
    """New keys named after the cluster's first record, then numbered variants."""
    first = min(records)
    yield f"K-{first}"
    yield from (f"K-{first}-{n}" for n in range(2, 10))


def test_connected_components_joins_chains_and_keeps_singletons_apart():
    labels = connected_components(5, np.array([0, 1]), np.array([1, 2]))
    assert labels[0] == labels[1] == labels[2]
    assert len({labels[0], labels[3], labels[4]}) == 3
    assert connected_components(0, np.array([]), np.array([])).size == 0


def test_the_first_night_issues_a_key_per_cluster():
    result = assign_keys({0: ["a", "b"], 1: ["c"]}, {}, {}, fresh_keys)
    assert result.key_of_cluster == {0: "K-a", 1: "K-c"}
    assert result.issued == ["K-a", "K-c"] and result.changes == [] and result.retired == {}


def test_untouched_people_and_new_records_joining_them_keep_their_keys():
    previous = {"a": "K1", "b": "K1", "c": "K2"}
    issued = {"K1": NIGHT_1, "K2": NIGHT_1}
    result = assign_keys({7: ["a", "b", "new"], 9: ["c"]}, previous, issued, fresh_keys)
    assert result.key_of_cluster == {7: "K1", 9: "K2"}
    assert result.changes == [] and result.issued == [] and result.retired == {}


def test_a_merge_keeps_the_oldest_key_and_records_the_other():
    previous = {"a": "K-new", "b": "K-old"}
    issued = {"K-new": NIGHT_2, "K-old": NIGHT_1}
    result = assign_keys({0: ["a", "b", "bridge"]}, previous, issued, fresh_keys)
    assert result.key_of_cluster == {0: "K-old"}
    assert result.changes == [KeyChange("K-new", "K-old", MERGE, 1)]
    assert result.retired == {"K-new": "K-old"}


def test_a_merge_of_keys_of_the_same_night_keeps_the_smallest():
    previous = {"a": "K2", "b": "K1"}
    result = assign_keys({0: ["a", "b"]}, previous, {"K1": NIGHT_1, "K2": NIGHT_1}, fresh_keys)
    assert result.key_of_cluster == {0: "K1"}
    assert result.changes == [KeyChange("K2", "K1", MERGE, 1)]


def test_a_split_leaves_the_key_with_the_larger_part_and_issues_a_new_one():
    previous = {"a": "K1", "b": "K1", "c": "K1"}
    result = assign_keys({0: ["c"], 1: ["a", "b"]}, previous, {"K1": NIGHT_1}, fresh_keys)
    assert result.key_of_cluster == {1: "K1", 0: "K-c"}
    assert result.issued == ["K-c"]
    assert result.changes == [KeyChange("K1", "K-c", SPLIT, 1)]
    assert result.retired == {}


def test_a_split_in_two_equal_halves_leaves_the_key_with_the_smallest_record():
    previous = {"a": "K1", "b": "K1"}
    result = assign_keys({0: ["b"], 1: ["a"]}, previous, {"K1": NIGHT_1}, fresh_keys)
    assert result.key_of_cluster == {1: "K1", 0: "K-b"}


def test_records_moving_from_one_person_to_another_are_a_split_into_the_other():
    previous = {"a": "K1", "b": "K1", "c": "K1", "d": "K2"}
    issued = {"K1": NIGHT_1, "K2": NIGHT_1}
    result = assign_keys({0: ["a", "b"], 1: ["c", "d"]}, previous, issued, fresh_keys)
    assert result.key_of_cluster == {0: "K1", 1: "K2"}
    assert result.changes == [KeyChange("K1", "K2", SPLIT, 1)]


def test_a_new_key_is_never_one_issued_before():
    # the cluster's natural key K-a was issued before (and retired): the next candidate
    issued = {"K-a": NIGHT_1}
    result = assign_keys({0: ["a"]}, {}, issued, fresh_keys)
    assert result.key_of_cluster == {0: "K-a-2"}


def test_keys_whose_records_are_all_gone_retire_without_successor():
    previous = {"a": "K1", "gone": "K2"}
    issued = {"K1": NIGHT_1, "K2": NIGHT_1}
    result = assign_keys({0: ["a"]}, previous, issued, fresh_keys)
    assert result.retired == {"K2": None}


def test_no_unused_key_is_an_error():
    with pytest.raises(ValueError, match="no unused key"):
        assign_keys(
            {0: ["a"]},
            {},
            {f"K-a{s}": NIGHT_1 for s in ["", *(f"-{n}" for n in range(2, 10))]},
            fresh_keys,
        )
