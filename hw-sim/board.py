"""The simulated HAT and the world around it, built from the same configuration as the real one.

``SimBoard`` creates a chip model for every configured port (Si321x for fxs, Si3050 for fxo),
GPIO wires for their interrupt and reset lines, the HAT ID EEPROM and the PCM bus, and hands out
bus objects with the constructors' signatures of periphery and smbus2 (``spi(devpath, mode,
speed)``, ``gpio(chip, line, direction, edge=...)``, ``smbus(bus)``). Around it: an analog phone
on every FXS port and a PSTN exchange with one subscriber line per FXO port; with a lifeline in
the board, its relay (``relay.py``) between phone 1 and its SLIC and between line 1 and its DAA.
``open_sim_board`` is the ``sim`` board kind (the ``centralino.boards`` entry point).

Fault face: ``ports[name]`` holds each port's chip, its SPI device's ``TransferFaults``, its
interrupt and reset wires and its PCM timeslot; ``i2c_faults`` the faults of each I2C address
(the EEPROM at 0x50, the LED driver). Bus objects opened on a device share its faults, so a
fault set while the switchboard runs reaches the driver that holds the bus.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import tempfile
import time
from dataclasses import dataclass

from centralino.board import led_bus, wire_board

from .buses import GpioLine, SimGPIO, SimPcmBus, SimSMBus, SimSPI
from .eeprom import At24c32
from .faults import TransferFaults
from .hat_image import hat_image
from .leds import SimLeds
from .modem import ModemSim
from .modem_network import MobileNetwork
from .phone import AnalogPhone
from .relay import LifelineRelay
from .pstn import PstnExchange
from .si321x import Si321x
from .si3050 import Si3050
from .voices import VOICE_FREQUENCIES_HZ, Voice

HAT_VENDOR = "centralino project"
HAT_UUID = "6f1c5d2e-8a44-4a43-9e1f-3b2a71c0de01"
HAT_PRODUCT_ID = 0x0108
EEPROM_ADDRESS = 0x50


@dataclass
class SimPort:
    """One port of the HAT as the fault face reaches it."""

    name: str
    kind: str  # fxs or fxo
    chip: object  # Si321x or Si3050
    spi_path: str
    spi_faults: TransferFaults
    irq: GpioLine
    reset: GpioLine | None
    timeslot: int


class SimBoard:
    def __init__(self, settings, clock=None, seed: int = 0, hat_product: str | None = None,
                 faults: dict[str, str] | None = None, blank_eeprom: bool = False):
        self.clock = clock or time.monotonic
        board = settings.board
        self._eeprom_bus = board.eeprom_bus
        self._i2c_bus = board.i2c_bus
        self.wires: dict[int, GpioLine] = {}
        self.chips: dict[str, object] = {}
        self.ports: dict[str, SimPort] = {}
        self._spi_chips: dict[str, object] = {}
        self._spi_faults: dict[str, TransferFaults] = {}
        self.phones: dict[str, AnalogPhone] = {}
        self.lines: dict[str, object] = {}
        self.exchange = PstnExchange(self.clock, seed=seed)
        self.pcm = SimPcmBus(board.pcm_slots)
        voices = iter(VOICE_FREQUENCIES_HZ)
        line_numbers = {line.port: line.number for line in settings.lines}
        lifeline = getattr(board, "lifeline", None)
        phone_voices: dict[str, Voice] = {}
        for index, port in enumerate(board.ports):
            irq = self._wire(port.irq_gpio)
            reset = self._wire(port.reset_gpio) if port.reset_gpio is not None else None
            if port.kind == "fxs":
                chip = Si321x(port.name, self.clock, irq=irq, reset=reset, part=port.part or "Si3210")
                phone_voices[port.name] = Voice(next(voices))
            else:
                chip = Si3050(port.name, self.clock, irq=irq, reset=reset)
                self.lines[port.name] = self.exchange.line(port.name, line_numbers.get(port.name) or "")
            self.chips[port.name] = chip
            self._spi_chips[port.spi] = chip
            self._spi_faults[port.spi] = TransferFaults(port.spi, seed=seed + index)
            self.ports[port.name] = SimPort(port.name, port.kind, chip, port.spi, self._spi_faults[port.spi],
                                            irq, reset, port.timeslot)
            self.pcm.attach(chip)
        # the lifeline relay sits between phone 1 and its SLIC and between line 1 and its DAA
        self.relay: LifelineRelay | None = None
        if lifeline is not None:
            sense = self._wire(lifeline.sense_gpio) if lifeline.sense_gpio is not None else None
            self.relay = LifelineRelay(self.clock, heartbeat=self._wire(lifeline.relay_gpio), sense=sense,
                                       slic=self.chips[lifeline.phone], line=self.lines[lifeline.line],
                                       hold_s=lifeline.hold_s)
        for name, voice in phone_voices.items():
            wired_to = self.relay.phone_side if self.relay and name == lifeline.phone else self.chips[name]
            self.phones[name] = AnalogPhone(wired_to, voice, self.clock)
        for name, line in self.lines.items():
            self.chips[name].attach(self.relay.daa_side if self.relay and name == lifeline.line else line)
        for port_name, fault in (faults or {}).items():
            target = self.relay if port_name == "lifeline" else self.chips[port_name]
            target.inject_fault(fault)
        # the rest are for remote parties; they repeat once all are taken (a long training day)
        self.voices = itertools.cycle(list(voices))
        image = b"" if blank_eeprom else hat_image(HAT_VENDOR, hat_product or board.hat, HAT_PRODUCT_ID, 1, HAT_UUID)
        self.eeprom = At24c32(image)  # world face: eeprom.write_protected is the WP jumper
        self.leds = SimLeds(getattr(board, "leds", None), self.clock)  # the status LEDs (world face: leds.lit("ready"))
        self.i2c_faults: dict[int, TransferFaults] = {
            address: TransferFaults(f"i2c 0x{address:02x}", default_errno=errno.EREMOTEIO, seed=seed)
            for address in (EEPROM_ADDRESS, *self.leds.i2c_chips())}
        self.mobile_network = MobileNetwork()
        self._copper: asyncio.Task | None = None
        self.modem: ModemSim | None = None
        self._modem_dir: tempfile.TemporaryDirectory | None = None
        if settings.gsm is not None:
            # the modem's ports are ptys behind symlinks, as udev gives /dev/gsm-at on the Pi
            self._modem_dir = tempfile.TemporaryDirectory(prefix="centralino-modem-")
            self.modem = ModemSim(settings.gsm.dialect, self._modem_dir.name, self.mobile_network, seed=seed)

    async def start(self) -> None:
        if self.relay is not None and self._copper is None:  # the copper outlives the daemon: it is wiring
            self._copper = asyncio.get_running_loop().create_task(self.relay.run(), name="lifeline-copper")
        if self.modem is not None:
            await self.modem.start()

    async def stop(self) -> None:
        if self.modem is not None:
            await self.modem.close()
            self._modem_dir.cleanup()
            self.modem = None

    def next_voice(self) -> Voice:
        return Voice(next(self.voices))

    async def close(self) -> None:
        """Take the world down for good (the copper of the lifeline included)."""
        await self.stop()
        if self._copper is not None:
            self._copper.cancel()
            await asyncio.gather(self._copper, return_exceptions=True)
            self._copper = None

    def _wire(self, number: int) -> GpioLine:
        if number not in self.wires:
            self.wires[number] = GpioLine(f"GPIO{number}", self.clock)
        return self.wires[number]

    # -- constructors with the signatures of periphery.SPI, periphery.GPIO and smbus2.SMBus
    def spi(self, devpath: str, mode: int, max_speed: float, *args, **kwargs) -> SimSPI:
        return SimSPI(devpath, mode, max_speed, *args, chip=self._spi_chips.get(devpath),
                      faults=self._spi_faults.get(devpath), **kwargs)

    def gpio(self, path: str, line: int | str, direction: str = "in", **kwargs) -> SimGPIO:
        if isinstance(line, str):  # periphery also opens a line by its name
            wire = next((w for w in self.wires.values() if w.name == line), None)
        else:
            wire = self.wires.get(line)
        return SimGPIO(path, line, direction, wire=wire, **kwargs)

    def smbus(self, bus=None, force: bool = False) -> SimSMBus:
        """The ID EEPROM answers on its own bus (ID_SD/ID_SC), the LED driver on the HAT's I2C1; a
        bus of neither is empty. Without a bus name, every chip (for tests that talk to both)."""
        chips = {}
        if bus in (None, self._eeprom_bus):
            chips[EEPROM_ADDRESS] = self.eeprom
        if bus in (None, self._i2c_bus):
            chips.update(self.leds.i2c_chips())
        return SimSMBus(bus, force, chips=chips, faults=self.i2c_faults)


def open_sim_board(settings, clock=None, sim: SimBoard | None = None):
    """The ``sim`` board kind (entry point ``centralino.boards``): the simulated HAT's buses.

    ``sim`` is a ready ``SimBoard`` when a scenario wants to set up its world first."""
    if sim is None:
        sim = SimBoard(settings, clock=clock)
    board = wire_board(settings, "sim", sim.spi, sim.gpio, sim.smbus, sim.pcm, clock=sim.clock)
    board.world = sim
    board.leds = led_bus(settings, sim.smbus, lambda: sim.leds.gpio)
    return board
