"""The scenario API: a running switchboard on the simulated board, driven like a real morning.

Tests and the demo use it the same way, through the world objects or through ``s.face``, the
commands of ``centralino sim`` (``await s.face.run("phone 201 offhook")``)::

    async with Scenario("examples/comune.yaml", data_dir) as s:
        s.phone("201").off_hook()
        await s.phone("201").dial("203")
        await s.until(lambda: s.phone("203").ringing, "203 rings")

On the virtual clock (``centralino.hwsim.clock.run``) an hour of calls runs in seconds; with
``virtual=False`` the same scenario runs in real time. Call times in the records follow the
scenario's own calendar (``start_at``), so a scripted morning is dated in the morning.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from centralino.board import open_board
from centralino.config.schema import load_settings
from centralino.daemon import Daemon
from centralino.records.cdr import CdrStore

from .board import SimBoard
from .world_face import WorldFace

POLL_S = 0.02
DEFAULT_START = datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Europe/Rome"))


class ScenarioTimeout(AssertionError):
    """A scenario waited for something that did not happen."""


class Scenario:
    def __init__(self, config, data_dir, seed: int = 0, faults: dict[str, str] | None = None,
                 hat_product: str | None = None, start_at: datetime = DEFAULT_START):
        self.settings = config if not isinstance(config, (str, Path)) else load_settings(config)
        self.data_dir = Path(data_dir)
        self.seed = seed
        self.faults = faults or {}
        self.hat_product = hat_product
        self.start_at = start_at
        self.log: list[tuple[float, str, dict]] = []
        self.daemon: Daemon | None = None

    # -- life cycle
    async def start(self) -> "Scenario":
        loop = asyncio.get_running_loop()
        self.clock = loop.time
        t0 = loop.time()
        self.wall_clock = lambda: self.start_at + timedelta(seconds=loop.time() - t0)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database = self.data_dir / "centralino.db"
        sim = SimBoard(self.settings, clock=self.clock, seed=self.seed, hat_product=self.hat_product,
                       faults=self.faults)
        board = open_board(self.settings, "sim", clock=self.clock, sim=sim)
        self.world = sim
        self.face = WorldFace(sim, self.settings, clock=self.clock, wall_clock=self.wall_clock)  # centralino sim's commands
        self.records = CdrStore(self.database)
        self.daemon = Daemon(self.settings, board, self.records, clock=self.clock, wall_clock=self.wall_clock)
        await self.daemon.start()
        self.switchboard = self.daemon.switchboard
        self.switchboard.observers.append(self._observe)
        return self

    async def stop(self) -> None:
        if self.daemon is not None:
            await self.daemon.stop()
            self.daemon = None

    async def __aenter__(self) -> "Scenario":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    def _observe(self, kind: str, **details) -> None:
        self.log.append((self.clock(), kind, details))

    # -- the world
    def phone(self, extension_or_port: str):
        """The phone of an extension number ("203") or on a port ("fxs4")."""
        port = extension_or_port
        for ext in self.settings.extensions:
            if ext.number == extension_or_port:
                port = ext.port
        try:
            return self.world.phones[port]
        except KeyError:
            raise KeyError(f"no phone for {extension_or_port!r}: extensions are "
                           f"{[e.number for e in self.settings.extensions]}") from None

    def line(self, port: str):
        return self.world.lines[port]

    @property
    def exchange(self):
        return self.world.exchange

    @property
    def modem(self):
        """The simulated GSM modem (None when the configuration has no ``gsm`` section)."""
        return self.world.modem

    @property
    def mobile_network(self):
        return self.world.mobile_network

    def remote(self, number: str, **options):
        """A party in the outside world with its own voice (answer_after_s, busy...)."""
        return self.exchange.add_party(number, self.world.next_voice(), **options)

    # -- time
    async def wait(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def until(self, condition, what: str = "condition", timeout_s: float = 60.0):
        """Wait (on the scenario's clock) until ``condition()`` is true; fail naming ``what``."""
        deadline = self.clock() + timeout_s
        while True:
            value = condition()
            if value:
                return value
            if self.clock() >= deadline:
                raise ScenarioTimeout(f"{what}: not within {timeout_s:g} s")
            await asyncio.sleep(POLL_S)

    # -- results
    def records_now(self, n: int = 100):
        return self.records.last(n)

    def events(self, kind: str | None = None) -> list[tuple[float, str, dict]]:
        return [e for e in self.log if kind is None or e[1] == kind]

