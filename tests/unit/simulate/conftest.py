"""One small simulated world, shared by the simulator's tests (generating it takes ~1 s)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sinergi.simulate.config import SimulationConfig
from sinergi.simulate.simulator import Simulator

# Thursday 1 January to Tuesday 13 January 2026: two weekends, a Monday file after each.
SMALL_WORLD = SimulationConfig(persons=600, start=date(2026, 1, 1), end=date(2026, 1, 13), seed=11)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    Simulator(SMALL_WORLD, out).run()
    return out
