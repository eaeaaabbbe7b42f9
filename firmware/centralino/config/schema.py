"""The switchboard's configuration as typed records, each section parsed by its own ``from_node``.

``load_settings(path)`` reads the file, builds every section (each value checked where it is
read), refuses unknown keys, then checks the references between sections in one place
(``_cross_check``): an extension's port exists and is an FXS port, a group's members are
extensions, a line's ``incoming`` names an extension or a group... Every error names the file,
the line and the key. Each record keeps its ``origin`` (file, key path, line of each key) so the
cross-checks can point at the right line too.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from centralino.media.tones import lookup

from .emergency_rules import ALWAYS_EMERGENCY, check_emergency_reach, check_path_out
from .flows_schema import Menu, Office, SwitchboardRules, calendar_from_node, check_flows
from .loader import ConfigError, ConfigNode, Origin, load_yaml, shown
from .yaml_reader import MAX_VALUES
from .sip_schema import Sip, check_sip, sip_station_ports
from .mail_schema import Mail
from .tickets_schema import Tickets
from .announcements_schema import Announcements
from .crisis_schema import Crisis, check_crisis
from .board_schema import GPIO_MAX, Board, Port, check_board_settings  # noqa: F401 (re-exported)

NUMBER = r"[0-9]{2,6}"
PHONE_NUMBER = r"\+?[0-9]{2,20}"
FEATURE_CODE = r"[*#][0-9]{1,3}"
GROUP_NAME = r"[a-z0-9_-]+"
HANGUP_SIGNALS = ("loop_drop", "polarity", "busy_tone")
EMERGENCY_PATHS = ("fxo", "gsm", "sip")  # PSTN lines, the GSM modem, the SIP trunk
DEFAULT_EMERGENCY = ALWAYS_EMERGENCY
EMERGENCY_NUMBER = r"[0-9]{1,8}"
TIMEZONE = r"[A-Za-z0-9_+-]{1,30}(/[A-Za-z0-9_+-]{1,30}){0,2}"  # Europe/Rome, America/Argentina/Salta, UTC
DEFAULT_DATABASE = "/var/lib/centralino/centralino.db"
GROUP_STRATEGIES = ("ring_all", "hunt", "round_robin", "longest_idle")


def _origin():
    return field(default=None, compare=False, repr=False)


def _texts(node: ConfigNode, name: str, required: bool = True) -> tuple[str, ...] | None:
    """A list of plain values (numbers, names); None when optional and absent."""
    if not required and not node.has(name):
        node.get_list(name, None)  # still a known key
        return None
    return tuple(item.text() for item in node.get_list(name))


def _unique(node: ConfigNode, name: str, values, what: str) -> None:
    seen = set()
    for value in values:
        if value in seen:
            raise ConfigError(node.path, node.key_line(name), f"{node.key}.{name}", f"{what} '{value}' is listed twice")
        seen.add(value)


@dataclass(frozen=True)
class Comune:
    name: str
    timezone: str

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Comune":
        zone = node.get_str("timezone", "Europe/Rome")
        try:
            if not re.fullmatch(TIMEZONE, zone):
                raise ValueError(zone)
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name the file system refuses
            raise ConfigError(node.path, node.key_line("timezone"), "comune.timezone",
                              f"unknown time zone '{shown(zone)}' (expected e.g. Europe/Rome)") from None
        return cls(name=node.get_str("name"), timezone=zone)


@dataclass(frozen=True)
class Extension:
    number: str
    port: str
    name: str
    operator: bool = False
    origin: Origin = _origin()

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Extension":
        return cls(number=node.get_str("number", pattern=NUMBER, expected="2 to 6 digits"),
                   port=node.get_str("port"), name=node.get_str("name"),
                   operator=node.get_bool("operator", False), origin=node.origin())


@dataclass(frozen=True)
class Group:
    name: str
    number: str | None
    members: tuple[str, ...]
    strategy: str
    member_timeout_s: float = 15.0  # hunt, round robin, longest idle: how long each member rings
    title: str = ""  # the display name ("Ufficio Tributi"); ``name`` is the identifier
    spoken: str = ""  # as said after "per" ("l'Ufficio Tributi")
    origin: Origin = _origin()
    wrap_up_s: float = 0.0  # after a call a member is not offered a new one for this long

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Group":
        members = _texts(node, "members")
        if not members:
            raise ConfigError(node.path, node.key_line("members"), f"{node.key}.members",
                              "a group needs at least one member (expected extension numbers)")
        _unique(node, "members", members, "member")
        from .flows_schema import display_names
        from .names import identity

        name, title = identity(node, "group")
        if not re.fullmatch(GROUP_NAME, name):
            raise node.key_error("id" if node.has("id") else "name",
                                 f"'{shown(name)}' is not valid (expected lower-case letters, digits, _ or -)")
        title, spoken = display_names(node, name, title, None)
        return cls(name=name, title=title, spoken=spoken,
                   number=node.get_str("number", None, pattern=NUMBER, expected="2 to 6 digits"),
                   members=members, strategy=node.get_choice("strategy", GROUP_STRATEGIES, "ring_all"),
                   member_timeout_s=node.get_float("member_timeout_s", 15.0, minval=3.0, maxval=120.0),
                   origin=node.origin(), wrap_up_s=node.get_float("wrap_up_s", 0.0, minval=0.0, maxval=600.0))


@dataclass(frozen=True)
class Line:
    port: str
    number: str | None
    incoming: str
    hangup_detect: tuple[str, ...]
    origin: Origin = _origin()

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Line":
        signals = _texts(node, "hangup_detect", required=False)
        if signals is None:
            signals = HANGUP_SIGNALS
        if not signals:
            raise ConfigError(node.path, node.key_line("hangup_detect"), f"{node.key}.hangup_detect",
                              "no hang-up signal: a call would never end "
                              f"(expected some of {', '.join(HANGUP_SIGNALS)})")
        for s in signals:
            if s not in HANGUP_SIGNALS:
                raise ConfigError(node.path, node.key_line("hangup_detect"), f"{node.key}.hangup_detect",
                                  f"'{s}' is not a hang-up signal (expected one of {', '.join(HANGUP_SIGNALS)})")
        _unique(node, "hangup_detect", signals, "signal")
        return cls(port=node.get_str("port"),
                   number=node.get_str("number", None, pattern=PHONE_NUMBER, expected="digits, optionally after +"),
                   incoming=node.get_str("incoming"), hangup_detect=signals, origin=node.origin())


@dataclass(frozen=True)
class Dialplan:
    outside_prefix: str
    operator: str | None  # None in the file means "the first operator extension": set by load_settings
    interdigit_timeout_s: float
    emergency_numbers: tuple[str, ...]
    origin: Origin = _origin()
    emergency_lines: dict = field(default_factory=dict, compare=False, repr=False)  # number -> line; {}: default
    emergency_paths: tuple[str, ...] = EMERGENCY_PATHS  # the order of the kinds tried; every kind always is

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Dialplan":
        numbers, lines = cls._emergency_numbers(node)
        return cls(outside_prefix=node.get_str("outside_prefix", "0", pattern=r"[0-9]", expected="one digit"),
                   operator=node.get_str("operator", None, pattern=NUMBER, expected="an extension number"),
                   interdigit_timeout_s=node.get_float("interdigit_timeout_s", 4.0, minval=1.0, maxval=20.0),
                   emergency_numbers=numbers, origin=node.origin(), emergency_lines=lines,
                   emergency_paths=cls._emergency_paths(node))

    @staticmethod
    def _emergency_paths(node: ConfigNode) -> tuple[str, ...]:
        """The order in which the kinds of path are tried for an emergency call (not whether:
        a kind left out is still tried, after the ones named)."""
        if not node.has("emergency_paths"):
            node.get_list("emergency_paths", None)
            return EMERGENCY_PATHS
        order = []
        for i, item in enumerate(node.get_list("emergency_paths")):
            kind = item.text()
            if kind not in EMERGENCY_PATHS:
                raise item.error(f"'{shown(kind)}' is not a kind of path (expected {', '.join(EMERGENCY_PATHS)})",
                                 key=f"dialplan.emergency_paths[{i}]")
            if kind in order:
                raise item.error(f"'{kind}' is listed twice", key=f"dialplan.emergency_paths[{i}]")
            order.append(kind)
        return tuple(order) + tuple(k for k in EMERGENCY_PATHS if k not in order)

    @staticmethod
    def _emergency_numbers(node: ConfigNode) -> tuple[tuple[str, ...], dict[str, int]]:
        """The four built-in numbers when the key is absent; a given list must contain them
        (a list without them is refused, not merged: the file says what the switchboard does)."""
        if not node.has("emergency_numbers"):
            node.get_list("emergency_numbers", None)  # still a known key
            return DEFAULT_EMERGENCY, {}
        key = "dialplan.emergency_numbers"
        items = node.get_list("emergency_numbers")
        if not items:
            raise node.key_error("emergency_numbers", "the list is empty: emergency calls must always be possible "
                                                      f"(expected {', '.join(ALWAYS_EMERGENCY)} and any number added)")
        lines: dict[str, int] = {}
        for i, item in enumerate(items):
            number = item.text()
            if not re.fullmatch(EMERGENCY_NUMBER, number):
                raise item.error(f"emergency number '{shown(number)}' is not valid (expected digits)", key=f"{key}[{i}]")
            if number in lines:
                raise item.error(f"number '{number}' is listed twice (first on line {lines[number]})", key=f"{key}[{i}]")
            lines[number] = item.line
        missing = [n for n in ALWAYS_EMERGENCY if n not in lines]
        if missing:
            raise node.key_error("emergency_numbers", f"{', '.join(missing)} missing: 112, 113, 115 and 118 are always "
                                                      "emergency numbers, a list may add numbers but not leave these "
                                                      "out (expected e.g. [\"112\", \"113\", \"115\", \"118\", "
                                                      "\"1530\"], or no emergency_numbers key)")
        return tuple(lines), lines


@dataclass(frozen=True)
class Features:
    pickup: str
    transfer_recall_s: float
    ring_timeout_s: float
    hold_tone: str
    login: str = "*61"  # a group member is back: calls ring the phone again
    logout: str = "*62"  # a group member is away: groups and queues skip the phone
    voicemail: str = "*98"  # listen to the office's segreteria
    next_callback: str = "*97"  # call the office's oldest pending callback
    day_mode: str = "*51"  # force the day service (offices open) ...
    night_mode: str = "*52"  # ... or the night service (offices closed) ...
    auto_mode: str = "*50"  # ... or follow hours and holidays again
    crisis_mode: str = "*53"  # ... or the crisis service (Protezione Civile: every office, around the clock)
    origin: Origin = _origin()
    desk_voicemail: str = "*41"  # after a failed blind transfer: the caller to the office's segreteria
    desk_callback: str = "*42"  # ... a callback ticket for the office (then a subject code and #)
    desk_retry: str = "*43"  # ... the transfer once more
    transfer_queue: str = "*44"  # with a caller on hold, then a number and #: the caller into its office's queue
    transfer_voicemail: str = "*45"  # ... the caller to its office's segreteria
    announcements: str = "*55"  # record the avviso and the comune's prompts (config/announcements_schema.py)

    CODES = ("pickup", "login", "logout", "voicemail", "next_callback", "day_mode", "night_mode",
             "auto_mode", "crisis_mode", "desk_voicemail", "desk_callback", "desk_retry",
             "transfer_queue", "transfer_voicemail", "announcements")  # must differ from each other

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Features":
        hold = node.get_str("hold_tone", "it:hold")
        try:
            lookup(hold)
        except (KeyError, ValueError) as err:
            message = err.args[0] if err.args else str(err)
            raise ConfigError(node.path, node.key_line("hold_tone"), "features.hold_tone", str(message)) from None
        codes = {key: node.get_str(key, default, pattern=FEATURE_CODE, expected="* or # and 1-3 digits")
                 for key, default in (("login", "*61"), ("logout", "*62"), ("voicemail", "*98"),
                                      ("next_callback", "*97"), ("day_mode", "*51"), ("night_mode", "*52"),
                                      ("auto_mode", "*50"), ("crisis_mode", "*53"), ("desk_voicemail", "*41"), ("desk_callback", "*42"),
                                      ("desk_retry", "*43"), ("transfer_queue", "*44"),
                                      ("transfer_voicemail", "*45"), ("announcements", "*55"))}
        return cls(**codes, pickup=node.get_str("pickup", "*8", pattern=FEATURE_CODE, expected="* or # and 1-3 digits"),
                   transfer_recall_s=node.get_float("transfer_recall_s", 30.0, minval=5, maxval=300),
                   ring_timeout_s=node.get_float("ring_timeout_s", 60.0, minval=5, maxval=600), hold_tone=hold,
                   origin=node.origin())


@dataclass(frozen=True)
class Records:
    database: str
    keep_days: int
    mask_after_days: int = 90  # callers' numbers in CDRs and closed tickets are masked after this
    voicemail_keep_days: int = 30  # voicemail messages (rows and WAV files) are deleted after this

    @classmethod
    def from_node(cls, node: ConfigNode, base: Path) -> "Records":
        """A relative ``database`` is relative to the configuration file's folder."""
        database = Path(node.get_str("database", DEFAULT_DATABASE))
        if not database.is_absolute():
            database = base / database
        return cls(database=str(database), keep_days=node.get_int("keep_days", 365, minval=1, maxval=3650),
                   mask_after_days=node.get_int("mask_after_days", 90, minval=1, maxval=3650),
                   voicemail_keep_days=node.get_int("voicemail_keep_days", 30, minval=1, maxval=3650))


@dataclass(frozen=True)
class Gsm:
    """The GSM modem: a path for emergency calls when no line is free, and a line of its own."""
    dialect: str
    at_port: str
    audio_port: str
    incoming: str
    power_key_gpio: int | None
    origin: Origin = _origin()

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Gsm":
        return cls(dialect=node.get_choice("dialect", ("sim7600", "ec25")),
                   at_port=node.get_str("at_port", "/dev/gsm-at", pattern=r"/dev/\S+", expected="a /dev path"),
                   audio_port=node.get_str("audio_port", "/dev/gsm-audio", pattern=r"/dev/\S+",
                                           expected="a /dev path"),
                   incoming=node.get_str("incoming", ""),
                   power_key_gpio=node.get_int("power_key_gpio", None, minval=0, maxval=53),
                   origin=node.origin())


@dataclass(frozen=True)
class MigrationWindow:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Failover:
    """Where calls go while the main path is down or the municipal PBX is being migrated."""
    mobile_number: str
    down_after_s: float
    healthy_for_s: float
    windows: tuple[MigrationWindow, ...]
    technician_sms: str | None
    origin: Origin = _origin()

    @classmethod
    def from_node(cls, node: ConfigNode, timezone: str) -> "Failover":
        zone = ZoneInfo(timezone)
        windows = []
        for item in node.get_list("windows", None):
            start = _local_time(item, "from", zone)
            end = _local_time(item, "to", zone)
            if end <= start:
                raise item.error(f"the window ends before it starts ({end:%Y-%m-%d %H:%M})", key=f"{item.key}.to")
            windows.append(MigrationWindow(start, end))
        return cls(mobile_number=node.get_str("mobile_number", pattern=PHONE_NUMBER, expected="digits"),
                   down_after_s=node.get_float("down_after_s", 4.0, minval=1.0, maxval=300.0),
                   healthy_for_s=node.get_float("healthy_for_s", 60.0, minval=1.0, maxval=3600.0),
                   windows=tuple(windows),
                   technician_sms=node.get_str("technician_sms", None, pattern=PHONE_NUMBER, expected="digits"),
                   origin=node.origin())

    def in_window(self, when: datetime) -> bool:
        return any(w.start <= when < w.end for w in self.windows)


def _local_time(node: ConfigNode, key: str, zone: ZoneInfo) -> datetime:
    text = node.get_str(key)
    try:
        value = datetime.strptime(text, "%Y-%m-%d %H:%M")
    except ValueError:
        raise node.error(f"'{text}' is not a date and time (expected YYYY-MM-DD HH:MM, local time)",
                         key=f"{node.key}.{key}") from None
    return value.replace(tzinfo=zone)


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
    gsm: Gsm | None = None
    failover: Failover | None = None
    offices: tuple[Office, ...] = ()
    menus: tuple[Menu, ...] = ()
    rules: SwitchboardRules | None = None
    calendar_node: object | None = field(default=None, compare=False, repr=False)
    sip: Sip | None = None
    mail: Mail | None = None
    origin: Origin = _origin()  # the top level: where the sections' keys are
    tickets: Tickets = Tickets()  # the citizen's SMS (config/tickets_schema.py)
    announcements: Announcements = Announcements()  # who records by phone (config/announcements_schema.py)
    crisis: Crisis = Crisis()  # the offices a crisis opens (config/crisis_schema.py)

    def office(self, name: str) -> Office | None:
        return next((o for o in self.offices if o.name == name), None)

    def menu(self, name: str) -> Menu | None:
        return next((m for m in self.menus if m.name == name), None)

    def calendar(self):
        """A fresh Calendar from the ``calendar`` section (the switchboard keeps its own: the
        day/night override lives there)."""
        return calendar_from_node(None) if self.calendar_node is None else self.calendar_node()

    def port(self, name: str) -> Port | None:
        return next((p for p in self.board.ports if p.name == name), None)

    def extension(self, number: str) -> Extension | None:
        return next((e for e in self.extensions if e.number == number), None)

    def group(self, name: str) -> Group | None:
        return next((g for g in self.groups if g.name == name), None)

    @property
    def operator_extensions(self) -> tuple[Extension, ...]:
        return tuple(e for e in self.extensions if e.operator)


def load_settings(path, max_values: int = MAX_VALUES) -> Settings:
    """Read and validate the configuration at ``path``; raises ConfigError naming file, line and key.
    ``max_values`` bounds the YAML's size with its aliases expanded (``yaml_reader``)."""
    path = Path(path)
    root = load_yaml(path, max_values=max_values)
    comune = Comune.from_node(root.get_section("comune"))
    settings = Settings(
        comune=comune,
        board=Board.from_node(root.get_section("board")),
        extensions=tuple(Extension.from_node(n) for n in root.get_list("extensions")),
        groups=tuple(Group.from_node(n) for n in root.get_list("groups", None)),
        lines=tuple(Line.from_node(n) for n in root.get_list("lines", None)),
        dialplan=Dialplan.from_node(root.get_section("dialplan", {})),
        features=Features.from_node(root.get_section("features", {})),
        records=Records.from_node(root.get_section("records", {}), path.parent),
        source_path=str(path),
        gsm=Gsm.from_node(root.get_section("gsm")) if root.has("gsm") else None,
        failover=Failover.from_node(root.get_section("failover"), comune.timezone)
        if root.has("failover") else None,
        offices=tuple(Office.from_node(n, comune.timezone) for n in root.get_list("offices", None)),
        menus=tuple(Menu.from_node(n) for n in root.get_list("menus", None)),
        rules=SwitchboardRules.from_node(root.get_section("switchboard", {})),
        mail=Mail.from_node(root.get_section("mail")) if root.has("mail") else None,
        sip=Sip.from_node(root.get_section("sip")) if root.has("sip") else None, origin=root.origin(),
        tickets=Tickets.from_node(root.get_section("tickets", None)),
        announcements=Announcements.from_node(root.get_section("announcements", None)),
        crisis=Crisis.from_node(root.get_section("crisis", None)))
    calendar = calendar_from_node(root.get_section("calendar", None))  # checked now, copied per use
    settings = dataclasses.replace(settings, calendar_node=lambda: dataclasses.replace(
        calendar, closures=list(calendar.closures), _cache={}))
    root.check_unused()
    if not settings.extensions:
        raise ConfigError(path, root.key_line("extensions"), "extensions",
                          "no extensions (expected at least the operator's)")
    return _cross_check(settings)


def _cross_check(s: Settings) -> Settings:
    """The checks that need more than one section; returns the settings with defaults resolved."""
    check_emergency_reach(s)  # first: 112 reachable, nothing dialled shadows an emergency number
    numbers = _check_extensions(s)
    _check_groups(s, numbers)
    _check_lines(s)
    _check_features(s)
    _check_announcements(s)
    check_flows(s)
    check_crisis(s)
    check_sip(s)
    check_path_out(s)
    check_board_settings(s)  # config/board_schema.py: the gsm power key against the board's GPIOs
    return dataclasses.replace(s, dialplan=_resolve_operator(s))


def _check_dialable(origin: Origin, number: str, s: Settings, numbers: dict[str, str]) -> None:
    prefix = s.dialplan.outside_prefix
    if number in numbers:
        raise origin.error("number", f"number {number} is already used by {numbers[number]}")
    if number.startswith(prefix):
        raise origin.error("number", f"{number} starts with the outside prefix '{prefix}' "
                                     f"(expected a number not starting with {prefix})")


def _check_extensions(s: Settings) -> dict[str, str]:
    """Numbers unique and dialable, ports FXS and used once; returns number -> owner description."""
    fxs = [p.name for p in s.board.ports if p.kind == "fxs"] + sip_station_ports(s)
    numbers: dict[str, str] = {}
    used_ports: dict[str, str] = {}
    for ext in s.extensions:
        _check_dialable(ext.origin, ext.number, s, numbers)
        if ext.port not in fxs:
            raise ext.origin.error("port", f"unknown port '{ext.port}' "
                                           f"(expected one of {', '.join(fxs) or 'no fxs port'})")
        if ext.port in used_ports:
            raise ext.origin.error("port", f"port {ext.port} is already extension {used_ports[ext.port]}")
        numbers[ext.number] = f"extension {ext.name}"
        used_ports[ext.port] = ext.number
    if not s.operator_extensions:
        first = s.extensions[0].origin
        raise ConfigError(first.path, first.line, "extensions",
                          "no extension has 'operator: true' (expected at least one operator)")
    return numbers


def _check_groups(s: Settings, numbers: dict[str, str]) -> None:
    names: set[str] = set()
    for group in s.groups:
        if group.name in names:
            raise group.origin.error("name", f"group '{group.name}' is defined twice")
        if group.name in numbers:
            raise group.origin.error("name", f"'{group.name}' is also an extension number "
                                             "(expected a name, e.g. anagrafe)")
        names.add(group.name)
        if group.number:
            _check_dialable(group.origin, group.number, s, numbers)
            numbers[group.number] = f"group {group.name}"
        for member in group.members:
            if s.extension(member) is None:
                raise group.origin.error("members", f"'{member}' is not an extension number "
                                                    f"(expected one of {', '.join(e.number for e in s.extensions)})")


def _check_lines(s: Settings) -> None:
    fxo = [p.name for p in s.board.ports if p.kind == "fxo"]
    used: set[str] = set()
    for line in s.lines:
        if line.port not in fxo:
            raise line.origin.error("port", f"unknown port '{line.port}' "
                                            f"(expected one of {', '.join(fxo) or 'no fxo port'})")
        if line.port in used:
            raise line.origin.error("port", f"port {line.port} has two line entries")
        used.add(line.port)
        if ":" not in line.incoming and line.incoming != "operator" and s.extension(line.incoming) is None \
                and s.group(line.incoming) is None:
            raise line.origin.error("incoming", f"'{line.incoming}' is neither an extension number nor a group name "
                                                "(nor menu:NAME, office:NAME, voicemail:OFFICE or operator)")
    if s.failover is not None and s.gsm is None:
        raise s.failover.origin.error(None, "failover forwards calls through the GSM modem: "
                                            "add a 'gsm' section")
    gsm = s.gsm
    if gsm is not None and gsm.incoming and s.extension(gsm.incoming) is None and s.group(gsm.incoming) is None:
        raise gsm.origin.error("incoming", f"'{gsm.incoming}' is neither an extension number nor a group name")


def _check_features(s: Settings) -> None:
    seen: dict[str, str] = {}
    for key in Features.CODES:
        code = getattr(s.features, key)
        if code in seen:
            raise s.features.origin.error(key, f"{code} is already the code for {seen[code]}")
        seen[code] = key


def _check_announcements(s: Settings) -> None:
    origin = s.announcements.origin
    for i, number in enumerate(s.announcements.staff):
        if s.extension(number) is None:
            line = origin.key_lines.get("staff", origin.line)
            raise ConfigError(origin.path, line, f"announcements.staff[{i}]",
                              f"'{number}' is not an extension number "
                              f"(expected one of {', '.join(e.number for e in s.extensions)})")


def _resolve_operator(s: Settings) -> Dialplan:
    operator = s.dialplan.operator or s.operator_extensions[0].number
    ext = s.extension(operator)
    if ext is None or not ext.operator:
        operators = ", ".join(e.number for e in s.operator_extensions)
        raise s.dialplan.origin.error("operator", f"'{operator}' is not an extension with 'operator: true' "
                                                  f"(expected one of {operators})")
    return dataclasses.replace(s.dialplan, operator=operator)
