"""Console commands for the offices' work: tickets (their states, deadlines, history) and the segreteria.

Registered into ``commands.COMMANDS`` when that module is imported (its last line imports this
one). They read and write through the daemon's records writer (``ctx.daemon.writer``), never on
the loop that carries calls; a change made while the database cannot be written is kept in
memory and said so. Times go back as the stored UTC text with the comune's ``timezone``, like
``cdr``, and the console shows them locally.
"""

from __future__ import annotations

from centralino.records.database import RecordsError
from centralino.records.writer import RecordsKept
from centralino.records.deadlines import is_overdue, select_tickets
from centralino.records.tickets import (DEFAULT_OUTCOME, OUTCOMES, STATE_WORDS, STATUSES, TicketError, state_name,
                                        ticket_id)
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


def _names(ctx: ControlContext) -> dict:
    """The offices' display names for the console's tables (config/names.py)."""
    from centralino.config.names import display_names

    return display_names(ctx.daemon.settings)


def _answer(ctx: ControlContext, key: str, rows: list, **extra) -> dict:
    return {"timezone": ctx.daemon.settings.comune.timezone, "names": _names(ctx), **extra,
            key: [r.as_dict() for r in rows]}


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


TICKET_FILTERS = "open (the default: not closed), all, overdue, new, in_charge, waiting, closed"


def _ticket_rows(ctx: ControlContext, rows: list, now) -> list[dict]:
    """Tickets as answers: each with ``overdue`` (not closed, not waiting, past its due time)."""
    return [{**r.as_dict(), "overdue": is_overdue(r, now)} for r in rows]


def _tickets_filter(ctx: ControlContext, words: list[str]) -> tuple[str, str | None]:
    """(which, office) from up to two words in any order: a state or filter, an office."""
    which, office = "open", None
    offices = _offices(ctx)
    for word in words:
        if word in offices:
            office = word
        elif word in ("open", "all", "overdue") or word in STATUSES or word in STATE_WORDS:
            which = word if word in ("open", "all", "overdue") else state_name(word)
        else:
            raise CommandError(f"tickets: no office {word!r}; offices: {', '.join(offices) or 'none configured'}; "
                               f"nor a state ({TICKET_FILTERS})")
    return which, office


@command("tickets", "tickets [open|all|OFFICE]", "tickets by state and office, soonest due first",
         details=f"Up to two words, a state and an office. States: {TICKET_FILTERS}.\n"
                 "new is stored as open, in_charge as in_progress; waiting tickets (for another office or\n"
                 "administration) have their deadline suspended. overdue: past due, not closed, not waiting.\n"
                 f"OFFICE: only that office's. At most {LIST_MAX}: the soonest due (all, closed: the latest).",
         max_args=2)
async def tickets(ctx: ControlContext, args: list[str]):
    which, office = _tickets_filter(ctx, args)
    now = ctx.daemon.wall_clock()
    rows = select_tickets(await _records(ctx, "tickets", lambda st: st.tickets.list(office=office, by_due=True),
                                         keep=False), which, now)
    shown = rows[-LIST_MAX:] if which in ("all", "closed") else rows[:LIST_MAX]  # the latest, or the soonest due
    answer = {"timezone": ctx.daemon.settings.comune.timezone, "which": which, "office": office or "",
              "names": _names(ctx), "tickets": _ticket_rows(ctx, shown, now)}
    answer["overdue"] = sum(t["overdue"] for t in answer["tickets"])
    return answer


def announce_closed(ctx: ControlContext, row) -> None:
    """The ticket is closed on disk: the citizen's SMS (flows/ticket_sms.py) listens for this."""
    bus = getattr(ctx.daemon, "bus", None)
    if bus is not None:
        bus.publish("ticket.closed", ticket=row.id, caller=row.caller, office=row.office, subject=row.subject,
                    status=row.status)


@command("ticket close", "ticket close N [NOTE...]", "close ticket N, with its outcome and a note",
         details=f"The note may start with the outcome: one of {', '.join(OUTCOMES)} (default\n"
                 f"{DEFAULT_OUTCOME}), e.g. ticket close 12 not_reached numero inesistente.",
         max_args=2 + NOTE_WORDS_MAX, audited=True)
async def ticket_close(ctx: ControlContext, args: list[str]):
    number = _number("ticket close", args, ticket_id)
    words = args[1:]
    outcome = words.pop(0) if words and words[0] in OUTCOMES else DEFAULT_OUTCOME
    now, note = ctx.daemon.wall_clock(), " ".join(words)
    row = await _records(ctx, "ticket close", lambda st: st.tickets.close(number, CONSOLE_USER, now, note, outcome))
    announce_closed(ctx, row)
    return row.as_dict()


@command("ticket wait", "ticket wait N FOR...", "ticket N waits for another office or administration",
         details="The deadline is suspended until 'ticket resume N' (or the ticket is closed); FOR says\n"
                 "whom it waits for, e.g. ticket wait 12 Agenzia delle Entrate.",
         max_args=1 + NOTE_WORDS_MAX, audited=True)
async def ticket_wait(ctx: ControlContext, args: list[str]):
    number = _number("ticket wait", args, ticket_id)
    if len(args) < 2:
        raise CommandError(f"ticket wait: say whom ticket {number} waits for; usage: "
                           f"{COMMANDS['ticket wait'].usage}")
    now, whom = ctx.daemon.wall_clock(), " ".join(args[1:])
    return (await _records(ctx, "ticket wait", lambda st: st.tickets.wait(number, CONSOLE_USER, now, whom))).as_dict()


@command("ticket resume", "ticket resume N", "waiting ticket N goes on; its deadline runs again",
         max_args=1, audited=True)
async def ticket_resume(ctx: ControlContext, args: list[str]):
    number = _number("ticket resume", args, ticket_id)
    now = ctx.daemon.wall_clock()
    return (await _records(ctx, "ticket resume", lambda st: st.tickets.resume(number, CONSOLE_USER, now))).as_dict()


@command("ticket history", "ticket history N", "every change of ticket N: who, when, what", max_args=1)
async def ticket_history(ctx: ControlContext, args: list[str]):
    number = _number("ticket history", args, ticket_id)
    events = await _records(ctx, "ticket history", lambda st: st.tickets.history(number), keep=False)
    return {"timezone": ctx.daemon.settings.comune.timezone, "ticket": number,
            "history": [e.as_dict() for e in events]}


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


WHEN = "HH:MM|YYYY-MM-DDTHH:MM"


@command("service", "service [day|night|auto|crisis [from WHEN] [until WHEN]]",
         "the offices' service: automatic (hours and holidays), or forced day, night or crisis",
         details="day: every office answers as if open; night: every office is closed (callers\n"
                 "hear the hours and reach the segreteria). crisis (Protezione Civile): the offices\n"
                 "of crisis.offices (all without it) answer around the clock, callers hear the crisis\n"
                 "announcement first, calls are marked crisis in their record. 'until WHEN': it ends\n"
                 "by itself then; 'from WHEN until WHEN': a window ahead, it starts by itself.\n"
                 "WHEN is HH:MM (the next such time, local; for until, the next after the start)\n"
                 "or YYYY-MM-DDTHH:MM. day or night end a crisis on now but keep a window ahead; auto\n"
                 "ends both. A crisis and its window outlive a config reload and a restart.\n"
                 "Emergency calls are never affected. Staff phones: *51 day, *52 night, *53 crisis,\n"
                 "*50 auto.",
         max_args=5, audited=True)
async def service(ctx: ControlContext, args: list[str]):
    flows = ctx.daemon.flows
    if flows is None or ctx.daemon.engine is None:
        raise CommandError("service: the switchboard is not running yet")
    if args:
        if args[0] not in SERVICE_MODES:
            raise CommandError(f"service: '{args[0]}' is not a mode\n{COMMANDS['service'].help()}")
        starts, until = _crisis_window(ctx, args)
        flows.set_service_mode(SERVICE_MODES[args[0]], by="console", until=until, starts=starts)
        await flows.crisis_written()  # the answer says whether a restart would keep it
    return service_answer(flows)


def service_answer(flows) -> dict:
    """The service mode, when a crisis on now ends, and a crisis window ahead."""
    answer = {"service": flows.service_mode}
    state = flows.crisis_state
    if state.active and state.until is not None:  # a crisis window: when it ends by itself
        answer["until"] = state.until.isoformat()
    if state.scheduled:
        answer["scheduled"] = {"from": state.starts.isoformat(), "until": state.ends.isoformat()}
    if not flows.crisis_saved:
        answer["warning"] = "the crisis state could not be written to disk: a restart would lose it (see the log)"
    return answer


def _crisis_window(ctx: ControlContext, args: list[str]):
    """(starts, until) of ``service crisis [from WHEN] [until WHEN]``; (None, None) for other modes."""
    words = args[1:]
    if not words:
        return None, None
    usage = f"service: usage: {COMMANDS['service'].usage}"
    if args[0] != "crisis":
        raise CommandError(usage)
    given: dict[str, str] = {}
    while words:
        if len(words) < 2 or words[0] not in ("from", "until") or words[0] in given:
            raise CommandError(usage)
        given[words[0]] = words[1]
        words = words[2:]
    if "from" in given and "until" not in given:
        raise CommandError("service: from: a crisis window needs its end too (service crisis from "
                           f"{given['from']} until {WHEN})")
    now = ctx.daemon.wall_clock()
    starts = _moment(ctx, "from", given["from"], now) if "from" in given else None
    until = _moment(ctx, "until", given["until"], starts or now)
    if starts is not None and until <= starts:
        raise CommandError(f"service: until: {given['until']} is not after the start ({given['from']})")
    return starts, until


def _moment(ctx: ControlContext, word: str, text: str, after):
    """HH:MM (the next such time after ``after``, local) or YYYY-MM-DDTHH:MM (local), in the future."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(ctx.daemon.settings.comune.timezone)
    after = after.astimezone(zone)
    try:
        if len(text) == 5 and text[2] == ":":
            at = datetime.combine(after.date(), time.fromisoformat(text), zone)
            return at if at > after else at + timedelta(days=1)
        at = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"service: {word}: '{text}' is not a time (HH:MM) or a date and time "
                           "(YYYY-MM-DDTHH:MM)") from None
    at = at.replace(tzinfo=zone) if at.tzinfo is None else at
    if at <= ctx.daemon.wall_clock():
        raise CommandError(f"service: {word}: {text} is already past")
    return at
