"""Identity quality against a simulated world's truth, beside two baselines run the same way.

``evaluate_world`` simulates a world, replays its nights into a fresh database
(``sinergi.worlds``), builds dbt up to the identity input, and then scores, on the very same
records:

* ``sinergi``         the committed model, as the nightly step runs it (full link);
* ``nik_exact``       baseline: records sharing a valid NIK are one person, every other record
  a person of its own;
* ``splink_default``  baseline: Splink's library comparisons at their default thresholds on the
  names as recorded (no Indonesian normalisation, no NIK recovery), trained the same
  unsupervised way, clustered at the same threshold.

Measures (truth: ``truth/source_records.csv.gz``, which person each record really is):
pairwise precision, recall and F1 over record pairs put in one person; cluster-level: the
share of true people whose records form exactly one predicted person, and predicted people per
true person. Then the rest of dbt is built on our identities and ``fct_enrollment_overlap`` is
compared with ``truth/overlaps.csv.gz``: precision and recall of the overlaps.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg

log = logging.getLogger(__name__)

PAIRWISE_SQL = """
with labelled as (
    select p.unique_id, p.predicted, t.person_id from predicted p join truth t using (unique_id)
),
cells as (select predicted, person_id, count(*) as n from labelled group by all),
predicted_sizes as (select predicted, count(*) as n from labelled group by all),
true_sizes as (select person_id, count(*) as n from labelled group by all)
select
    (select sum(n * (n - 1) / 2) from cells) as true_positive_pairs,
    (select sum(n * (n - 1) / 2) from predicted_sizes) as predicted_pairs,
    (select sum(n * (n - 1) / 2) from true_sizes) as true_pairs,
    (select count(*) from true_sizes) as true_people,
    (select count(*) from predicted_sizes) as predicted_people,
    (select count(*) from (
        select person_id from labelled group by person_id
        having count(distinct predicted) = 1
            and min(predicted) in (
                select predicted from labelled group by predicted
                having count(distinct person_id) = 1)
    )) as people_exactly_right
"""


@dataclass(frozen=True)
class WorldSpec:
    persons: int
    damage_scale: float = 1.0
    seed: int = 101
    start: date = date(2026, 1, 1)
    nights: int = 2  # the first night carries the backlog: most records arrive then

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.nights - 1)

    @property
    def name(self) -> str:
        return f"{self.persons}p_damage{self.damage_scale:g}"


def measures(duck) -> dict:
    """Pairwise and cluster measures of table ``predicted(unique_id, predicted)`` against
    table ``truth(unique_id, person_id)``."""
    row = duck.execute(PAIRWISE_SQL).fetchall()[0]
    tp, predicted_pairs, true_pairs, people, predicted_people, exact = (float(v or 0) for v in row)
    precision = tp / predicted_pairs if predicted_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "pairwise_precision": round(precision, 5),
        "pairwise_recall": round(recall, 5),
        "pairwise_f1": round(f1, 5),
        "true_pairs": int(true_pairs),
        "predicted_pairs": int(predicted_pairs),
        "cluster_exact_share": round(exact / people, 5) if people else 1.0,
        "predicted_people_per_true_person": round(predicted_people / people, 5) if people else 1,
    }


def _predict_nik_exact(duck) -> None:
    duck.execute(
        "create or replace table predicted as select unique_id,"
        " coalesce('nik:' || nik_valid, unique_id) as predicted from records"
    )


def _predict_from_identity(duck, conn: psycopg.Connection) -> None:
    from sinergi.identity import store

    store.copy_to_duckdb(
        conn, duck, "SELECT unique_id, worker_key FROM identity.record", "predicted",
        {"unique_id": "VARCHAR", "predicted": "VARCHAR"},
    )  # fmt: skip


def _predict_splink_default(duck) -> None:
    import numpy as np
    import pyarrow as pa
    import splink

    from sinergi.identity import graph, model

    db_api = splink.DuckDBAPI(connection=duck)
    linker = splink.Linker(
        db_api.register("records", table_name="baseline_records"),
        model.baseline_settings(),
        log_level=logging.WARNING,
    )
    linker.training.estimate_probability_two_random_records_match(
        [splink.block_on("nik_digits")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        splink.block_on("birth_date")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        splink.block_on("name_plain")
    )
    pairs = linker.inference.predict(threshold_match_probability=model.LINK_THRESHOLD)
    duck.execute(
        "create or replace table baseline_index as select unique_id,"
        " cast(row_number() over (order by unique_id) - 1 as bigint) as idx from records"
    )
    edges = duck.execute(
        f"select l.idx as l, r.idx as r from {pairs.physical_name} p"
        " join baseline_index l on l.unique_id = p.unique_id_l"
        " join baseline_index r on r.unique_id = p.unique_id_r"
    ).fetchnumpy()
    count = duck.execute("select count(*) from baseline_index").fetchall()[0][0]
    labels = graph.connected_components(count, edges["l"], edges["r"])
    duck.register("baseline_labels", pa.table({"idx": np.arange(count), "predicted": labels}))
    duck.execute(
        "create or replace table predicted as select unique_id, cast(predicted as varchar)"
        " as predicted from baseline_index join baseline_labels using (idx)"
    )


def overlap_measures(conn: psycopg.Connection, world: Path) -> dict:
    """Precision and recall of marts.fct_enrollment_overlap against the true overlaps between
    enrolments the warehouse holds."""
    import csv
    import gzip

    rows = conn.execute(
        "SELECT o.category, a.source_system, a.source_record_id, b.source_system,"
        " b.source_record_id FROM marts.fct_enrollment_overlap o"
        " JOIN marts.fct_enrollment a ON a.enrollment_key = o.enrollment_key_a"
        " JOIN marts.fct_enrollment b ON b.enrollment_key = o.enrollment_key_b"
    ).fetchall()
    found = {(c, frozenset({(sa, ra), (sb, rb)})) for c, sa, ra, sb, rb in rows}
    held = {
        (category, (source, record))
        for category, source, record in conn.execute(
            "SELECT category, source_system, source_record_id FROM marts.fct_enrollment"
        ).fetchall()
    }
    true = set()
    with gzip.open(world / "truth" / "overlaps.csv.gz", "rt", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            a = (row["source_system_a"], row["source_record_id_a"])
            b = (row["source_system_b"], row["source_record_id_b"])
            if (row["category"], a) in held and (row["category"], b) in held:
                true.add((row["category"], frozenset({a, b})))
    hits = len(found & true)
    return {
        "overlap_precision": round(hits / len(found), 5) if found else 1.0,
        "overlap_recall": round(hits / len(true), 5) if true else 1.0,
        "true_overlaps": len(true),
        "found_overlaps": len(found),
    }


def prepare_database(spec: WorldSpec, admin_url: str, workdir: Path, database: str) -> str:
    """Simulate ``spec``'s world into ``workdir`` and replay its nights into a new database
    ``database`` (dropped first if it exists); its URL."""
    from sinergi import worlds
    from sinergi.simulate.config import DamageRates, SimulationConfig
    from sinergi.simulate.simulator import Simulator

    config = SimulationConfig(
        persons=spec.persons, start=spec.start, end=spec.end, seed=spec.seed,
        damage=DamageRates().scaled(spec.damage_scale),
    )  # fmt: skip
    Simulator(config, workdir / "world").run()
    drop_database(admin_url, database)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    url = _with_database(admin_url, database)
    worlds.ingest_world(url, workdir / "world", spec.start, spec.end, workdir / "home")
    return url


def drop_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def evaluate_world(spec: WorldSpec, admin_url: str, workdir: Path) -> dict:
    """Simulate, ingest, build and measure one world; the results as a dict."""

    from sinergi import worlds
    from sinergi.identity import features, resolve

    clock = time.monotonic()
    database = f"identity_eval_{spec.name.replace('.', '_')}"
    url = prepare_database(spec, admin_url, workdir, database)
    pii_key = "identity-evaluation-key-not-secret"
    result: dict = {
        "world": spec.name, "persons": spec.persons, "damage_scale": spec.damage_scale,
        "seed": spec.seed, "nights": spec.nights,
    }  # fmt: skip
    target = workdir / "dbt-target"
    worlds.build_until_identity(url, spec.end, pii_key, target)
    summary = resolve.resolve_identities(url, spec.end, pii_key=pii_key, full=True)
    result.update(
        records=summary.records, identity_seconds=summary.seconds,
        review_pending=summary.review_pending,
    )  # fmt: skip
    worlds.build_from_identity(url, spec.end, pii_key, target)
    duck = features.open_duckdb()
    with psycopg.connect(url) as conn:
        features.copy_records(conn, duck)
        duck.execute(
            "create or replace table truth as select source_system || ':' || source_record_id"
            " as unique_id, person_id from read_csv(?, all_varchar = true)",
            [str(workdir / "world" / "truth" / "source_records.csv.gz")],
        )
        _predict_from_identity(duck, conn)
        result["sinergi"] = measures(duck) | overlap_measures(conn, workdir / "world")
    _predict_nik_exact(duck)
    result["nik_exact"] = measures(duck)
    started = time.monotonic()
    _predict_splink_default(duck)
    result["splink_default"] = measures(duck)
    result["splink_default"]["seconds"] = round(time.monotonic() - started, 2)
    duck.close()
    drop_database(admin_url, database)
    result["seconds"] = round(time.monotonic() - clock, 1)
    log.info("identity evaluation %s: %s", spec.name, json.dumps(result))
    return result


def _with_database(url: str, database: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))
