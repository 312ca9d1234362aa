"""``sinergi db start|stop|status|url``: the project's own PostgreSQL (placeholder, being built)."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("db", help="start, stop or locate the embedded PostgreSQL")
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)
