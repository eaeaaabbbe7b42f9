"""The switchboard's configuration as typed records, each section parsed by its own ``from_node``.

``load_settings(path)`` reads the file, builds every section, checks the references between
sections (an extension's port exists and is an FXS port, a group's members are extensions...) and
refuses unknown keys. Every error names the file, the line and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from centralino.media.tones import lookup

from .loader import ConfigError, ConfigNode, load_yaml

NUMBER = r"[0-9]{2,6}"
PHONE_NUMBER = r"\+?[0-9]{2,20}"
FEATURE_CODE = r"[*#][0-9]{1,3}"
PORT_NAME = r"(fxs|fxo)[0-9]{1,3}"
HANGUP_SIGNALS = ("loop_drop", "polarity", "busy_tone")
DEFAULT_EMERGENCY = ("112", "113", "115", "118")


@dataclass(frozen=True)
class Comune:
    name: str
    timezone: str

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Comune":
        zone = node.get_str("timezone", "Europe/Rome")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(node.path, node.key_line("timezone"), "comune.timezone",
                              f"unknown time zone '{zone}' (expected e.g. Europe/Rome)") from None
        return cls(name=node.get_str("name"), timezone=zone)


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
    line: int = 0

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Port":
        name = node.get_str("name", pattern=PORT_NAME, expected="fxs1, fxo2 ...")
        kind = node.get_choice("kind", ("fxs", "fxo"))
        if not name.startswith(kind):
            raise node.error(f"port '{name}' is of kind {kind}: its name must start with '{kind}'",
                             key=f"{node.key}.name")
        return cls(name=name, kind=kind, spi=node.get_str("spi", pattern=r"/dev/\S+", expected="a /dev path"),
                   irq_gpio=node.get_int("irq_gpio", minval=0, maxval=53),
                   reset_gpio=node.get_int("reset_gpio", None, minval=0, maxval=53),
                   timeslot=node.get_int("timeslot", minval=0, maxval=127),
                   part=node.get_choice("part", ("Si3210", "Si3215"), "Si3210") if kind == "fxs" else None,
                   country=node.get_str("country", "ITALY", pattern=r"[A-Z0-9_]+") if kind == "fxo" else None,
                   line=node.line)


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

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Board":
        pcm_slots = node.get_int("pcm_slots", 32, minval=1, maxval=128)
        ports = tuple(Port.from_node(p) for p in node.get_list("ports"))
        if not ports:
            raise node.error("at least one port is needed", key="board.ports")
        for attribute, what in (("name", "name"), ("spi", "SPI device"), ("irq_gpio", "interrupt GPIO"),
                                ("timeslot", "PCM timeslot")):
            seen: dict = {}
            for port in ports:
                value = getattr(port, attribute)
                if value in seen:
                    raise ConfigError(node.path, port.line, f"board.ports ({port.name})",
                                      f"{what} {value} is already used by {seen[value]}")
                seen[value] = port.name
        for port in ports:
            if port.timeslot >= pcm_slots:
                raise ConfigError(node.path, port.line, f"board.ports ({port.name}).timeslot",
                                  f"timeslot {port.timeslot} does not exist (expected 0..{pcm_slots - 1}, "
                                  f"board.pcm_slots is {pcm_slots})")
        return cls(kind=node.get_choice("kind", ("sim", "pi-hat")), hat=node.get_str("hat"),
                   pcm_slots=pcm_slots, spi_speed_hz=node.get_int("spi_speed_hz", 1_000_000, minval=10_000,
                                                                   maxval=20_000_000),
                   gpiochip=node.get_str("gpiochip", "/dev/gpiochip0"), i2c_bus=node.get_str("i2c_bus", "/dev/i2c-0"),
                   pcm_device=node.get_str("pcm_device", "hw:0"), ports=ports)


@dataclass(frozen=True)
class Extension:
    number: str
    port: str
    name: str
    operator: bool = False
    line: int = 0

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Extension":
        return cls(number=node.get_str("number", pattern=NUMBER, expected="2 to 6 digits"),
                   port=node.get_str("port"), name=node.get_str("name"),
                   operator=node.get_bool("operator", False), line=node.line)


@dataclass(frozen=True)
class Group:
    name: str
    number: str | None
    members: tuple[str, ...]
    strategy: str
    line: int = 0

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Group":
        members = tuple(m.text() for m in node.get_list("members"))
        if not members:
            raise node.error("a group needs at least one member", key=f"{node.key}.members")
        return cls(name=node.get_str("name", pattern=r"[a-z0-9_-]+", expected="lower-case letters, digits, _ or -"),
                   number=node.get_str("number", None, pattern=NUMBER, expected="2 to 6 digits"),
                   members=members, strategy=node.get_choice("strategy", ("ring_all",), "ring_all"), line=node.line)


@dataclass(frozen=True)
class Line:
    port: str
    number: str | None
    incoming: str
    hangup_detect: tuple[str, ...]
    line: int = 0

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Line":
        signals = tuple(s.text() for s in node.get_list("hangup_detect", None)) or HANGUP_SIGNALS
        for s in signals:
            if s not in HANGUP_SIGNALS:
                raise node.error(f"'{s}' is not a hang-up signal (expected {', '.join(HANGUP_SIGNALS)})",
                                 key=f"{node.key}.hangup_detect")
        return cls(port=node.get_str("port"),
                   number=node.get_str("number", None, pattern=PHONE_NUMBER, expected="digits"),
                   incoming=node.get_str("incoming"), hangup_detect=signals or HANGUP_SIGNALS, line=node.line)


@dataclass(frozen=True)
class Dialplan:
    outside_prefix: str
    operator: str
    interdigit_timeout_s: float
    emergency_numbers: tuple[str, ...]

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Dialplan":
        numbers = tuple(n.text() for n in node.get_list("emergency_numbers", None)) or DEFAULT_EMERGENCY
        for n in numbers:
            if not n.isdigit():
                raise node.error(f"emergency number '{n}' is not all digits", key="dialplan.emergency_numbers")
        return cls(outside_prefix=node.get_str("outside_prefix", "0", pattern=r"[0-9]", expected="one digit"),
                   operator=node.get_str("operator", ""),
                   interdigit_timeout_s=node.get_float("interdigit_timeout_s", 4.0, minval=1.0, maxval=20.0),
                   emergency_numbers=numbers)


@dataclass(frozen=True)
class Features:
    pickup: str
    transfer_recall_s: float
    ring_timeout_s: float
    hold_tone: str

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Features":
        hold = node.get_str("hold_tone", "it:hold")
        try:
            lookup(hold)
        except (KeyError, ValueError) as err:
            raise ConfigError(node.path, node.key_line("hold_tone"), "features.hold_tone", str(err)) from None
        return cls(pickup=node.get_str("pickup", "*8", pattern=FEATURE_CODE, expected="* or # and 1-3 digits"),
                   transfer_recall_s=node.get_float("transfer_recall_s", 30.0, minval=5, maxval=300),
                   ring_timeout_s=node.get_float("ring_timeout_s", 60.0, minval=5, maxval=600), hold_tone=hold)


@dataclass(frozen=True)
class Records:
    database: str
    keep_days: int

    @classmethod
    def from_node(cls, node: ConfigNode, base: Path) -> "Records":
        database = Path(node.get_str("database", "/var/lib/centralino/centralino.db"))
        if not database.is_absolute():
            database = base / database
        return cls(database=str(database), keep_days=node.get_int("keep_days", 365, minval=1, maxval=3650))


@dataclass(frozen=True)
class Settings:
    comune: Comune
    board: Board
    extensions: tuple[Extension, ...]
    groups: tuple[Group, ...]
    lines: tuple[Line, ...]
    dialplan: Dialplan
    features: Features
    records: Records
    source_path: str = ""
    _index: dict = field(default_factory=dict, compare=False, repr=False)

    def port(self, name: str) -> Port | None:
        return next((p for p in self.board.ports if p.name == name), None)

    def extension(self, number: str) -> Extension | None:
        return next((e for e in self.extensions if e.number == number), None)

    def group(self, name: str) -> Group | None:
        return next((g for g in self.groups if g.name == name), None)

    @property
    def operator_extensions(self) -> tuple[Extension, ...]:
        return tuple(e for e in self.extensions if e.operator)


def load_settings(path) -> Settings:
    path = Path(path)
    root = load_yaml(path)
    dialplan = Dialplan.from_node(root.get_section("dialplan", {}))
    settings = Settings(
        comune=Comune.from_node(root.get_section("comune")),
        board=Board.from_node(root.get_section("board")),
        extensions=tuple(Extension.from_node(n) for n in root.get_list("extensions")),
        groups=tuple(Group.from_node(n) for n in root.get_list("groups", None)),
        lines=tuple(Line.from_node(n) for n in root.get_list("lines", None)),
        dialplan=dialplan,
        features=Features.from_node(root.get_section("features", {})),
        records=Records.from_node(root.get_section("records", {}), path.parent),
        source_path=str(path))
    root.check_unused()
    return _cross_check(settings, path)


def _cross_check(s: Settings, path: Path) -> Settings:
    def fail(line: int, key: str, message: str):
        raise ConfigError(path, line, key, message)

    ports = {p.name: p for p in s.board.ports}
    fxs = sorted(n for n, p in ports.items() if p.kind == "fxs")
    fxo = sorted(n for n, p in ports.items() if p.kind == "fxo")
    numbers: dict[str, str] = {}
    used_ports: dict[str, str] = {}
    prefix = s.dialplan.outside_prefix
    for i, ext in enumerate(s.extensions):
        key = f"extensions[{i}]"
        if ext.number in numbers:
            fail(ext.line, f"{key}.number", f"number {ext.number} is already used by {numbers[ext.number]}")
        if ext.number.startswith(prefix):
            fail(ext.line, f"{key}.number", f"{ext.number} starts with the outside prefix '{prefix}'")
        if ext.number in s.dialplan.emergency_numbers:
            fail(ext.line, f"{key}.number", f"{ext.number} is an emergency number")
        if ext.port not in fxs:
            fail(ext.line, f"{key}.port", f"unknown port '{ext.port}' (expected one of {', '.join(fxs) or 'no fxs port'})")
        if ext.port in used_ports:
            fail(ext.line, f"{key}.port", f"port {ext.port} is already extension {used_ports[ext.port]}")
        numbers[ext.number] = f"extension {ext.name}"
        used_ports[ext.port] = ext.number
    if not s.operator_extensions:
        fail(None, "extensions", "no extension has 'operator: true' (the switchboard needs an operator)")
    group_names: set[str] = set()
    for i, group in enumerate(s.groups):
        key = f"groups[{i}]"
        if group.name in group_names:
            fail(group.line, f"{key}.name", f"group '{group.name}' is defined twice")
        group_names.add(group.name)
        if group.number:
            if group.number in numbers:
                fail(group.line, f"{key}.number", f"number {group.number} is already used by {numbers[group.number]}")
            if group.number.startswith(prefix):
                fail(group.line, f"{key}.number", f"{group.number} starts with the outside prefix '{prefix}'")
            numbers[group.number] = f"group {group.name}"
        for member in group.members:
            if s.extension(member) is None:
                fail(group.line, f"{key}.members", f"'{member}' is not an extension number")
    line_ports: set[str] = set()
    for i, line in enumerate(s.lines):
        key = f"lines[{i}]"
        if line.port not in fxo:
            fail(line.line, f"{key}.port", f"unknown port '{line.port}' (expected one of {', '.join(fxo) or 'no fxo port'})")
        if line.port in line_ports:
            fail(line.line, f"{key}.port", f"port {line.port} has two line entries")
        line_ports.add(line.port)
        if s.extension(line.incoming) is None and s.group(line.incoming) is None:
            fail(line.line, f"{key}.incoming", f"'{line.incoming}' is neither an extension number nor a group name")
    codes = [s.features.pickup]
    for code in codes:
        if code in numbers:
            fail(None, "features.pickup", f"{code} is already used by {numbers[code]}")
    operator = s.dialplan.operator or s.operator_extensions[0].number
    ext = s.extension(operator)
    if ext is None or not ext.operator:
        fail(None, "dialplan.operator", f"'{operator}' is not an extension with 'operator: true'")
    if operator != s.dialplan.operator:
        object.__setattr__(s.dialplan, "operator", operator)
    return s
