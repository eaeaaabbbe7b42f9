"""The board: which bus objects the drivers get.

On the Pi HAT they are ``periphery.SPI``/``periphery.GPIO``, ``smbus2.SMBus`` and the ALSA PCM
stream, opened on the device paths of the configuration; on the simulated board they are
hw-sim's objects with the same API, wired to chip models. Everything above the drivers receives a
``Board`` and cannot tell which it got.

Board kinds register themselves: ``pi-hat`` here, others (the simulator's ``sim``) through the
``centralino.boards`` entry point group of the installed package, so this module never imports
the simulator. An opener is ``opener(settings, clock=None, **options) -> Board``; it builds its
bus classes and hands them to ``wire_board``, which opens one bus object per port and line.

An interrupt line wired to several chips (open drain, wired-OR) is opened once: a Linux GPIO line
can be requested only once, and every chip on it must see every edge. ``SharedInterrupt`` fans
the edges out to one ``InterruptView`` per port (each with a descriptor of its own for the event
loop), and while the line stays low after the chips were serviced (a second chip asserted while
the first held it low, so no new edge came) it hands them a fresh edge, a bounded number of times.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import select
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the board is layer 1, under the drivers: it imports one only to read the EEPROM
    from centralino.drivers.hat_eeprom import HatInfo

log = logging.getLogger("centralino.board")

SPI_MODE = 3  # ProSLIC and DAA: clock idle high, data latched on the rising edge [V wctdm __write_8bits]
RESET_PULSE_S = 0.25  # wctdm holds reset low this long
ENTRY_POINT_GROUP = "centralino.boards"
RECHECK_S = 0.002  # a shared interrupt line still low this long after its edge: serve its chips again
RECHECKS_PER_EDGE = 8  # a line stuck low is served this many times, then left to the drivers' ticks


@dataclass
class PortBuses:
    name: str
    kind: str
    spi: object
    irq: object
    reset: object | None  # only when the port has a reset line of its own


@dataclass
class Board:
    kind: str
    hat_bus: object
    pcm: object
    ports: dict[str, PortBuses]
    shared_resets: list = field(default_factory=list)
    world: object | None = None  # the simulator's world face (phones, exchange), None on the Pi
    hat: HatInfo | None = None
    hat_problem: str | None = None
    gsm_ports: tuple[str, str] | None = None  # (AT port, audio port): udev symlinks on the Pi
    gsm_power_key: object | None = None
    leds: object | None = None  # the status LEDs' bus: the RPi.GPIO module or an SMBus (board.leds)
    shared_irqs: list = field(default_factory=list)  # SharedInterrupt: lines wired to several chips
    lifeline_relay: object | None = None  # GPIO out: the heartbeat that holds the lifeline relay
    lifeline_sense: object | None = None  # GPIO in: low while phone 1 talks on line 1 directly

    async def start(self) -> None:
        """Bring up what the board needs before the drivers (interrupt fan-out, the simulated world)."""
        loop = asyncio.get_running_loop()
        for line in self.shared_irqs:
            line.attach(loop)
        if self.world is not None:
            await self.world.start()
            if self.world.modem is not None:
                self.gsm_ports = (self.world.modem.at_path, self.world.modem.audio_path)

    async def stop(self) -> None:
        self.close()
        if self.world is not None:
            await self.world.stop()

    async def reset_shared_lines(self) -> None:
        """Pulse reset lines wired to several chips once, before any driver starts."""
        for line in self.shared_resets:
            line.write(False)
        if self.shared_resets:
            await asyncio.sleep(RESET_PULSE_S)
            for line in self.shared_resets:
                line.write(True)
            await asyncio.sleep(RESET_PULSE_S)

    def check_hat(self, expected_product: str) -> None:
        """Read the HAT ID EEPROM; a missing or different HAT is reported, not fatal: ports that
        do not answer become faulty one by one, and emergency paths that work keep working."""
        from centralino.drivers.errors import ChipError
        from centralino.drivers.hat_eeprom import read_hat_info

        try:
            self.hat = read_hat_info(self.hat_bus)
        except ChipError as err:
            self.hat_problem = str(err)
        else:
            if self.hat.product != expected_product:
                self.hat_problem = (f"HAT ID EEPROM says {self.hat.product!r}, the configuration "
                                    f"expects {expected_product!r} (board.hat)")
        if self.hat_problem:
            log.error("board: %s", self.hat_problem)

    def close(self) -> None:
        for port in self.ports.values():
            for bus in (port.spi, port.irq, port.reset):
                if bus is not None:
                    bus.close()
        for line in self.shared_irqs:
            line.close()
        for line in self.shared_resets:
            line.close()
        for bus in (self.gsm_power_key, self.lifeline_relay, self.lifeline_sense):
            if bus is not None:
                bus.close()
        self.hat_bus.close()
        if self.leds is not None and hasattr(self.leds, "close"):  # an SMBus; RPi.GPIO is a module
            self.leds.close()
        close = getattr(self.pcm, "close", None)
        if close:
            close()


# ------------------------------------------------------------------------------ board kinds
_OPENERS: dict[str, Callable[..., Board]] = {}


def register_board_kind(name: str, opener: Callable[..., Board]) -> None:
    """Make ``board.kind: NAME`` open boards with ``opener(settings, clock=None, **options)``."""
    _OPENERS[name] = opener


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def board_kinds() -> tuple[str, ...]:
    """Every board kind a configuration may name: registered here or installed as an entry point."""
    return tuple(sorted(set(_OPENERS) | set(_entry_points())))


def open_board(settings, kind: str | None = None, clock=None, **options) -> Board:
    """Open the board the configuration names (``kind`` overrides it: ``--board sim``).

    ``options`` go to the kind's opener (the simulator takes ``sim``, a ready ``SimBoard``)."""
    kind = kind or settings.board.kind
    opener = _OPENERS.get(kind)
    if opener is None:
        entry = _entry_points().get(kind)
        if entry is None:
            raise ValueError(f"unknown board kind {kind!r}: expected one of {', '.join(board_kinds())}")
        opener = entry.load()
        register_board_kind(kind, opener)
    return opener(settings, clock=clock, **options)


def open_pi_hat(settings, clock=None) -> Board:
    """The HAT on a Raspberry Pi: periphery, smbus2 and the ALSA PCM stream on real devices."""
    import periphery
    import smbus2

    from centralino.drivers.pcm_stream import PcmStream

    board_cfg = settings.board
    pcm = PcmStream(board_cfg.pcm_device, board_cfg.pcm_slots)
    board = wire_board(settings, "pi-hat", periphery.SPI, periphery.GPIO, smbus2.SMBus, pcm,
                       clock=clock or time.monotonic)
    if settings.gsm is not None:
        board.gsm_ports = (settings.gsm.at_port, settings.gsm.audio_port)
        key = settings.gsm.power_key_gpio if settings.gsm.power_key_gpio is not None else board_cfg.gsm_power_key_gpio
        if key is not None:
            board.gsm_power_key = periphery.GPIO(board_cfg.gpiochip, key, "high", label="gsm-power-key")
    board.leds = led_bus(settings, smbus2.SMBus, _import_rpi_gpio)
    return board


register_board_kind("pi-hat", open_pi_hat)


# ------------------------------------------------------------------------------ wiring
def wire_board(settings, kind, spi_class, gpio_class, smbus_class, pcm, clock=time.monotonic) -> Board:
    """One bus object per port from the board's classes: SPI in mode 3, interrupt lines (shared ones
    fanned out), reset lines (shared ones pulsed by the board), the EEPROM's bus, the lifeline."""
    board_cfg = settings.board
    reset_users: dict[int, int] = {}
    irq_users: dict[int, list[str]] = {}
    for port in board_cfg.ports:
        if port.reset_gpio is not None:
            reset_users[port.reset_gpio] = reset_users.get(port.reset_gpio, 0) + 1
        irq_users.setdefault(port.irq_gpio, []).append(port.name)
    shared = {line: gpio_class(board_cfg.gpiochip, line, "high", label="centralino-reset")
              for line, users in reset_users.items() if users > 1}
    shared_irqs = {line: SharedInterrupt(gpio_class(board_cfg.gpiochip, line, "in", edge="falling",
                                                    label=f"{'+'.join(names)}-irq"), "+".join(names), clock)
                   for line, names in irq_users.items() if len(names) > 1}
    ports = {}
    for port in board_cfg.ports:
        spi = spi_class(port.spi, SPI_MODE, board_cfg.spi_speed_hz)
        if port.irq_gpio in shared_irqs:
            irq = shared_irqs[port.irq_gpio].view(port.name)
        else:
            irq = gpio_class(board_cfg.gpiochip, port.irq_gpio, "in", edge="falling", label=f"{port.name}-irq")
        reset = None
        if port.reset_gpio is not None and port.reset_gpio not in shared:
            reset = gpio_class(board_cfg.gpiochip, port.reset_gpio, "high", label=f"{port.name}-reset")
        ports[port.name] = PortBuses(port.name, port.kind, spi, irq, reset)
    hat_bus = smbus_class(board_cfg.eeprom_bus)
    board = Board(kind=kind, hat_bus=hat_bus, pcm=pcm, ports=ports, shared_resets=list(shared.values()),
                  shared_irqs=list(shared_irqs.values()))
    lifeline = board_cfg.lifeline
    if lifeline is not None:
        board.lifeline_relay = gpio_class(board_cfg.gpiochip, lifeline.relay_gpio, "low", label="lifeline-relay")
        if lifeline.sense_gpio is not None:
            board.lifeline_sense = gpio_class(board_cfg.gpiochip, lifeline.sense_gpio, "in", edge="both",
                                              label="lifeline-sense")
    return board


def led_bus(settings, smbus_class, gpio_module):
    """The bus of ``board.leds``: the RPi.GPIO module (kind gpio) or an SMBus (kind i2c)."""
    leds = getattr(settings.board, "leds", None)
    if leds is None:
        return None
    return gpio_module() if leds.kind == "gpio" else smbus_class(settings.board.i2c_bus)


def _import_rpi_gpio():
    """RPi.GPIO imports only on a Pi (it probes the SoC), so only when the LEDs are on GPIO."""
    import RPi.GPIO

    return RPi.GPIO


# ------------------------------------------------------------------------------ shared interrupts
@dataclass(frozen=True)
class Edge:
    """An edge as ``periphery.EdgeEvent`` has it: "rising"/"falling", timestamp in ns."""
    edge: str
    timestamp: int


class SharedInterrupt:
    """One open-drain interrupt line of several chips, opened once; see the module docstring."""

    def __init__(self, line, name: str, clock: Callable[[], float] = time.monotonic):
        self._line = line
        self.name = name
        self._clock = clock
        self._views: list[InterruptView] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._recheck: asyncio.TimerHandle | None = None
        self._rechecks_left = 0
        self.edges = 0  # real edges seen
        self.replays = 0  # edges handed out again because the line stayed low

    def view(self, port: str) -> "InterruptView":
        view = InterruptView(self, port)
        self._views.append(view)
        return view

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve the line from the event loop (until then, views pump it when polled)."""
        if self._loop is None:
            self._loop = loop
            loop.add_reader(self._line.fd, self.pump)

    def pump(self) -> None:
        """Move the line's pending edges to every view."""
        got = False
        while self._line.poll(0):
            event = self._line.read_event()
            self.edges += 1
            got = True
            for view in self._views:
                view._push(Edge(event.edge, event.timestamp))
        if got:
            self._rechecks_left = RECHECKS_PER_EDGE
            self._schedule_recheck()

    def _schedule_recheck(self) -> None:
        if self._loop is None or self._recheck is not None:
            return
        self._recheck = self._loop.call_later(RECHECK_S, self._check_still_low)

    def _check_still_low(self) -> None:
        self._recheck = None
        if self._rechecks_left <= 0 or self._line.read():  # high: every chip was served
            return
        self._rechecks_left -= 1
        self.replays += 1
        stamp = int(round(self._clock() * 1e9))
        for view in self._views:
            view._push(Edge("falling", stamp))
        self._schedule_recheck()

    def read(self) -> bool:
        return self._line.read()

    def close(self) -> None:
        if self._recheck is not None:
            self._recheck.cancel()
            self._recheck = None
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._line.fd)
        self._loop = None
        self._line.close()


class InterruptView:
    """One chip's share of a ``SharedInterrupt``: the ``periphery.GPIO`` calls a driver makes."""

    def __init__(self, shared: SharedInterrupt, port: str):
        self.shared = shared
        self.port = port
        self._events: deque[Edge] = deque()
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        self._open = True

    @property
    def fd(self) -> int:
        return self._read_fd

    def _push(self, event: Edge) -> None:
        if self._open:
            self._events.append(event)
            try:
                os.write(self._write_fd, b"!")
            except BlockingIOError:
                pass  # the pipe is full of wake-ups already: the events are in the queue

    def poll(self, timeout: float | None = 0) -> bool:
        self._check_open()
        self.shared.pump()
        if self._events or timeout == 0:
            return bool(self._events)
        select.select([self._read_fd, self.shared._line.fd], [], [], timeout)
        self.shared.pump()
        return bool(self._events)

    def read_event(self) -> Edge:
        self._check_open()
        self.shared.pump()
        if not self._events:
            raise OSError(errno.EAGAIN, f"no edge pending on the interrupt line of {self.port}")
        try:
            os.read(self._read_fd, 1)
        except BlockingIOError:
            pass
        return self._events.popleft()

    def read(self) -> bool:
        self._check_open()
        return self.shared.read()

    def close(self) -> None:
        if self._open:
            self._open = False
            os.close(self._read_fd)
            os.close(self._write_fd)

    def _check_open(self) -> None:
        if not self._open:
            raise OSError(errno.EBADF, f"the interrupt line of {self.port} is closed")
