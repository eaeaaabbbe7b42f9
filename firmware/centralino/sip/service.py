"""SIP in the daemon: build the stack and the SIP channels, hand the channels to the switchboard.

``await SipService.start(settings, channels)`` adds the trunk's line appearances (``trunk1``...)
and the desk phones' channels (their ``port`` names) to the daemon's channel table before the
switchboard is built, so the switchboard listens to them like to any port. ``attach`` then tells
the switchboard which route each DID takes (see ``route_incoming``).
"""

from __future__ import annotations

import dataclasses
import logging

from .channel import SipLineChannel, SipPhoneChannel
from .stack import SipStack

log = logging.getLogger("centralino.sip")

LINE_PREFIX = "trunk"


class SipService:
    def __init__(self, settings, clock):
        self.settings = settings
        self.config = settings.sip
        self.clock = clock
        self.stack = SipStack(self.config.listen, self.config.port, self._make_core)
        self.core = None  # the SipCore, built on the SIP thread
        self.lines: list[SipLineChannel] = []
        self.phones: dict[str, SipPhoneChannel] = {}
        self.engine = None
        host = self.config.listen
        common = dict(clock=clock, stack=self.stack, core_ref=lambda: self.core,
                      media_host=host, advertised_host=self.config.address)
        if self.config.trunk is not None:
            for i in range(1, self.config.trunk.channels + 1):
                self.lines.append(SipLineChannel(f"{LINE_PREFIX}{i}", trunk_health=lambda: self.healthy,
                                                 on_incoming=self.route_incoming, **common))
        for phone in self.config.phones:
            channel = SipPhoneChannel(phone.port, username=phone.username, **common)
            channel._registered = (lambda username: lambda: self.core is not None and
                                   self.core.registrar.lookup(username) is not None)(phone.username)
            self.phones[phone.username] = channel

    def _make_core(self, stack):
        """On the SIP thread (the core and what it imports load sippy, whose dispatcher must be born there)."""
        from .core import SipCore

        plan = getattr(self.settings, "dialplan", None)
        self.core = SipCore(stack, self.config, _LinePool(self.lines), self.phones,
                            emergency_numbers=getattr(plan, "emergency_numbers", ()))
        return self.core

    @classmethod
    async def start(cls, settings, channels: dict, clock) -> "SipService | None":
        """Start SIP when the configuration has a ``sip`` section; adds its channels to ``channels``."""
        if getattr(settings, "sip", None) is None:
            return None
        service = cls(settings, clock)
        try:
            await service.stack.start()
        except Exception:  # the analog side and the emergency paths work without SIP
            log.exception("SIP could not start; running without it")
            return None
        for channel in service.channels():
            channels[channel.name] = channel
        return service

    def channels(self) -> list:
        return [*self.lines, *self.phones.values()]

    def attach(self, engine) -> None:
        """The engine routes line calls by each line's route: the trunk's lines start with the
        default route and take each call's DID route as it arrives (``route_incoming``)."""
        from centralino.calls.line_calls import LineRoute

        self.engine = engine
        self._route = LineRoute
        for line in self.lines:
            engine.set_line_route(line.name, LineRoute(self.config.trunk.default_route))

    def route_incoming(self, channel, called: str) -> None:
        trunk = self.config.trunk
        target = trunk.routes.get(called) or trunk.routes.get(called.lstrip("+")) or trunk.default_route
        if self.engine is not None:
            self.engine.set_line_route(channel.name, self._route(target, called or None))

    @property
    def healthy(self) -> bool:
        """The trunk's health for the failover logic: registered and answering keepalives."""
        trunk = self.core.trunk if self.core is not None else None
        return trunk is not None and trunk.healthy

    async def stop(self) -> None:
        for channel in self.channels():
            if channel.leg is not None:
                channel.hangup() if channel.is_line else channel.stop_ringing()
        await self.stack.stop()
        for channel in self.channels():
            channel.close()

    def status(self) -> dict:
        core = self.core.status() if self.core is not None else {}
        return {"listen": f"{self.config.listen}:{self.stack.port}", "healthy": self.healthy, **core,
                "malformed": self.stack.malformed,
                "channels": [c.status() for c in self.channels()]}


class _LinePool:
    """The trunk's line appearances, claimed by the SIP thread for calls that arrive."""

    def __init__(self, lines: list[SipLineChannel]):
        self.lines = lines

    def claim(self) -> SipLineChannel | None:
        for line in self.lines:
            if line.claim():
                return line
        return None
