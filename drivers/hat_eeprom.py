"""The HAT ID EEPROM (24C32 at I2C 0x50): which board the firmware runs on.

The Raspberry Pi HAT specification stores a header ("R-Pi", version, atom count, total length)
followed by atoms, each with a CRC-16. The vendor-info atom names the vendor and the product;
centralino compares the product string with the board the configuration expects, so a config
written for an 8-port HAT never drives a 4-port one.

The format is both read (by the firmware) and written (by ``encode_image``, the job of the
Raspberry Pi ``eepmake`` tool), so the simulator and a factory tool build images that this very
reader checks. CRC-16 here is CRC-16/ARC (polynomial 0x8005 reflected, initial value 0), the
algorithm of the reference tools; it is ten lines, so no dependency is added for it.
"""

from __future__ import annotations

import struct
import uuid as uuidlib
from dataclasses import dataclass

from .errors import ChipError

EEPROM_ADDRESS = 0x50
EEPROM_SIZE_BYTES = 4096  # 24C32
SIGNATURE = b"R-Pi"
FORMAT_VERSION = 0x01
HEADER = struct.Struct("<4sBBHI")  # signature, version, reserved, numatoms, eeplen
ATOM_HEADER = struct.Struct("<HHI")  # type, count, dlen (data + 2-byte CRC)
ATOM_VENDOR_INFO = 0x0001
ATOM_GPIO_MAP = 0x0002
VENDOR_FIXED = struct.Struct("<16sHHBB")  # uuid, pid, pver, vslen, pslen
# eepmake stores the UUID as four 32-bit words, least significant first, each little-endian: the
# 128-bit number in little-endian byte order (not uuid's bytes_le, which swaps only 3 fields).
READ_CHUNK_BYTES = 32
PORT_NAME = "hat-eeprom"


def crc16_arc(data: bytes) -> int:
    """CRC-16/ARC of ``data`` (check value 0xBB3D for b"123456789")."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


@dataclass(frozen=True)
class HatInfo:
    vendor: str
    product: str
    product_id: int
    product_version: int
    uuid: str

    def status(self) -> dict:
        return {"vendor": self.vendor, "product": self.product, "product_id": self.product_id,
                "product_version": self.product_version, "uuid": self.uuid}


def _read(bus, offset: int, length: int) -> bytes:
    """Random read: send the 16-bit address, then read ``length`` bytes sequentially."""
    from smbus2 import i2c_msg  # the message type is part of the smbus2 API the bus object speaks

    out = bytearray()
    while length > 0:
        size = min(READ_CHUNK_BYTES, length)
        write = i2c_msg.write(EEPROM_ADDRESS, [(offset >> 8) & 0xFF, offset & 0xFF])
        read = i2c_msg.read(EEPROM_ADDRESS, size)
        try:
            bus.i2c_rdwr(write, read)
        except OSError as err:
            raise ChipError(PORT_NAME, f"no answer at I2C address 0x{EEPROM_ADDRESS:02X} ({err})",
                            register=offset) from err
        out += bytes(read)
        offset += size
        length -= size
    return bytes(out)


def read_hat_info(bus) -> HatInfo:
    """Read and check the EEPROM on an ``smbus2.SMBus``-like bus; ChipError names what is wrong."""
    header = _read(bus, 0, HEADER.size)
    signature, version, _reserved, numatoms, eeplen = HEADER.unpack(header)
    if signature != SIGNATURE:
        raise ChipError(PORT_NAME, f"signature is {signature!r}, expected {SIGNATURE!r} "
                        "(blank or foreign EEPROM)", register=0, value=header[0])
    if version != FORMAT_VERSION:
        raise ChipError(PORT_NAME, f"format version {version}, expected {FORMAT_VERSION}",
                        register=4, value=version)
    if not HEADER.size < eeplen <= EEPROM_SIZE_BYTES:
        raise ChipError(PORT_NAME, f"length {eeplen} bytes is outside {HEADER.size + 1}..{EEPROM_SIZE_BYTES}",
                        register=8)
    image = header + _read(bus, HEADER.size, eeplen - HEADER.size)
    offset = HEADER.size
    vendor = None
    for _ in range(numatoms):
        if offset + ATOM_HEADER.size > eeplen:
            raise ChipError(PORT_NAME, "atom list runs past the stored length", register=offset)
        atype, _count, dlen = ATOM_HEADER.unpack_from(image, offset)
        end = offset + ATOM_HEADER.size + dlen
        if dlen < 2 or end > eeplen:
            raise ChipError(PORT_NAME, f"atom type 0x{atype:04X} has impossible length {dlen}", register=offset)
        body = image[offset:end - 2]
        (stored_crc,) = struct.unpack_from("<H", image, end - 2)
        if crc16_arc(body) != stored_crc:
            raise ChipError(PORT_NAME, f"atom type 0x{atype:04X} fails its CRC "
                            f"(stored 0x{stored_crc:04X}, computed 0x{crc16_arc(body):04X})", register=offset)
        if atype == ATOM_VENDOR_INFO:
            vendor = _vendor_info(body[ATOM_HEADER.size:], offset)
        offset = end
    if vendor is None:
        raise ChipError(PORT_NAME, "no vendor-info atom (the HAT specification requires one)")
    return vendor


def _vendor_info(data: bytes, offset: int) -> HatInfo:
    if len(data) < VENDOR_FIXED.size:
        raise ChipError(PORT_NAME, "vendor-info atom too short", register=offset)
    raw_uuid, pid, pver, vslen, pslen = VENDOR_FIXED.unpack_from(data)
    strings = data[VENDOR_FIXED.size:]
    if len(strings) != vslen + pslen:
        raise ChipError(PORT_NAME, f"vendor-info strings are {len(strings)} bytes, header says {vslen + pslen}",
                        register=offset)
    try:
        vendor, product = strings[:vslen].decode("ascii"), strings[vslen:].decode("ascii")
    except UnicodeDecodeError as err:
        raise ChipError(PORT_NAME, f"vendor-info strings are not ASCII ({err})", register=offset) from err
    return HatInfo(vendor=vendor, product=product, product_id=pid, product_version=pver,
                   uuid=str(uuidlib.UUID(int=int.from_bytes(raw_uuid, "little"))))


def encode_image(vendor: str, product: str, product_id: int, product_version: int,
                 uuid: str, gpio_map: bytes = bytes(30)) -> bytes:
    """An EEPROM image with a vendor-info and a GPIO-map atom, as eepmake writes it."""
    vstr, pstr = vendor.encode("ascii"), product.encode("ascii")
    vendor_data = VENDOR_FIXED.pack(uuidlib.UUID(uuid).int.to_bytes(16, "little"), product_id, product_version,
                                    len(vstr), len(pstr)) + vstr + pstr
    atoms = b""
    for count, (atype, data) in enumerate(((ATOM_VENDOR_INFO, vendor_data), (ATOM_GPIO_MAP, gpio_map))):
        body = ATOM_HEADER.pack(atype, count, len(data) + 2) + data
        atoms += body + struct.pack("<H", crc16_arc(body))
    return HEADER.pack(SIGNATURE, FORMAT_VERSION, 0, 2, HEADER.size + len(atoms)) + atoms
