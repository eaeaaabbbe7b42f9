"""A 24C32 I2C EEPROM: 4 KiB, 16-bit word address, sequential reads that wrap, 32-byte pages."""

from __future__ import annotations

EEPROM_SIZE_BYTES = 4096
PAGE_BYTES = 32


class At24c32:
    """Register face: I2C messages. World face: ``contents`` (what the factory programmed)."""

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
