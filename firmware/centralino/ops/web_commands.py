"""Control commands the web pages need beyond the console's: searches, the wallboard, figures,
audio, and ticket changes made on behalf of a named account.

The web service runs as its own user with no access to the database, so everything it shows comes
from here, through the control socket, like the console. Changes carry the account that made them
(``ticket take 12 mrossi``), so the records say who did what, not just "web". Registered into the
same table as the console's commands (``ops/commands.py`` imports this module).
"""

from __future__ import annotations

import base64
from zoneinfo import ZoneInfo

from centralino.records import cdr_search, stats
from centralino.records.database import RecordsError
from centralino.records.deadlines import is_overdue
from centralino.config.names import display_names, office_shown
from centralino.records.tickets import ticket_id
from centralino.records.voicemail import message_id

from .commands import COMMANDS, CommandError, ControlContext, command
from .office_commands import NOTE_WORDS_MAX, _number, _records, announce_closed

ACCOUNT_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
CITIZEN_DIGITS = 4
MONTHS_PER_YEAR = 12


def _account(cmd: str, args: list[str], index: int = 1) -> str:
    """The account a change is made for: a short lower-case name (what the records keep)."""
    if len(args) <= index:
        raise CommandError(f"{cmd}: for which account? usage: {COMMANDS[cmd].usage}")
    name = args[index]
    if not 1 <= len(name) <= 32 or not set(name) <= ACCOUNT_CHARS:
        raise CommandError(f"{cmd}: {name!r} is not an account name (a-z, 0-9, . _ -, at most 32)")
    return name


def _zone(ctx: ControlContext) -> str:
    return ctx.daemon.settings.comune.timezone


def _int(cmd: str, key: str, text: str | None, default: int) -> int:
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise CommandError(f"{cmd}: {key} must be a whole number, got {text!r}") from None


# ------------------------------------------------------------------------------ call records
@command("cdr search", "cdr search [KEY=VALUE...]", "search the call records, newest first, by page",
         details="Keys: from=DAY to=DAY office=NAME number=DIGITS outcome=DISPOSITION\n"
                 "direction=inbound|outbound|internal limit=N offset=N.\n"
                 "DAY is YYYY-MM-DD in the comune's time zone, both ends included; number matches\n"
                 f"anywhere in the caller or called number as stored (masked digits cannot be found);\n"
                 f"limit 1..{cdr_search.PAGE_MAX} (default 50).", max_args=8)
def cdr_search_(ctx: ControlContext, args: list[str]):
    try:
        flt, rest = cdr_search.CdrFilter.parse(args)
        limit = _int("cdr search", "limit", rest.get("limit"), 50)
        offset = _int("cdr search", "offset", rest.get("offset"), 0)
        total, rows = cdr_search.search(ctx.daemon.database, flt, _zone(ctx), limit, offset)
    except (ValueError, RecordsError) as err:
        raise CommandError(f"cdr search: {err}") from None
    return {"timezone": _zone(ctx), "total": total, "offset": offset, "limit": limit, "records": rows}


@command("cdr export", "cdr export [KEY=VALUE...]", "every matching call record as rows, for a CSV file",
         details=f"The keys of cdr search but limit and offset; at most {cdr_search.EXPORT_MAX} rows.", max_args=6)
def cdr_export(ctx: ControlContext, args: list[str]):
    from centralino.records.cdr import FIELDS

    try:
        flt, rest = cdr_search.CdrFilter.parse(args)
        if rest:
            raise ValueError(f"{', '.join(rest)}: an export has no pages")
        rows = cdr_search.export(ctx.daemon.database, flt, _zone(ctx))
    except (ValueError, RecordsError) as err:
        raise CommandError(f"cdr export: {err}") from None
    return {"timezone": _zone(ctx), "fields": list(FIELDS), "rows": rows}


# ------------------------------------------------------------------------------ wallboard
def _today(ctx: ControlContext) -> stats.Period:
    local = ctx.daemon.wall_clock().astimezone(ZoneInfo(_zone(ctx)))
    return stats.day(f"{local:%Y-%m-%d}", _zone(ctx))


def _members(ctx: ControlContext, office) -> list[dict]:
    engine = ctx.daemon.engine
    group = next((g for g in ctx.daemon.settings.groups if g.name == office.group), None)
    rows = []
    for number in (group.members if group else ()):
        station = engine.stations.get(number) if engine else None
        if station is None:
            continue
        state = ("fault" if not station.channel.in_service else "away" if not station.logged_in
                 else "free" if station.free else "busy")
        rows.append({"number": number, "name": station.name, "state": state})
    return rows


def _waiting(ctx: ControlContext, office_name: str) -> list[float]:
    """How long each caller now waiting for the office has waited (queue or ringing a member)."""
    engine = ctx.daemon.engine
    if engine is None:
        return []
    now = engine.clock()
    return sorted((now - call.facts["queue_entered_s"] for call in engine.calls
                   if call.facts.get("office") == office_name and call.answered_at is None
                   and call.facts.get("queue_entered_s") is not None), reverse=True)


@command("wallboard", "wallboard [OFFICE...]",
         "per office: callers waiting, operators, today's figures",
         max_args=16)
def wallboard(ctx: ControlContext, args: list[str]):
    offices = [o for o in ctx.daemon.settings.offices if not args or o.name in args]
    unknown = sorted(set(args) - {o.name for o in offices})
    if unknown:
        raise CommandError(f"wallboard: no office {', '.join(unknown)}; offices: "
                           f"{', '.join(o.name for o in ctx.daemon.settings.offices)}")
    try:
        report = stats.office_stats(ctx.daemon.database, _today(ctx), stats.targets_from_settings(ctx.daemon.settings))
    except RecordsError as err:
        raise CommandError(f"wallboard: {err}") from None
    boards = []
    for office in offices:
        waits = _waiting(ctx, office.name)
        members = _members(ctx, office)
        today = report.office(office.name)
        figures = today.total if today else stats.Figures()
        boards.append({"office": office.name, "waiting": len(waits), "longest_wait_s": round(waits[0], 1) if waits else 0.0,
                       "members": members, "free": sum(m["state"] == "free" for m in members),
                       "busy": sum(m["state"] == "busy" for m in members),
                       "away": sum(m["state"] in ("away", "fault") for m in members),
                       "logged_in": sum(m["state"] in ("free", "busy") for m in members),
                       "today": {"offered": figures.offered, "answered": figures.answered,
                                 "abandoned": figures.abandoned, "target_s": today.target_s if today else None,
                                 "service_level": None if figures.service_level is None
                                 else round(figures.service_level, 3)}})
    local = ctx.daemon.wall_clock().astimezone(ZoneInfo(_zone(ctx)))
    return {"timezone": _zone(ctx), "at": local.isoformat(timespec="seconds"), "offices": boards}


# ------------------------------------------------------------------------------ statistics
def _figures(f: stats.Figures) -> dict:
    return {"offered": f.offered, "answered": f.answered, "answered_in_target": f.answered_in_target,
            "abandoned": f.abandoned, "overflowed": f.overflowed, "voicemails": f.voicemails,
            "callbacks_opened": f.callbacks_opened, "callbacks_closed": f.callbacks_closed,
            "close_mean_s": f.close_mean_s, "close_max_s": f.close_max_s if f.callbacks_closed else None,
            "longest_wait_s": f.longest_wait_s,
            "service_level": None if f.service_level is None else round(f.service_level, 3)}


def _periods(kind: str, value: str, zone: str) -> tuple[str, list[tuple[str, stats.Period]]]:
    """The period asked for and the slices to total: one per day of a month, one per month of a year."""
    if kind == "days":
        month = stats.month(value, zone)
        days = (month.end.date() - month.start.date()).days
        return month.label, [(f"{d:02d}", stats.day(f"{value}-{d:02d}", zone)) for d in range(1, days + 1)]
    if kind == "months":
        if not (len(value) == 4 and value.isdigit()):
            raise ValueError(f"bad year {value!r} (expected YYYY, e.g. 2026)")
        return value, [(f"{m:02d}", stats.month(f"{value}-{m:02d}", zone)) for m in range(1, MONTHS_PER_YEAR + 1)]
    raise ValueError(f"unknown kind {kind!r}")


@command("report", "report KIND WHEN [OFFICE]", "the statistics as data, for the web's charts",
         details="KIND WHEN: day 2026-11-24, month 2026-11: per office and per local hour;\n"
                 "days 2026-11: each day's totals per office; months 2026: each month's.", max_args=3)
def report(ctx: ControlContext, args: list[str]):
    usage = COMMANDS["report"].usage
    if len(args) < 2:
        raise CommandError(f"report: which period? usage: {usage}")
    kind, value, office = args[0], args[1], (args[2] if len(args) > 2 else None)
    zone, settings = _zone(ctx), ctx.daemon.settings
    targets = stats.targets_from_settings(settings)
    if office is not None and office not in targets:
        raise CommandError(f"report: no office {office!r}; offices: {', '.join(targets)}")
    database = ctx.daemon.database
    try:
        if kind in ("day", "month"):
            period = stats.day(value, zone) if kind == "day" else stats.month(value, zone)
            report = stats.office_stats(database, period, targets, office=office)
            return {"kind": kind, "period": period.label, "timezone": zone,
                    "offices": [{"office": o.label, "target_s": o.target_s, "total": _figures(o.total),
                                 "hours": [_figures(f) for f in o.hours]} for o in report.offices],
                    "total": _figures(report.total)}
        if kind not in ("days", "months"):
            raise CommandError(f"report: '{kind}' is not day, month, days or months; usage: {usage}")
        label, slices = _periods(kind, value, zone)
        rows = []
        for name, period in slices:
            report = stats.office_stats(database, period, targets, office=office)
            rows.append({"slice": name, "offices": {o.label: _figures(o.total) for o in report.offices},
                         "total": _figures(report.total)})
        return {"kind": kind, "period": label, "timezone": zone, "slices": rows}
    except ValueError as err:
        raise CommandError(f"report: {err}") from None
    except RecordsError as err:
        raise CommandError(f"report: {err}") from None


# ------------------------------------------------------------------------------ segreteria
@command("voicemail audio", "voicemail audio N", "message N's recording, as base64 WAV bytes", max_args=1)
async def voicemail_audio(ctx: ControlContext, args: list[str]):
    number = _number("voicemail audio", args, message_id)
    row, data = await _records(ctx, "voicemail audio",
                               lambda st: (st.voicemail.get(number), st.voicemail.wav_bytes(number)), keep=False)
    return {"id": row.id, "office": row.office, "bytes": len(data), "wav_base64": base64.b64encode(data).decode()}


@command("voicemail mark", "voicemail mark N WHO", "mark message N as heard by account WHO",
         max_args=2, audited=True)
async def voicemail_mark(ctx: ControlContext, args: list[str]):
    number = _number("voicemail mark", args, message_id)
    by, now = _account("voicemail mark", args), ctx.daemon.wall_clock()
    row = await _records(ctx, "voicemail mark", lambda st: st.voicemail.mark_heard(number, by, now))
    return row.as_dict()


# ------------------------------------------------------------------------------ tickets
@command("ticket show", "ticket show N", "one callback ticket with its history", max_args=1)
async def ticket_show(ctx: ControlContext, args: list[str]):
    number = _number("ticket show", args, ticket_id)
    row, events = await _records(ctx, "ticket show", lambda st: (st.tickets.get(number), st.tickets.history(number)),
                                 keep=False)
    history = [{"at": e.at, "what": e.action, "by": e.by, "note": e.detail} for e in events]
    return {"timezone": _zone(ctx), **row.as_dict(), "overdue": is_overdue(row, ctx.daemon.wall_clock()),
            "history": history}


@command("ticket take", "ticket take N WHO", "account WHO takes open ticket N in charge",
         max_args=2, audited=True)
async def ticket_take(ctx: ControlContext, args: list[str]):
    number = _number("ticket take", args, ticket_id)
    by, now = _account("ticket take", args), ctx.daemon.wall_clock()
    return (await _records(ctx, "ticket take", lambda st: st.tickets.take(number, by, now))).as_dict()


@command("ticket done", "ticket done N WHO [NOTE]", "account WHO closes ticket N, with a note",
         max_args=2 + NOTE_WORDS_MAX, audited=True)
async def ticket_done(ctx: ControlContext, args: list[str]):
    number = _number("ticket done", args, ticket_id)
    by, now, note = _account("ticket done", args), ctx.daemon.wall_clock(), " ".join(args[2:])
    row = await _records(ctx, "ticket done", lambda st: st.tickets.close(number, by, now, note))
    announce_closed(ctx, row)
    return row.as_dict()


@command("ticket lookup", "ticket lookup N LAST4", "a citizen's view of ticket N (last 4 digits)",
         details="Answers found: false for a missing ticket and for wrong digits alike, so the answer\n"
                 "reveals nothing to someone guessing; found: true gives only state, office and dates.",
         max_args=2)
async def ticket_lookup(ctx: ControlContext, args: list[str]):
    if len(args) != 2:
        raise CommandError(f"ticket lookup: usage: {COMMANDS['ticket lookup'].usage}")
    digits = args[1]
    if len(digits) != CITIZEN_DIGITS or not digits.isdigit():
        raise CommandError(f"ticket lookup: LAST4 must be {CITIZEN_DIGITS} digits")
    try:
        number = ticket_id(args[0])
        row = await ctx.daemon.writer.run(lambda st: st.tickets.get(number), keep=False)
    except (ValueError, RecordsError):
        return {"found": False}
    if not row.caller.endswith(digits):  # a masked number ends in x: it matches nothing
        return {"found": False}
    shown = office_shown(row.office, display_names(ctx.daemon.settings))  # never the identifier
    return {"found": True, "timezone": _zone(ctx), "id": row.id, "status": row.status, "office": shown,
            "opened_at": row.opened_at, "closed_at": row.closed_at, "due_at": row.due_at}



@command("comune", "comune", "the comune's name, time zone and offices")
def comune(ctx: ControlContext, args: list[str]):
    settings = ctx.daemon.settings
    return {"name": settings.comune.name, "timezone": settings.comune.timezone,
            "offices": [o.name for o in settings.offices],
            "titles": {o.name: o.title or o.name for o in settings.offices}}  # what pages show
