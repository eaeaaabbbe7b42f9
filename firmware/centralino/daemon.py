"""The switchboard daemon: board, drivers, channels, media clock, engine and flows, started in order.

Start-up order matters on a telephone appliance: the call records are repaired first (a call cut
by a crash is marked interrupted), then every port is initialised at once and a port that fails
is marked faulty (and retried) while the others go into service, and only then is the daemon
ready. The parts are joined by the event bus (``self.bus``): the engine publishes, the call
records, LEDs, console and port supervisor listen, so none of them can stand in front of a call.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from datetime import datetime, timezone
from pathlib import Path

from centralino import __version__
from centralino.calls.engine import Engine
from centralino.calls.media_loop import MediaLoop
from centralino.eventbus import EventBus
from centralino.flows.host import FlowHost
from centralino.flows.mailer import Mailer
from centralino.ops.gsm_watch import watch_gsm
from centralino.ops.leds import start_leds
from centralino.ops.port_supervisor import PortSupervisor
from centralino.ops.lifeline import start_lifeline  # issue 18: the lifeline relay
from centralino.ports import build_channels
from centralino.records import housekeeping
from centralino.records.call_log import CallLog
from centralino.records.cdr import STOPPED_CAUSE
from centralino.records.writer import RecordWriter
from centralino.sip.service import SipService

log = logging.getLogger("centralino.daemon")



class Daemon:
    def __init__(self, settings, board, database, clock=None, wall_clock=None):
        self.settings = settings
        self.board = board
        self.database = Path(database)  # ``run --database`` may override records.database
        self.state_dir = self.database.parent  # the daemon's state folder (/var/lib/centralino): crisis.json
        self.clock = clock or time.monotonic
        self.wall_clock = wall_clock or (lambda: datetime.now(timezone.utc))
        self.bus = EventBus(self.clock)
        self.channels = {}
        self.engine: Engine | None = None
        self.flows: FlowHost | None = None
        self.media: MediaLoop | None = None
        self.ports: PortSupervisor | None = None
        self.ready = False
        self.started_at_s: float | None = None
        self.ready_after_s: float | None = None
        self.recovered_calls = 0
        self._readers: list[int] = []
        self.gsm_watch = None  # ops/gsm_watch.py: what the console's `gsm` shows
        self.sip: SipService | None = None  # sip/service.py: trunk, registrar, SIP channels
        self.led_supervisor = None  # ops/leds.py: the status LEDs' patterns
        self.writer: RecordWriter | None = None  # the one writer of the database (records/writer.py)
        self.call_log: CallLog | None = None
        self.mailer: Mailer | None = None
        self.lifeline = None  # ops/lifeline.py: the lifeline relay
        self._mailer_task: asyncio.Task | None = None

    async def start(self) -> None:
        began = self.clock()
        # The records come first but never stand in the way: a database that cannot be opened or
        # written degrades to memory (records.degraded) and the switchboard starts all the same.
        self.writer = RecordWriter(self.database, self.database.parent / "voicemail", wall_clock=self.wall_clock)
        self.call_log = CallLog(self.bus, self.writer)
        self.call_log.recover(self.wall_clock()).add_done_callback(self._recovered)
        if self.settings.mail is not None:
            self.mailer = Mailer(self.settings.mail, wall_clock=self.wall_clock, writer=self.writer)
        self.board.check_hat(self.settings.board.hat)
        await self.board.start()
        await self.board.reset_shared_lines()
        self.channels = build_channels(self.settings, self.board, self.clock)
        results = await asyncio.gather(*(ch.start() for ch in self.channels.values()), return_exceptions=True)
        loop = asyncio.get_running_loop()
        for channel, result in zip(self.channels.values(), results):
            if isinstance(result, BaseException):
                if channel.in_service:
                    channel.mark_faulty(f"{type(result).__name__}: {result}")
                log.error("port %s out of service: %s", channel.name, channel.fault)
            fd = getattr(channel.driver, "irq_fd", None)
            if fd is not None:
                loop.add_reader(fd, channel.interrupt)
                self._readers.append(fd)
        self.sip = await SipService.start(self.settings, self.channels, self.clock)  # adds its channels
        await asyncio.to_thread(_render_sentences, self.settings)  # the voice's sentences, off the loop
        self.flows = FlowHost(self.settings, self.bus, self.clock, self.wall_clock, self.writer, self.mailer,
                              state_dir=self.state_dir)
        self.engine = Engine(self.settings, self.channels, self.bus, self.clock, self.wall_clock, flows=self.flows)
        if self.sip is not None:
            self.sip.attach(self.engine)
        self.flows.attach(self.engine)
        self.flows.restore_crisis()  # a crisis on (or ahead) when the daemon stopped goes on
        self.ports = PortSupervisor(self.bus, self.channels, self.clock)
        self.ports.start()
        slots = [(port.timeslot, self.channels[port.name]) for port in self.settings.board.ports]
        own_audio = [ch for ch in self.channels.values() if hasattr(ch, "exchange_audio")]
        self.media = MediaLoop(self.board.pcm, self.settings.board.pcm_slots, slots, self.clock,
                               after_tick=self.engine.tick, own_audio=own_audio)
        self.media.start()
        self.gsm_watch = watch_gsm(self)
        self.led_supervisor = await start_leds(self, self.gsm_watch)
        self.started_at_s = began
        self.ready_after_s = self.clock() - began
        if self.mailer is not None:
            self._mailer_task = asyncio.get_running_loop().create_task(self.mailer.run(), name="mailer")
        self._housekeeping = housekeeping.start_daily(self.settings, self.wall_clock, writer=self.writer)  # privacy
        self.ready = True
        self.lifeline = start_lifeline(self)  # issue 18 hook: hold the relay only once calls can be taken
        in_service = sum(ch.in_service for ch in self.channels.values())
        log.info("ready: %d of %d ports in service, %.3f s after start", in_service,
                 len(self.channels), self.ready_after_s)

    async def reconfigure(self, settings) -> dict:
        """Take on a checked configuration without dropping a call (``config reload``).

        New calls follow it at once; calls in progress finish under the rules they started with.
        When it changes what is built once at start (the board, SIP, the modem, the records file,
        mail; see config/diff.py) nothing is taken on now and all of it waits for a restart."""
        from centralino.config.diff import changes, needs_restart

        changed = changes(self.settings, settings)
        waiting = needs_restart(self.settings, settings, set(self.channels))
        if waiting or not changed:
            return {"applied": not waiting, "changed": changed, "waiting_for_restart": waiting}
        old = self.flows
        await asyncio.to_thread(_render_sentences, settings)  # synthesis off the loop: calls go on meanwhile
        flows = FlowHost(settings, self.bus, self.clock, self.wall_clock, self.writer, self.mailer,
                         state_dir=self.state_dir)
        flows.take_over(old)  # queues, day/night, crisis and booked callbacks go on
        await old.stop()  # its monitors (failover); the flows of calls in progress go on
        self.engine.reconfigure(settings, flows)
        flows.attach(self.engine)
        self.flows, self.settings = flows, settings
        log.warning("configuration reloaded: %s", "; ".join(changed))
        self.bus.publish("config.reloaded", changed=changed)
        return {"applied": True, "changed": changed, "waiting_for_restart": []}

    def _recovered(self, future) -> None:
        if not future.cancelled() and future.exception() is None:
            self.recovered_calls = future.result()
            if self.recovered_calls:
                log.warning("%d call(s) were cut by the last stop and are recorded as interrupted",
                            self.recovered_calls)

    async def stop(self) -> None:
        self.ready = False
        if self.lifeline is not None:  # issue 18 hook: phone 1 back on line 1 before anything else stops
            self.lifeline.close()
        await housekeeping.stop_daily(getattr(self, "_housekeeping", None))
        if self.media is not None:
            await self.media.stop()
        if self.engine is not None:
            self.engine.interrupt_all(STOPPED_CAUSE)  # live calls are recorded as interrupted now
        for helper in (self.led_supervisor, self.gsm_watch, self.ports):
            if helper is not None:
                helper.close()
        if self.flows is not None:
            await self.flows.stop()
        loop = asyncio.get_running_loop()
        for fd in self._readers:
            loop.remove_reader(fd)
        self._readers.clear()
        if self.sip is not None:
            await self.sip.stop()
        for channel in self.channels.values():
            try:
                closing = channel.close()
                if inspect.isawaitable(closing):
                    await closing
            except Exception:
                log.exception("closing %s", channel.name)
        await self.board.stop()
        if self._mailer_task is not None:
            self._mailer_task.cancel()
            await asyncio.gather(self._mailer_task, return_exceptions=True)
        if self.writer is not None:
            await asyncio.to_thread(self.writer.close)  # writes what it can, then stops
        if self.call_log is not None:
            self.call_log.close()

    def status(self) -> dict:
        return {"version": __version__, "ready": self.ready, "board": self.board.kind,
                "hat": self.board.hat.product if self.board.hat else None,
                "hat_problem": self.board.hat_problem,
                "uptime_s": round(self.clock() - self.started_at_s, 1) if self.started_at_s else 0.0,
                "ports": [ch.status() for ch in self.channels.values()],
                "media": self.media.status() if self.media else None,
                "switchboard": self.engine.status() if self.engine else None,
                "records": self.call_log.status() if self.call_log else None,
                "sip": self.sip.status() if self.sip else None,
                "lifeline": self.lifeline.status() if self.lifeline else None}


def _render_sentences(settings) -> None:
    """Synthesise what the configuration can say into the voice's cache (in a worker thread: a
    first start or a reload with new office names takes seconds), so the flow host built next
    on the loop only reads the cache."""
    from centralino.flows.speech import Speech

    try:
        Speech.for_settings(settings).prepare(settings)
    except Exception:  # the flow host renders (or glues) what is missing itself
        log.exception("rendering the voice's sentences in advance failed")
