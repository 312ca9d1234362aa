"""The nightly identity step: link what changed against what exists, cluster, keep keys.

``resolve_identities(url, night)`` runs after dbt has built
``intermediate.int_source_records__unioned`` and before ``int_source_records__identified``:

1. copy the records into DuckDB with their features (``features``) and a fingerprint of the
   compared values; the **delta** is every record that is new or whose fingerprint changed,
   plus the records that are gone;
2. score with the committed Splink model only the pairs that involve the delta: pairs within
   the delta and between the delta and the unchanged records (``predict_within`` and
   ``predict_between``); the stored links among unchanged records stand. The first night, or
   ``full=True``, scores everything: the same pairs, so a full re-link gives the same clusters.
   A link keeps the model's match weight (it depends on the pair alone); its probability is
   taken at this warehouse's size (``model.match_weight_shift``);
3. cluster: connected components of the links at or above ``LINK_THRESHOLD`` (unless two
   different valid NIKs contest one and the names disagree: ``CONTESTED_LINK``), of records
   sharing a valid NIK (the deterministic layer; unless their names have nothing in common,
   a NIK that belongs to someone else), and of pairs a case officer decided are the same;
   a pair decided "different" is cut (its records' probabilistic links are dropped until the
   two are apart);
4. keys: ``graph.assign_keys`` (untouched people keep theirs; merges and splits recorded);
5. write the state, the review queue, the linkage measures and a run row, all in one
   transaction under the identity lock: a crash leaves last night's state, and a rerun of the
   night finds an empty delta and changes nothing.

Nothing here logs a NIK, a name or a birth date: only counts and record ids.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa

from sinergi.identity import features, graph, model, monitor, store

log = logging.getLogger(__name__)

# The compared values: a record whose fingerprint changes is linked again.
FINGERPRINT_SQL = """md5(concat_ws('|', coalesce(nik_valid, ''), coalesce(nik_digits, ''),
    coalesce(nik_regency, ''), coalesce(name, ''), coalesce(name_plain, ''),
    coalesce(gender, ''), coalesce(cast(birth_date as varchar), ''),
    coalesce(cast(birth_year as varchar), ''), coalesce(regency, ''),
    coalesce(province, '')))"""

# Records sharing a valid NIK are one person unless their names share nothing: the NIK then
# belongs to someone else (a neighbour's NIK typed in, a collision of a zeroed tail).
NIK_NAME_GUARD = """(jaro_winkler_similarity(a.name, b.name) >= 0.8
    or len(list_intersect(a.name_tokens, b.name_tokens)) > 0
    or a.name is null or b.name is null)"""

# A model link between two records with two different valid NIKs needs the names to agree
# too: a valid NIK is a strong claim, and two people born the same day in neighbouring
# districts have NIKs one digit apart (at 100k persons, 1,941 such false links; measured). The
# link goes to the review queue instead.
CONTESTED_LINK = """(a.nik_valid is not null and b.nik_valid is not null
    and a.nik_valid <> b.nik_valid
    and not (jaro_winkler_similarity(a.name, b.name) >= 0.88
        or list_has_all(a.name_tokens, b.name_tokens)
        or list_has_all(b.name_tokens, a.name_tokens)))"""

# At most this many rounds of cutting to honour "different" decisions.
CUT_ROUNDS = 5


@dataclass(frozen=True)
class ResolveSummary:
    night: str
    mode: str
    records: int
    records_changed: int
    records_removed: int
    pairs_scored: int
    clusters: int
    keys_issued: int
    keys_retired: int
    key_changes: int
    review_pending: int
    metrics_warned: int
    match_weight_shift: float
    seconds: float

    def as_dict(self) -> dict:
        return asdict(self)


def worker_key_from_nik(nik: str, pii_key: str) -> str:
    """The key of a person first known by a valid NIK (as dbt's ``worker_key_from_nik``):
    a keyed SHA-256, so the key does not reveal the NIK."""
    digest = hashlib.sha256(f"sinergi-worker:{nik}:{pii_key}".encode()).hexdigest()
    return "W" + digest[:20]


def worker_key_from_record(unique_id: str) -> str:
    """The key of a person first known by a record without a valid NIK."""
    source_system, _, record_id = unique_id.partition(":")
    digest = hashlib.sha256(f"sinergi-record:{source_system}:{record_id}".encode()).hexdigest()
    return "S" + digest[:20]


def _new_key_candidates(pii_key: str, best_nik: dict[int, str | None]):
    def candidates(label: int, records):
        first = min(records)
        if best_nik.get(label):
            yield worker_key_from_nik(best_nik[label], pii_key)
        yield worker_key_from_record(first)
        for n in range(2, 1000):
            yield worker_key_from_record(f"{first}#{n}")

    return candidates


def resolve_identities(
    warehouse_url: str,
    night: date,
    *,
    pii_key: str | None = None,
    full: bool = False,
    model_path: Path = model.MODEL_PATH,
) -> ResolveSummary:
    """Resolve identities as of ``night``; see the module docstring."""

    from sinergi import dbt_runner

    started, clock = datetime.now(UTC), time.monotonic()
    pii_key = pii_key or dbt_runner.pii_key()
    trained = model.load_trained(model_path)
    training = model.load_training(model_path.with_name(model_path.stem + ".training.json"))
    duck = features.open_duckdb()
    with psycopg.connect(warehouse_url) as conn:
        store.ensure_schema(conn)
        with conn.transaction():
            store.lock(conn)
            records = features.copy_records(conn, duck)
            shift = model.match_weight_shift(records, training, trained)
            duck.execute("alter table records add column fingerprint varchar")
            duck.execute(f"update records set fingerprint = {FINGERPRINT_SQL}")
            store.copy_to_duckdb(
                conn, duck,
                "SELECT unique_id, fingerprint, worker_key, match_method, link_probability,"
                " first_seen_night FROM identity.record",
                "previous",
                {"unique_id": "VARCHAR", "fingerprint": "VARCHAR", "worker_key": "VARCHAR",
                 "match_method": "VARCHAR", "link_probability": "DOUBLE",
                 "first_seen_night": "DATE"},
            )  # fmt: skip
            full = full or _count(duck, "previous") == 0
            _delta(duck, full)
            changed, removed = _count(duck, "delta"), _count(duck, "removed")
            pairs = _score(duck, trained, full, changed)
            _replace_links(conn, duck, full, night)
            clusters = _cluster(conn, duck, shift)
            assignment = _assign_keys(conn, duck, pii_key)
            _write_records(conn, duck, night)
            _write_keys(conn, assignment, night)
            pending = _queue_reviews(conn, duck, night, shift)
            warned = monitor.measure(conn, duck, night)
            seconds = round(time.monotonic() - clock, 2)
            summary = ResolveSummary(
                night=night.isoformat(), mode="full" if full else "incremental",
                records=records, records_changed=changed, records_removed=removed,
                pairs_scored=pairs, clusters=clusters,
                keys_issued=len(assignment.issued), keys_retired=len(assignment.retired),
                key_changes=len(assignment.changes), review_pending=pending,
                metrics_warned=warned, match_weight_shift=round(shift, 3), seconds=seconds,
            )  # fmt: skip
            conn.execute(
                "INSERT INTO identity.run (night, started_at, model_version, mode, records,"
                " records_changed, records_removed, pairs_scored, clusters, keys_issued,"
                " keys_retired, match_weight_shift, seconds)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (night, started, model.MODEL_VERSION, summary.mode, records, changed, removed,
                 pairs, summary.clusters, summary.keys_issued, summary.keys_retired,
                 summary.match_weight_shift, seconds),
            )  # fmt: skip
    duck.close()
    log.info("identity %s: %s", night, summary.as_dict())
    return summary


def _count(duck, table: str) -> int:
    return duck.execute(f"select count(*) from {table}").fetchall()[0][0]


def _delta(duck, full: bool) -> None:
    """Tables ``delta`` (records to score again) and ``removed`` (records that are gone)."""
    condition = "true" if full else "p.unique_id is null or p.fingerprint <> r.fingerprint"
    duck.execute(
        "create or replace table delta as select r.* from records r"
        f" left join previous p using (unique_id) where {condition}"
    )
    duck.execute(
        "create or replace table removed as select p.unique_id from previous p"
        " anti join records r using (unique_id)"
    )


def _score(duck, trained: dict, full: bool, changed: int) -> int:
    """Table ``scored``: the pairs involving the delta, at or above the review threshold."""
    import splink

    duck.execute(
        "create or replace table scored (unique_id_l varchar, unique_id_r varchar,"
        " match_probability double, match_weight double)"
    )
    if changed == 0:
        return 0
    db_api = splink.DuckDBAPI(connection=duck)
    linker = splink.Linker(
        db_api.register("records", table_name="records"), trained, log_level=logging.WARNING
    )
    if full:
        results = [linker.inference.predict(threshold_match_probability=model.REVIEW_THRESHOLD)]
    else:
        duck.execute(
            "create or replace table unchanged as select * from records"
            " anti join delta using (unique_id)"
        )
        delta = db_api.register("delta", table_name="delta_input")
        unchanged = db_api.register("unchanged", table_name="unchanged_input")
        results = [
            linker.inference.predict_within(
                delta, threshold_match_probability=model.REVIEW_THRESHOLD,
                warning_mode="never",
            ),
            linker.inference.predict_between(
                delta, unchanged, threshold_match_probability=model.REVIEW_THRESHOLD,
                warning_mode="never",
            ),
        ]  # fmt: skip
    for result in results:
        duck.execute(
            "insert into scored select least(unique_id_l, unique_id_r),"
            " greatest(unique_id_l, unique_id_r), match_probability, match_weight"
            f" from {result.physical_name}"
        )
        result.drop_table_from_database_and_remove_from_cache()
    duck.execute(
        "create or replace table scored as select unique_id_l, unique_id_r,"
        " max(match_probability) as match_probability, max(match_weight) as match_weight"
        " from scored where unique_id_l <> unique_id_r group by all"
    )
    return _count(duck, "scored")


def _replace_links(conn: psycopg.Connection, duck, full: bool, night: date) -> None:
    """Drop the stored links of changed and removed records; store tonight's scores."""
    if full:
        conn.execute("TRUNCATE identity.link")
    else:
        conn.execute("CREATE TEMP TABLE stale (unique_id text PRIMARY KEY) ON COMMIT DROP")
        store.copy_from_duckdb(
            conn, duck,
            "select unique_id from delta union select unique_id from removed",
            "stale", ("unique_id",),
        )  # fmt: skip
        conn.execute(
            "DELETE FROM identity.link l USING stale s"
            " WHERE l.unique_id_l = s.unique_id OR l.unique_id_r = s.unique_id"
        )
    store.copy_from_duckdb(
        conn, duck,
        f"select unique_id_l, unique_id_r, match_probability, match_weight,"
        f" DATE '{night.isoformat()}' from scored",
        "identity.link",
        ("unique_id_l", "unique_id_r", "match_probability", "match_weight", "scored_night"),
    )  # fmt: skip


def _probability_sql(shift: float) -> str:
    """A stored link's probability at this warehouse's size (model.match_weight_shift)."""
    return f"1.0 / (1.0 + power(2.0, -(match_weight + ({shift!r}))))"


def _cluster(conn: psycopg.Connection, duck, shift: float) -> int:
    """Each record's cluster (``records`` gains ``idx`` and ``cluster``); how many clusters."""
    store.copy_to_duckdb(
        conn, duck,
        f"SELECT unique_id_l, unique_id_r, {_probability_sql(shift)} FROM identity.link"
        f" WHERE match_weight + ({shift!r}) >= {model.probability_weight(model.LINK_THRESHOLD)!r}",
        "links", {"unique_id_l": "VARCHAR", "unique_id_r": "VARCHAR",
                  "match_probability": "DOUBLE"},
    )  # fmt: skip
    store.copy_to_duckdb(
        conn, duck,
        "SELECT unique_id_l, unique_id_r, decision FROM identity.match_review"
        " WHERE decision IS NOT NULL",
        "decisions", {"unique_id_l": "VARCHAR", "unique_id_r": "VARCHAR", "decision": "VARCHAR"},
    )  # fmt: skip
    duck.execute(
        "create or replace table records as select *,"
        " cast(row_number() over (order by unique_id) - 1 as bigint) as idx from records"
    )
    duck.execute(
        f"create or replace table links as select links.*, {CONTESTED_LINK} as contested"
        " from links join records a on a.unique_id = links.unique_id_l"
        " join records b on b.unique_id = links.unique_id_r"
    )
    # every edge: kind 'nik' (valid NIK, to the NIK's first record), 'model', 'reviewed'
    duck.execute(
        f"""
        create or replace table edges as
        with nik_anchor as (
            select nik_valid, min(unique_id) as anchor from records
            where nik_valid is not null group by nik_valid
        )
        select b.idx as l, a.idx as r, 'nik' as kind, 1.0 as probability
        from records a
        join nik_anchor n on n.nik_valid = a.nik_valid and n.anchor <> a.unique_id
        join records b on b.unique_id = n.anchor
        where {NIK_NAME_GUARD}
        union all
        select rl.idx, rr.idx, 'model', links.match_probability
        from links join records rl on rl.unique_id = links.unique_id_l
        join records rr on rr.unique_id = links.unique_id_r
        where not links.contested
        union all
        select rl.idx, rr.idx, 'reviewed', 1.0
        from decisions d join records rl on rl.unique_id = d.unique_id_l
        join records rr on rr.unique_id = d.unique_id_r
        where d.decision = 'same'
        """
    )
    duck.execute(
        "create or replace table apart as select rl.idx as l, rr.idx as r from decisions d"
        " join records rl on rl.unique_id = d.unique_id_l"
        " join records rr on rr.unique_id = d.unique_id_r where d.decision = 'different'"
    )
    # a "different" pair is never linked directly
    duck.execute(
        "delete from edges e using apart a where e.kind <> 'nik'"
        " and least(e.l, e.r) = least(a.l, a.r) and greatest(e.l, e.r) = greatest(a.l, a.r)"
    )
    count = _count(duck, "records")
    apart = duck.execute("select l, r from apart").fetchnumpy()
    for _ in range(CUT_ROUNDS):
        edges = duck.execute("select l, r from edges").fetchnumpy()
        labels = graph.connected_components(count, edges["l"], edges["r"])
        together = [
            (int(a), int(b))
            for a, b in zip(apart["l"], apart["r"], strict=True)
            if labels[a] == labels[b]
        ]
        if not together:
            break
        # cut: the later record of the pair loses its links from the model
        cut = sorted({max(pair) for pair in together})
        duck.execute(
            "delete from edges where kind = 'model' and (l in (select unnest(?))"
            " or r in (select unnest(?)))",
            [cut, cut],
        )
    else:
        log.warning("identity: %d 'different' decisions still joined by valid NIKs", len(together))
    cluster_of = pa.table({"idx": np.arange(count, dtype=np.int64), "cluster": labels})
    duck.register("cluster_of", cluster_of)
    duck.execute(
        "create or replace table records as select records.*, cluster_of.cluster from records"
        " join cluster_of using (idx)"
    )
    duck.unregister("cluster_of")
    return int(len(np.unique(labels)))


def _assign_keys(conn: psycopg.Connection, duck, pii_key: str) -> graph.KeyAssignment:
    """Tonight's key of every cluster (table ``cluster_keys``), by ``graph.assign_keys``."""
    clusters: dict[int, list[str]] = {}
    for label, unique_id in duck.execute(
        "select cluster, unique_id from records order by cluster, unique_id"
    ).fetchall():
        clusters.setdefault(label, []).append(unique_id)
    # removed records included: a key none of whose records is left retires
    previous_key = dict(duck.execute("select unique_id, worker_key from previous").fetchall())
    key_issued_on = dict(conn.execute("SELECT worker_key, issued_night FROM identity.worker_key"))
    best_nik = dict(
        duck.execute(
            "select cluster, min(nik_valid) from records where nik_valid is not null group by all"
        ).fetchall()
    )
    candidates = _new_key_candidates(pii_key, best_nik)
    label_of_first = {records[0]: label for label, records in clusters.items()}
    assignment = graph.assign_keys(
        clusters,
        previous_key,
        key_issued_on,
        new_key_for=lambda records: candidates(label_of_first[records[0]], records),
    )
    keys = pa.table(
        {
            "cluster": list(assignment.key_of_cluster),
            "worker_key": list(assignment.key_of_cluster.values()),
        },
        schema=pa.schema([("cluster", pa.int64()), ("worker_key", pa.string())]),
    )
    duck.register("keys_of_clusters", keys)
    duck.execute("create or replace table cluster_keys as select * from keys_of_clusters")
    duck.unregister("keys_of_clusters")
    return assignment


def _write_records(conn: psycopg.Connection, duck, night: date) -> int:
    """Upsert the records whose key, method, probability or fingerprint changed; delete the
    removed ones. Each record's method: ``single_record`` alone in its cluster, ``nik_exact``
    when a valid NIK ties it in, else ``probabilistic`` with its best link's probability."""
    duck.execute(
        """
        create or replace table assigned as
        with ends as (
            select l as idx, kind, probability from edges
            union all select r, kind, probability from edges
        ),
        best as (
            select idx, bool_or(kind = 'nik') as has_nik,
                max(probability) filter (where kind <> 'nik') as best_probability
            from ends group by idx
        ),
        sizes as (select cluster, count(*) as size from records group by cluster)
        select
            r.unique_id, r.source_system, r.source_record_id, r.fingerprint, k.worker_key,
            case when s.size = 1 then 'single_record' when b.has_nik then 'nik_exact'
                else 'probabilistic' end as match_method,
            round(case when s.size = 1 or b.has_nik then 1.0
                else coalesce(b.best_probability, 1.0) end, 6) as link_probability
        from records r
        join cluster_keys k using (cluster)
        join sizes s using (cluster)
        left join best b using (idx)
        """
    )
    conn.execute(
        "CREATE TEMP TABLE record_changes (LIKE identity.record INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    changed = store.copy_from_duckdb(
        conn, duck,
        f"""select a.unique_id, a.source_system, a.source_record_id, a.fingerprint,
            a.worker_key, a.match_method, a.link_probability,
            coalesce(p.first_seen_night, DATE '{night.isoformat()}'),
            DATE '{night.isoformat()}'
        from assigned a left join previous p using (unique_id)
        where p.unique_id is null or p.fingerprint <> a.fingerprint
            or p.worker_key <> a.worker_key or p.match_method <> a.match_method
            or p.link_probability <> a.link_probability""",
        "record_changes",
        ("unique_id", "source_system", "source_record_id", "fingerprint", "worker_key",
         "match_method", "link_probability", "first_seen_night", "changed_night"),
    )  # fmt: skip
    conn.execute(
        """
        INSERT INTO identity.record SELECT * FROM record_changes
        ON CONFLICT (unique_id) DO UPDATE SET
            fingerprint = excluded.fingerprint, worker_key = excluded.worker_key,
            match_method = excluded.match_method, link_probability = excluded.link_probability,
            changed_night = excluded.changed_night
        """
    )
    conn.execute("CREATE TEMP TABLE gone (unique_id text PRIMARY KEY) ON COMMIT DROP")
    store.copy_from_duckdb(conn, duck, "select unique_id from removed", "gone", ("unique_id",))
    conn.execute("DELETE FROM identity.record r USING gone g WHERE r.unique_id = g.unique_id")
    return changed


def _write_keys(conn: psycopg.Connection, assignment: graph.KeyAssignment, night: date) -> None:
    """New keys, retired keys and the history of merges and splits."""
    # the first night issues a key per person: COPY, not a statement per key
    store.copy_rows(
        conn, "identity.worker_key", ("worker_key", "issued_night"),
        ((key, night) for key in assignment.issued),
    )  # fmt: skip
    with conn.cursor() as cursor:
        cursor.executemany(
            "UPDATE identity.worker_key SET retired_night = %s, successor_key = %s"
            " WHERE worker_key = %s AND retired_night IS NULL",
            [(night, successor, key) for key, successor in assignment.retired.items()],
        )
        cursor.executemany(
            "INSERT INTO identity.worker_key_history (old_worker_key, new_worker_key, night,"
            " reason, records_moved) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (old_worker_key, new_worker_key, night) DO NOTHING",
            [(c.old_key, c.new_key, night, c.reason, c.records_moved) for c in assignment.changes],
        )


def _queue_reviews(conn: psycopg.Connection, duck, night: date, shift: float) -> int:
    """Pairs in the uncertain band (or contested, CONTESTED_LINK) whose records are in
    different clusters go to ``identity.match_review``; pending ones that no longer are
    leave it. Decided pairs stay for ever. The number of pending pairs."""
    store.copy_to_duckdb(
        conn, duck,
        f"SELECT unique_id_l, unique_id_r, {_probability_sql(shift)} FROM identity.link"
        f" WHERE match_weight + ({shift!r})"
        f" >= {model.probability_weight(model.REVIEW_THRESHOLD)!r}"
        f" AND match_weight + ({shift!r}) < {model.probability_weight(model.LINK_THRESHOLD)!r}",
        "band", {"unique_id_l": "VARCHAR", "unique_id_r": "VARCHAR",
                 "match_probability": "DOUBLE"},
    )  # fmt: skip
    conn.execute("CREATE TEMP TABLE review_candidates (LIKE identity.match_review) ON COMMIT DROP")
    store.copy_from_duckdb(
        conn, duck,
        f"""select b.unique_id_l, b.unique_id_r, rl.source_system, rl.source_record_id,
            rr.source_system, rr.source_record_id, b.match_probability,
            DATE '{night.isoformat()}'
        from (
            select unique_id_l, unique_id_r, match_probability from band
            union all  -- links the model is sure of but two valid NIKs contest
            select unique_id_l, unique_id_r, match_probability from links where contested
        ) b join records rl on rl.unique_id = b.unique_id_l
        join records rr on rr.unique_id = b.unique_id_r
        where rl.cluster <> rr.cluster""",
        "review_candidates",
        ("unique_id_l", "unique_id_r", "source_system_l", "source_record_id_l",
         "source_system_r", "source_record_id_r", "match_probability", "queued_night"),
    )  # fmt: skip
    conn.execute(
        "DELETE FROM identity.match_review m WHERE m.decision IS NULL AND NOT EXISTS ("
        " SELECT FROM review_candidates c"
        " WHERE c.unique_id_l = m.unique_id_l AND c.unique_id_r = m.unique_id_r)"
    )
    conn.execute(
        "INSERT INTO identity.match_review SELECT * FROM review_candidates"
        " ON CONFLICT (unique_id_l, unique_id_r) DO NOTHING"
    )
    return conn.execute(
        "SELECT count(*) FROM identity.match_review WHERE decision IS NULL"
    ).fetchone()[0]
