"""Incremental staging gives exactly what a full build gives, night after night and after a resend.

The delta sources' staging models (KemenP2MI placements and programme participants, UMKM,
Parekraf) are incremental: a night re-stages only the records its batches touched
(`touched_since_last_build` in dbt_project/macros/staging.sql). Kemenkop's snapshot model folds
each night's new snapshot into what it staged (`snapshot_staging_config`). Here a small world is
ingested night by night with an incremental `dbt build` after each night. Then UMKM's first
delivery and Kemenkop's latest snapshot are replaced by resends that lack one record and change
another's name (for Kemenkop the fold is then impossible and the model is rebuilt). After each
step the staging tables must equal a `--full-refresh` build of the same raw data, row for row.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from sinergi.ingest.schema import ensure_schema
from sinergi.simulate.simulator import Simulator
from tests.integration.test_dbt_staging import CONFIG, DBT_PROJECT, END, dbt_env, ingest_delivery
from tests.integration.test_validate import _deliveries

pytestmark = pytest.mark.integration

INCREMENTAL_MODELS = {
    "stg_kp2mi__placements": "placement_id",
    "stg_kp2mi__program_participants": "participant_id",
    "stg_umkm__beneficiaries": "beneficiary_id",
    "stg_parekraf__training_participants": "participant_id",
    "stg_kemenkop__members": "member_record_id",
}


def dbt_build_staging(url: str, work: Path, *extra: str) -> subprocess.CompletedProcess:
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [str(dbt), "build", "--select", *INCREMENTAL_MODELS, "path:seeds",
         "--indirect-selection", "cautious", *extra,
         "--profiles-dir", str(DBT_PROJECT), "--project-dir", str(DBT_PROJECT),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
         "--vars", f"{{logical_date: '{END.isoformat()}'}}", "--no-use-colors"],
        cwd=DBT_PROJECT, env=dbt_env(url), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
    return result


def staging_contents(url: str) -> dict[str, list[tuple]]:
    """Every row of every incremental staging table, as text, in key order."""
    with psycopg.connect(url) as conn:
        return {
            model: [
                row
                for row in conn.execute(
                    f"SELECT {key}, t::text FROM staging.{model} AS t ORDER BY 1"
                ).fetchall()
            ]
            for model, key in INCREMENTAL_MODELS.items()
        }


def assert_equals_full_refresh(url: str, work: Path) -> dict[str, list[tuple]]:
    incremental = staging_contents(url)
    dbt_build_staging(url, work, "--full-refresh")
    full = staging_contents(url)
    for model in INCREMENTAL_MODELS:
        assert incremental[model] == full[model], model
    return full


def resend_without_one_record(
    url: str, source: str, record_id: str, name_column: str, *, newest: bool
) -> tuple[str, str]:
    """Replace a batch of ``source`` as the ingest does for a resend: a new current batch for
    the same night, the old one no longer current and its raw rows deleted. The resend lacks
    one record and renames another; ``record_id`` is the SQL of a record's id in raw. The
    batch is the source's first (UMKM: the dropped record is in no other batch) or, with
    ``newest``, its latest (a snapshot: the dropped record is left the registry).
    Returns (dropped id, renamed id)."""
    order = "DESC" if newest else "ASC"
    with psycopg.connect(url) as conn:
        (old_batch,) = conn.execute(
            f"SELECT batch_id FROM dq.batch WHERE source_system = %s AND is_current "
            f"ORDER BY logical_date {order} LIMIT 1",
            (source,),
        ).fetchone()
        # UMKM: records of the first batch that no other batch has; a snapshot: members that
        # earlier snapshots list too (dropped from the latest, a member has left the registry)
        elsewhere = (
            "bool_or(_batch_id <> %(batch)s)" if newest else "bool_and(_batch_id = %(batch)s)"
        )
        picked = conn.execute(
            f"SELECT {record_id} FROM raw.{source} GROUP BY 1 "
            f"HAVING bool_or(_batch_id = %(batch)s) AND {elsewhere} ORDER BY 1 LIMIT 2",
            {"batch": old_batch},
        ).fetchall()
        dropped, renamed = picked[0][0], picked[1][0]
        new_batch = conn.execute(
            "INSERT INTO dq.batch (source_system, logical_date, location, content_sha256, "
            "received_at, rows_received, rows_loaded, rows_quarantined, verdict, is_current) "
            "SELECT source_system, logical_date, location || '.resend', repeat('f', 64), "
            "received_at, rows_received - 1, rows_loaded - 1, rows_quarantined, verdict, false "
            "FROM dq.batch WHERE batch_id = %s RETURNING batch_id",
            (old_batch,),
        ).fetchone()[0]
        conn.execute(
            f"CREATE TEMP TABLE resent AS SELECT * FROM raw.{source} WHERE _batch_id = %s "
            f"AND {record_id} <> %s",
            (old_batch, dropped),
        )
        conn.execute(
            f"UPDATE resent SET {name_column} = {name_column} || ' RESEND' WHERE {record_id} = %s",
            (renamed,),
        )
        conn.execute("UPDATE resent SET _batch_id = %s", (new_batch,))
        conn.execute(f"INSERT INTO raw.{source} SELECT * FROM resent")
        conn.execute(f"DELETE FROM raw.{source} WHERE _batch_id = %s", (old_batch,))
        conn.execute("UPDATE dq.batch SET is_current = false WHERE batch_id = %s", (old_batch,))
        conn.execute("UPDATE dq.batch SET is_current = true WHERE batch_id = %s", (new_batch,))
    return dropped, renamed


def next_snapshot_without_one_member(url: str) -> str:
    """A Kemenkop snapshot for the night after the latest, listing every member of the latest
    but one: that member has left the registry. Returns its id."""
    member = "nomor_induk_koperasi || '#' || nomor_anggota"
    with psycopg.connect(url) as conn:
        (old_batch,) = conn.execute(
            "SELECT batch_id FROM dq.batch WHERE source_system = 'kemenkop_anggota' "
            "AND is_current ORDER BY logical_date DESC LIMIT 1"
        ).fetchone()
        (left,) = conn.execute(
            f"SELECT min({member}) FROM raw.kemenkop_anggota WHERE _batch_id = %s", (old_batch,)
        ).fetchone()
        new_batch = conn.execute(
            "INSERT INTO dq.batch (source_system, logical_date, location, content_sha256, "
            "received_at, rows_received, rows_loaded, rows_quarantined, verdict, is_current) "
            "SELECT source_system, logical_date + 1, location || '.next', repeat('e', 64), "
            "received_at, rows_received - 1, rows_loaded - 1, rows_quarantined, verdict, true "
            "FROM dq.batch WHERE batch_id = %s RETURNING batch_id",
            (old_batch,),
        ).fetchone()[0]
        conn.execute(
            f"CREATE TEMP TABLE next_night AS SELECT * FROM raw.kemenkop_anggota "
            f"WHERE _batch_id = %s AND {member} <> %s",
            (old_batch, left),
        )
        conn.execute("UPDATE next_night SET _batch_id = %s", (new_batch,))
        conn.execute("INSERT INTO raw.kemenkop_anggota SELECT * FROM next_night")
    return left


def member_is_deleted(url: str, members: list[str]) -> dict[str, bool]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT member_record_id, is_deleted FROM staging.stg_kemenkop__members "
            "WHERE member_record_id = ANY(%s)",
            (members,),
        ).fetchall()
    return dict(rows)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dbt_incremental_world")
    Simulator(CONFIG, out / "sim").run()
    return out


def test_incremental_staging_equals_a_full_build_each_night_and_after_a_resend(
    postgres_admin_url: str, world: Path, tmp_path: Path
) -> None:
    from tests.conftest import _create_database, _drop_database, url_with_database

    name = _create_database(postgres_admin_url, "sinergi_test_incremental")
    url = url_with_database(postgres_admin_url, name)
    try:
        with psycopg.connect(url) as conn:
            ensure_schema(conn)
        deliveries = _deliveries(world / "sim")
        nights = sorted({night for night, _, _ in deliveries})
        for night in nights:
            for day, source, path in deliveries:
                if day == night:
                    ingest_delivery(url, world / "sim", day, source, path)
            dbt_build_staging(url, tmp_path)  # incremental from the second night on
        assert_equals_full_refresh(url, tmp_path)
        # the next incremental build after a full refresh re-stages nothing
        before = staging_contents(url)
        dbt_build_staging(url, tmp_path)
        assert staging_contents(url) == before

        # a member missing from the next snapshot: the fold marks it deleted (it is not in the
        # snapshot, so only the post-hook rewrites its row)
        left = next_snapshot_without_one_member(url)
        dbt_build_staging(url, tmp_path)
        assert_equals_full_refresh(url, tmp_path)
        assert member_is_deleted(url, [left]) == {left: True}

        dropped, renamed = resend_without_one_record(
            url, "umkm_penerima", "id_penerima", "nama_penerima", newest=False
        )
        dropped_member, renamed_member = resend_without_one_record(
            url, "kemenkop_anggota", "nomor_induk_koperasi || '#' || nomor_anggota",
            "nama_anggota", newest=True,
        )  # fmt: skip
        dbt_build_staging(url, tmp_path)
        full = assert_equals_full_refresh(url, tmp_path)
        ids = {key for key, _ in full["stg_umkm__beneficiaries"]}
        assert dropped not in ids and renamed in ids
        renamed_row = next(text for key, text in full["stg_umkm__beneficiaries"] if key == renamed)
        assert "RESEND" in renamed_row
        assert "RESEND" in dict(full["stg_kemenkop__members"])[renamed_member]
        gone = member_is_deleted(url, [dropped_member, renamed_member])
        assert gone == {dropped_member: True, renamed_member: False}
    finally:
        _drop_database(postgres_admin_url, name)
