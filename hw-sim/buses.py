"""Simulated buses with the API of python-periphery and smbus2, dispatching to chip models.

The drivers above get these objects in place of ``periphery.SPI``, ``periphery.GPIO`` and
``smbus2.SMBus`` and cannot tell the difference: only the bus is simulated, never the driver.
Each bus dispatches a transfer to the chip model wired to it (by chip select, line number or
I2C address) the way a real controller would, and an address nobody answers gives the error a
real bus gives (Zephyr's i2c_emul does the same).

Chip models implement small protocols:
- ``SpiChip``: ``select()``, ``exchange(byte) -> byte`` for each byte while selected, ``deselect()``.
- ``I2cChip``: ``i2c_write(data: bytes)`` and ``i2c_read(length) -> bytes`` (one message each).
- ``PcmChip``: ``pcm_format()`` -> ``(law, tx_slot, rx_slot)`` or None when its PCM is off, and
  ``pcm_exchange(samples_from_host) -> samples_to_host`` with int16 frames.
"""

from __future__ import annotations

import errno
import os
import select
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from centralino.media import g711
from centralino.media.frames import FRAME_SAMPLES


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


# ---------------------------------------------------------------------------------------- SPI

class SimSPIError(IOError):
    """Raised like ``periphery.SPIError``: opening a device path nobody wired, or using it closed."""


class SimSPI:
    """``periphery.SPI`` for one chip select; a transfer holds chip select for the whole buffer."""

    def __init__(self, devpath: str, mode: int, max_speed: float, bit_order: str = "msb",
                 bits_per_word: int = 8, extra_flags: int = 0, *, chip: SpiChip | None = None):
        if chip is None:
            raise SimSPIError(errno.ENOENT, f"Opening SPI device: no simulated chip on {devpath}")
        self.devpath = devpath
        self.mode = mode
        self.max_speed = max_speed
        self.bit_order = bit_order
        self.bits_per_word = bits_per_word
        self.extra_flags = extra_flags
        self._chip = chip
        self._open = True
        self.transfers = 0

    def transfer(self, data):
        if not self._open:
            raise SimSPIError(errno.EBADF, f"SPI {self.devpath} is closed")
        if self.bits_per_word != 8 or self.bit_order != "msb":
            # A controller set up wrong shifts garbage: the chip sees bit-reversed or split bytes.
            data = [_reverse_bits(b) for b in data] if self.bit_order != "msb" else list(data)
        self.transfers += 1
        self._chip.select()
        try:
            out = [self._chip.exchange(b & 0xFF) & 0xFF for b in data]
        finally:
            self._chip.deselect()
        if isinstance(data, (bytes, bytearray)):
            return bytes(out)
        return out

    def close(self) -> None:
        self._open = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def fd(self) -> int:
        return -1


def _reverse_bits(byte: int) -> int:
    return int(f"{byte:08b}"[::-1], 2)


# --------------------------------------------------------------------------------------- GPIO

@dataclass(frozen=True)
class EdgeEvent:
    """Same fields as ``periphery.EdgeEvent``: edge is "rising" or "falling", timestamp in ns."""
    edge: str
    timestamp: int


class GpioLine:
    """One wire. Chip models pull it (open drain) or read it; the driver's SimGPIO sees edges."""

    def __init__(self, name: str, clock: Callable[[], float], idle_level: bool = True):
        self.name = name
        self._clock = clock
        self._pulled_low_by: set[str] = set()
        self._driven: bool | None = None
        self._idle = idle_level
        self._listeners: list[Callable[[str, int], None]] = []
        self._watchers: list[Callable[[bool], None]] = []

    @property
    def level(self) -> bool:
        if self._driven is not None:
            return self._driven
        return not self._pulled_low_by and self._idle

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
        stamp = int(round(self._clock() * 1e9))
        for listener in list(self._listeners):
            listener(edge, stamp)
        for watcher in list(self._watchers):
            watcher(after)


class SimGPIOError(IOError):
    """Raised like ``periphery.GPIOError``."""


class SimGPIO:
    """``periphery.GPIO`` (character-device flavour) on one simulated line.

    Like the kernel's line-event descriptor, ``fd`` becomes readable while an edge event waits,
    so a driver can hand it to ``loop.add_reader`` exactly as on the Pi.
    """

    def __init__(self, path: str, line: int | str, direction: str = "in", edge: str = "none",
                 bias: str = "default", drive: str = "default", inverted: bool = False,
                 label: str | None = None, *, wire: GpioLine | None = None):
        if wire is None:
            raise SimGPIOError(errno.ENOENT, f"Opening GPIO: no simulated line {line} on {path}")
        if direction not in ("in", "out", "high", "low"):
            raise SimGPIOError(errno.EINVAL, f"Invalid GPIO direction {direction!r}")
        if edge not in ("none", "rising", "falling", "both"):
            raise SimGPIOError(errno.EINVAL, f"Invalid GPIO edge {edge!r}")
        self.path = path
        self.line = line
        self.label = label
        self.bias = bias
        self.drive_mode = drive
        self.inverted = inverted
        self._wire = wire
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        self._events: deque[EdgeEvent] = deque()
        self._edge = "none"
        self._direction = "in"
        self._open = True
        wire._subscribe(self._on_edge)
        self.direction = direction
        self.edge = edge

    # -- properties as periphery has them
    @property
    def direction(self) -> str:
        return self._direction

    @direction.setter
    def direction(self, value: str) -> None:
        if value in ("out", "high", "low"):
            self._direction = "out"
            self._wire.drive(value == "high")
        else:
            self._direction = "in"
            self._wire.drive(None)

    @property
    def edge(self) -> str:
        return self._edge

    @edge.setter
    def edge(self, value: str) -> None:
        if value != "none" and self._direction != "in":
            raise SimGPIOError(errno.EINVAL, "Edge detection needs an input line")
        self._edge = value
        while self._events:
            self._take_event()

    @property
    def fd(self) -> int:
        return self._read_fd

    def read(self) -> bool:
        self._check_open()
        return self._wire.level != self.inverted

    def write(self, value: bool) -> None:
        self._check_open()
        if self._direction != "out":
            raise SimGPIOError(errno.EPERM, f"GPIO line {self.line} is an input")
        self._wire.drive(bool(value) != self.inverted)

    def poll(self, timeout: float | None = None) -> bool:
        """True when an edge event is waiting; waits up to ``timeout`` seconds of real time."""
        self._check_open()
        if self._events or not timeout:
            return bool(self._events)
        select.select([self._read_fd], [], [], timeout)
        return bool(self._events)

    def read_event(self) -> EdgeEvent:
        self._check_open()
        if not self._events:
            raise SimGPIOError(errno.EAGAIN, "No edge event pending (the real read would block)")
        return self._take_event()

    def _take_event(self) -> EdgeEvent:
        try:
            os.read(self._read_fd, 1)
        except BlockingIOError:
            pass
        return self._events.popleft()

    def close(self) -> None:
        if self._open:
            self._open = False
            os.close(self._read_fd)
            os.close(self._write_fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _on_edge(self, edge: str, stamp: int) -> None:
        if not self._open or self._direction != "in":
            return
        if self.inverted:
            edge = "rising" if edge == "falling" else "falling"
        if self._edge == "both" or self._edge == edge:
            self._events.append(EdgeEvent(edge, stamp))
            os.write(self._write_fd, b"!")

    def _check_open(self) -> None:
        if not self._open:
            raise SimGPIOError(errno.EBADF, f"GPIO line {self.line} is closed")


# ---------------------------------------------------------------------------------------- I2C

class SimSMBus:
    """``smbus2.SMBus`` on a simulated I2C bus: each call becomes I2C messages to a chip model."""

    def __init__(self, bus: int | str | None = None, force: bool = False, *,
                 chips: dict[int, I2cChip] | None = None):
        self.bus = bus
        self._chips = chips if chips is not None else {}
        self._open = True

    def _chip(self, address: int) -> I2cChip:
        if not self._open:
            raise OSError(errno.EBADF, "I2C bus is closed")
        chip = self._chips.get(address)
        if chip is None:
            # What Linux's i2c-dev returns when no device acknowledges its address.
            raise OSError(errno.EREMOTEIO, f"Remote I/O error (no device at 0x{address:02x})")
        return chip

    def read_byte(self, i2c_addr: int, force=None) -> int:
        return self._chip(i2c_addr).i2c_read(1)[0]

    def write_byte(self, i2c_addr: int, value: int, force=None) -> None:
        self._chip(i2c_addr).i2c_write(bytes([value & 0xFF]))

    def read_byte_data(self, i2c_addr: int, register: int, force=None) -> int:
        chip = self._chip(i2c_addr)
        chip.i2c_write(bytes([register & 0xFF]))
        return chip.i2c_read(1)[0]

    def write_byte_data(self, i2c_addr: int, register: int, value: int, force=None) -> None:
        self._chip(i2c_addr).i2c_write(bytes([register & 0xFF, value & 0xFF]))

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int, force=None) -> list[int]:
        if not 0 <= length <= 32:
            raise ValueError("Desired block length over 32 bytes")
        chip = self._chip(i2c_addr)
        chip.i2c_write(bytes([register & 0xFF]))
        return list(chip.i2c_read(length))

    def write_i2c_block_data(self, i2c_addr: int, register: int, data, force=None) -> None:
        if len(data) > 32:
            raise ValueError("Data length cannot exceed 32 bytes")
        self._chip(i2c_addr).i2c_write(bytes([register & 0xFF, *data]))

    def i2c_rdwr(self, *i2c_msgs) -> None:
        """Combined transfer of ``smbus2.i2c_msg`` objects (how a 24C32's 16-bit address is sent)."""
        for msg in i2c_msgs:
            chip = self._chip(msg.addr)
            if msg.flags & 0x0001:  # I2C_M_RD
                data = chip.i2c_read(msg.len)
                for index, value in enumerate(data):
                    msg.buf[index] = bytes([value])
            else:
                chip.i2c_write(bytes(msg))

    def close(self) -> None:
        self._open = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------------------- PCM

class SimPcmBus:
    """The HAT's PCM/TDM bus: each 20 ms frame carries every timeslot, sample-interleaved.

    ``transfer(host_out)`` takes ``FRAME_SAMPLES * slots`` bytes (sample 0 of every slot, then
    sample 1, ...) and returns the same shape from the chips. Each chip reads the slot its PCM
    registers name, in the law they name: a driver that sets the wrong slot or law gets silence
    or noise, as it would on the board.
    """

    IDLE_BYTE = 0xD5  # A-law code of 0 (what an undriven slot reads on an A-law bus)

    def __init__(self, slots: int, chips: list[PcmChip] | None = None):
        if not 1 <= slots <= 128:
            raise ValueError(f"PCM bus slots must be 1..128, got {slots}")
        self.slots = slots
        self.chips: list[PcmChip] = list(chips or [])
        self.frames = 0
        self.collisions = 0

    def attach(self, chip: PcmChip) -> None:
        self.chips.append(chip)

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
            from_host = (decode(host_out[:, rx_slot]) if rx_slot < self.slots
                         else np.zeros(FRAME_SAMPLES, dtype=np.int16))
            to_host = chip.pcm_exchange(from_host)
            if to_host is None or tx_slot >= self.slots:
                continue
            encoded = encode(np.asarray(to_host, dtype=np.int16))
            if driven[tx_slot]:
                self.collisions += 1
                host_in[:, tx_slot] &= encoded  # two drivers on one slot: the bus reads garbage
            else:
                host_in[:, tx_slot] = encoded
                driven[tx_slot] = True
        return host_in.tobytes()
