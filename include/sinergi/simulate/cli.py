"""``sinergi simulate``: the ministries' simulator (placeholder, being built)."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("simulate", help="simulate the ministries' deliveries")
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)
