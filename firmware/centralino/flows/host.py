"""The flow host: builds the flows the configuration asks for and starts them by kind.

Each flow module is found by name (``FLOW_MODULES``) and builds itself from the configuration
with its ``load_config(settings, host)``, the way Klipper builds a printer from its config
sections; it registers the kinds it serves (``host.register("menu", ...)``). Adding a flow is
adding a module to that list, not editing the engine.

The engine calls the host for four things: where a line call really goes (``destination_for``:
the failover forward may take over), whether its flow starts at the first ring, and starting a
flow for a call or for a staff phone's feature code. A flow runs as one coroutine with its
context (calls/context.py) and a ``Session`` for audio and keys; whatever it raises costs its own
call only: the caller is offered to the operators, or hung up, and the switchboard goes on.

The host also holds what flows share: the phrase library, the calendar, the offices' queues, and
the records writer (voicemail, tickets: records/writer.py) and mailer the daemon hands over. A
flow never writes the database itself: it hands a job to the writer, which keeps it in memory
while the file cannot be written, so a full disk costs a record, never a caller's call.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from . import crisis_state
from .calendar import Calendar
from .crisis_state import CrisisState
from .phrases import PhraseLibrary
from .session import Session
from .speech import Speech

log = logging.getLogger("centralino.flows")

CRISIS_CALENDAR = Calendar(override="day")  # what an office's hours say in a crisis that opens it
FLOW_MODULES = ("inbound", "failover", "callback", "station_features", "ticket_sms", "wait_estimate", "transfer_desk",
                "queue_callback", "transfer_to_office", "announcements")


@dataclass(frozen=True)
class FlowKind:
    name: str
    run: Callable  # async run(host, ctx, session, destination)
    first_ring: bool = False  # starts at the first ring (before the caller ID)


class FlowHost:
    def __init__(self, settings, bus, clock, wall_clock, records=None, mailer=None, state_dir=None):
        self.settings = settings
        self.bus = bus
        self.clock = clock
        self.wall_clock = wall_clock
        self.records = records  # the RecordWriter, or None (an engine test without records)
        self.mailer = mailer
        # the voice: the shipped words, the comune's recordings and every sentence rendered now
        self.phrases = Speech(PhraseLibrary(comune_dir=settings.rules.prompts if settings.rules else None))
        self.phrases.prepare(settings)
        self.calendar = settings.calendar()
        # service crisis: the offices it opens answer around the clock, the announcement first;
        # kept in state_dir (flows/crisis_state.py) so that a restart does not end it
        self.state_dir = state_dir
        self.crisis_state = CrisisState()
        self.crisis_saved = True  # the last change is on disk
        self._crisis_saving = None  # the Future of the last write of crisis.json
        self._crisis_timer = None
        self.queues: dict = {}
        self.kinds: dict[str, FlowKind] = {}
        self.features: dict[str, Callable] = {}
        self.redirects: list[Callable] = []  # (call facts, destination) -> destination or None
        self.status_parts: dict[str, Callable[[], object]] = {}
        self.engine = None
        self._started: list = []
        self.modules = {}
        for name in FLOW_MODULES:
            module = importlib.import_module(f"centralino.flows.{name}")
            self.modules[name] = module.load_config(settings, self)

    # ------------------------------------------------------------------ registry
    def register(self, kind: str, run: Callable, first_ring: bool = False) -> None:
        self.kinds[kind] = FlowKind(kind, run, first_ring)

    def register_feature(self, name: str, run: Callable) -> None:
        self.features[name] = run

    def register_redirect(self, redirect: Callable) -> None:
        self.redirects.append(redirect)

    def register_status(self, key: str, part: Callable[[], object]) -> None:
        self.status_parts[key] = part

    def lookup(self, name: str):
        """A flow module's object by name (``host.lookup("failover")``), None when not configured."""
        return self.modules.get(name)

    # ------------------------------------------------------------------ the engine's side
    def attach(self, engine) -> None:
        """Called once the engine exists: modules that watch it (failover) start watching."""
        self.engine = engine
        for module in self.modules.values():
            start = getattr(module, "start", None)
            if start is not None:
                self._started.append(module)
                start(engine)

    def take_over(self, old: "FlowHost") -> None:
        """``config reload``: what the old host holds goes on here. Callers waiting for an office
        keep their places, a day/night set by hand stays, and so does a crisis (on now or ahead,
        with its window); modules with work in progress (``hand_over``: the callbacks booked from
        a queue) pass it to this host's."""
        self.queues = old.queues
        self.calendar.set_override(old.calendar.override)
        self.take_crisis(old)
        for name, module in old.modules.items():
            hand_over = getattr(module, "hand_over", None)
            newer = self.modules.get(name)
            if hand_over is not None and newer is not None:
                hand_over(newer)

    async def stop(self) -> None:
        self._cancel_crisis_timer()
        await self.crisis_written()
        for module in self._started:
            stop = getattr(module, "stop", None)
            if stop is not None:
                result = stop()
                if asyncio.iscoroutine(result):
                    await result

    def destination_for(self, call, destination):
        for redirect in self.redirects:
            other = redirect(destination)
            if other is not None:
                return other
        return destination

    def starts_at_first_ring(self, destination) -> bool:
        kind = self.kinds.get(destination.kind)
        return kind is not None and kind.first_ring

    def start_call_flow(self, ctx, destination) -> None:
        kind = self.kinds.get(destination.kind)
        if kind is None:
            log.error("call %s: no flow serves %s; ringing the operators", ctx.call_id, destination)
            kind = self.kinds["operator"]
        session = Session(ctx.channel, self.phrases, self.clock)
        ctx.on_key(session.key)
        ctx.tap(session.heard)
        ctx.run(self._guarded(kind, ctx, session, destination), name=f"flow-{kind.name}-{ctx.call_id[:8]}")

    async def _guarded(self, kind: FlowKind, ctx, session, destination) -> None:
        try:
            await kind.run(self, ctx, session, destination)
        except asyncio.CancelledError:
            raise
        except Exception:  # the flow's fault is its call's, never the switchboard's
            log.exception("call %s: the %s flow failed", ctx.call_id, kind.name)
            ctx.note("flow-failed", call=ctx.call_id[:8], flow=kind.name)
            if not ctx.ended and not ctx.answered:
                ctx.hang_up()
        finally:
            ctx.tap(None)

    def start_station_flow(self, ctx, feature: str) -> None:
        run = self.features.get(feature)
        session = Session(ctx.channel, self.phrases, self.clock)
        ctx.on_key(session.key)
        if run is None:
            log.error("feature %s has no flow", feature)
            session.hold_tone("it:congestion")
            return
        ctx.tap(session.heard)  # a staff phone records the avviso (flows/announcements.py)
        ctx.run(self._guarded_feature(run, ctx, session, feature),
                name=f"feature-{feature}-{ctx.station.number}")

    async def _guarded_feature(self, run, ctx, session, feature: str) -> None:
        try:
            await run(self, ctx, session)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("feature %s on %s failed", feature, ctx.station.number)
            ctx.note("feature-failed", ext=ctx.station.number, feature=feature)
            session.hold_tone("it:congestion")
        finally:
            ctx.tap(None)

    # ------------------------------------------------------------------ shared services
    def queue_for(self, office: str):
        from .office_queue import OfficeQueue

        if office not in self.queues:
            self.queues[office] = OfficeQueue(office)
        return self.queues[office]

    def set_service_mode(self, mode: str | None, by: str, until=None, starts=None) -> None:
        """Day, night, crisis or automatic service (the manual override of office hours).

        Crisis (Protezione Civile): the offices ``crisis.offices`` names (all without it) answer
        around the clock, holidays included, and callers hear the crisis announcement first;
        emergency calls are not touched by any of it. With ``until`` (an aware datetime) the crisis
        ends by itself then; with ``starts`` too it is a window ahead, starting by itself, and the
        service stays as it is until then. Day or night end a crisis on now and keep a window
        ahead; auto ends both."""
        now = self.crisis_state
        if mode == "crisis" and starts is not None:
            self._set_crisis(CrisisState(now.active, now.until, starts, until), by)
            return
        if mode == "crisis":
            state = CrisisState(True, until)
        elif mode is None:
            state = CrisisState()
        else:
            state = CrisisState(False, None, now.starts, now.ends)
        self.calendar.set_override(None if mode == "crisis" else mode)
        self._set_crisis(state, by)

    def _set_crisis(self, state: CrisisState, by: str) -> None:
        self.crisis_state = state
        if self.state_dir is not None:
            self._crisis_saving = crisis_state.save_soon(self.state_dir, state)
            self._crisis_saving.add_done_callback(self._crisis_written)
        self._arm_crisis_timer()
        if self.engine is not None:
            self.engine.note("service-mode", mode=self.service_mode, by=by,
                             until=state.until.isoformat() if state.until else None,
                             window=f"{state.starts.isoformat()}/{state.ends.isoformat()}" if state.scheduled else None)
        self.bus.publish("service.mode", mode=self.service_mode, by=by)

    def _crisis_written(self, future) -> None:
        """On the writer's thread: whether the last change reached the disk (for ``status``)."""
        self.crisis_saved = not future.cancelled() and future.exception() is None and future.result()

    async def crisis_written(self) -> None:
        """Until the last change of the crisis state is on disk (the daemon stops after it)."""
        if self._crisis_saving is not None:
            await asyncio.wrap_future(self._crisis_saving)

    def restore_crisis(self) -> None:
        """At start: the crisis state kept by the last run, with what came due meanwhile."""
        kept = crisis_state.load(self.state_dir)
        state, _ = kept.at(self.wall_clock())
        if state != CrisisState() or kept != state:
            self._set_crisis(state, by="restored at start")

    def take_crisis(self, old: "FlowHost") -> None:
        """A reload: the new flow host goes on with the old one's crisis (on now, or ahead)."""
        old._cancel_crisis_timer()
        self.crisis_state, self.crisis_saved = old.crisis_state, old.crisis_saved
        self._crisis_saving = old._crisis_saving
        self._arm_crisis_timer()

    def _cancel_crisis_timer(self) -> None:
        if self._crisis_timer is not None:
            self._crisis_timer.cancel()
            self._crisis_timer = None

    def _arm_crisis_timer(self) -> None:
        self._cancel_crisis_timer()
        due = self.crisis_state.next_change()
        if due is not None:
            delay_s = max(0.0, (due - self.wall_clock()).total_seconds())
            try:
                self._crisis_timer = asyncio.get_running_loop().call_later(delay_s, self._crisis_due)
            except RuntimeError:  # no loop (a check outside the daemon): the lazy check below serves
                pass

    def _crisis_due(self) -> None:
        self._crisis_timer = None
        self.crisis_active()
        if self._crisis_timer is None:
            self._arm_crisis_timer()  # woken early (the clock): wait again

    def crisis_active(self) -> bool:
        """Whether the crisis service is on now; a window that is due starts or ends here."""
        state, happened = self.crisis_state.at(self.wall_clock())
        if state != self.crisis_state:
            if happened is not None:  # a crisis starting or ending by itself: the hours apply after it
                self.calendar.set_override(None)
            self._set_crisis(state, by="start of the crisis window" if happened == "started"
                             else "end of the crisis window")
        return self.crisis_state.active

    @property
    def crisis(self) -> bool:
        return self.crisis_active()

    @property
    def crisis_until(self):
        return self.crisis_state.until if self.crisis_active() else None

    def office_open(self, office, when) -> bool:
        """Whether ``office`` answers at ``when``: its hours, or around the clock in a crisis
        that opens it (an office that is never open stays so)."""
        if self.crisis_active() and self.settings.crisis.opens(office.name):
            return office.hours.is_open(when, CRISIS_CALENDAR)
        return office.hours.is_open(when, self.calendar)

    def crisis_status(self) -> dict:
        """The crisis for ``status``: on or not, its end, the window ahead, the offices it opens."""
        self.crisis_active()
        state = self.crisis_state
        titles = [o.title or o.name for o in self.settings.offices if self.settings.crisis.opens(o.name)]
        return {"active": state.active, "until": state.until.isoformat() if state.until else None,
                "scheduled": {"from": state.starts.isoformat(), "until": state.ends.isoformat()}
                if state.scheduled else None,
                "offices": "all" if not self.settings.crisis.offices else titles, "saved": self.crisis_saved}

    @property
    def service_mode(self) -> str:
        return "crisis" if self.crisis_active() else self.calendar.override or "auto"

    def mail_sent_soon(self, future=None) -> None:
        """A job that queued a mail is done: the mailer looks at the outbox now."""
        if self.mailer is not None:
            self.mailer.wake()

    def _queue_status(self, queue) -> dict:
        """A queue's counts, with the office's display name for the tables staff read."""
        office = next((o for o in self.settings.offices if o.name == queue.office), None)
        return {**queue.status(), "title": office.title if office is not None and office.title else queue.office}

    def status(self) -> dict:
        parts = {"service_mode": self.service_mode, "crisis": self.crisis_status(),
                 "queues": [self._queue_status(q) for q in self.queues.values()]}
        for key, part in self.status_parts.items():
            parts[key] = part()
        return parts
