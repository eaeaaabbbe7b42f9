"""The ``centralino`` command: one entry point, subcommands registered by small modules.

Each module under ``centralino.cli`` adds its subcommands with ``register(subparsers)``; adding a
command means adding a module here and one line to ``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from . import cdr, config_cmd, console, demo, dsp, hat, prompts_cmd, run, signal_demo, sim, stats, tickets, web
from .errors import CliError

COMMAND_MODULES = (run, console, sim, demo, cdr, config_cmd, prompts_cmd, dsp, signal_demo, stats, tickets, hat, web)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="centralino",
        description="centralino: the telephone switchboard of an Italian comune.")
    parser.add_argument("--version", action="version", version=f"centralino {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except CliError as err:
        print(f"centralino: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
