"""Faulty ports come back by themselves: each one is initialised again, with back-off, until it answers.

A port goes out of service when its chip does not answer at start or when a driver call raises
while running (``port.faulty`` on the event bus). A chip that lost power for a moment, a
connector that was reseated, an SPI glitch: each is worth trying again, so the supervisor
re-initialises the port after 1 s, then 2, 4 ... up to every 10 s, and the port returns to
service (``port.restored``) the first time its initialisation succeeds. Only ports whose driver
can be initialised again are retried (the HAT's FXS and FXO ports); the GSM modem recovers
itself (drivers/gsm_modem.py) and SIP channels have no hardware.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("centralino.ports")

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 10.0  # an attempt on a chip that is not there costs a few SPI reads


class PortSupervisor:
    def __init__(self, bus, channels: dict, clock):
        self.channels = channels
        self.clock = clock
        self._tasks: dict[str, asyncio.Task] = {}
        self.attempts: dict[str, int] = {}
        self.restored: dict[str, int] = {}
        self._unsubscribe = bus.subscribe("port.faulty", lambda event: self.watch(event["port"]))

    def start(self) -> None:
        """Ports that failed at start are retried too."""
        for name, channel in self.channels.items():
            if channel.fault is not None:
                self.watch(name)

    def watch(self, port: str) -> None:
        channel = self.channels.get(port)
        if channel is None or not getattr(channel, "restartable", False):
            return
        task = self._tasks.get(port)
        if task is None or task.done():
            self._tasks[port] = asyncio.get_running_loop().create_task(self._retry(channel),
                                                                       name=f"retry-{port}")

    async def _retry(self, channel) -> None:
        delay = RETRY_FIRST_S
        while channel.fault is not None:
            await asyncio.sleep(delay)
            self.attempts[channel.name] = self.attempts.get(channel.name, 0) + 1
            try:
                await channel.restart()
            except Exception as err:
                log.info("port %s still out of service (attempt %d): %s", channel.name,
                         self.attempts[channel.name], err)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            self.restored[channel.name] = self.restored.get(channel.name, 0) + 1
            channel.restore()

    def close(self) -> None:
        self._unsubscribe()
        for task in self._tasks.values():
            task.cancel()

    def status(self) -> dict:
        return {name: {"attempts": self.attempts.get(name, 0), "restored": self.restored.get(name, 0),
                       "retrying": not task.done()} for name, task in self._tasks.items()}
