"""Linkage monitoring: per night and source, how the records were linked, and sudden changes.

Stored in ``dq.linkage_metric`` (one row per night and source, rewritten by a rerun):

* ``linked_other_source_share``  records whose person also appears in another source;
* ``no_valid_nik_share``          records without a valid NIK (identity rests on the model);
* ``in_cluster_of_*_share``       cluster size distribution, seen from the source's records;
* ``review_queue_size``           pending pairs in ``identity.match_review`` with a record
  of the source.

A night is ``warn`` when a share moves by more than ``SHARE_JUMP`` against the source's
previous measured night, or the review queue more than doubles (and grows by at least
``QUEUE_JUMP_MIN``): a delivery with a broken NIK column, a changed name format or a model
gone wrong shows here before anyone acts on a wrong overlap. The warning is logged (no PII)
and kept in ``status_detail``; it does not stop the night.
"""

from __future__ import annotations

import logging
from datetime import date

import psycopg

log = logging.getLogger(__name__)

SHARE_JUMP = 0.05
QUEUE_JUMP_MIN = 20

SHARES = (
    "linked_other_source_share",
    "no_valid_nik_share",
    "in_cluster_of_1_share",
    "in_cluster_of_2_share",
    "in_cluster_of_3_to_5_share",
    "in_cluster_of_6_plus_share",
)

MEASURES_SQL = """
with clusters as (
    select cluster, count(*) as size, count(distinct source_system) as sources
    from records group by cluster
)
select
    r.source_system,
    count(*) as records,
    avg(case when c.sources > 1 then 1.0 else 0.0 end) as linked_other_source_share,
    avg(case when r.nik_valid is null then 1.0 else 0.0 end) as no_valid_nik_share,
    avg(case when c.size = 1 then 1.0 else 0.0 end) as in_cluster_of_1_share,
    avg(case when c.size = 2 then 1.0 else 0.0 end) as in_cluster_of_2_share,
    avg(case when c.size between 3 and 5 then 1.0 else 0.0 end) as in_cluster_of_3_to_5_share,
    avg(case when c.size >= 6 then 1.0 else 0.0 end) as in_cluster_of_6_plus_share
from records r join clusters c using (cluster)
group by r.source_system
order by r.source_system
"""


def check(current: dict, previous: dict | None) -> list[str]:
    """What moved suddenly between a source's previous measured night and this one."""
    if previous is None:
        return []
    problems = []
    for name in SHARES:
        before, now = float(previous[name]), float(current[name])
        if abs(now - before) > SHARE_JUMP:
            problems.append(f"{name} {before:.3f} -> {now:.3f}")
    before_queue, queue = previous["review_queue_size"], current["review_queue_size"]
    if queue > 2 * before_queue and queue - before_queue >= QUEUE_JUMP_MIN:
        problems.append(f"review_queue_size {before_queue} -> {queue}")
    return problems


def measure(conn: psycopg.Connection, duck, night: date) -> int:
    """Measure, check and store tonight's linkage per source; how many sources warned."""
    columns = ("source_system", "records", *SHARES)
    rows = [dict(zip(columns, row, strict=True)) for row in duck.execute(MEASURES_SQL).fetchall()]
    queue = dict(
        conn.execute(
            """
            SELECT source_system, count(*) FROM (
                SELECT source_system_l AS source_system FROM identity.match_review
                WHERE decision IS NULL
                UNION ALL
                SELECT source_system_r FROM identity.match_review
                WHERE decision IS NULL AND source_system_r <> source_system_l
            ) pending GROUP BY source_system
            """
        ).fetchall()
    )
    warned = 0
    for row in rows:
        row["review_queue_size"] = queue.get(row["source_system"], 0)
        previous = conn.execute(
            f"SELECT {', '.join(SHARES)}, review_queue_size FROM dq.linkage_metric"
            " WHERE source_system = %s AND night < %s ORDER BY night DESC LIMIT 1",
            (row["source_system"], night),
        ).fetchone()
        names = (*SHARES, "review_queue_size")
        before = dict(zip(names, previous, strict=True)) if previous else None
        problems = check(row, before)
        if problems:
            warned += 1
            log.warning(
                "identity linkage of %s on %s changed suddenly: %s",
                row["source_system"], night, "; ".join(problems),
            )  # fmt: skip
        conn.execute(
            f"""
            INSERT INTO dq.linkage_metric (night, source_system, records, {", ".join(SHARES)},
                review_queue_size, status, status_detail)
            VALUES (%s, %s, %s, {", ".join(["%s"] * len(SHARES))}, %s, %s, %s)
            ON CONFLICT (night, source_system) DO UPDATE SET
                records = excluded.records,
                {", ".join(f"{name} = excluded.{name}" for name in SHARES)},
                review_queue_size = excluded.review_queue_size,
                status = excluded.status, status_detail = excluded.status_detail,
                measured_at = now()
            """,
            (night, row["source_system"], row["records"], *(row[name] for name in SHARES),
             row["review_queue_size"], "warn" if problems else "ok",
             "; ".join(problems) or None),
        )  # fmt: skip
    return warned
