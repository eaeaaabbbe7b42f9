"""HAT ID EEPROM: the driver reads what eepmake-style images hold and names every defect."""

from __future__ import annotations

import pytest

from centralino.drivers.errors import ChipError
from centralino.drivers.hat_eeprom import crc16_arc, encode_image, read_hat_info
from centralino.hwsim.buses import SimSMBus
from centralino.hwsim.eeprom import At24c32

UUID = "6f1c5d2e-8a44-4a43-9e1f-3b2a71c0de01"
IMAGE = encode_image("centralino project", "centralino-8fxs-4fxo", 0x0108, 3, UUID)


def _bus(image: bytes) -> SimSMBus:
    return SimSMBus(0, chips={0x50: At24c32(image)})


def test_crc16_is_crc16_arc():
    assert crc16_arc(b"123456789") == 0xBB3D
    assert crc16_arc(b"") == 0


def test_reads_vendor_product_and_uuid():
    info = read_hat_info(_bus(IMAGE))
    assert (info.vendor, info.product, info.product_id, info.product_version, info.uuid) == \
        ("centralino project", "centralino-8fxs-4fxo", 0x0108, 3, UUID)


def test_image_layout_follows_the_hat_format():
    assert IMAGE[:4] == b"R-Pi" and IMAGE[4] == 1
    assert int.from_bytes(IMAGE[6:8], "little") == 2  # vendor info + GPIO map atoms
    assert int.from_bytes(IMAGE[8:12], "little") == len(IMAGE)
    assert int.from_bytes(IMAGE[12:14], "little") == 0x0001  # first atom: vendor info


@pytest.mark.parametrize("change,message", [
    (lambda b: b.__setitem__(slice(0, 4), b"\xff\xff\xff\xff"), "blank or foreign EEPROM"),
    (lambda b: b.__setitem__(4, 2), "format version 2"),
    (lambda b: b.__setitem__(40, b[40] ^ 0x01), "fails its CRC"),
    (lambda b: b.__setitem__(slice(8, 12), (9999).to_bytes(4, "little")), "outside"),
])
def test_defects_are_named(change, message):
    image = bytearray(IMAGE)
    change(image)
    with pytest.raises(ChipError, match=message) as err:
        read_hat_info(_bus(bytes(image)))
    assert str(err.value).startswith("port hat-eeprom")


def test_missing_eeprom_is_a_chip_error():
    with pytest.raises(ChipError, match="no answer at I2C address 0x50"):
        read_hat_info(SimSMBus(0, chips={}))


def test_eeprom_model_wraps_and_is_write_protected():
    chip = At24c32(IMAGE)
    chip.i2c_write(bytes([0x0F, 0xFE]))
    assert len(chip.i2c_read(4)) == 4 and chip._pointer == 2
    chip.i2c_write(bytes([0, 0, 0x00, 0x00]))
    assert bytes(chip.memory[:4]) == b"R-Pi"
