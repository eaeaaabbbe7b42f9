"""``centralino cdr``: the last calls from the call records, as a table or CSV.

The table fits an 80-column serial console (the technician's usual screen) and shows times in the
comune's zone; ``--csv`` gives every field with the stored UTC times, for a spreadsheet. The file
is read directly (the daemon need not run). When the daemon found the database damaged and moved
it aside, the older calls are in that file: the command says so on stderr, so nobody takes a short
list for lost calls.
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from .errors import CliError

TABLE_WIDTH = 80
DEFAULT_ZONE = "Europe/Rome"
COLUMNS = "{time:<11} {direction:<8} {caller:<12} {called:<12} {duration:>5} {disposition:<11} {crisis:<3} {route}"


def register(sub) -> None:
    parser = sub.add_parser("cdr", help="show the last calls from the call records",
                            description="Show the last calls from the call records (CDR).")
    parser.add_argument("--config", type=Path, help="configuration naming records.database")
    parser.add_argument("--database", type=Path, help="the SQLite file (overrides the configuration)")
    parser.add_argument("--last", type=int, default=20, metavar="N", help="how many calls (default 20)")
    parser.add_argument("--csv", action="store_true", help="every field, as CSV (times in UTC)")
    parser.set_defaults(handler=run)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def format_table(rows, timezone: str = DEFAULT_ZONE, width: int = TABLE_WIDTH, names=None) -> str:
    """One header line and one line per call, none longer than ``width``; ``names``
    (config/names.py ``display_names``) puts the offices' and menus' display names in the route.
    ``PC`` marks a call made during the crisis service (Protezione Civile)."""
    from centralino.config.names import route_shown

    zone = ZoneInfo(timezone)
    lines = [COLUMNS.format(time="start", direction="dir", caller="caller", called="called",
                            duration="secs", disposition="outcome", crisis="PC", route="route")]
    for r in rows:
        start = datetime.fromisoformat(r.started_at).astimezone(zone)
        called = ("SOS " if r.emergency else "") + (r.called or "-")
        lines.append(COLUMNS.format(time=f"{start:%d/%m %H:%M}", direction=r.direction[:8],
                                    caller=_cut(r.caller or "-", 12), called=_cut(called, 12),
                                    duration=f"{r.duration_s:.0f}", disposition=_cut(r.disposition, 11),
                                    crisis="PC" if getattr(r, "crisis", False) else "-",
                                    route=route_shown(r.route, names)))
    return "\n".join(_cut(line, width) for line in lines)


def _database_and_zone(args) -> tuple[Path, str, dict]:
    """The file, the time zone and the display names (those two from ``--config``)."""
    database, zone, names = args.database, DEFAULT_ZONE, {}
    if args.config:
        from centralino.config.loader import ConfigError
        from centralino.config.schema import load_settings

        try:
            settings = load_settings(args.config)
        except ConfigError as err:
            raise CliError(str(err)) from err
        from centralino.config.names import display_names

        database, zone = database or Path(settings.records.database), settings.comune.timezone
        names = display_names(settings)
    if database is None:
        raise CliError("say which records to read: --config FILE or --database FILE")
    if not Path(database).exists():
        raise CliError(f"{database}: no call records there (has centralino run yet?)")
    return Path(database), zone, names


def run(args) -> int:
    from centralino.records.cdr import FIELDS, CdrStore
    from centralino.records.database import RecordsError, moved_copies

    if args.last < 1:
        raise CliError(f"--last must be at least 1, got {args.last}")
    database, zone, names = _database_and_zone(args)
    try:
        with CdrStore(database) as store:
            rows = store.last(args.last)
    except RecordsError as err:
        raise CliError(str(err)) from err
    for moved in moved_copies(database):
        print(f"note: older call records may be in {moved} (a damaged database the daemon moved aside)",
              file=sys.stderr)
    if args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row.as_dict())
    else:
        print(format_table(rows, zone, names=names))
    return 0
