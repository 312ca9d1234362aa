"""Incremental staging gives exactly what a full build gives, night after night and after a resend.

The delta sources' staging models (KemenP2MI placements and programme participants, UMKM,
Parekraf) are incremental: a night re-stages only the records its batches touched
(`touched_since_last_build` in dbt_project/macros/staging.sql). Here a small world is ingested
night by night with an incremental `dbt build` after each night, then UMKM's first delivery
is replaced by a resend that lacks one record and changes another's name. After each step the
staging tables must equal a `--full-refresh` build of the same raw data, row for row.
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


def resend_without_one_record(url: str) -> tuple[str, str]:
    """Replace UMKM's first batch as the ingest does for a resend: a new current batch for the
    same night, the old one no longer current and its raw rows deleted. The resend lacks one
    record that only the old batch held and renames another. Returns (dropped id, renamed id)."""
    with psycopg.connect(url) as conn:
        (old_batch,) = conn.execute(
            "SELECT batch_id FROM dq.batch WHERE source_system = 'umkm_penerima' "
            "AND is_current ORDER BY logical_date LIMIT 1"
        ).fetchone()
        only_here = conn.execute(
            "SELECT id_penerima FROM raw.umkm_penerima GROUP BY id_penerima "
            "HAVING bool_and(_batch_id = %s) ORDER BY 1 LIMIT 2",
            (old_batch,),
        ).fetchall()
        dropped, renamed = only_here[0][0], only_here[1][0]
        new_batch = conn.execute(
            "INSERT INTO dq.batch (source_system, logical_date, location, content_sha256, "
            "received_at, rows_received, rows_loaded, rows_quarantined, verdict, is_current) "
            "SELECT source_system, logical_date, location || '.resend', repeat('f', 64), "
            "received_at, rows_received - 1, rows_loaded - 1, rows_quarantined, verdict, false "
            "FROM dq.batch WHERE batch_id = %s RETURNING batch_id",
            (old_batch,),
        ).fetchone()[0]
        conn.execute(
            "CREATE TEMP TABLE resent AS SELECT * FROM raw.umkm_penerima WHERE _batch_id = %s "
            "AND id_penerima <> %s",
            (old_batch, dropped),
        )
        conn.execute(
            "UPDATE resent SET nama_penerima = nama_penerima || ' RESEND' WHERE id_penerima = %s",
            (renamed,),
        )
        conn.execute("UPDATE resent SET _batch_id = %s", (new_batch,))
        conn.execute("INSERT INTO raw.umkm_penerima SELECT * FROM resent")
        conn.execute("DELETE FROM raw.umkm_penerima WHERE _batch_id = %s", (old_batch,))
        conn.execute("UPDATE dq.batch SET is_current = false WHERE batch_id = %s", (old_batch,))
        conn.execute("UPDATE dq.batch SET is_current = true WHERE batch_id = %s", (new_batch,))
    return dropped, renamed


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

        dropped, renamed = resend_without_one_record(url)
        dbt_build_staging(url, tmp_path)
        full = assert_equals_full_refresh(url, tmp_path)
        ids = {key for key, _ in full["stg_umkm__beneficiaries"]}
        assert dropped not in ids and renamed in ids
        renamed_row = next(text for key, text in full["stg_umkm__beneficiaries"] if key == renamed)
        assert "RESEND" in renamed_row
    finally:
        _drop_database(postgres_admin_url, name)
