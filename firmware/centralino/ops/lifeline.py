"""The lifeline: phone 1 reaches the public network whenever the switchboard cannot carry it.

The relay (drivers/relay.py) is held energised by heartbeats into a hardware monostable; released,
phone 1 is wired straight to line 1. The supervisor decides when to hold it:

- energised only while the daemon is ready, the media clock ticks (the heartbeat is sent from
  the media loop's own heartbeat hook, called only after a tick that worked) and phone 1's port
  is in service;
- released when the daemon stops, when the media clock stalls (no beats: the hardware drops the
  relay ``hold_s`` later, and the guard notices it in software too), and when phone 1's port goes
  out of service. That covers "both ports out of service" and more: with its SLIC dead phone 1
  could not even dial 112 through the switchboard, while line 1 alone is one line of four;
- never energised while phone 1 is in a call on the direct path (the sense line shows loop
  current, or changed within ``QUIET_S``): taking the phone away mid-call would cut a call that
  may be to 112. It is energised as soon as that call ends.

A daemon that is killed or frozen sends nothing at all, which is the point of the monostable:
the relay drops without any code running. State and reason are in ``status()`` (the console's
``status``) and on the ``lifeline`` LED (ops/leds.py).
"""

from __future__ import annotations

import asyncio
import logging

from centralino.drivers.errors import ChipError
from centralino.drivers.relay import LifelineRelay

log = logging.getLogger("centralino.lifeline")

QUIET_S = 1.0  # the direct path must have been still this long before phone 1 is taken over
STALL_S = 0.3  # no media tick this long: the clock is unhealthy, stop holding the relay
GUARD_EVERY_S = 0.1


class LifelineSupervisor:
    def __init__(self, daemon, relay: LifelineRelay, config, clock):
        self.daemon = daemon
        self.relay = relay
        self.config = config
        self.clock = clock
        self.energised = False
        self.reason = "starting"
        self.problem: str | None = None  # the relay's lines failed: nothing more is attempted
        self._last_tick_s: float | None = None
        self._stopped = False
        self._guard: asyncio.Task | None = None
        self.transitions = 0

    @property
    def released(self) -> bool:
        return not self.energised

    # ------------------------------------------------------------------ hooks
    def start(self) -> None:
        """Called once the daemon is ready: hold the relay now if nothing forbids it."""
        self._last_tick_s = self.clock()
        self.daemon.media.heartbeats.append(self.tick)
        self._guard = asyncio.get_running_loop().create_task(self._watch(), name="lifeline-guard")
        self._decide(self.clock(), beat=True)

    def tick(self) -> None:
        """After every media tick that worked: keep the relay held (one heartbeat edge)."""
        now = self.clock()
        self._last_tick_s = now
        self._decide(now, beat=True)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(GUARD_EVERY_S)
            self._decide(self.clock(), beat=False)

    def close(self) -> None:
        """The daemon stops: no more heartbeats, the relay drops and phone 1 is on line 1."""
        self._stopped = True
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None
        media = getattr(self.daemon, "media", None)
        if media is not None and self.tick in media.heartbeats:
            media.heartbeats.remove(self.tick)
        self.relay.stop()
        self._set(False, "the switchboard stopped")

    # ------------------------------------------------------------------ the decision
    def _blocker(self, now: float) -> str | None:
        """Why the relay must not be held now, or None."""
        if self._stopped:
            return "the switchboard stopped"
        if not self.daemon.ready:
            return "the switchboard is not ready"
        if self._last_tick_s is None or now - self._last_tick_s > STALL_S:
            return "the media clock stalled"
        phone = self.daemon.channels.get(self.config.phone)
        if phone is None or not phone.in_service:
            return f"{self.config.phone} is out of service"  # the console's FAULT line says why
        return None

    def _decide(self, now: float, beat: bool) -> None:
        if self.problem is not None:
            return
        blocker = self._blocker(now)
        try:
            if blocker is None and not self.energised and self.relay.direct_path_busy(QUIET_S):
                blocker = f"waiting: phone {self.config.phone} is in a call on {self.config.line} directly"
            if blocker is not None:
                if self.energised:
                    self.relay.stop()
                self._set(False, blocker)
                return
            if beat:
                self.relay.beat()
                self._set(True, "held by the switchboard")
        except ChipError as err:
            self.problem = str(err)
            self._set(False, f"relay lines failed: {err}")
            log.error("lifeline: %s; phone %s stays on line %s directly", err, self.config.phone, self.config.line)

    def _set(self, energised: bool, reason: str) -> None:
        if energised != self.energised:
            self.transitions += 1
            if energised:
                log.info("lifeline relay energised: %s on the switchboard, %s on its DAA",
                         self.config.phone, self.config.line)
            else:
                log.warning("lifeline relay released (%s): %s wired straight to %s",
                            reason, self.config.phone, self.config.line)
        self.energised = energised
        self.reason = reason

    def status(self) -> dict:
        return {"relay": "energised" if self.energised else "released", "reason": self.reason,
                "phone": self.config.phone, "line": self.config.line, "hold_s": self.config.hold_s,
                "beats": self.relay.beats, "problem": self.problem}


def start_lifeline(daemon) -> LifelineSupervisor | None:
    """Build the board's lifeline supervision and start it (the daemon must be ready); None when
    the board has no lifeline relay."""
    config = getattr(daemon.settings.board, "lifeline", None)
    heartbeat = getattr(daemon.board, "lifeline_relay", None)
    if config is None or heartbeat is None:
        return None
    relay = LifelineRelay(heartbeat, getattr(daemon.board, "lifeline_sense", None), hold_s=config.hold_s,
                          clock=daemon.clock)
    supervisor = LifelineSupervisor(daemon, relay, config, daemon.clock)
    supervisor.start()
    return supervisor
