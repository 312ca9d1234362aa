"""``sinergi simulate``: write the ministries' deliveries of a simulated world.

sinergi simulate --persons 5000 --from 2026-01-01 --to 2026-01-31 --seed 7 --out var/world
sinergi simulate serve-kp2mi --data var/world --port 8085 --token secret
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sinergi.simulate.kp2mi_api import register_serve_command


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "simulate",
        help="simulate the ministries' deliveries (files, API records, ground truth)",
        description=(
            "Write every logical date's deliveries of every ministry source exactly as "
            "contracts/SOURCES.md describes, the records behind the KemenP2MI API, and the "
            "ground truth, below --out. The same seed gives the same bytes."
        ),
    )
    parser.add_argument("--persons", type=int, default=5000, help="people in the world")
    parser.add_argument(
        "--from", dest="start", type=date.fromisoformat, required=False,
        help="first logical date (YYYY-MM-DD); its night carries the backlog",
    )  # fmt: skip
    parser.add_argument(
        "--to", dest="end", type=date.fromisoformat, required=False,
        help="last logical date, inclusive (YYYY-MM-DD)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=False, help="output directory")
    parser.add_argument(
        "--damage-scale", type=float, default=1.0,
        help="multiply every damage rate (2 = the 'double damage' world)",
    )  # fmt: skip
    parser.add_argument(
        "--delivery-faults", type=float, default=0.0, metavar="RATE",
        help="share of file deliveries that go missing, arrive cut off or duplicate the "
        "previous one (their rows come with the next good delivery); default 0",
    )  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_simulate, parser=parser)
    subcommands = parser.add_subparsers(dest="simulate_command", metavar="SUBCOMMAND")
    register_serve_command(subcommands)


def _simulate(args: argparse.Namespace) -> int:
    from sinergi.simulate.config import DamageRates, SimulationConfig
    from sinergi.simulate.simulator import Simulator

    missing = [flag for flag, value in (("--from", args.start), ("--to", args.end),
               ("--out", args.out)) if value is None]  # fmt: skip
    if missing:
        args.parser.error(f"the following arguments are required: {', '.join(missing)}")
    try:
        config = SimulationConfig(
            persons=args.persons,
            start=args.start,
            end=args.end,
            seed=args.seed,
            damage=DamageRates().scaled(args.damage_scale),
            delivery_fault_rate=args.delivery_faults,
        )
    except ValueError as error:
        args.parser.error(str(error))
    began = time.perf_counter()
    with _progress(enabled=not args.no_progress) as progress:
        summary = Simulator(config, args.out, progress=progress).run()
    elapsed = time.perf_counter() - began
    print(
        f"Simulated {summary.persons} persons over {(config.end - config.start).days + 1} "
        f"nights in {elapsed:.1f} s: {summary.deliveries} deliveries, "
        f"{sum(summary.source_records.values())} source records, {summary.overlaps} true "
        f"overlaps, {summary.returnees} returnees, {summary.invalid_rows} invalid rows."
    )
    print(f"Deliveries: {args.out / 'landing'} and {args.out / 'api'}; truth: {args.out / 'truth'}")
    return 0


@contextmanager
def _progress(enabled: bool):
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ) as bar:

        def start(label: str, total: int):
            task = bar.add_task(label, total=total)
            return lambda n: bar.advance(task, n)

        yield start
