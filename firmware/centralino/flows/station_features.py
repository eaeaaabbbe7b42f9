"""Feature codes an office's staff dial from their own phone.

- log in / log out of their response groups (a member away is skipped by groups and queues);
- day, night or automatic service (operators only): the manual override of the office hours;
- listen to their offices' segreteria (each message is marked heard as it is played);
- call the oldest pending callback of their offices (the ticket goes in progress, and is closed
  when the citizen answers; reopened when they do not).
"""

from __future__ import annotations

import logging

from centralino.records.database import RecordsError

from . import sentences

log = logging.getLogger("centralino.flows")

MODES = {"day_mode": ("day", "servizio_giorno"), "night_mode": ("night", "servizio_notte"),
         "auto_mode": (None, "servizio_automatico"), "crisis_mode": ("crisis", None)}
FEATURES = ("login", "logout", "voicemail", "next_callback", *MODES)


def load_config(settings, host):
    for feature in FEATURES:
        host.register_feature(feature, (lambda name: lambda h, ctx, session: run_feature(h, ctx, session, name))(feature))
    return None


def offices_of(settings, station) -> list:
    """The offices whose response group includes this station."""
    return [o for o in settings.offices if station.number in settings.group(o.group).members]


async def run_feature(host, ctx, session, feature: str) -> None:
    """The coroutine behind a feature code; the station hears the outcome."""
    station = ctx.station
    if feature in ("login", "logout"):
        station.logged_in = feature == "login"
        ctx.changed()
        ctx.note(feature, ext=station.number)
        await session.say("in_servizio" if station.logged_in else "fuori_servizio", barge_in=False)
    elif feature in MODES:
        if not station.operator:
            ctx.note("refused", ext=station.number, feature=feature, why="not an operator")
            session.hold_tone("it:congestion")
            return
        mode, prompt = MODES[feature]
        host.set_service_mode(mode, by=f"ext {station.number}")
        await session.say(prompt or sentences.crisis_announcement(ctx.settings), barge_in=False)
    elif feature == "voicemail":
        await _listen_to_messages(host, ctx, session)
    elif feature == "next_callback":
        await _next_callback(host, ctx, session)
    ctx.done()  # busy tone until the phone is hung up (unless it is now calling a citizen back)


async def _read(host, job, default):
    """A read through the records writer; ``default`` while the database cannot be read."""
    try:
        return await host.records.run(job, keep=False)
    except RecordsError as err:
        log.warning("records unavailable to a staff phone: %s", err)
        return default


async def _listen_to_messages(host, ctx, session) -> None:
    station = ctx.station
    offices = [o.name for o in offices_of(ctx.settings, station)] or ([None] if station.operator else [])

    def unheard(st):
        found = [m for office in offices for m in st.voicemail.list(office=office, unheard=True)]
        return sorted(found, key=lambda m: m.received_at)

    messages = await _read(host, unheard, []) if host.records is not None else []
    if not messages:
        await session.say("nessun_messaggio", barge_in=False)
        return
    count = len(messages)
    await session.say("avete", ["un nuovo messaggio"] if count == 1 else [str(count), "nuovi messaggi"],
                      barge_in=False)
    for index, message in enumerate(messages):
        if index:
            await session.say("messaggio_seguente", barge_in=False)
        session.forget_keys()
        samples = await _read(host, lambda st, m=message.id: st.voicemail.samples(m), None)
        if samples is None:
            continue
        await session.play(samples, barge_in=True, name=f"voicemail:{message.id}")
        now = ctx.wall_clock()
        host.records.submit(lambda st, m=message.id: st.voicemail.mark_heard(m, station.number, now))
        ctx.note("voicemail-heard", ext=station.number, message=message.id)
    await session.say("fine_messaggi", barge_in=False)


async def _next_callback(host, ctx, session) -> None:
    station = ctx.station
    offices = [o.name for o in offices_of(ctx.settings, station)]
    everyone = [o.name for o in ctx.settings.offices] if station.operator else []
    now = ctx.wall_clock()

    def take_oldest(st):
        """One job: two operators dialling at once cannot take the same ticket."""
        for names in (offices, everyone):
            pending = [t for name in names if (t := st.tickets.next_pending(name)) is not None]
            if pending:
                ticket = min(pending, key=lambda t: t.opened_at)
                st.tickets.take(ticket.id, station.number, now)
                return ticket
        return None

    ticket = await _read(host, take_oldest, None) if host.records is not None else None
    if ticket is None:
        await session.say("nessuna_richiamata", barge_in=False)
        return
    ctx.note("callback-taken", ext=station.number, ticket=ticket.id)
    ctx.call_outside(ticket.caller, ticket_id=ticket.id, office=ticket.office)
