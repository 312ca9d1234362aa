"""`sinergi run --warehouse-build last-night` refuses a dbt project whose models keep history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sinergi.pipeline import PipelineError, check_full_rebuilds_only


def manifest(tmp_path: Path, *nodes: dict) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"nodes": {f"model.x.{n['name']}": n for n in nodes}}))
    return path


def model(name: str, materialized: str, **meta) -> dict:
    return {"name": name, "resource_type": "model",
            "config": {"materialized": materialized, "meta": meta}}  # fmt: skip


def test_tables_and_incremental_models_that_equal_a_full_build_pass(tmp_path: Path) -> None:
    check_full_rebuilds_only(manifest(
        tmp_path, model("dim_worker", "table"),
        model("stg_umkm__beneficiaries", "incremental", equals_full_build=True),
    ))  # fmt: skip


def test_an_incremental_model_that_keeps_history_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="fct_history keep history"):
        check_full_rebuilds_only(manifest(
            tmp_path, model("fct_history", "incremental"),
            model("stg_umkm__beneficiaries", "incremental", equals_full_build=True),
        ))  # fmt: skip


def test_the_projects_manifest_passes() -> None:
    """The project's own incremental staging models are all marked (dbt_project/macros)."""
    check_full_rebuilds_only()
