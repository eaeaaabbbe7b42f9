"""``centralino tickets``: the tickets by state, office and due date, and their changes, from the file.

Reads and writes the SQLite file directly (the daemon need not run; when it does, SQLite's locking
keeps the two apart). Listing is the default: soonest due first, overdue ones marked and counted.
Changes (take, wait, resume, close) are recorded in the ticket's history with ``--by``. The
citizen's SMS at closing is the daemon's: a ticket closed here while the daemon runs gets none,
so close tickets from the console or the web pages when the citizen should hear of it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from .errors import CliError, load_config

ACTIONS = ("list", "take", "wait", "resume", "close", "history")
FILTERS = ("open", "all", "overdue", "new", "in_charge", "in_progress", "waiting", "closed")
DEFAULT_ZONE = "Europe/Rome"


def register(sub) -> None:
    parser = sub.add_parser("tickets", help="tickets by state, office and due date; change their state",
                            description="List tickets (soonest due first, overdue ones marked) or change one: "
                                        "take N, wait N --for WHOM, resume N, close N [--outcome O] [--note T], "
                                        "history N.")
    parser.add_argument("action", nargs="?", default="list", choices=ACTIONS, help="what to do (default: list)")
    parser.add_argument("number", nargs="?", help="the ticket's number (for every action but list)")
    parser.add_argument("--config", type=Path, help="configuration naming records.database and the offices")
    parser.add_argument("--database", type=Path, help="the SQLite file (overrides the configuration)")
    parser.add_argument("--state", default="open", metavar="STATE",
                        help=f"list: {', '.join(FILTERS)} (default open: not closed)")
    parser.add_argument("--office", metavar="NAME", help="list: only this office's tickets")
    parser.add_argument("--overdue", action="store_true", help="list: only the overdue ones (= --state overdue)")
    parser.add_argument("--by", default="cli", help="who makes the change (default cli)")
    parser.add_argument("--for", dest="waiting_for", metavar="WHOM", help="wait: the office or administration")
    parser.add_argument("--outcome", help="close: resolved, called_back, not_reached, withdrawn, not_competent")
    parser.add_argument("--note", default="", help="close: a note on the outcome")
    parser.set_defaults(handler=run)


def _settings(args):
    return load_config(args.config) if args.config else None


def _list(store, args, settings, zone: str, now: datetime) -> str:
    from centralino.records.deadlines import is_overdue, select_tickets
    from centralino.records.tickets import state_name

    from .console import format_result

    which = "overdue" if args.overdue else args.state
    if which not in ("open", "all", "overdue"):
        try:
            which = state_name(which)
        except ValueError as err:
            raise CliError(f"--state: {err}") from None
    if args.office is not None and settings is not None and settings.office(args.office) is None:
        raise CliError(f"--office: no office '{args.office}' (expected one of "
                       f"{', '.join(o.name for o in settings.offices) or 'none configured'})")
    rows = select_tickets(store.list(office=args.office, by_due=True), which, now)
    tickets = [{**r.as_dict(), "overdue": is_overdue(r, now)} for r in rows]
    from centralino.config.names import display_names

    return format_result(["tickets"], {"timezone": zone, "tickets": tickets,
                                       "names": display_names(settings) if settings is not None else {},
                                       "overdue": sum(t["overdue"] for t in tickets)})


def _change(store, args, zone: str, now: datetime) -> str:
    from centralino.records.tickets import DEFAULT_OUTCOME, ticket_id

    from .console import format_result

    if args.number is None:
        raise CliError(f"tickets {args.action}: which ticket? (expected its number, e.g. tickets {args.action} 12)")
    try:
        number = ticket_id(args.number)
    except ValueError as err:
        raise CliError(f"tickets {args.action}: {err}") from None
    if args.action == "history":
        events = store.history(number)
        return format_result(["ticket"], {"timezone": zone, "ticket": number, "history": [e.as_dict() for e in events]})
    if args.action == "take":
        row = store.take(number, args.by, now)
    elif args.action == "wait":
        if not args.waiting_for:
            raise CliError("tickets wait: say whom it waits for with --for (e.g. --for \"Agenzia delle Entrate\")")
        row = store.wait(number, args.by, now, args.waiting_for)
    elif args.action == "resume":
        row = store.resume(number, args.by, now)
    else:
        row = store.close(number, args.by, now, args.note, args.outcome or DEFAULT_OUTCOME)
    due = "suspended" if row.status == "waiting" else row.due_at or "-"
    return f"ticket {row.id}: {row.status}" + (f" ({row.outcome})" if row.outcome else "") + f", due {due}"


def run(args) -> int:
    from centralino.records.database import RecordNotFound, RecordsError
    from centralino.records.tickets import TicketStore

    settings = _settings(args)
    database = args.database or (Path(settings.records.database) if settings is not None else None)
    zone = settings.comune.timezone if settings is not None else DEFAULT_ZONE
    if database is None:
        raise CliError("say which records to read: --config FILE or --database FILE")
    if not Path(database).exists():
        raise CliError(f"{database}: no records there (has centralino run yet?)")
    if args.action == "list" and args.number is not None:
        raise CliError(f"tickets: unexpected '{args.number}' (list takes --state, --office, --overdue)")
    now = datetime.now(timezone.utc)
    try:
        with TicketStore(database) as store:
            text = _list(store, args, settings, zone, now) if args.action == "list" else \
                _change(store, args, zone, now)
    except (ValueError, RecordNotFound) as err:  # TicketError too: a change the ticket's state does not allow, a bad outcome
        raise CliError(f"tickets {args.action}: {str(err).removeprefix(f'{database}: ')}") from None
    except RecordsError as err:
        raise CliError(str(err)) from err
    print(text)
    return 0
