"""Console commands for the offices' work: callback tickets and the segreteria's messages.

Registered into ``commands.COMMANDS`` when that module is imported (its last line imports this
one). They read and write through the daemon's records writer (``ctx.daemon.writer``), never on
the loop that carries calls; a change made while the database cannot be written is kept in
memory and said so. Times go back as the stored UTC text with the comune's ``timezone``, like
``cdr``, and the console shows them locally.
"""

from __future__ import annotations

from centralino.records.database import RecordsError
from centralino.records.writer import RecordsKept
from centralino.records.tickets import TicketError, ticket_id
from centralino.records.voicemail import message_id

from .commands import COMMANDS, CommandError, ControlContext, command

LIST_MAX = 200  # rows in one answer: the newest, enough for a screen and a scroll-back
NOTE_WORDS_MAX = 60
CONSOLE_USER = "console"


def _offices(ctx: ControlContext) -> list[str]:
    return [office.name for office in getattr(ctx.daemon.settings, "offices", ())]


def _office(ctx: ControlContext, name: str, cmd: str) -> str:
    known = _offices(ctx)
    if name not in known:
        raise CommandError(f"{cmd}: no office {name!r}; offices: {', '.join(known) or 'none configured'}")
    return name


def _number(cmd: str, args: list[str], parse) -> int:
    usage = COMMANDS[cmd].usage
    if not args:
        raise CommandError(f"{cmd}: which number? usage: {usage}")
    try:
        return parse(args[0])
    except ValueError:
        raise CommandError(f"{cmd}: N must be a whole number from 1, got {args[0]!r}; usage: {usage}") from None


def _newest(rows: list) -> list:
    return rows[-LIST_MAX:]


def _answer(ctx: ControlContext, key: str, rows: list, **extra) -> dict:
    return {"timezone": ctx.daemon.settings.comune.timezone, **extra, key: [r.as_dict() for r in rows]}


def _store_error(cmd: str, err: RecordsError, ctx: ControlContext) -> CommandError:
    """A store's message without the database path (the technician knows which database)."""
    return CommandError(f"{cmd}: {str(err).removeprefix(f'{ctx.daemon.writer.path}: ')}")


async def _records(ctx: ControlContext, cmd: str, job, keep: bool = True):
    """``job(stores)`` through the writer; a store's refusal becomes the command's error."""
    try:
        return await ctx.daemon.writer.run(job, keep=keep)
    except RecordsKept as err:
        raise CommandError(f"{cmd}: the database cannot be written now; the change is kept in memory "
                           "and written when it can be") from err
    except (TicketError, RecordsError) as err:
        raise _store_error(cmd, err, ctx) from None


@command("tickets", "tickets [open|all|OFFICE]", "callback tickets: still to do (default), all, or one office's",
         details="open (the default): tickets not closed yet, in progress included.\n"
                 f"all: every ticket (the newest {LIST_MAX}). OFFICE: that office's tickets not closed yet.",
         max_args=1)
async def tickets(ctx: ControlContext, args: list[str]):
    which = args[0] if args else "open"
    rows = await _records(ctx, "tickets", lambda st: st.tickets.list(), keep=False)
    if which == "all":
        return _answer(ctx, "tickets", _newest(rows), which="all")
    if which != "open":
        office = _office(ctx, which, "tickets")
        rows = [r for r in rows if r.office == office]
    return _answer(ctx, "tickets", _newest([r for r in rows if r.status != "closed"]), which=which)


@command("ticket close", "ticket close N [NOTE...]", "close callback ticket N, with an optional note",
         max_args=1 + NOTE_WORDS_MAX, audited=True)
async def ticket_close(ctx: ControlContext, args: list[str]):
    number = _number("ticket close", args, ticket_id)
    now, note = ctx.daemon.wall_clock(), " ".join(args[1:])
    row = await _records(ctx, "ticket close", lambda st: st.tickets.close(number, CONSOLE_USER, now, note))
    return row.as_dict()


@command("voicemail", "voicemail [OFFICE]", "the segreteria's messages, of every office or of one",
         details=f"The newest {LIST_MAX}; heard_at is empty for a message nobody has listened to.", max_args=1)
async def voicemail(ctx: ControlContext, args: list[str]):
    office = _office(ctx, args[0], "voicemail") if args else None
    rows = await _records(ctx, "voicemail", lambda st: st.voicemail.list(office=office), keep=False)
    return _answer(ctx, "messages", _newest(rows), unheard=sum(r.heard_at is None for r in rows))


@command("voicemail heard", "voicemail heard N", "mark message N as listened to", max_args=1, audited=True)
async def voicemail_heard(ctx: ControlContext, args: list[str]):
    number = _number("voicemail heard", args, message_id)
    now = ctx.daemon.wall_clock()
    row = await _records(ctx, "voicemail heard", lambda st: st.voicemail.mark_heard(number, CONSOLE_USER, now))
    return row.as_dict()


@command("voicemail delete", "voicemail delete N", "delete message N and its recording", max_args=1,
         audited=True)
async def voicemail_delete(ctx: ControlContext, args: list[str]):
    number = _number("voicemail delete", args, message_id)
    row = await _records(ctx, "voicemail delete", lambda st: st.voicemail.delete(number))
    return {"deleted": row.id, "office": row.office, "received_at": row.received_at}


SERVICE_MODES = {"day": "day", "night": "night", "auto": None, "crisis": "crisis"}


@command("service", "service [day|night|crisis|auto]",
         "the offices' service: automatic (hours and holidays), or forced day, night or crisis",
         details="day: every office answers as if open; night: every office is closed (callers hear the\n"
                 "hours and reach the segreteria); crisis (Protezione Civile): every office answers\n"
                 "around the clock and callers hear the crisis announcement first, calls are marked\n"
                 "'crisis' in their route; auto: back to the hours and holidays.\n"
                 "Staff phones do the same with the feature codes (*51 day, *52 night, *50 auto).",
         max_args=1, audited=True)
def service(ctx: ControlContext, args: list[str]):
    flows = ctx.daemon.flows
    if flows is None or ctx.daemon.engine is None:
        raise CommandError("service: the switchboard is not running yet")
    if args:
        if args[0] not in SERVICE_MODES:
            raise CommandError(f"service: '{args[0]}' is not a mode\n{COMMANDS['service'].help()}")
        flows.set_service_mode(SERVICE_MODES[args[0]], by="console")
    return {"service": flows.service_mode}
