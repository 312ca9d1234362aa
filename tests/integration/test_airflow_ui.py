"""The Airflow UI in a real browser: headless Chromium (Debian's ``chromium`` package, driven
by Playwright's Python API; no browser download) logs into the UI that ``sinergi airflow up``
(``make up``) starts, opens the grid of a finished run of the warehouse DAG and saves a
screenshot; the per-model dbt tasks (Cosmos) must be visible in the grid.

The finished run is made cheaply, in the same metadata database, by ``dag.test()`` of the
project's ``dags/warehouse.py`` with the dbt and summary tasks marked successful instead of
executed (no dbt build, no data): the grid shows the DAG's structure and the run's states,
which is what is under test here. The screenshot goes to the test's temporary folder and to
``docs/img/airflow-grid.png`` (the README's picture).

Skips, saying why, when no Chromium is installed (``make install`` installs Debian's where
``apt-get`` is available) or Playwright is missing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.integration.test_airflow_services import _sinergi, services_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_FOR_README = PROJECT_ROOT / "docs" / "img" / "airflow-grid.png"
MODEL_TASK = "stg_kp2mi__placements"  # a Cosmos task group: .run and .test


def _chromium() -> str | None:
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


CHROMIUM = _chromium()
if CHROMIUM is None:
    pytestmark.append(
        pytest.mark.skip(
            reason="no Chromium at /usr/bin/chromium or on PATH: `apt-get install -y chromium` "
            "(`make install` does it where apt-get is available)"
        )
    )
elif importlib.util.find_spec("playwright") is None:
    pytestmark.append(pytest.mark.skip(reason="playwright is not installed: run `make install`"))

# In a fresh process with the same environment as the services: a finished warehouse run.
MAKE_FINISHED_RUN = """
import json
from sinergi import airflow_home, dbt_runner, settings

airflow_home.configure()
dbt_runner.ensure_manifest()
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=str(settings.PROJECT_ROOT / "dags" / "warehouse.py"))
assert not bag.import_errors, bag.import_errors
run = bag.dags["warehouse"].test(
    logical_date=None,  # as an Asset-triggered run: no logical date
    run_conf={"business_date": "2026-01-01"},
    mark_success_pattern=r"(?!business_date$).*",  # business_date really runs
)
print("RUN " + json.dumps({"run_id": run.run_id, "state": str(run.state)}))
"""


def _assert_grid_structure_serves(base: str, password: str, home: Path) -> None:
    """What the grid draws from (``/ui/grid/structure``) must answer; if it does not, say
    why (the API server's error), rather than time out waiting for rows in the browser."""
    request = urllib.request.Request(
        f"{base}/auth/token",
        data=json.dumps({"username": "admin", "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        token = json.loads(reply.read())["access_token"]
    request = urllib.request.Request(
        f"{base}/ui/grid/structure/warehouse", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            assert reply.status == 200
    except urllib.error.HTTPError as error:
        time.sleep(2)  # let the API server's log catch up with its traceback
        log = (home / "airflow/logs/api-server.log").read_text(errors="replace")
        errors = [line for line in log.splitlines() if re.match(r"\w+(Error|Exception): ", line)]
        pytest.fail(
            f"the UI cannot draw the warehouse DAG's grid (HTTP {error.code} from "
            f"/ui/grid/structure/warehouse): {errors[-1] if errors else 'see api-server.log'}"
        )


@pytest.fixture
def home_env(pg_tmp_path: Path) -> dict:
    """The services test's throwaway stack, with Airflow's own logs quieter."""
    return services_env(pg_tmp_path / "home") | {"AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"}


def test_grid_of_a_finished_warehouse_run_in_chromium(home_env: dict, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    home = Path(home_env["SINERGI_HOME"])
    port = int(home_env["SINERGI_AIRFLOW_PORT"])
    base = f"http://127.0.0.1:{port}"
    timings: dict[str, float] = {}
    try:
        began = time.monotonic()
        started = _sinergi(home_env, "up")
        assert started.returncode == 0, started.stdout + started.stderr
        timings["up"] = time.monotonic() - began

        began = time.monotonic()
        made = subprocess.run(
            [sys.executable, "-c", MAKE_FINISHED_RUN], env=home_env, capture_output=True,
            text=True, timeout=300, cwd=PROJECT_ROOT,
        )  # fmt: skip
        lines = [line for line in made.stdout.splitlines() if line.startswith("RUN ")]
        assert made.returncode == 0 and lines, made.stdout[-2000:] + made.stderr[-3000:]
        run = json.loads(lines[-1][4:])
        assert run["state"] == "success", run
        timings["finished run"] = time.monotonic() - began

        began = time.monotonic()
        password = json.loads((home / "airflow/simple_auth_manager_passwords.json").read_text())
        _assert_grid_structure_serves(base, password["admin"], home)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1500, "height": 2000})
                page.set_default_timeout(60_000)
                expect.set_options(timeout=60_000)
                # Not logged in: the UI sends the browser to the login page.
                page.goto(f"{base}/dags/warehouse")
                page.wait_for_url("**/auth/login**")
                page.fill("input[name=username]", "admin")
                page.fill("input[name=password]", "not the password")
                page.click("button[type=submit]")
                expect(page.locator("input[name=password]")).to_be_visible()
                assert "/auth/login" in page.url, "a wrong password must not get in"
                page.fill("input[name=password]", password["admin"])
                page.click("button[type=submit]")
                page.wait_for_url(lambda url: "/auth/login" not in url)

                page.goto(f"{base}/dags/warehouse/runs/{quote(run['run_id'], safe='')}")
                expect(page.get_by_text("Success").first).to_be_visible()
                # The grid takes the whole width; every task group (one per dbt model) open.
                page.get_by_label("Collapse Details Panel").click()
                expand = "Expand all task groups"
                page.get_by_label(expand).or_(page.get_by_title(expand)).first.click()
                for label in ("business_date", MODEL_TASK, "dim_worker"):
                    expect(page.get_by_text(label, exact=True).first).to_be_visible()
                # The model's group holds its run and test tasks, and this run has a cell
                # (its task instance, linked) for each.
                run_path = f"/dags/warehouse/runs/{run['run_id']}/tasks"
                for task_id in (f"dbt.{MODEL_TASK}.run", f"dbt.{MODEL_TASK}.test"):
                    expect(page.locator(f'a[href$="/tasks/{task_id}"]').first).to_be_visible()
                    expect(page.locator(f'a[href="{run_path}/{task_id}"]')).to_have_count(1)
                screenshot = tmp_path / "airflow-grid.png"
                page.screenshot(path=str(screenshot))
            finally:
                browser.close()
        timings["browser"] = time.monotonic() - began
        assert screenshot.stat().st_size > 10_000
        SCREENSHOT_FOR_README.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, SCREENSHOT_FOR_README)
        print({step: round(seconds, 1) for step, seconds in timings.items()})
    finally:
        stopped = _sinergi(home_env, "down", timeout=120)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
