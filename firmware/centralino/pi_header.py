"""The Raspberry Pi's 40-pin header: which physical pin is which GPIO, and which GPIOs a bus takes.

Facts for ``config check`` (a board definition must be buildable on a real Pi), for the HAT
probe's messages and for docs/hardware.md. GPIO numbers are BCM numbers, as the kernel's
/dev/gpiochip0 and the configuration use them; pin numbers are the header's (J8) physical pins.

Sources: the header layout and the SPI0/I2C/UART/PCM pins are [V pinout.xyz, Raspberry Pi
documentation]; the pins of the extra SPI controllers of the BCM2711 (Pi 4: SPI3-SPI6) are as the
Raspberry Pi overlays README gives them for the ``spiN-Ncs`` overlays [M].
"""

from __future__ import annotations

from dataclasses import dataclass

# physical pin -> (label, BCM GPIO or None for power and ground)
HEADER: dict[int, tuple[str, int | None]] = {
    1: ("3V3", None), 2: ("5V", None),
    3: ("GPIO2", 2), 4: ("5V", None),
    5: ("GPIO3", 3), 6: ("GND", None),
    7: ("GPIO4", 4), 8: ("GPIO14", 14),
    9: ("GND", None), 10: ("GPIO15", 15),
    11: ("GPIO17", 17), 12: ("GPIO18", 18),
    13: ("GPIO27", 27), 14: ("GND", None),
    15: ("GPIO22", 22), 16: ("GPIO23", 23),
    17: ("3V3", None), 18: ("GPIO24", 24),
    19: ("GPIO10", 10), 20: ("GND", None),
    21: ("GPIO9", 9), 22: ("GPIO25", 25),
    23: ("GPIO11", 11), 24: ("GPIO8", 8),
    25: ("GND", None), 26: ("GPIO7", 7),
    27: ("GPIO0", 0), 28: ("GPIO1", 1),
    29: ("GPIO5", 5), 30: ("GND", None),
    31: ("GPIO6", 6), 32: ("GPIO12", 12),
    33: ("GPIO13", 13), 34: ("GND", None),
    35: ("GPIO19", 19), 36: ("GPIO16", 16),
    37: ("GPIO26", 26), 38: ("GPIO20", 20),
    39: ("GND", None), 40: ("GPIO21", 21),
}
HEADER_GPIOS = frozenset(gpio for _, gpio in HEADER.values() if gpio is not None)  # 0..27
_PIN_OF_GPIO = {gpio: pin for pin, (_, gpio) in HEADER.items() if gpio is not None}


def header_pin(gpio: int) -> int | None:
    """The physical pin of a BCM GPIO, or None when the header does not bring it out."""
    return _PIN_OF_GPIO.get(gpio)


def describe_gpio(gpio: int) -> str:
    pin = header_pin(gpio)
    return f"GPIO {gpio} (header pin {pin})" if pin is not None else f"GPIO {gpio} (not on the header)"


@dataclass(frozen=True)
class Bus:
    """A peripheral of the SoC and the GPIOs it takes on the header once enabled."""
    name: str
    what: str  # for messages: "SPI0", "the PCM/I2S bus"...
    pins: dict[int, str]  # GPIO -> signal


SPI_CONTROLLERS = {
    0: Bus("spi0", "SPI0", {9: "MISO", 10: "MOSI", 11: "SCLK", 8: "CE0", 7: "CE1"}),
    1: Bus("spi1", "SPI1", {19: "MISO", 20: "MOSI", 21: "SCLK", 18: "CE0", 17: "CE1", 16: "CE2"}),
    3: Bus("spi3", "SPI3", {1: "MISO", 2: "MOSI", 3: "SCLK", 0: "CE0"}),
    4: Bus("spi4", "SPI4", {5: "MISO", 6: "MOSI", 7: "SCLK", 4: "CE0"}),
    5: Bus("spi5", "SPI5", {13: "MISO", 14: "MOSI", 15: "SCLK", 12: "CE0"}),
    6: Bus("spi6", "SPI6", {19: "MISO", 20: "MOSI", 21: "SCLK", 18: "CE0"}),
}
# The buses every centralino HAT uses, whatever else it has.
ID_EEPROM = Bus("i2c0", "the HAT ID EEPROM bus (ID_SD/ID_SC)", {0: "ID_SD", 1: "ID_SC"})
I2C1 = Bus("i2c1", "I2C1", {2: "SDA1", 3: "SCL1"})
UART = Bus("uart0", "the serial console UART", {14: "TXD", 15: "RXD"})
PCM = Bus("pcm", "the PCM/I2S bus", {18: "PCM_CLK", 19: "PCM_FS", 20: "PCM_DIN", 21: "PCM_DOUT"})
FIXED_BUSES = (ID_EEPROM, I2C1, UART, PCM)


def chip_select_lines(controller: int) -> list[int]:
    """The native chip selects of an SPI controller, CE0 first."""
    pins = SPI_CONTROLLERS[controller].pins
    return [gpio for signal in ("CE0", "CE1", "CE2") for gpio, name in pins.items() if name == signal]


def ascii_header(labels: dict[int, str]) -> str:
    """The 40-pin header as text, each GPIO followed by what the board uses it for."""
    rows = []
    for odd in range(1, 41, 2):
        left = " ".join(reversed(_cell(odd, labels)))
        right = " ".join(_cell(odd + 1, labels))
        rows.append(f"{left:>30} [{odd:2}][{odd + 1:2}] {right}".rstrip())
    return "\n".join(rows)


def _cell(pin: int, labels: dict[int, str]) -> tuple[str, ...]:
    name, gpio = HEADER[pin]
    if gpio is None:
        return (name,)
    return (name, labels.get(gpio, "(free)"))
