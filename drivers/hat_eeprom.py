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

import asyncio
import dataclasses
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
ATOM_DT_BLOB = 0x0003  # the device-tree overlay (.dtbo contents) the Pi's firmware may load
GPIO_MAP_BYTES = 30  # bank_drive, power, one byte for each of GPIO 0..27
VENDOR_FIXED = struct.Struct("<16sHHBB")  # uuid, pid, pver, vslen, pslen
# eepmake stores the UUID as four 32-bit words, least significant first, each little-endian: the
# 128-bit number in little-endian byte order (not uuid's bytes_le, which swaps only 3 fields).
READ_CHUNK_BYTES = 32
PAGE_BYTES = 32  # a 24C32 writes at most one 32-byte page per message, wrapping inside the page
WRITE_CYCLE_S = 0.005  # the datasheet's write cycle; the chip does not acknowledge meanwhile
WRITE_POLLS = 20  # acknowledge polling: this many tries of WRITE_CYCLE_S / 5
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
    gpio_map: bytes = b""
    overlay_bytes: int = 0  # size of the device-tree atom, 0 when there is none

    def status(self) -> dict:
        return {"vendor": self.vendor, "product": self.product, "product_id": self.product_id,
                "product_version": self.product_version, "uuid": self.uuid,
                "overlay_bytes": self.overlay_bytes}


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
    extras: dict[str, object] = {}
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
        elif atype == ATOM_GPIO_MAP:
            extras["gpio_map"] = bytes(body[ATOM_HEADER.size:])
        elif atype == ATOM_DT_BLOB:
            extras["overlay_bytes"] = len(body) - ATOM_HEADER.size
        offset = end
    if vendor is None:
        raise ChipError(PORT_NAME, "no vendor-info atom (the HAT specification requires one)")
    return dataclasses.replace(vendor, **extras)


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
                 uuid: str, gpio_map: bytes = bytes(GPIO_MAP_BYTES), dt_blob: bytes | None = None) -> bytes:
    """An EEPROM image with a vendor-info, a GPIO-map and (optionally) a device-tree atom, as
    eepmake writes it. Raises ValueError when it does not fit the 24C32."""
    if len(gpio_map) != GPIO_MAP_BYTES:
        raise ValueError(f"a GPIO map atom is {GPIO_MAP_BYTES} bytes, got {len(gpio_map)}")
    vstr, pstr = vendor.encode("ascii"), product.encode("ascii")
    vendor_data = VENDOR_FIXED.pack(uuidlib.UUID(uuid).int.to_bytes(16, "little"), product_id, product_version,
                                    len(vstr), len(pstr)) + vstr + pstr
    contents = [(ATOM_VENDOR_INFO, vendor_data), (ATOM_GPIO_MAP, bytes(gpio_map))]
    if dt_blob is not None:
        contents.append((ATOM_DT_BLOB, bytes(dt_blob)))
    atoms = b""
    for count, (atype, data) in enumerate(contents):
        body = ATOM_HEADER.pack(atype, count, len(data) + 2) + data
        atoms += body + struct.pack("<H", crc16_arc(body))
    image = HEADER.pack(SIGNATURE, FORMAT_VERSION, 0, len(contents), HEADER.size + len(atoms)) + atoms
    if len(image) > EEPROM_SIZE_BYTES:
        raise ValueError(f"the image is {len(image)} bytes; a 24C32 holds {EEPROM_SIZE_BYTES}")
    return image


def read_bytes(bus, offset: int, length: int) -> bytes:
    """Raw contents (``is_blank``, verifying a write)."""
    return _read(bus, offset, length)


def is_blank(bus) -> bool:
    """No HAT signature at the start (a new chip reads 0xFF everywhere)."""
    return _read(bus, 0, len(SIGNATURE)) != SIGNATURE


async def write_image(bus, image: bytes) -> None:
    """Program ``image`` page by page and read it back; ChipError when it does not stick (the
    write-protect pin, pulled up on a HAT as the design guide asks, must be bridged to write)."""
    from smbus2 import i2c_msg

    for offset in range(0, len(image), PAGE_BYTES):
        page = image[offset:offset + PAGE_BYTES]
        message = i2c_msg.write(EEPROM_ADDRESS, [(offset >> 8) & 0xFF, offset & 0xFF, *page])
        for attempt in range(WRITE_POLLS):
            try:
                bus.i2c_rdwr(message)
                break
            except OSError as err:  # busy with the previous page's write cycle: no acknowledge
                if attempt == WRITE_POLLS - 1:
                    raise ChipError(PORT_NAME, f"no answer while writing at offset {offset} ({err})",
                                    register=offset) from err
                await asyncio.sleep(WRITE_CYCLE_S / 5)
        await asyncio.sleep(WRITE_CYCLE_S)
    back = _read(bus, 0, len(image))
    if back != image:
        first = next(i for i, (a, b) in enumerate(zip(back, image)) if a != b)
        raise ChipError(PORT_NAME, f"the EEPROM did not keep what was written (first difference at byte "
                        f"{first}): bridge its write-protect (WP) jumper while programming",
                        register=first, value=back[first])
