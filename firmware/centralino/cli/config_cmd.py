"""``centralino config check FILE``: validate a configuration before installing it.

Exit 0 with a one-line summary, or exit 2 with the first problem as ``FILE:LINE: key: message``.
"""

from __future__ import annotations

from pathlib import Path

from .errors import CliError


def register(sub) -> None:
    parser = sub.add_parser("config", help="check a configuration file",
                            description="Work with the configuration file.")
    commands = parser.add_subparsers(dest="config_command", metavar="ACTION")
    commands.required = True
    check = commands.add_parser("check", help="validate FILE; prints the first problem with its line")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=run_check)


def run_check(args) -> int:
    from centralino.config.loader import ConfigError
    from centralino.config.schema import load_settings

    try:
        s = load_settings(args.file)
    except ConfigError as err:
        raise CliError(str(err)) from err
    operators = ", ".join(e.number for e in s.operator_extensions)
    print(f"{args.file}: OK ({len(s.board.ports)} ports, {len(s.extensions)} extensions, "
          f"{len(s.groups)} groups, {len(s.lines)} lines; operator {s.dialplan.operator}"
          f"{'' if operators == s.dialplan.operator else ' of ' + operators})")
    return 0
