"""Linkage monitoring's sudden-change check, the evaluation's targets, the key derivations."""

from __future__ import annotations

from sinergi.identity import monitor, report
from sinergi.identity.resolve import worker_key_from_nik, worker_key_from_record

STEADY = {name: 0.5 for name in monitor.SHARES} | {"review_queue_size": 10}


def test_steady_linkage_is_ok_and_the_first_night_has_nothing_to_compare():
    assert monitor.check(STEADY, STEADY) == []
    assert monitor.check(STEADY, None) == []


def test_a_jump_in_a_share_or_the_review_queue_warns():
    jumped = STEADY | {"no_valid_nik_share": 0.7, "review_queue_size": 60}
    problems = monitor.check(jumped, STEADY)
    assert problems == ["no_valid_nik_share 0.500 -> 0.700", "review_queue_size 10 -> 60"]
    # a small queue doubling by a few pairs is noise
    assert monitor.check(STEADY | {"review_queue_size": 25}, STEADY) == []


def result(f1, nik_f1=0.9, default_f1=0.95, overlap=1.0, damage=1):
    measures = {"pairwise_precision": f1, "pairwise_recall": f1, "pairwise_f1": f1,
                "cluster_exact_share": f1, "predicted_people_per_true_person": 1.0}  # fmt: skip
    return {
        "world": "w", "records": 10, "damage_scale": damage,
        "sinergi": measures | {"overlap_precision": overlap, "overlap_recall": overlap},
        "nik_exact": measures | {"pairwise_f1": nik_f1},
        "splink_default": measures | {"pairwise_f1": default_f1},
    }  # fmt: skip


def test_targets_at_default_damage():
    assert report.failed_targets([result(0.995)]) == []
    assert report.failed_targets([result(0.98)]) == ["w: F1 0.98 < 0.99"]
    assert report.failed_targets([result(0.995, default_f1=0.996)]) == [
        "w: F1 not above splink_default"
    ]
    assert report.failed_targets([result(0.995, overlap=0.9)]) == [
        "w: overlap_precision 0.9 < 0.99",
        "w: overlap_recall 0.9 < 0.99",
    ]
    assert report.failed_targets([result(0.5, damage=2)]) == [], "double damage is reported"
    assert "| w | 10 | sinergi |" in report.table([result(0.995)])


def test_keys_do_not_reveal_the_nik_and_depend_on_the_secret():
    nik = "3201014505900001"
    key = worker_key_from_nik(nik, "secret-one-0123456789")
    assert key.startswith("W") and len(key) == 21 and nik not in key
    assert key != worker_key_from_nik(nik, "secret-two-0123456789")
    assert worker_key_from_record("umkm_penerima:U-1").startswith("S")
    assert worker_key_from_record("umkm_penerima:U-1") != worker_key_from_record(
        "umkm_penerima:U-2"
    )


def test_the_table_lands_between_the_markers(tmp_path):
    document = tmp_path / "IDENTITY.md"
    document.write_text(f"# before\n{report.BEGIN}\nold\n{report.END}\nafter\n")
    measured = result(0.995) | {"seconds": 12.0, "identity_seconds": 1.5}
    report.update_document(document, [measured], "sinergi identity evaluate --worlds 10k:1")
    text = document.read_text()
    assert "old" not in text and text.startswith("# before") and text.endswith("after\n")
    assert "| w | 10 | sinergi |" in text and "`sinergi identity evaluate --worlds 10k:1`" in text
