"""Simulated buses with the API of python-periphery and smbus2, dispatching to chip models.

The drivers above get these objects in place of ``periphery.SPI``, ``periphery.GPIO`` and
``smbus2.SMBus`` and cannot tell the difference: only the bus is simulated, never the driver.
Each bus dispatches a transfer to the chip model wired to it (by chip select, line number or
I2C address) the way a real controller would, and an address nobody answers gives the error a
real bus gives (Zephyr's i2c_emul does the same).

Behaviour follows the libraries' own source (python-periphery 2.4: ``spi.py``, ``gpio.py``,
``gpio_cdev2.py``; smbus2 0.4/0.5: ``smbus2.py``), including what they do wrong by a caller:
the same exception types (periphery's own ``SPIError``/``GPIOError``/``EdgeEvent`` are used, so a
driver catching them works unchanged), the same argument checks, real file descriptors, ``fd``
None after ``close()``, a blocking ``GPIO.poll(None)`` and ``read_event()``, a new line descriptor
whenever a GPIO's edge, direction, bias, drive or inversion changes. Deliberate difference: edge
timestamps are on the simulation's clock, where periphery's cdev2 asks the kernel for
CLOCK_REALTIME (a ``GpioLine`` can be given another stamp clock to test a driver against that).

Fault face (settable and clearable at run time): each SPI chip select and each I2C address has a
``TransferFaults`` (``faults.py``: transfers raise or return garbage), a ``GpioLine`` can be stuck
high or low, and a PCM timeslot can go silent in either direction.

Chip models implement small protocols:
- ``SpiChip``: ``select()``, ``exchange(byte) -> byte`` for each byte while selected, ``deselect()``.
- ``I2cChip``: ``i2c_write(data: bytes)`` and ``i2c_read(length) -> bytes`` (one message each).
- ``PcmChip``: ``pcm_format()`` -> ``(law, tx_slot, rx_slot)`` or None when its PCM is off, and
  ``pcm_exchange(samples_from_host) -> samples_to_host`` with int16 frames.
"""

from __future__ import annotations

import array
import errno
import os
import select
from collections import deque
from collections.abc import Callable
from typing import Protocol

import numpy as np
from periphery import EdgeEvent, GPIOError, SPIError
from smbus2 import I2cFunc

from centralino.media import g711
from centralino.media.frames import FRAME_SAMPLES

from .faults import FAIL, TransferFaults

# Older names of the error types: they are periphery's own now.
SimSPIError = SPIError
SimGPIOError = GPIOError
__all__ = ["EdgeEvent", "GpioLine", "SimGPIO", "SimPcmBus", "SimSMBus", "SimSPI", "SimSPIError",
           "SimGPIOError", "TransferFaults"]


class SpiChip(Protocol):
    def select(self) -> None: ...
    def exchange(self, byte: int) -> int: ...
    def deselect(self) -> None: ...


class I2cChip(Protocol):
    def i2c_write(self, data: bytes) -> None: ...
    def i2c_read(self, length: int) -> bytes: ...


class PcmChip(Protocol):
    def pcm_format(self) -> tuple[str, int, int] | None: ...
    def pcm_exchange(self, from_host: np.ndarray) -> np.ndarray: ...


def _closed(what: str) -> TypeError:
    """periphery and smbus2 keep ``fd`` None after close(); their next ioctl raises TypeError."""
    return TypeError(f"{what} is closed: argument must be an int, or have a fileno() method")


# ---------------------------------------------------------------------------------------- SPI

def _check_spi_settings(devpath, mode, max_speed, bit_order, bits_per_word, extra_flags) -> None:
    """periphery.SPI's argument checks, in its order (TypeError first, then ValueError)."""
    if not isinstance(devpath, str):
        raise TypeError("Invalid devpath type, should be string.")
    if not isinstance(mode, int):
        raise TypeError("Invalid mode type, should be integer.")
    if not isinstance(max_speed, (int, float)):
        raise TypeError("Invalid max_speed type, should be integer or float.")
    if not isinstance(bit_order, str):
        raise TypeError("Invalid bit_order type, should be string.")
    if not isinstance(bits_per_word, int):
        raise TypeError("Invalid bits_per_word type, should be integer.")
    if not isinstance(extra_flags, int):
        raise TypeError("Invalid extra_flags type, should be integer.")
    if mode not in (0, 1, 2, 3):
        raise ValueError("Invalid mode, can be 0, 1, 2, 3.")
    if bit_order.lower() not in ("msb", "lsb"):
        raise ValueError('Invalid bit_order, can be "msb" or "lsb".')
    if not 0 <= bits_per_word <= 255:
        raise ValueError("Invalid bits_per_word, must be 0-255.")


class SimSPI:
    """``periphery.SPI`` for one chip select; a transfer holds chip select for the whole buffer."""

    def __init__(self, devpath: str, mode: int, max_speed: float, bit_order: str = "msb",
                 bits_per_word: int = 8, extra_flags: int = 0, *, chip: SpiChip | None = None,
                 faults: TransferFaults | None = None):
        self._fd: int | None = None
        _check_spi_settings(devpath, mode, max_speed, bit_order, bits_per_word, extra_flags)
        if chip is None:
            raise SPIError(errno.ENOENT, "Opening SPI device: No such file or directory "
                                         f"(no simulated chip on {devpath})")
        self._fd = os.open(os.devnull, os.O_RDWR)  # a real descriptor, as spidev's is
        self._devpath = devpath
        self._mode = mode
        self._max_speed = int(max_speed)
        self._bit_order = bit_order.lower()
        self._bits_per_word = bits_per_word
        self._extra_flags = extra_flags
        self._chip = chip
        self.faults = faults if faults is not None else TransferFaults(devpath)
        self.transfers = 0

    def transfer(self, data):
        """Shift ``data`` out and return what was shifted in, of the same type (bytes, bytearray, list)."""
        if not isinstance(data, (bytes, bytearray, list)):
            raise TypeError("Invalid data type, should be bytes, bytearray, or list.")
        try:
            sent = array.array("B", data).tolist()
        except OverflowError:
            raise ValueError("Invalid data bytes.") from None
        if self._fd is None:
            raise _closed(f"SPI {self._devpath}")
        hit = self.faults.take()
        if hit is not None and hit[0] == FAIL:
            raise SPIError(hit[1], "SPI transfer: " + os.strerror(hit[1]))
        if self._bit_order != "msb":
            # A controller set up wrong shifts garbage: the chip sees bit-reversed bytes.
            sent = [_reverse_bits(b) for b in sent]
        self.transfers += 1
        self._chip.select()
        try:
            out = [self._chip.exchange(b) & 0xFF for b in sent]
        finally:
            self._chip.deselect()
        if hit is not None:  # garbage: the chip got the bytes, MISO brought back noise
            out = self.faults.noise(len(out))
        if isinstance(data, bytes):
            return bytes(out)
        if isinstance(data, bytearray):
            return bytearray(out)
        return out

    def close(self) -> None:
        if self._fd is None:
            return
        os.close(self._fd)
        self._fd = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- immutable properties
    @property
    def fd(self) -> int | None:
        return self._fd

    @property
    def devpath(self) -> str:
        return self._devpath

    # -- mutable properties, checked as periphery checks them
    def _require_open(self) -> None:
        if self._fd is None:
            raise _closed(f"SPI {self._devpath}")

    @property
    def mode(self) -> int:
        self._require_open()
        return self._mode

    @mode.setter
    def mode(self, mode: int) -> None:
        if not isinstance(mode, int):
            raise TypeError("Invalid mode type, should be integer.")
        if mode not in (0, 1, 2, 3):
            raise ValueError("Invalid mode, can be 0, 1, 2, 3.")
        self._require_open()
        self._mode = mode

    @property
    def max_speed(self) -> int:
        self._require_open()
        return self._max_speed

    @max_speed.setter
    def max_speed(self, max_speed: float) -> None:
        if not isinstance(max_speed, (int, float)):
            raise TypeError("Invalid max_speed type, should be integer or float.")
        self._require_open()
        self._max_speed = int(max_speed)

    @property
    def bit_order(self) -> str:
        self._require_open()
        return self._bit_order

    @bit_order.setter
    def bit_order(self, bit_order: str) -> None:
        if not isinstance(bit_order, str):
            raise TypeError("Invalid bit_order type, should be string.")
        if bit_order.lower() not in ("msb", "lsb"):
            raise ValueError('Invalid bit_order, can be "msb" or "lsb".')
        self._require_open()
        self._bit_order = bit_order.lower()

    @property
    def bits_per_word(self) -> int:
        self._require_open()
        return self._bits_per_word

    @bits_per_word.setter
    def bits_per_word(self, bits_per_word: int) -> None:
        if not isinstance(bits_per_word, int):
            raise TypeError("Invalid bits_per_word type, should be integer.")
        if not 0 <= bits_per_word <= 255:
            raise ValueError("Invalid bits_per_word, must be 0-255.")
        self._require_open()
        self._bits_per_word = bits_per_word

    @property
    def extra_flags(self) -> int:
        self._require_open()
        return self._extra_flags

    @extra_flags.setter
    def extra_flags(self, extra_flags: int) -> None:
        if not isinstance(extra_flags, int):
            raise TypeError("Invalid extra_flags type, should be integer.")
        self._require_open()
        self._extra_flags = extra_flags

    def __str__(self) -> str:
        return (f"SPI (device={self.devpath}, fd={self.fd}, mode={self.mode}, max_speed={self.max_speed}, "
                f"bit_order={self.bit_order}, bits_per_word={self.bits_per_word}, "
                f"extra_flags=0x{self.extra_flags:08x})")


def _reverse_bits(byte: int) -> int:
    return int(f"{byte:08b}"[::-1], 2)


# --------------------------------------------------------------------------------------- GPIO

class GpioLine:
    """One wire. Chip models pull it (open drain) or read it; the driver's SimGPIO sees edges.

    Fault face: ``stick(True|False)`` shorts the wire to 3V3 or ground (nothing else moves it
    then), ``stick(None)`` frees it. ``stamp_clock`` is the clock edge timestamps are taken from
    (default: ``clock``); ``time.time`` gives the CLOCK_REALTIME stamps of periphery's cdev2.
    """

    def __init__(self, name: str, clock: Callable[[], float], idle_level: bool = True,
                 stamp_clock: Callable[[], float] | None = None):
        self.name = name
        self._clock = clock
        self._stamp_clock = stamp_clock or clock
        self._pulled_low_by: set[str] = set()
        self._driven: bool | None = None
        self._stuck: bool | None = None
        self._idle = idle_level
        self._listeners: list[Callable[[str, int], None]] = []
        self._watchers: list[Callable[[bool], None]] = []

    @property
    def level(self) -> bool:
        if self._stuck is not None:
            return self._stuck
        if self._driven is not None:
            return self._driven
        return not self._pulled_low_by and self._idle

    @property
    def stuck(self) -> bool | None:
        """The level the wire is stuck at, or None when it is free."""
        return self._stuck

    def stick(self, level: bool | None) -> None:
        """A wiring fault: the line stuck high (True) or low (False); None repairs it."""
        before = self.level
        self._stuck = None if level is None else bool(level)
        self._changed(before)

    def pull_low(self, who: str, low: bool) -> None:
        """Open-drain output of a chip: the line is low while anyone pulls it low."""
        before = self.level
        if low:
            self._pulled_low_by.add(who)
        else:
            self._pulled_low_by.discard(who)
        self._changed(before)

    def drive(self, level: bool | None) -> None:
        """Push-pull output of the host (None releases it)."""
        before = self.level
        self._driven = level
        self._changed(before)

    def watch(self, callback: Callable[[bool], None]) -> None:
        """A chip model's input: called with the new level on every change (e.g. a reset pin)."""
        self._watchers.append(callback)

    def _subscribe(self, callback: Callable[[str, int], None]) -> None:
        self._listeners.append(callback)

    def _changed(self, before: bool) -> None:
        after = self.level
        if after == before:
            return
        edge = "rising" if after else "falling"
        stamp = int(round(self._stamp_clock() * 1e9))
        for listener in list(self._listeners):
            listener(edge, stamp)
        for watcher in list(self._watchers):
            watcher(after)


_DIRECTIONS = ("in", "out", "high", "low")
_EDGES = ("none", "rising", "falling", "both")
_BIASES = ("default", "pull_up", "pull_down", "disable")
_DRIVES = ("default", "open_drain", "open_source")


def _check_gpio_settings(path, line, direction, edge, bias, drive, inverted, label) -> None:
    """periphery's Cdev2GPIO argument checks, in its order."""
    if not isinstance(path, str):
        raise TypeError("Invalid path type, should be string.")
    if not isinstance(line, (int, str)):
        raise TypeError("Invalid line type, should be integer or string.")
    if not isinstance(direction, str):
        raise TypeError("Invalid direction type, should be string.")
    if direction not in _DIRECTIONS:
        raise ValueError('Invalid direction, can be: "in", "out", "high", "low".')
    if not isinstance(edge, str):
        raise TypeError("Invalid edge type, should be string.")
    if edge not in _EDGES:
        raise ValueError('Invalid edge, can be: "none", "rising", "falling", "both".')
    if not isinstance(bias, str):
        raise TypeError("Invalid bias type, should be string.")
    if bias not in _BIASES:
        raise ValueError('Invalid bias, can be: "default", "pull_up", "pull_down", "disable".')
    if not isinstance(drive, str):
        raise TypeError("Invalid drive type, should be string.")
    if drive not in _DRIVES:
        raise ValueError('Invalid drive, can be: "default", "open_drain", "open_source".')
    if not isinstance(inverted, bool):
        raise TypeError("Invalid drive type, should be bool.")  # sic: periphery's message
    if not isinstance(label, (type(None), str)):
        raise TypeError("Invalid label type, should be None or str.")


class SimGPIO:
    """``periphery.GPIO`` (character-device flavour, ABI v2) on one simulated line.

    Like the kernel's line request, ``fd`` becomes readable while an edge event waits, so a
    driver can hand it to ``loop.add_reader`` exactly as on the Pi; ``poll(None)`` and
    ``read_event()`` block until an edge comes (from another thread, or never).
    """

    def __init__(self, path: str, line: int | str, direction: str = "in", edge: str = "none",
                 bias: str = "default", drive: str = "default", inverted: bool = False,
                 label: str | None = None, *, wire: GpioLine | None = None):
        self._line_fd: int | None = None
        self._write_fd: int | None = None
        self._chip_fd: int | None = None
        _check_gpio_settings(path, line, direction, edge, bias, drive, inverted, label)
        if wire is None:
            if isinstance(line, str):
                raise LookupError(f'Opening GPIO line: GPIO line "{line}" not found by name.')
            kind = "input" if direction == "in" else "output"
            raise GPIOError(errno.EINVAL, f"Opening {kind} line handle: Invalid argument "
                                          f"(no simulated line {line} on {path})")
        self._chip_fd = os.open(os.devnull, os.O_RDONLY)  # the gpiochip's own descriptor
        self._devpath = path
        self._line = line
        self._label = label if label is not None else "periphery"
        self._wire = wire
        self._events: deque[EdgeEvent] = deque()
        self._direction = "in"
        self._edge = "none"
        wire._subscribe(self._on_edge)
        self._reopen(direction, edge, bias, drive, inverted)

    def _reopen(self, direction: str, edge: str, bias: str, drive: str, inverted: bool) -> None:
        """A new line request, as periphery makes one for every change: a new descriptor,
        pending events gone, an output set to its direction's level."""
        self._close_line_fd()
        self._line_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        self._events.clear()
        self._direction = "in" if direction == "in" else "out"
        self._edge = edge
        self._bias = bias
        self._drive = drive
        self._inverted = inverted
        if self._direction == "out":
            self._wire.drive(direction == "high")  # "high" is high on the wire, inverted or not
        else:
            self._wire.drive(None)

    def _close_line_fd(self) -> None:
        for fd in (self._line_fd, self._write_fd):
            if fd is not None:
                os.close(fd)
        self._line_fd = self._write_fd = None

    # -- methods
    def read(self) -> bool:
        if self._line_fd is None:
            raise _closed(f"GPIO line {self._devpath}")
        return self._wire.level != self._inverted

    def write(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError("Invalid value type, should be bool.")
        if self._direction != "out":
            raise GPIOError(None, "Invalid operation: cannot write to input GPIO")
        self._wire.drive(value != self._inverted)

    def poll(self, timeout: float | None = None) -> bool:
        """True when an edge event waits. ``timeout`` in seconds: 0 does not wait, None or a
        negative number waits for ever (real time, as the kernel does)."""
        if not isinstance(timeout, (int, float, type(None))):
            raise TypeError("Invalid timeout type, should be integer, float, or None.")
        if self._direction != "in":
            raise GPIOError(None, "Invalid operation: cannot poll output GPIO")
        poller = select.poll()
        poller.register(self._line_fd, select.POLLIN | select.POLLPRI | select.POLLERR)
        if isinstance(timeout, (int, float)) and timeout > 0:
            timeout *= 1000
        return len(poller.poll(timeout)) > 0

    def read_event(self) -> EdgeEvent:
        """The oldest edge event; blocks until there is one, like a read of the line descriptor."""
        if self._direction != "in":
            raise GPIOError(None, "Invalid operation: cannot read event of output GPIO")
        if self._edge == "none":
            raise GPIOError(None, "Invalid operation: GPIO edge not set")
        try:
            os.read(self._line_fd, 1)
        except OSError as err:
            raise GPIOError(err.errno, "Reading GPIO event: " + err.strerror) from None
        return self._events.popleft()

    def close(self) -> None:
        self._close_line_fd()
        if self._chip_fd is not None:
            os.close(self._chip_fd)
        self._chip_fd = None
        self._edge = "none"
        self._direction = "in"
        self._line = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _on_edge(self, edge: str, stamp: int) -> None:
        if self._line_fd is None or self._direction != "in":
            return
        if self._inverted:
            edge = "rising" if edge == "falling" else "falling"
        if self._edge == "both" or self._edge == edge:
            self._events.append(EdgeEvent(edge, stamp))
            try:
                os.write(self._write_fd, b"!")
            except BlockingIOError:  # nobody reads the events: the kernel's buffer drops them too
                self._events.pop()

    # -- immutable properties
    @property
    def devpath(self) -> str:
        return self._devpath

    path = devpath  # the constructor's name for it

    @property
    def fd(self) -> int | None:
        return self._line_fd

    @property
    def line(self) -> int | str | None:
        return self._line

    @property
    def name(self) -> str:
        return self._wire.name

    @property
    def label(self) -> str:
        return self._label

    @property
    def chip_fd(self) -> int | None:
        return self._chip_fd

    @property
    def chip_name(self) -> str:
        return os.path.basename(self._devpath)

    @property
    def chip_label(self) -> str:
        return "centralino-sim"

    # -- mutable properties: every change is a new line request, as in periphery
    @property
    def direction(self) -> str:
        return self._direction

    @direction.setter
    def direction(self, direction: str) -> None:
        if not isinstance(direction, str):
            raise TypeError("Invalid direction type, should be string.")
        if direction not in _DIRECTIONS:
            raise ValueError('Invalid direction, can be: "in", "out", "high", "low".')
        if self._direction == direction:
            return
        self._reopen(direction, "none", self._bias, self._drive, self._inverted)

    @property
    def edge(self) -> str:
        return self._edge

    @edge.setter
    def edge(self, edge: str) -> None:
        if not isinstance(edge, str):
            raise TypeError("Invalid edge type, should be string.")
        if edge not in _EDGES:
            raise ValueError('Invalid edge, can be: "none", "rising", "falling", "both".')
        if self._direction != "in":
            raise GPIOError(None, "Invalid operation: cannot set edge on output GPIO")
        if self._edge == edge:
            return
        self._reopen(self._direction, edge, self._bias, self._drive, self._inverted)

    @property
    def bias(self) -> str:
        return self._bias

    @bias.setter
    def bias(self, bias: str) -> None:
        if not isinstance(bias, str):
            raise TypeError("Invalid bias type, should be string.")
        if bias not in _BIASES:
            raise ValueError('Invalid bias, can be: "default", "pull_up", "pull_down", "disable".')
        if self._bias != bias:
            self._reopen(self._direction, self._edge, bias, self._drive, self._inverted)

    @property
    def drive(self) -> str:
        return self._drive

    @drive.setter
    def drive(self, drive: str) -> None:
        if not isinstance(drive, str):
            raise TypeError("Invalid drive type, should be string.")
        if drive not in _DRIVES:
            raise ValueError('Invalid drive, can be: "default", "open_drain", "open_source".')
        if self._direction != "out" and drive != "default":
            raise GPIOError(None, "Invalid operation: cannot set line drive on input GPIO")
        if self._drive != drive:
            self._reopen(self._direction, self._edge, self._bias, drive, self._inverted)

    @property
    def inverted(self) -> bool:
        return self._inverted

    @inverted.setter
    def inverted(self, inverted: bool) -> None:
        if not isinstance(inverted, bool):
            raise TypeError("Invalid drive type, should be bool.")
        if self._inverted != inverted:
            self._reopen(self._direction, self._edge, self._bias, self._drive, inverted)

    def __str__(self) -> str:
        return (f'GPIO {self._line} (name="{self.name}", label="{self.label}", device={self._devpath}, '
                f"line_fd={self._line_fd}, chip_fd={self._chip_fd}, direction={self._direction}, "
                f"edge={self._edge}, bias={self._bias}, drive={self._drive}, inverted={self._inverted}, "
                f'chip_name="{self.chip_name}", chip_label="{self.chip_label}", type=cdev)')


# ---------------------------------------------------------------------------------------- I2C

I2C_BLOCK_MAX = 32
I2C_M_RD = 0x0001
# What Linux's i2c-bcm2835 adapter offers (plain I2C plus emulated SMBus) [M]
ADAPTER_FUNCS = I2cFunc.I2C | I2cFunc.SMBUS_EMUL


class SimSMBus:
    """``smbus2.SMBus`` on a simulated I2C bus: each call becomes I2C messages to a chip model.

    ``faults`` maps an address to its ``TransferFaults``: ``fail`` raises ``OSError`` with the
    errno i2c-dev gives (EREMOTEIO by default: the chip stopped acknowledging), ``garbage``
    returns noise for what is read."""

    def __init__(self, bus: int | str | None = None, force: bool = False, *,
                 chips: dict[int, I2cChip] | None = None, faults: dict[int, TransferFaults] | None = None):
        self.fd: int | None = None
        self.funcs = I2cFunc(0)
        self._chips = chips if chips is not None else {}
        self._faults = faults if faults is not None else {}
        self.bus = bus
        if bus is not None:
            self.open(bus)
        self.address: int | None = None
        self.force = force
        self._force_last: bool | None = None
        self._pec = 0

    def open(self, bus: int | str) -> None:
        if not isinstance(bus, (int, str)):
            raise TypeError("Unexpected type(bus)={}".format(type(bus)))
        self.bus = bus
        self.fd = os.open(os.devnull, os.O_RDWR)  # a real descriptor, as i2c-dev's is
        self.funcs = ADAPTER_FUNCS

    def close(self) -> None:
        if self.fd:
            os.close(self.fd)
            self.fd = None
            self._pec = 0
            self.address = None
            self._force_last = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- one message to one address, through its faults
    def _select(self, address: int, force=None) -> I2cChip:
        if self.fd is None:
            raise _closed(f"I2C bus {self.bus}")
        self.address = address
        self._force_last = self.force if force is None else force
        chip = self._chips.get(address)
        if chip is None and address not in self._faults:
            # What Linux's i2c-dev returns when no device acknowledges its address.
            raise OSError(errno.EREMOTEIO, f"Remote I/O error (no device at 0x{address:02x})")
        return chip

    def _write(self, address: int, data: bytes, force=None) -> None:
        chip = self._select(address, force)
        self._hit(address)  # garbage on a write: the bytes still land
        if chip is None:
            raise OSError(errno.EREMOTEIO, f"Remote I/O error (no device at 0x{address:02x})")
        chip.i2c_write(data)

    def _read(self, address: int, length: int, force=None) -> bytes:
        chip = self._select(address, force)
        hit = self._hit(address)
        if chip is None:
            raise OSError(errno.EREMOTEIO, f"Remote I/O error (no device at 0x{address:02x})")
        data = chip.i2c_read(length)
        return bytes(self._faults[address].noise(length)) if hit is not None else data

    def _hit(self, address: int):
        faults = self._faults.get(address)
        hit = faults.take() if faults is not None else None
        if hit is not None and hit[0] == FAIL:
            raise OSError(hit[1], os.strerror(hit[1]))
        return hit

    # -- the smbus2 calls
    def write_quick(self, i2c_addr: int, force=None) -> None:
        self._write(i2c_addr, b"", force)

    def read_byte(self, i2c_addr: int, force=None) -> int:
        return self._read(i2c_addr, 1, force)[0]

    def write_byte(self, i2c_addr: int, value: int, force=None) -> None:
        self._write(i2c_addr, bytes([value & 0xFF]), force)

    def read_byte_data(self, i2c_addr: int, register: int, force=None) -> int:
        self._write(i2c_addr, bytes([register & 0xFF]), force)
        return self._read(i2c_addr, 1, force)[0]

    def write_byte_data(self, i2c_addr: int, register: int, value: int, force=None) -> None:
        self._write(i2c_addr, bytes([register & 0xFF, value & 0xFF]), force)

    def read_word_data(self, i2c_addr: int, register: int, force=None) -> int:
        self._write(i2c_addr, bytes([register & 0xFF]), force)
        low, high = self._read(i2c_addr, 2, force)
        return low | high << 8

    def write_word_data(self, i2c_addr: int, register: int, value: int, force=None) -> None:
        self._write(i2c_addr, bytes([register & 0xFF, value & 0xFF, (value >> 8) & 0xFF]), force)

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int, force=None) -> list[int]:
        if length > I2C_BLOCK_MAX:
            raise ValueError("Desired block length over %d bytes" % I2C_BLOCK_MAX)
        self._write(i2c_addr, bytes([register & 0xFF]), force)
        return list(self._read(i2c_addr, length, force))

    def write_i2c_block_data(self, i2c_addr: int, register: int, data, force=None) -> None:
        if len(data) > I2C_BLOCK_MAX:
            raise ValueError("Data length cannot exceed %d bytes" % I2C_BLOCK_MAX)
        self._write(i2c_addr, bytes([register & 0xFF, *[b & 0xFF for b in data]]), force)

    def i2c_rdwr(self, *i2c_msgs) -> None:
        """Combined transfer of ``smbus2.i2c_msg`` objects (how a 24C32's 16-bit address is sent)."""
        for msg in i2c_msgs:
            if msg.flags & I2C_M_RD:
                data = self._read(msg.addr, msg.len)
                for index, value in enumerate(data):
                    msg.buf[index] = bytes([value])
            else:
                self._write(msg.addr, bytes(msg))


# ---------------------------------------------------------------------------------------- PCM

PCM_DIRECTIONS = ("both", "to_host", "to_chip")


class SimPcmBus:
    """The HAT's PCM/TDM bus: each 20 ms frame carries every timeslot, sample-interleaved.

    ``transfer(host_out)`` takes ``FRAME_SAMPLES * slots`` bytes (sample 0 of every slot, then
    sample 1, ...) and returns the same shape from the chips. Each chip reads the slot its PCM
    registers name, in the law they name: a driver that sets the wrong slot or law gets silence
    or noise, as it would on the board.

    Fault face: ``silence(slot, direction)`` makes a timeslot carry nothing towards the host
    (``to_host``: the chip's transmit line is open), towards the chip (``to_chip``), or both;
    ``restore(slot)`` (or ``restore()`` for all) repairs it.
    """

    IDLE_BYTE = 0xD5  # A-law code of 0 (what an undriven slot reads on an A-law bus)

    def __init__(self, slots: int, chips: list[PcmChip] | None = None):
        if not 1 <= slots <= 128:
            raise ValueError(f"PCM bus slots must be 1..128, got {slots}")
        self.slots = slots
        self.chips: list[PcmChip] = list(chips or [])
        self.frames = 0
        self.collisions = 0
        self._silent: dict[int, str] = {}

    def attach(self, chip: PcmChip) -> None:
        self.chips.append(chip)

    # -- fault face
    def silence(self, slot: int, direction: str = "both") -> None:
        if not 0 <= slot < self.slots:
            raise ValueError(f"PCM slot {slot} is not on this bus (0..{self.slots - 1})")
        if direction not in PCM_DIRECTIONS:
            raise ValueError(f"PCM direction must be one of {PCM_DIRECTIONS}, got {direction!r}")
        self._silent[slot] = direction

    def restore(self, slot: int | None = None) -> None:
        if slot is None:
            self._silent.clear()
        else:
            self._silent.pop(slot, None)

    @property
    def silent_slots(self) -> dict[int, str]:
        return dict(self._silent)

    def _silent_towards(self, slot: int, direction: str) -> bool:
        return self._silent.get(slot) in ("both", direction)

    def transfer(self, data: bytes) -> bytes:
        expected = FRAME_SAMPLES * self.slots
        if len(data) != expected:
            raise ValueError(f"PCM frame must be {expected} bytes ({self.slots} slots), got {len(data)}")
        host_out = np.frombuffer(data, dtype=np.uint8).reshape(FRAME_SAMPLES, self.slots)
        host_in = np.full((FRAME_SAMPLES, self.slots), self.IDLE_BYTE, dtype=np.uint8)
        driven = np.zeros(self.slots, dtype=bool)
        self.frames += 1
        for chip in self.chips:
            fmt = chip.pcm_format()
            if fmt is None:
                continue
            law, tx_slot, rx_slot = fmt
            encode, decode = g711.codec(law)
            if rx_slot < self.slots and not self._silent_towards(rx_slot, "to_chip"):
                from_host = decode(host_out[:, rx_slot])
            else:
                from_host = np.zeros(FRAME_SAMPLES, dtype=np.int16)
            to_host = chip.pcm_exchange(from_host)
            if to_host is None or tx_slot >= self.slots or self._silent_towards(tx_slot, "to_host"):
                continue
            encoded = encode(np.asarray(to_host, dtype=np.int16))
            if driven[tx_slot]:
                self.collisions += 1
                host_in[:, tx_slot] &= encoded  # two drivers on one slot: the bus reads garbage
            else:
                host_in[:, tx_slot] = encoded
                driven[tx_slot] = True
        return host_in.tobytes()
