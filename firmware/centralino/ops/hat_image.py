"""What ``centralino hat eeprom write`` programs into a new board's ID EEPROM.

The Raspberry Pi HAT format (raspberrypi/hats eeprom-format.md, written by drivers/hat_eeprom.py):
the vendor-info atom (vendor, the board definition's product string, a fresh UUID for every
board), the GPIO map atom built from the board definition (which of GPIO 0..27 the HAT uses, with
their function and pull, so the Pi's firmware sets them before Linux starts), and the device-tree
atom, so that the Pi configures the HAT by itself.

The device-tree atom may hold the overlay's name or its contents [V eeprom-format.md]. The
reference HAT's overlay compiles to about 7 KB, more than a 24C32 holds, so by default the atom
holds the name (the firmware then loads /boot/firmware/overlays/NAME.dtbo, which the image
installs); ``--overlay FILE`` embeds a compiled overlay instead, for a board with a larger EEPROM.
"""

from __future__ import annotations

import uuid as uuidlib
from pathlib import Path

from centralino.config.board_schema import pin_uses
from centralino.drivers.hat_eeprom import GPIO_MAP_BYTES, encode_image

VENDOR = "centralino project"
PRODUCT_ID = 0x0108
PRODUCT_VERSION = 1

# GPIO map byte [V eeprom-format.md]: bit 7 is_used, bits 6:5 pull (1 up, 2 down, 3 none),
# bits 2:0 the BCM2835 FSEL function (0 input, 1 output, 4 alt0)
IS_USED = 0x80
PULL_UP, PULL_DOWN, PULL_NONE = 1 << 5, 2 << 5, 3 << 5
FSEL_INPUT, FSEL_OUTPUT, FSEL_ALT0 = 0, 1, 4
INPUT_ROLES = ("interrupt", "sense")  # open-drain nets and the opto: inputs held high
CHIP_SELECTS = ("CE0", "CE1", "CE2")  # driven as GPIOs (cs-gpios), the decoders' enables


def gpio_map(board) -> bytes:
    """The GPIO map atom's 30 bytes for ``board`` (a config.board_schema.Board)."""
    pins = bytearray(28)
    for gpio, (role, what) in pin_uses(board).items():
        if gpio >= len(pins):
            continue
        if role == "bus":
            function = FSEL_OUTPUT if what.split()[0] in CHIP_SELECTS else FSEL_ALT0
            pins[gpio] = IS_USED | function
        elif role in INPUT_ROLES:
            pins[gpio] = IS_USED | PULL_UP | FSEL_INPUT
        elif role == "relay":  # low from power-up: no edge, no heartbeat, the relay stays released
            pins[gpio] = IS_USED | PULL_DOWN | FSEL_OUTPUT
        else:
            pins[gpio] = IS_USED | PULL_NONE | FSEL_OUTPUT
    bank_drive, power = 0, 0  # default drive strength; the HAT does not back-power the Pi
    image = bytes([bank_drive, power]) + bytes(pins)
    assert len(image) == GPIO_MAP_BYTES
    return image


def device_tree_atom(board, overlay_file: Path | None) -> bytes | None:
    """The device-tree atom's contents: the compiled overlay given, else the board's overlay name."""
    if overlay_file is not None:
        return overlay_file.read_bytes()
    return board.overlay.encode("ascii") if board.overlay else None


def board_image(board, dt_blob: bytes | None, uuid: str | None = None) -> bytes:
    """The whole image for a new board of this definition (ValueError when it does not fit)."""
    return encode_image(VENDOR, board.hat, PRODUCT_ID, PRODUCT_VERSION, uuid or str(uuidlib.uuid4()),
                        gpio_map(board), dt_blob)
