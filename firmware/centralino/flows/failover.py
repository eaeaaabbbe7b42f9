"""Failover: while the main path is down or a migration window is open, line calls go to a mobile.

Two parts: ``FailoverMonitor`` decides when (below), and the ``forward`` flow carries each line
call in failover to the mobile through the GSM modem: it dials the mobile at the line's first
ring, answers the line once the caller ID had time to arrive (or as soon as the mobile answers),
tells the caller "Il servizio è temporaneamente trasferito" while the mobile rings, and bridges
the two; when the modem is busy or down or the mobile does not answer, the caller hears the
mobile's number and the call ends. Every such call is recorded with disposition ``failover``.

The main path is healthy while at least one configured PSTN line is in service with line voltage
and at least one operator's extension can ring.
It is declared down after ``down_after_s`` without one, and healthy again only after
``healthy_for_s`` with one (hysteresis: a line that flickers does not flip routing back and
forth). A migration window from the configuration, or one started from the console, forces
failover whatever the lines say. Each start and end is logged and, when a technician number is
configured, sent by SMS through the modem.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

import numpy as np

from centralino.channels.sources import tone
from centralino.config.flows_schema import Destination

log = logging.getLogger("centralino.failover")

CHECK_S = 0.5
CALLER_ID_WAIT_S = 4.0  # a forwarded line call is answered once its caller ID had time to arrive


def load_config(settings, host):
    """The failover section: the monitor, and the ``forward`` flow that carries calls to the mobile."""
    if settings.failover is None:
        return None
    return Failover(settings, host)


class Failover:
    def __init__(self, settings, host):
        self.settings = settings
        self.host = host
        self.monitor: FailoverMonitor | None = None
        self._task: asyncio.Task | None = None
        host.register("forward", forward, first_ring=True)
        host.register_redirect(self.redirect)
        host.register_status("failover", lambda: self.monitor.status() if self.monitor else None)

    def redirect(self, destination):
        if self.monitor is not None and self.monitor.active:
            return Destination("forward", self.settings.failover.mobile_number)
        return None

    def start(self, engine) -> None:
        """Watch the engine's lines: the PSTN lines, and the SIP trunk (one health for all its lines)."""
        lines = engine.lines(("fxo",))
        trunk = engine.lines(("sip",))
        modem = engine.channels.get("gsm")
        self.monitor = FailoverMonitor(self.settings, lines + trunk[:1], modem, engine.clock, engine.wall_clock,
                                       notify=lambda kind, **d: self.host.bus.publish("failover.changed", **d))
        self.monitor.operators = [st.channel for st in engine.stations.values() if st.operator]
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="failover-monitor")

    async def _watch(self) -> None:
        while True:
            try:
                self.monitor.check()
            except Exception:
                log.exception("failover check failed")
            await asyncio.sleep(CHECK_S)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def forward(host, ctx, session, destination) -> None:
    """One line call in failover, from the first ring to the mobile's answer (or its number)."""
    mobile = destination.target
    ctx.record(outcome="failover")
    ctx.step("failover")
    ctx.note("incoming", line=ctx.channel.name, to=f"failover:{mobile}")
    leg = ctx.dial(mobile, kinds=("gsm",)) if ctx.channel.kind != "gsm" else None
    if leg is not None:
        ctx.note("forwarding", line=ctx.channel.name, to=mobile)
        answered = asyncio.ensure_future(leg.answered())
        waiting_cid = asyncio.ensure_future(ctx.caller_id(CALLER_ID_WAIT_S))
        await asyncio.wait({answered, waiting_cid}, return_when=asyncio.FIRST_COMPLETED)
        waiting_cid.cancel()
        ctx.answer()
        if not answered.done():
            session.channel.play(None)
            await session.play(host.phrases.samples("servizio_trasferito"), barge_in=False, name="announcement")
            if not answered.done():
                ctx.play(tone("ringback"))
        if await answered:
            ctx.connect(leg)
            ctx.note("forwarded", line=ctx.channel.name, to=mobile)
            return
    else:
        await ctx.caller_id(CALLER_ID_WAIT_S)
        ctx.answer()
    await _announce_mobile_number(host, ctx, session, mobile)


async def _announce_mobile_number(host, ctx, session, mobile: str) -> None:
    """Tell the caller the number to call instead, then hang up."""
    ctx.step("announced-number")
    ctx.note("announce-number", line=ctx.channel.name, number=mobile)
    audio = np.concatenate([host.phrases.samples("non_disponibile"), host.phrases.render([mobile]),
                            host.phrases.samples("arrivederci")])
    await session.play(audio, barge_in=False, name="mobile-number")
    ctx.hang_up()


class FailoverMonitor:
    def __init__(self, settings, lines: list, modem, clock: Callable[[], float],
                 wall_clock: Callable[[], datetime], notify: Callable[..., None] = lambda kind, **d: None):
        self.config = settings.failover
        self.lines = lines
        self.operators: list = []  # the operators' channels, set by the switchboard
        self.modem = modem
        self.clock = clock
        self.wall_clock = wall_clock
        self.notify = notify
        self.main_path_up = True
        self.manual = False
        self.active = False
        self.reason: str | None = None
        self._bad_since: float | None = None
        self._good_since: float | None = None
        self._last_good_s: float | None = None
        self.sms_sent: list[str] = []
        if modem is not None:
            modem.health_listeners.append(self._modem_health)

    def _lines_ok(self) -> bool:
        if self.operators and not any(op.in_service for op in self.operators):
            return False  # nobody could answer: as good as no line
        return any(line.in_service and self._present(line) for line in self.lines)

    @staticmethod
    def _present(line) -> bool:
        """An FXO line's loop voltage; a SIP trunk line's registration and keepalives."""
        present = getattr(line, "line_present", None)
        return present() if present is not None else line.driver.line_status().line_present

    def check(self) -> None:
        """Called once a second by the switchboard."""
        now = self.clock()
        if self._lines_ok():
            self._bad_since = None
            self._last_good_s = now
            self._good_since = self._good_since if self._good_since is not None else now
            if not self.main_path_up and now - self._good_since >= self.config.healthy_for_s:
                self.main_path_up = True
        else:
            self._good_since = None
            # the outage began after the last check that saw a line: count from there, so that
            # the check period does not add to down_after_s
            if self._bad_since is None:
                self._bad_since = self._last_good_s if self._last_good_s is not None else now
            if self.main_path_up and now - self._bad_since >= self.config.down_after_s:
                self.main_path_up = False
        reason = ("migration started from the console" if self.manual
                  else "migration window" if self.config.in_window(self.wall_clock())
                  else "main path down" if not self.main_path_up else None)
        if (reason is not None) != self.active:
            self.active, self.reason = reason is not None, reason
            self._announce_change(reason)

    def start_manual(self) -> None:
        self.manual = True
        self.check()

    def stop_manual(self) -> None:
        self.manual = False
        self.check()

    def _announce_change(self, reason: str | None) -> None:
        if reason is not None:
            text = f"centralino: trasferimento chiamate al {self.config.mobile_number} attivo ({reason})"
            log.warning("failover started: %s", reason)
        else:
            text = "centralino: trasferimento chiamate terminato, instradamento normale"
            log.warning("failover ended")
        self.notify("failover", active=self.active, reason=reason or "normal routing")
        self._sms(text)

    def _modem_health(self, what: str, detail: str) -> None:
        """The modem needed recovery: the technician hears of it once it can send again."""
        if what == "recovered":
            self._sms(f"centralino: modem GSM ripristinato dopo {detail}")

    def _sms(self, text: str) -> None:
        number = self.config.technician_sms
        if number is None or self.modem is None:
            return
        self.sms_sent.append(text)
        task = asyncio.get_running_loop().create_task(self._send(number, text))
        task.add_done_callback(lambda t: t.exception() and log.error("SMS to %s failed: %s", number, t.exception()))

    async def _send(self, number: str, text: str) -> None:
        await self.modem.driver.send_sms(number, text)

    def status(self) -> dict:
        return {"active": self.active, "reason": self.reason, "main_path_up": self.main_path_up,
                "mobile_number": self.config.mobile_number, "manual": self.manual}
