"""The simulated HAT and the world around it, built from the same configuration as the real one.

``SimBoard`` creates a chip model for every configured port (Si321x for fxs, Si3050 for fxo),
GPIO wires for their interrupt and reset lines, the HAT ID EEPROM and the PCM bus, and hands out
bus objects with the constructors' signatures of periphery and smbus2 (``spi(devpath, mode,
speed)``, ``gpio(chip, line, direction, edge=...)``, ``smbus(bus)``). Around it: an analog phone
on every FXS port and a PSTN exchange with one subscriber line per FXO port.

Fault face: ``ports[name]`` holds each port's chip, its SPI device's ``TransferFaults``, its
interrupt and reset wires and its PCM timeslot; ``i2c_faults`` the faults of each I2C address
(the EEPROM at 0x50, the LED driver). Bus objects opened on a device share its faults, so a
fault set while the switchboard runs reaches the driver that holds the bus.
"""

from __future__ import annotations

import errno
import itertools
import tempfile
import time
from dataclasses import dataclass

from .buses import GpioLine, SimGPIO, SimPcmBus, SimSMBus, SimSPI
from .eeprom import At24c32
from .faults import TransferFaults
from .hat_image import hat_image
from .leds import SimLeds
from .modem import ModemSim
from .modem_network import MobileNetwork
from .phone import AnalogPhone
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
                 faults: dict[str, str] | None = None):
        self.clock = clock or time.monotonic
        board = settings.board
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
        for index, port in enumerate(board.ports):
            irq = self._wire(port.irq_gpio)
            reset = self._wire(port.reset_gpio) if port.reset_gpio is not None else None
            if port.kind == "fxs":
                chip = Si321x(port.name, self.clock, irq=irq, reset=reset, part=port.part or "Si3210")
                self.phones[port.name] = AnalogPhone(chip, Voice(next(voices)), self.clock)
            else:
                chip = Si3050(port.name, self.clock, irq=irq, reset=reset)
                line = self.exchange.line(port.name, line_numbers.get(port.name) or "")
                chip.attach(line)
                self.lines[port.name] = line
            self.chips[port.name] = chip
            self._spi_chips[port.spi] = chip
            self._spi_faults[port.spi] = TransferFaults(port.spi, seed=seed + index)
            self.ports[port.name] = SimPort(port.name, port.kind, chip, port.spi, self._spi_faults[port.spi],
                                            irq, reset, port.timeslot)
            self.pcm.attach(chip)
        for port_name, fault in (faults or {}).items():
            self.chips[port_name].inject_fault(fault)
        # the rest are for remote parties; they repeat once all are taken (a long training day)
        self.voices = itertools.cycle(list(voices))
        image = hat_image(HAT_VENDOR, hat_product or board.hat, HAT_PRODUCT_ID, 1, HAT_UUID)
        self.eeprom = At24c32(image)
        self.leds = SimLeds(getattr(board, "leds", None), self.clock)  # the status LEDs (world face: leds.lit("ready"))
        self.i2c_faults: dict[int, TransferFaults] = {
            address: TransferFaults(f"i2c 0x{address:02x}", default_errno=errno.EREMOTEIO, seed=seed)
            for address in (EEPROM_ADDRESS, *self.leds.i2c_chips())}
        self.mobile_network = MobileNetwork()
        self.modem: ModemSim | None = None
        self._modem_dir: tempfile.TemporaryDirectory | None = None
        if settings.gsm is not None:
            # the modem's ports are ptys behind symlinks, as udev gives /dev/gsm-at on the Pi
            self._modem_dir = tempfile.TemporaryDirectory(prefix="centralino-modem-")
            self.modem = ModemSim(settings.gsm.dialect, self._modem_dir.name, self.mobile_network, seed=seed)

    async def start(self) -> None:
        if self.modem is not None:
            await self.modem.start()

    async def stop(self) -> None:
        if self.modem is not None:
            await self.modem.close()
            self._modem_dir.cleanup()
            self.modem = None

    def next_voice(self) -> Voice:
        return Voice(next(self.voices))

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
        return SimSMBus(bus, force, chips={EEPROM_ADDRESS: self.eeprom, **self.leds.i2c_chips()},
                        faults=self.i2c_faults)
