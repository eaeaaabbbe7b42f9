"""The ``board:`` section: which HAT, which chips on which bus, and whether the Pi can wire it.

A board is described once, as hardware: a *board definition* (``firmware/centralino/boards/NAME.yaml``,
or a file next to the configuration) lists the HAT's chips, buses and GPIO lines. A configuration
names it and says whether it runs on the Pi or on the simulator::

    board:
      kind: pi-hat                      # or sim: the same HAT, simulated
      definition: centralino-8fxs-4fxo  # the reference HAT (docs/hardware.md)

Any key of the definition may also be given in the configuration, which then replaces the
definition's value (a board with other LEDs, say); a board may also be written out inline, with
no definition, as the benches do for their many-port boards.

A board that is a Raspberry Pi HAT (``kind: pi-hat``, or a definition with ``header:
raspberry-pi-40``, so the reference HAT is checked even when simulated) must be buildable on the
Pi's 40-pin header: no GPIO with two users (ports may share an open-drain interrupt line or a
reset line, nothing else shares), no GPIO of an enabled bus (SPI0 and the board's SPI
controller, the PCM/I2S bus, I2C1, the UART of the serial console, the ID EEPROM's pins; the
image's config.txt enables them all), every SPI device one the board's overlay creates, every
PCM timeslot used once and inside the frame. Each refusal names the line and both users.
An inline simulated board without ``header`` is the simulator's own and is not held to the header.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from centralino import pi_header

from .leds_schema import Leds, leds_from_board
from .loader import ConfigError, ConfigNode, Origin, load_yaml

PORT_NAME = r"(fxs|fxo)[0-9]{1,3}"
GPIO_MAX = 53  # the BCM2711/BCM2837 GPIO bank: lines 0..53
HEADERS = ("raspberry-pi-40",)
BOARDS_DIR = Path(__file__).resolve().parents[1] / "boards"  # the definitions shipped in the package
SHAREABLE = ("interrupt", "reset")  # open-drain interrupt nets and reset nets may join several chips
PCM_SLOT_BITS = 8


def _origin():
    return field(default=None, compare=False, repr=False)


def board_kinds() -> tuple[str, ...]:
    """The board kinds installed (``sim`` comes from the simulator's entry point)."""
    from centralino.board import board_kinds as installed

    return installed()


@dataclass(frozen=True)
class Port:
    name: str
    kind: str
    spi: str
    irq_gpio: int
    reset_gpio: int | None
    timeslot: int
    part: str | None = None
    country: str | None = None
    origin: Origin = _origin()

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Port":
        name = node.get_str("name", pattern=PORT_NAME, expected="fxs1, fxo2 ...")
        kind = node.get_choice("kind", ("fxs", "fxo"))
        if not name.startswith(kind):
            raise node.key_error("name", f"port '{name}' is of kind {kind}: its name must start with '{kind}'")
        return cls(name=name, kind=kind, spi=node.get_str("spi", pattern=r"/dev/\S+", expected="a /dev path"),
                   irq_gpio=node.get_int("irq_gpio", minval=0, maxval=GPIO_MAX),
                   reset_gpio=node.get_int("reset_gpio", None, minval=0, maxval=GPIO_MAX),
                   timeslot=node.get_int("timeslot", minval=0, maxval=127),
                   part=node.get_choice("part", ("Si3210", "Si3215"), "Si3210") if kind == "fxs" else None,
                   country=node.get_str("country", "ITALY", pattern=r"[A-Z0-9_]+",
                                        expected="a country name such as ITALY") if kind == "fxo" else None,
                   origin=node.origin())


@dataclass(frozen=True)
class SpiBus:
    """One chip select of the controller, fanned out by a decoder into a bus of its own."""
    chip_select: int
    bus: int
    devices: int


@dataclass(frozen=True)
class SpiWiring:
    """How the chips reach the SoC's SPI: the controller, and decoders behind its chip selects.

    Without ``buses`` the devices are the controller's own chip selects (/dev/spidevN.0, .1); with
    them, each listed chip select enables a 3-to-8 decoder whose address lines are
    ``decoder_gpios``, and Linux's spi-mux makes a bus of it (/dev/spidevB.0 .. B.devices-1)."""
    controller: int = 0
    decoder_gpios: tuple[int, ...] = ()
    buses: tuple[SpiBus, ...] = ()
    origin: Origin = _origin()

    def devices(self) -> dict[str, str]:
        """Every /dev/spidev path this wiring creates, with where it comes from."""
        ce = pi_header.chip_select_lines(self.controller)
        if not self.buses:
            return {f"/dev/spidev{self.controller}.{i}": f"CE{i} of SPI{self.controller}" for i in range(len(ce))}
        return {f"/dev/spidev{b.bus}.{i}": f"output {i} of the decoder on CE{b.chip_select}"
                for b in self.buses for i in range(b.devices)}

    @classmethod
    def from_node(cls, node: ConfigNode) -> "SpiWiring":
        controller = node.get_int("controller", 0, minval=0, maxval=6)
        if controller not in pi_header.SPI_CONTROLLERS:
            raise node.key_error("controller", f"SPI{controller} does not exist on the Pi "
                                               f"(expected one of {sorted(pi_header.SPI_CONTROLLERS)})")
        address = tuple(item.text() for item in node.get_list("decoder_gpios", None))
        gpios = []
        for text in address:
            if not text.isdigit() or int(text) > GPIO_MAX:
                raise node.key_error("decoder_gpios", f"'{text}' is not a GPIO number (expected 0..{GPIO_MAX})")
            gpios.append(int(text))
        chip_selects = len(pi_header.chip_select_lines(controller))
        buses = []
        for item in node.get_list("buses", None):
            buses.append(SpiBus(chip_select=item.get_int("chip_select", minval=0, maxval=chip_selects - 1),
                                bus=item.get_int("bus", minval=7, maxval=99),
                                devices=item.get_int("devices", minval=1, maxval=1 << max(1, len(gpios)))))
        if buses and not gpios:
            raise node.key_error("buses", "decoders need their address lines (expected decoder_gpios: [A0, A1, A2])")
        for seen, key in ((set(), "chip_select"), (set(), "bus")):
            for bus in buses:
                value = getattr(bus, key)
                if value in seen:
                    raise node.key_error("buses", f"{key} {value} is listed twice")
                seen.add(value)
        return cls(controller=controller, decoder_gpios=tuple(gpios), buses=tuple(buses), origin=node.origin())


@dataclass(frozen=True)
class Lifeline:
    """The power-fail transfer relay: released (its rest position), phone ``phone`` is wired straight
    to line ``line``; the daemon holds it energised with a heartbeat on ``relay_gpio`` into a
    retriggerable monostable of ``hold_s``. ``sense_gpio`` reads low while loop current flows on the
    direct path (phone 1 in a call on line 1), so the daemon never takes the phone out of a call."""
    phone: str
    line: str
    relay_gpio: int
    sense_gpio: int | None
    hold_s: float
    origin: Origin = _origin()

    @classmethod
    def from_node(cls, node: ConfigNode, ports: tuple[Port, ...]) -> "Lifeline":
        kinds = {p.name: p.kind for p in ports}
        phone = node.get_str("phone", "fxs1", pattern=PORT_NAME, expected="an fxs port")
        line = node.get_str("line", "fxo1", pattern=PORT_NAME, expected="an fxo port")
        for key, name, kind in (("phone", phone, "fxs"), ("line", line, "fxo")):
            if kinds.get(name) != kind:
                ports_of_kind = ", ".join(n for n, k in kinds.items() if k == kind) or f"no {kind} port"
                raise node.key_error(key, f"'{name}' is not an {kind} port of this board "
                                          f"(expected one of {ports_of_kind})")
        return cls(phone=phone, line=line, relay_gpio=node.get_int("relay_gpio", minval=0, maxval=GPIO_MAX),
                   sense_gpio=node.get_int("sense_gpio", None, minval=0, maxval=GPIO_MAX),
                   hold_s=node.get_float("hold_s", 0.5, minval=0.05, maxval=10.0), origin=node.origin())


@dataclass(frozen=True)
class Board:
    kind: str
    hat: str
    pcm_slots: int
    spi_speed_hz: int
    gpiochip: str
    i2c_bus: str
    pcm_device: str
    ports: tuple[Port, ...]
    leds: Leds | None = None  # board.leds: the status LEDs (config/leds_schema.py)
    eeprom_bus: str = "/dev/i2c-0"  # the HAT ID EEPROM on ID_SD/ID_SC
    spi: SpiWiring = field(default_factory=SpiWiring)
    lifeline: Lifeline | None = None
    gsm_power_key_gpio: int | None = None  # the modem's power key, when the HAT wires one
    overlay: str | None = None  # the device-tree overlay's name (/boot/firmware/overlays/NAME.dtbo)
    header: str | None = None  # "raspberry-pi-40": checked against the Pi's header
    definition: str | None = None  # the definition file the board came from
    origin: Origin = _origin()
    power_key_origin: Origin = _origin()  # where gsm_power_key_gpio is written (file and line)

    @property
    def header_checked(self) -> bool:
        return self.kind == "pi-hat" or self.header is not None

    def port(self, name: str) -> Port | None:
        return next((p for p in self.ports if p.name == name), None)

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Board":
        kind = node.get_choice("kind", board_kinds())
        source = _Layers(node, _definition(node))
        pcm_slots = source.of("pcm_slots").get_int("pcm_slots", 32, minval=1, maxval=128)
        ports = tuple(Port.from_node(p) for p in source.of("ports").get_list("ports"))
        if not ports:
            where = source.of("ports")
            raise where.key_error("ports", "at least one port is needed (expected a list of fxs/fxo ports)")
        _check_ports(ports, pcm_slots)
        spi_node = source.of("spi").get_section("spi", None)
        lifeline_node = source.of("lifeline").get_section("lifeline", None)
        board = cls(kind=kind, hat=source.of("hat").get_str("hat"), pcm_slots=pcm_slots,
                    spi_speed_hz=source.of("spi_speed_hz").get_int("spi_speed_hz", 1_000_000, minval=10_000,
                                                                  maxval=20_000_000),
                    gpiochip=source.of("gpiochip").get_str("gpiochip", "/dev/gpiochip0"),
                    i2c_bus=source.of("i2c_bus").get_str("i2c_bus", "/dev/i2c-0"),
                    eeprom_bus=source.of("eeprom_bus").get_str("eeprom_bus", "/dev/i2c-0"),
                    pcm_device=source.of("pcm_device").get_str("pcm_device", "hw:0"), ports=ports,
                    leds=_leds(source, ports),
                    spi=SpiWiring.from_node(spi_node) if spi_node is not None else SpiWiring(),
                    lifeline=Lifeline.from_node(lifeline_node, ports) if lifeline_node is not None else None,
                    gsm_power_key_gpio=source.of("gsm_power_key_gpio").get_int("gsm_power_key_gpio", None,
                                                                              minval=0, maxval=GPIO_MAX),
                    overlay=source.of("overlay").get_str("overlay", None, pattern=r"[A-Za-z0-9_.-]+",
                                                         expected="an overlay name such as centralino-8fxs-4fxo"),
                    header=_header(source, kind),
                    definition=str(source.definition.path) if source.definition is not None else None,
                    origin=node.origin(), power_key_origin=source.where("gsm_power_key_gpio").origin())
        source.check_unused()
        if board.header_checked:
            check_header(board)
        return board


def _leds(source: "_Layers", ports) -> Leds | None:
    """``leds:`` as a section, or ``leds: none`` in the configuration for a board without them."""
    node = source.of("leds")
    if node is source.node and node.has("leds"):
        try:
            text = node.get_str("leds")
        except ConfigError:
            text = None  # a mapping: the LEDs themselves
        if text is not None:
            if text != "none":
                raise node.key_error("leds", f"'{text}' is not valid (expected the LEDs' section, or none)")
            return None
    return leds_from_board(node, ports)


def _header(source: "_Layers", kind: str) -> str | None:
    """The header the board is held to; a simulated board may say ``header: none`` to be excused
    (a test that puts LEDs on lines the real HAT has not got), a Pi HAT may not."""
    node = source.of("header")
    header = node.get_choice("header", HEADERS + ("none",), None)
    if header == "none":
        if kind == "pi-hat":
            raise node.key_error("header", "a pi-hat board is always held to the Pi's header "
                                           "(expected raspberry-pi-40, or kind: sim)")
        return None
    return header


# ------------------------------------------------------------------------------ definitions
def _definition(node: ConfigNode) -> ConfigNode | None:
    """The board definition named by ``board.definition``, read as a board section of its own file."""
    name = node.get_str("definition", None, pattern=r"[A-Za-z0-9_./-]+",
                        expected="a board name such as centralino-8fxs-4fxo, or a .yaml path")
    if name is None:
        return None
    if name.endswith(".yaml") or "/" in name:
        path = Path(name) if Path(name).is_absolute() else Path(node.path).parent / name
    else:
        path = BOARDS_DIR / f"{name}.yaml"
        if not path.exists():
            shipped = ", ".join(sorted(p.stem for p in BOARDS_DIR.glob("*.yaml"))) or "none"
            raise node.key_error("definition", f"no board definition '{name}' (shipped: {shipped}; "
                                               "or give the path of a .yaml file)")
    try:
        root = load_yaml(path)
    except ConfigError as err:
        if err.message == "file not found":
            raise node.key_error("definition", f"board definition {path} not found") from None
        raise
    if root.has("kind") or root.has("definition"):
        key = "kind" if root.has("kind") else "definition"
        raise ConfigError(path, root.key_line(key), key, f"a board definition describes hardware: '{key}' "
                                                         "belongs in the configuration's board section")
    return ConfigNode(root.node, path, "board")


class _Layers:
    """Reads each board key from the configuration when it gives it, else from the definition."""

    def __init__(self, node: ConfigNode, definition: ConfigNode | None):
        self.node, self.definition = node, definition

    def of(self, name: str) -> ConfigNode:
        if self.definition is None or self.node.has(name):
            if self.definition is not None:
                self.definition._asked.add(name)  # replaced by the configuration: not a stray key
            return self.node
        if self.definition.has(name):
            return self.definition
        return self.node  # absent from both: the default applies (and a required key is reported here)

    def where(self, name: str) -> ConfigNode:
        return self.node if self.definition is None or self.node.has(name) else self.definition

    def check_unused(self) -> None:
        if self.definition is not None:
            self.definition.check_unused()


# ------------------------------------------------------------------------------ checks
def _check_ports(ports: tuple[Port, ...], pcm_slots: int) -> None:
    """Names, SPI devices and timeslots used once; timeslots inside the PCM frame."""
    for attribute, what in (("name", "name"), ("spi", "SPI device"), ("timeslot", "PCM timeslot")):
        seen: dict = {}
        for port in ports:
            value = getattr(port, attribute)
            if value in seen:
                first = seen[value]
                raise port.origin.error(attribute, f"{what} {value} is already used by {first.name} "
                                                   f"({_where(first.origin, attribute)})")
            seen[value] = port
    for port in ports:
        if port.timeslot >= pcm_slots:
            raise port.origin.error("timeslot", f"timeslot {port.timeslot} does not exist: the PCM frame has "
                                                f"{pcm_slots} slots of {PCM_SLOT_BITS} bits "
                                                f"(expected 0..{pcm_slots - 1}: board.pcm_slots is {pcm_slots})")
    keys = {"interrupt": "irq_gpio", "reset": "reset_gpio"}
    nets: dict[int, tuple[str, Port]] = {}
    for port in ports:  # a line is an interrupt net or a reset net, never both
        for role, line in (("interrupt", port.irq_gpio), ("reset", port.reset_gpio)):
            if line is None:
                continue
            first_role, first = nets.setdefault(line, (role, port))
            if first_role != role:
                raise port.origin.error(keys[role], f"GPIO {line} is already the {first_role} line of {first.name} "
                                                    f"({_where(first.origin, keys[first_role])})")


@dataclass(frozen=True)
class _User:
    gpio: int
    role: str  # "interrupt", "reset", or a unique use
    what: str  # "the interrupt line of fxs1"
    origin: Origin | None
    key: str | None


def _users(board: Board) -> list[_User]:
    """Every GPIO the board's own wiring takes, with its role and where it is written."""
    users = []
    for port in board.ports:
        users.append(_User(port.irq_gpio, "interrupt", f"the interrupt line of {port.name}", port.origin, "irq_gpio"))
        if port.reset_gpio is not None:
            users.append(_User(port.reset_gpio, "reset", f"the reset line of {port.name}", port.origin, "reset_gpio"))
    for index, gpio in enumerate(board.spi.decoder_gpios):
        users.append(_User(gpio, f"decoder-{index}", f"address line A{index} of the SPI chip-select decoders",
                           board.spi.origin, "decoder_gpios"))
    if board.lifeline is not None:
        life = board.lifeline
        users.append(_User(life.relay_gpio, "relay", "the lifeline relay's heartbeat", life.origin, "relay_gpio"))
        if life.sense_gpio is not None:
            users.append(_User(life.sense_gpio, "sense", "the lifeline's loop-current sense", life.origin,
                               "sense_gpio"))
    if board.gsm_power_key_gpio is not None:
        users.append(_User(board.gsm_power_key_gpio, "power-key", "the GSM modem's power key",
                           board.power_key_origin, "gsm_power_key_gpio"))
    if board.leds is not None and board.leds.kind == "gpio":
        for light in board.leds.lights:
            users.append(_User(light.wire, f"led-{light.name}", f"the {light.name} LED", board.leds.origin, "lights"))
    return users


def _bus_pins(board: Board) -> dict[int, str]:
    """GPIO -> the enabled bus signal that owns it (config.txt enables SPI0, I2C1, I2S and the UART)."""
    owned: dict[int, str] = {}
    controllers = {0, board.spi.controller}
    buses = [pi_header.SPI_CONTROLLERS[c] for c in sorted(controllers)] + list(pi_header.FIXED_BUSES)
    for bus in buses:
        for gpio, signal in bus.pins.items():
            owned.setdefault(gpio, f"{signal} of {bus.what}")
    return owned


def pin_uses(board: Board) -> dict[int, tuple[str, str]]:
    """GPIO -> (role, what) for every line the board's wiring takes, buses included: the bus pins
    have the role "bus" (for the HAT EEPROM's GPIO map and the probe's messages)."""
    uses = {gpio: ("bus", signal) for gpio, signal in _bus_pins(board).items()}
    for user in _users(board):
        uses.setdefault(user.gpio, (user.role, user.what))
    return uses


def check_header(board: Board) -> None:
    """Refuse a board the Pi's 40-pin header cannot carry (see the module docstring)."""
    owned = _bus_pins(board)
    taken: dict[int, _User] = {}
    for user in _users(board):
        if user.gpio not in pi_header.HEADER_GPIOS:
            raise _error(user, f"GPIO {user.gpio} is not on the 40-pin header (expected 0..27) for {user.what}")
        if user.gpio in owned:
            raise _error(user, f"{pi_header.describe_gpio(user.gpio)} is {owned[user.gpio]} (enabled by "
                               f"config.txt); {user.what} cannot use it (free GPIOs: {_free(board)})")
        first = taken.get(user.gpio)
        if first is not None and not (first.role == user.role and user.role in SHAREABLE):
            raise _error(user, f"{pi_header.describe_gpio(user.gpio)} is already {first.what} "
                               f"({_where(first.origin, first.key)}); {user.what} needs a GPIO of its own")
        taken.setdefault(user.gpio, user)
    devices = board.spi.devices()
    for port in board.ports:
        if port.spi not in devices:
            raise port.origin.error("spi", f"{port.spi} is not a device the board's overlay creates for "
                                           f"{port.name} (it creates {_ranges(devices)})")


def check_board_settings(settings) -> None:
    """Checks that need another section: the gsm section's power key against the board's GPIOs."""
    gsm, board = settings.gsm, settings.board
    key = getattr(gsm, "power_key_gpio", None) if gsm is not None else None
    if key is None or not board.header_checked or key == board.gsm_power_key_gpio:
        return
    user = _User(key, "power-key", "the GSM modem's power key (gsm.power_key_gpio)", gsm.origin, "power_key_gpio")
    owned = _bus_pins(board)
    if key not in pi_header.HEADER_GPIOS:
        raise _error(user, f"GPIO {key} is not on the 40-pin header (expected 0..27)")
    if key in owned:
        raise _error(user, f"{pi_header.describe_gpio(key)} is {owned[key]}; the modem's power key cannot use it")
    for other in _users(board):
        if other.gpio == key:
            raise _error(user, f"{pi_header.describe_gpio(key)} is already {other.what} "
                               f"({_where(other.origin, other.key)})")


def _free(board: Board) -> str:
    used = set(_bus_pins(board)) | {u.gpio for u in _users(board)}
    free = sorted(pi_header.HEADER_GPIOS - used)
    return ", ".join(str(g) for g in free) if free else "none left"


def _ranges(devices: dict[str, str]) -> str:
    by_bus: dict[str, list[int]] = {}
    for path in devices:
        bus, _, index = path.removeprefix("/dev/spidev").partition(".")
        by_bus.setdefault(bus, []).append(int(index))
    parts = []
    for bus, indexes in by_bus.items():
        low, high = min(indexes), max(indexes)
        parts.append(f"/dev/spidev{bus}.{low}" if low == high else f"/dev/spidev{bus}.{low}-{bus}.{high}")
    return ", ".join(parts)


def _where(origin: Origin | None, key: str | None) -> str:
    if origin is None:
        return "the board"
    line = origin.key_lines.get(key, origin.line) if key else origin.line
    name = Path(origin.path).name
    return f"{origin.key}.{key} on line {line} of {name}" if key else f"{origin.key}, line {line} of {name}"


def _error(user: _User, message: str) -> ConfigError:
    if user.origin is None:
        return ConfigError("", None, "board", message)
    return user.origin.error(user.key, message)
