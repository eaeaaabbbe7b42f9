"""``centralino config check FILE``: validate a configuration before installing it.

Exit 0 with a one-line summary, or exit 2 with the first problem as ``FILE:LINE: key: message``.
The check runs within the same time and memory limits as the daemon's worker
(``config/checker.py``), so a pathological file cannot hang the technician's shell or take the
Pi's memory from the running switchboard.
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
    from centralino.config.checker import CHECK_TIMEOUT_S, check_file, limit_resources

    limit_resources(cpu_s=None)
    verdict = check_file(args.file, time_limit_s=CHECK_TIMEOUT_S)
    if not verdict.ok:
        raise CliError(verdict.error)
    s = verdict.summary
    operators = ", ".join(s["operators"])
    print(f"{args.file}: OK ({s['ports']} ports, {s['extensions']} extensions, "
          f"{s['groups']} groups, {s['lines']} lines; operator {s['operator']}"
          f"{'' if operators == s['operator'] else ' of ' + operators})")
    return 0
