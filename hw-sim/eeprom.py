"""A 24C32 I2C EEPROM: 4 KiB, 16-bit word address, sequential reads that wrap, 32-byte pages."""

from __future__ import annotations

import struct
import uuid as _uuid

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


# ---------------------------------------------------------------------------------- HAT images
# What a factory programs, built here from the Raspberry Pi HAT ID EEPROM format
# (raspberrypi/hats eeprom-format.md) and not with the firmware's reader, so that a shared mistake
# cannot hide: the header "R-Pi", version 1, atom count and total length; each atom's type,
# count, data length (data + CRC) and CRC-16 over the atom. The CRC is computed the way
# eepmake's gen_crc16 does it (a shift register fed least-significant bit first, sixteen zero
# bits pushed out, the result bit-reversed), which is the same function as CRC-16/ARC.
ATOM_VENDOR_INFO, ATOM_GPIO_MAP, ATOM_DT_BLOB = 0x0001, 0x0002, 0x0003
GPIO_MAP_BYTES = 30  # bank_drive, power, one byte for each of GPIO 0..27


def eepmake_crc16(data: bytes) -> int:
    register = 0
    for byte in data:
        for bit in range(8):
            carry = register >> 15
            register = ((register << 1) & 0xFFFF) | ((byte >> bit) & 1)
            if carry:
                register ^= 0x8005
    for _ in range(16):
        carry = register >> 15
        register = (register << 1) & 0xFFFF
        if carry:
            register ^= 0x8005
    return int(f"{register:016b}"[::-1], 2)


def hat_image(vendor: str, product: str, product_id: int, product_version: int, uuid: str,
              gpio_map: bytes = bytes(GPIO_MAP_BYTES), dt_blob: bytes | None = None) -> bytes:
    """A HAT EEPROM image: vendor info, GPIO map and (optionally) the device-tree overlay."""
    vendor_b, product_b = vendor.encode("ascii"), product.encode("ascii")
    atoms = [(ATOM_VENDOR_INFO, _uuid.UUID(uuid).bytes_le + struct.pack("<HHBB", product_id, product_version,
                                                                         len(vendor_b), len(product_b))
              + vendor_b + product_b),
             (ATOM_GPIO_MAP, bytes(gpio_map))]
    if dt_blob is not None:
        atoms.append((ATOM_DT_BLOB, bytes(dt_blob)))
    body = b""
    for count, (kind, data) in enumerate(atoms):
        atom = struct.pack("<HHI", kind, count, len(data) + 2) + data
        body += atom + struct.pack("<H", eepmake_crc16(atom))
    header = b"R-Pi" + struct.pack("<BBHI", 1, 0, len(atoms), 12 + len(body))
    return header + body
