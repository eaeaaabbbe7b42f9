"""The ``board.leds:`` section: which status LEDs the board has and how they are wired.

Two kinds of hardware, as the board definition says::

    board:
      leds:
        kind: gpio              # LEDs on Raspberry Pi GPIO lines, driven through RPi.GPIO
        active_low: false       # default; true when a LED lights with the line low
        lights:
          - {name: heartbeat, gpio: 20}
          - {name: ready, gpio: 21}
          - {name: fault, gpio: 26}

    board:
      leds:
        kind: i2c               # an NXP PCA9633 (4 outputs) or PCA9685 (16) on board.i2c_bus
        chip: pca9633           # default
        address: 0x62           # default: 0x62 for the PCA9633, 0x40 for the PCA9685
        lights:
          - {name: ready, channel: 0}
          - {name: fault, channel: 1}

Names are the LEDs of ``centralino.ops.leds`` (heartbeat, ready, trunk, gsm, line, failover,
emergency, fault, lifeline, crisis); a board may have fewer, and the states of the missing ones are shown on
the ones present (the map is in ``centralino.ops.leds``). A LED line must not be one of the
ports' interrupt or reset lines, and the LED chip must not answer at the HAT EEPROM's address.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .loader import ConfigError, ConfigNode, Origin

LED_NAMES = ("heartbeat", "ready", "trunk", "gsm", "line", "failover", "emergency", "fault", "lifeline",
             "crisis")
KINDS = ("gpio", "i2c")
CHIP_CHANNELS = {"pca9633": 4, "pca9685": 16}
CHIP_DEFAULT_ADDRESS = {"pca9633": 0x62, "pca9685": 0x40}
GPIO_MAX = 53  # BCM numbering, the same bank as the ports' lines
I2C_ADDRESS_MIN, I2C_ADDRESS_MAX = 0x03, 0x77  # 7-bit addresses outside the reserved blocks
HAT_EEPROM_ADDRESS = 0x50


@dataclass(frozen=True)
class Light:
    name: str
    wire: int  # the BCM GPIO line (kind gpio) or the chip's output channel (kind i2c)


@dataclass(frozen=True)
class Leds:
    kind: str
    lights: tuple[Light, ...]
    active_low: bool = False
    chip: str | None = None
    address: int | None = None
    origin: Origin = field(default=None, compare=False, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(light.name for light in self.lights)

    def wiring(self) -> dict[str, int]:
        return {light.name: light.wire for light in self.lights}

    @classmethod
    def from_node(cls, node: ConfigNode, taken_gpios: dict[int, str] | None = None) -> "Leds":
        """``taken_gpios`` maps GPIO lines already in use (ports' IRQ and reset) to their user."""
        kind = node.get_choice("kind", KINDS)
        chip = address = None
        active_low = False
        if kind == "gpio":
            active_low = node.get_bool("active_low", False)
            wire_key, maxval = "gpio", GPIO_MAX
        else:
            chip = node.get_choice("chip", tuple(CHIP_CHANNELS), "pca9633")
            address = _address(node, CHIP_DEFAULT_ADDRESS[chip])
            wire_key, maxval = "channel", CHIP_CHANNELS[chip] - 1
        items = node.get_list("lights")
        if not items:
            raise ConfigError(node.path, node.key_line("lights"), f"{node.key}.lights",
                              f"no LEDs listed (expected some of {', '.join(LED_NAMES)})")
        lights = tuple(Light(item.get_choice("name", LED_NAMES), item.get_int(wire_key, minval=0, maxval=maxval))
                       for item in items)
        _unique(node, lights, "name", lambda l: l.name, "LED")
        _unique(node, lights, wire_key, lambda l: l.wire, f"{wire_key}")
        if kind == "gpio":
            for light in lights:
                if light.wire in (taken_gpios or {}):
                    raise ConfigError(node.path, node.key_line("lights"), f"{node.key}.lights",
                                      f"LED {light.name}: GPIO {light.wire} is already "
                                      f"{taken_gpios[light.wire]} (expected a free line)")
        return cls(kind=kind, lights=lights, active_low=active_low, chip=chip, address=address,
                   origin=node.origin())


def _address(node: ConfigNode, default: int) -> int:
    text = node.get_str("address", None, pattern=r"0x[0-9a-fA-F]{1,2}|[0-9]{1,3}",
                        expected="a 7-bit I2C address such as 0x62")
    if text is None:
        return default
    value = int(text, 0)
    if not I2C_ADDRESS_MIN <= value <= I2C_ADDRESS_MAX:
        raise ConfigError(node.path, node.key_line("address"), f"{node.key}.address",
                          f"{text} is out of range (expected 0x{I2C_ADDRESS_MIN:02x}..0x{I2C_ADDRESS_MAX:02x})")
    if value == HAT_EEPROM_ADDRESS:
        raise ConfigError(node.path, node.key_line("address"), f"{node.key}.address",
                          f"{text} is the HAT ID EEPROM's address (expected the LED chip's own address)")
    return value


def _unique(node: ConfigNode, lights, what: str, key, label: str) -> None:
    seen: dict = {}
    for light in lights:
        value = key(light)
        if value in seen:
            raise ConfigError(node.path, node.key_line("lights"), f"{node.key}.lights",
                              f"{label} {value} is listed twice ({seen[value]} and {light.name})")
        seen[value] = light.name


def taken_gpio_lines(ports) -> dict[int, str]:
    """The GPIO lines the ports use, with what uses them (for the LED lines' check)."""
    taken: dict[int, str] = {}
    for port in ports:
        taken.setdefault(port.irq_gpio, f"the interrupt line of {port.name}")  # a shared line: its first user
        if port.reset_gpio is not None:
            taken.setdefault(port.reset_gpio, f"the reset line of {port.name}")
    return taken


def leds_from_board(node: ConfigNode, ports) -> Leds | None:
    """The optional ``leds`` key of the ``board`` section."""
    if not node.has("leds"):
        node.get_section("leds", None)  # still a known key
        return None
    return Leds.from_node(node.get_section("leds"), taken_gpio_lines(ports))
