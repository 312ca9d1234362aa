"""The identity evaluation's table and its targets (issue: identity resolution, "Done when").

Targets at default damage: pairwise F1 at least 0.99 and above both baselines; overlap
precision and recall at least 0.99. At double damage the numbers are reported, not judged.
"""

from __future__ import annotations

F1_TARGET = 0.99
OVERLAP_TARGET = 0.99

HEADER = (
    "| world | records | method | precision | recall | F1 | people exactly right |"
    " predicted/true people | overlap precision | overlap recall |\n"
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
)


def table(results: list[dict]) -> str:
    """A markdown table: one row per world and method."""
    lines = [HEADER]
    for result in results:
        for method in ("sinergi", "nik_exact", "splink_default"):
            m = result[method]
            overlap = (
                f"{m['overlap_precision']:.4f} | {m['overlap_recall']:.4f}"
                if "overlap_precision" in m
                else "| "
            )
            lines.append(
                f"| {result['world']} | {result['records']} | {method} "
                f"| {m['pairwise_precision']:.4f} | {m['pairwise_recall']:.4f} "
                f"| {m['pairwise_f1']:.4f} | {m['cluster_exact_share']:.4f} "
                f"| {m['predicted_people_per_true_person']:.4f} | {overlap} |"
            )
    return "\n".join(lines)


def failed_targets(results: list[dict]) -> list[str]:
    """Every target a default-damage world misses, as a sentence."""
    failed = []
    for result in results:
        if result["damage_scale"] != 1:
            continue
        ours = result["sinergi"]
        world = result["world"]
        if ours["pairwise_f1"] < F1_TARGET:
            failed.append(f"{world}: F1 {ours['pairwise_f1']} < {F1_TARGET}")
        for baseline in ("nik_exact", "splink_default"):
            if ours["pairwise_f1"] <= result[baseline]["pairwise_f1"]:
                failed.append(f"{world}: F1 not above {baseline}")
        for measure in ("overlap_precision", "overlap_recall"):
            if ours[measure] < OVERLAP_TARGET:
                failed.append(f"{world}: {measure} {ours[measure]} < {OVERLAP_TARGET}")
    return failed


BEGIN, END = "<!-- identity-eval:begin -->", "<!-- identity-eval:end -->"


def update_document(path, results: list[dict], command: str) -> None:
    """Replace the table between the markers of ``path`` (docs/IDENTITY.md) with ``results``."""
    from pathlib import Path

    text = Path(path).read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{path} has no {BEGIN} ... {END} block to fill")
    seconds = ", ".join(f"{r['world']} {r['seconds']:.0f} s" for r in results)
    identity = ", ".join(f"{r['world']} {r['identity_seconds']:.1f} s" for r in results)
    block = (
        f"{BEGIN}\n"
        f"`{command}`; wall time per world (simulate, ingest, dbt, identity, baselines): "
        f"{seconds}; the identity step alone (full link): {identity}.\n\n"
        f"{table(results)}\n{END}"
    )
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    Path(path).write_text(head + block + tail)
