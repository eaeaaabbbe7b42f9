"""``centralino cdr``: the last calls from the call records, as a table or CSV."""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from .errors import CliError

DEFAULT_CONFIG = Path("/etc/centralino/centralino.yaml")
COLUMNS = "{time:<11} {direction:<8} {caller:<11} {called:<11} {duration:>5} {disposition:<11} {route}"


def register(sub) -> None:
    parser = sub.add_parser("cdr", help="show the last calls from the call records")
    parser.add_argument("--config", type=Path,
                        help=f"configuration naming records.database (default {DEFAULT_CONFIG} when it exists)")
    parser.add_argument("--database", type=Path, help="the SQLite file (overrides the configuration)")
    parser.add_argument("--last", type=int, default=20, metavar="N", help="how many calls (default 20)")
    parser.add_argument("--csv", action="store_true", help="every field, as CSV")
    parser.set_defaults(handler=run)


def format_table(rows, timezone: str = "Europe/Rome", width: int = 80) -> str:
    zone = ZoneInfo(timezone)
    lines = [COLUMNS.format(time="start", direction="dir", caller="caller", called="called",
                            duration="secs", disposition="outcome", route="route")]
    for r in rows:
        start = datetime.fromisoformat(r.started_at).astimezone(zone)
        lines.append(COLUMNS.format(time=f"{start:%d/%m %H:%M}", direction=r.direction[:8],
                                    caller=(r.caller or "-")[:11], called=(r.called or "-")[:11],
                                    duration=f"{r.duration_s:.0f}", disposition=r.disposition[:11],
                                    route=r.route))
    return "\n".join(line if len(line) <= width else line[:width - 1] + "…" for line in lines)


def run(args) -> int:
    from centralino.records.cdr import CallRecord, CdrStore
    from centralino.records.database import RecordsError

    if args.last < 1:
        raise CliError(f"--last must be at least 1, got {args.last}")
    database, zone = args.database, "Europe/Rome"
    if args.config is None and database is None and DEFAULT_CONFIG.exists():
        args.config = DEFAULT_CONFIG
    if args.config:
        from centralino.config.loader import ConfigError
        from centralino.config.schema import load_settings

        try:
            settings = load_settings(args.config)
        except ConfigError as err:
            raise CliError(str(err)) from err
        database, zone = database or Path(settings.records.database), settings.comune.timezone
    if database is None:
        raise CliError("say which records to read: --config FILE or --database FILE")
    if not Path(database).exists():
        raise CliError(f"{database}: no call records there (has centralino run yet?)")
    try:
        store = CdrStore(database)
    except RecordsError as err:
        raise CliError(str(err)) from err
    rows = store.last(args.last)
    store.close()
    if args.csv:
        fields = [f for f in CallRecord._meta.sorted_field_names if f != "id"]
        writer = csv.DictWriter(sys.stdout, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow(row.as_dict())
    else:
        print(format_table(rows, zone))
    return 0
