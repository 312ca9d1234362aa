"""The ``sinergi`` command: the operator's front door.

Each command group lives beside the code it drives and registers itself here:
``sinergi db ...`` in ``sinergi.db.cli``, ``sinergi simulate ...`` in ``sinergi.simulate.cli``,
``sinergi run`` in ``sinergi.pipeline``, ``sinergi identity ...`` in
``sinergi.identity.cli``.
Imports stay inside the groups so ``sinergi --help`` is instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from sinergi import airflow_services, pipeline
    from sinergi.db import cli as db_cli
    from sinergi.identity import cli as identity_cli
    from sinergi.simulate import cli as simulate_cli

    parser = argparse.ArgumentParser(
        prog="sinergi",
        description="Sinergi: one person across the ministries' programmes.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    db_cli.register(commands)
    simulate_cli.register(commands)
    pipeline.register(commands)
    identity_cli.register(commands)
    airflow_services.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Every command group sets ``handler``: a function of the parsed args returning an exit code.
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
