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
from centralino.records.stores import Stores

from .board import SimBoard
from .world_face import WorldFace

POLL_S = 0.02
DEFAULT_START = datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Europe/Rome"))


class ScenarioTimeout(AssertionError):
    """A scenario waited for something that did not happen."""


class OnFile:
    """One store of the scenario's database, used the way a test reads the file: every call goes
    through the daemon's records writer (so it sees what was written before it), or straight to
    the file once the daemon has stopped."""

    def __init__(self, scenario: "Scenario", store: str):
        self._scenario = scenario
        self._store = store

    def __getattr__(self, method: str):
        store, scenario = self._store, self._scenario

        def call(*args, **kwargs):
            job = lambda st: getattr(getattr(st, store), method)(*args, **kwargs)  # noqa: E731
            daemon = scenario.daemon
            if daemon is not None and daemon.writer is not None:
                return daemon.writer.submit(job).result(timeout=30)
            with Stores.open(scenario.database) as stores:
                return stores.run(job)
        return call


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
        self.records = OnFile(self, "cdr")  # what the file holds (read after the writer caught up)
        self.tickets = OnFile(self, "tickets")
        self.voicemail = OnFile(self, "voicemail")
        self.outbox = OnFile(self, "outbox")
        self.daemon = Daemon(self.settings, board, self.database, clock=self.clock, wall_clock=self.wall_clock)
        self.finished: list = []  # the call.ended events, in order
        self.daemon.bus.subscribe("*", self._observe)
        await self.daemon.start()
        self.engine = self.daemon.engine
        self.switchboard = self.engine  # the name older tests use
        return self

    async def stop(self) -> None:
        if self.daemon is not None:
            await self.daemon.stop()
            self.daemon = None

    async def __aenter__(self) -> "Scenario":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    def _observe(self, event) -> None:
        """Every event on the daemon's bus; the engine's live log under its own names ("ringing")."""
        kind = event.kind[len("engine."):] if event.kind.startswith("engine.") else event.kind
        self.log.append((event.at_s, kind, event.details))
        if event.kind == "call.ended":
            self.finished.append(event.details)

    @property
    def failover(self):
        """The failover monitor (None when the configuration has no ``failover`` section)."""
        failover = self.daemon.flows.lookup("failover")
        return failover.monitor if failover is not None else None

    def station(self, extension: str) -> dict:
        """The extension as the console's status shows it (state, logged_in, in_service...)."""
        for station in self.engine.status()["stations"]:
            if station["number"] == extension:
                return station
        raise KeyError(f"no extension {extension!r}")

    def station_state(self, extension: str) -> str:
        """What the extension's phone is doing: idle, ringing, dialling, talking..."""
        return self.station(extension)["state"]

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

