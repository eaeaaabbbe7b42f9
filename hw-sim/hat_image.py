"""The bytes a factory programs into the HAT ID EEPROM, built the way Raspberry Pi's ``eepmake`` does.

Written from the HAT repository's ``eeprom-format.md`` and ``eepromutils/eepmake.c``/``eeptypes.h``,
not from centralino's reader (``drivers/hat_eeprom.py``), so that the two can disagree in a test
instead of sharing a mistake:

- header: "R-Pi", format version 1, reserved 0, number of atoms, total length (little-endian);
- atoms: type, count (0, 1, ...), dlen = data + 2, data, then the CRC of everything before it in
  the atom; the CRC is eepmake's ``getcrc``: polynomial 0x8005 shifted in least significant bit
  first, 16 zero bits pushed out, the result bit-reversed;
- vendor info (type 1): the UUID as eepmake stores it (four 32-bit words, least significant
  first, each little-endian: the 128-bit number in little-endian order), product id, product
  version, the two string lengths, the vendor and product strings;
- GPIO map (type 2): 30 bytes (bank drive, power, one byte per GPIO 0..27), all zero by default.
"""

from __future__ import annotations

import struct
import uuid as uuidlib

SIGNATURE = b"R-Pi"
FORMAT_VERSION = 1
ATOM_VENDOR_INFO = 0x0001
ATOM_GPIO_MAP = 0x0002
ATOM_DT_BLOB = 0x0003
GPIO_MAP_BYTES = 30
CRC16_POLY = 0x8005


def eepmake_crc(data: bytes) -> int:
    """eepmake's getcrc(), step by step: the message bits LSB first through a 0x8005 register."""
    out = 0
    for byte in data:
        for bit in range(8):
            carry = out >> 15
            out = ((out << 1) & 0xFFFF) | ((byte >> bit) & 1)
            if carry:
                out ^= CRC16_POLY
    for _ in range(16):  # push the last 16 bits out
        carry = out >> 15
        out = (out << 1) & 0xFFFF
        if carry:
            out ^= CRC16_POLY
    return int(f"{out:016b}"[::-1], 2)


def _atom(atom_type: int, count: int, data: bytes) -> bytes:
    body = struct.pack("<HHI", atom_type, count, len(data) + 2) + data
    return body + struct.pack("<H", eepmake_crc(body))


def hat_image(vendor: str, product: str, product_id: int, product_version: int, uuid: str,
              gpio_map: bytes = bytes(GPIO_MAP_BYTES), dt_blob: bytes | None = None) -> bytes:
    """The EEPROM contents of a HAT: header, vendor-info atom, GPIO-map atom (and a device-tree
    atom: the overlay, or its name, which the Pi's firmware then loads by itself)."""
    if len(gpio_map) != GPIO_MAP_BYTES:
        raise ValueError(f"a GPIO map atom holds {GPIO_MAP_BYTES} bytes, got {len(gpio_map)}")
    vstr, pstr = vendor.encode("ascii"), product.encode("ascii")
    if len(vstr) > 255 or len(pstr) > 255:
        raise ValueError("vendor and product strings are at most 255 bytes")
    serial = uuidlib.UUID(uuid).int.to_bytes(16, "little")
    vendor_data = serial + struct.pack("<HHBB", product_id, product_version, len(vstr), len(pstr)) + vstr + pstr
    atoms = _atom(ATOM_VENDOR_INFO, 0, vendor_data) + _atom(ATOM_GPIO_MAP, 1, gpio_map)
    count = 2
    if dt_blob is not None:
        atoms += _atom(ATOM_DT_BLOB, 2, bytes(dt_blob))
        count = 3
    header = struct.pack("<4sBBHI", SIGNATURE, FORMAT_VERSION, 0, count, 12 + len(atoms))
    return header + atoms
