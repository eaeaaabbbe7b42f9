"""A 24C32 I2C EEPROM: 4 KiB, 16-bit word address, sequential reads that wrap, 32-byte pages."""

from __future__ import annotations

import struct
import uuid as _uuid

EEPROM_SIZE_BYTES = 4096
PAGE_BYTES = 32


class At24c32:
    """Register face: I2C messages. World face: ``memory`` (what the factory programmed); faults:
    ``corrupt(offset)`` (a cell that lost its charge), ``power_glitch()``; the I2C address's own
    faults (no acknowledge, garbage) are the bus's (``SimSMBus`` faults)."""

    def __init__(self, contents: bytes = b"", write_protected: bool = True):
        if len(contents) > EEPROM_SIZE_BYTES:
            raise ValueError(f"image of {len(contents)} bytes does not fit a 24C32 ({EEPROM_SIZE_BYTES})")
        self.memory = bytearray(contents) + bytearray([0xFF] * (EEPROM_SIZE_BYTES - len(contents)))
        self.write_protected = write_protected  # the HAT guide asks for WP pulled up
        self._pointer = 0

    def i2c_write(self, data: bytes) -> None:
        if len(data) < 2:
            # A one-byte write sets only the high address byte on a 24C32: the real chip waits
            # for the second; the pointer we keep is the same as after a full address.
            self._pointer = (data[0] << 8) % EEPROM_SIZE_BYTES if data else self._pointer
            return
        self._pointer = ((data[0] << 8) | data[1]) % EEPROM_SIZE_BYTES
        if self.write_protected:
            return
        page = self._pointer - self._pointer % PAGE_BYTES
        for index, value in enumerate(data[2:]):
            self.memory[page + (self._pointer + index) % PAGE_BYTES] = value

    def i2c_read(self, length: int) -> bytes:
        out = bytes(self.memory[(self._pointer + i) % EEPROM_SIZE_BYTES] for i in range(length))
        self._pointer = (self._pointer + length) % EEPROM_SIZE_BYTES
        return out

    # -- fault face
    def corrupt(self, offset: int, flip: int = 0xFF) -> None:
        """Flip bits of one byte, as a worn or disturbed cell does (the atom's CRC no longer fits)."""
        if not 0 <= offset < EEPROM_SIZE_BYTES:
            raise ValueError(f"offset {offset} is outside the 24C32 (0..{EEPROM_SIZE_BYTES - 1})")
        self.memory[offset] ^= flip & 0xFF

    def power_glitch(self) -> None:
        """A supply dip: the address pointer is lost (the memory keeps its contents)."""
        self._pointer = 0
