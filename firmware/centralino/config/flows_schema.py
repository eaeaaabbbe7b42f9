"""The municipal flows' configuration: calendar, offices with their hours, menus of the voce guida
and the switchboard-wide rules (overflow, unattended, privacy).

A destination is written as a short text a technician can read aloud: ``menu:principale``,
``office:tributi``, ``voicemail:tributi``, ``operator``, an extension number or a group name.
Every reference is checked once the whole file is read (``check_flows``), so a typo in a menu
option points at that option's line.
"""

from __future__ import annotations

import re
from pathlib import Path
from dataclasses import dataclass, field
from datetime import date, datetime, time

from centralino.flows.calendar import Calendar, Closure
from centralino.flows.hours import WEEKDAYS, OfficeHours, Window, parse_window

from .loader import ConfigNode, Origin, shown
from .tickets_schema import OfficeTickets, office_tickets
from .names import SPOKEN_NAME, articled, identity, strip_article

OFFICE_NAME = r"[a-z0-9_-]+"
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
PROMPT_KEY = r"[a-z][a-z0-9_]*"
MENU_KEYS = "0123456789*#"
FAILURE_ACTIONS = ("callback", "voicemail", "operator", "hangup")
CLOSED_ACTIONS = ("voicemail", "callback", "hangup")
DESTINATION_KINDS = ("menu", "office", "voicemail")
FIXED_HOURS = ("always", "never")
HOURS_EXPECTED = 'weekday windows such as lunedi: ["09:00-12:30"], or hours: always, or hours: never'


def _origin():
    return field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Destination:
    """Where a caller is sent: kind is menu, office, voicemail, operator, extension or group."""
    kind: str
    target: str

    @classmethod
    def parse(cls, text: str) -> "Destination":
        if text == "operator":
            return cls("operator", "")
        if ":" in text:
            kind, _, target = text.partition(":")
            if kind not in DESTINATION_KINDS or not target:
                raise ValueError(f"'{text}' is not a destination (expected menu:NAME, office:NAME, "
                                 "voicemail:OFFICE, operator, an extension number or a group name)")
            return cls(kind, target)
        return cls("extension" if text.isdigit() else "group", text)

    def __str__(self) -> str:
        if self.kind == "operator":
            return "operator"
        return f"{self.kind}:{self.target}" if self.kind in DESTINATION_KINDS else self.target


def _destination(node: ConfigNode, key: str, default=None) -> Destination | None:
    text = node.get_str(key, default)
    if text is None:
        return None
    try:
        return Destination.parse(text)
    except ValueError as err:
        raise node.key_error(key, str(err)) from None


@dataclass(frozen=True)
class QueueRules:
    max_wait_s: float
    announce_every_s: float
    overflow: Destination | None  # None: the switchboard's overflow office
    callback: bool = False  # callers hear "Premere 1 per essere richiamati senza perdere il turno"
    callback_attempts: int = 3  # calls to the citizen before the request becomes a ticket
    callback_retry_s: float = 300.0  # between two of them

    @classmethod
    def from_node(cls, node: ConfigNode) -> "QueueRules":
        return cls(max_wait_s=node.get_float("max_wait_s", 180.0, minval=10.0, maxval=3600.0),
                   announce_every_s=node.get_float("announce_every_s", 30.0, minval=10.0, maxval=600.0),
                   overflow=_destination(node, "overflow"),
                   callback=node.get_bool("callback", False),
                   callback_attempts=node.get_int("callback_attempts", 3, minval=1, maxval=10),
                   callback_retry_s=node.get_float("callback_retry_s", 300.0, minval=30.0, maxval=86400.0))


class FixedHours(OfficeHours):
    """``hours: always`` (a desk staffed day and night, holidays included, such as the Polizia
    Locale's) or ``hours: never`` (every call gets the closed treatment: voicemail or callback).
    Neither holidays nor the day/night switch (``*51``/``*52``) change them: they are for
    offices that keep hours, and an office that says "always" means it."""

    ALL_DAY = Window(time(0, 0), time(23, 59, 59, 999999))

    def __init__(self, mode: str, timezone: str = "Europe/Rome"):
        if mode not in FIXED_HOURS:
            raise ValueError(f"'{mode}' is not fixed hours (expected one of {', '.join(FIXED_HOURS)})")
        super().__init__({day: [self.ALL_DAY] for day in range(7)} if mode == "always" else {}, timezone)
        self.mode = mode

    def __eq__(self, other) -> bool:
        return isinstance(other, FixedHours) and (self.mode, self.zone) == (other.mode, other.zone)

    __hash__ = None

    def is_open(self, when: datetime, calendar: Calendar | None = None) -> bool:
        self.local(when)  # still refuses a time without its zone
        return self.mode == "always"

    def next_opening(self, when: datetime, calendar: Calendar | None = None,
                     horizon_days: int = 31) -> datetime | None:
        return self.local(when) if self.mode == "always" else None


def _hours(node: ConfigNode, timezone: str) -> OfficeHours:
    """An office's ``hours``: required, either weekday windows or always / never."""
    if not node.has("hours"):
        raise node.key_error("hours", f"an office needs its phone hours (expected {HOURS_EXPECTED})")
    if not node.has_section("hours"):
        return FixedHours(node.get_str("hours", pattern="always|never", expected=HOURS_EXPECTED), timezone)
    hours_node = node.get_section("hours")
    spec: dict[str, list[str]] = {}
    for day in hours_node.keys():
        if day.lower().replace("ì", "i") not in WEEKDAYS:
            raise hours_node.key_error(day, f"'{shown(day)}' is not a weekday (expected one of {', '.join(WEEKDAYS)})")
        windows = [item.text() for item in hours_node.get_list(day)]
        for text in windows:
            try:
                parse_window(text)
            except ValueError as err:
                raise hours_node.key_error(day, str(err)) from None
        spec[day] = windows
    if not any(spec.values()):
        raise node.key_error("hours", f"no window on any day: the office would never answer (expected {HOURS_EXPECTED})")
    try:
        return OfficeHours.from_spec(spec, timezone)
    except ValueError as err:
        raise node.key_error("hours", str(err)) from None


@dataclass(frozen=True)
class Office:
    """An office the voce guida can send callers to, with its phone hours and its e-mail."""
    name: str  # the identifier (office:NAME, the records); never said nor shown
    prompt: str | None  # a recording of its spoken name: a shipped or comune prompt key (older files)
    group: str  # the response group that answers its calls
    email: str | None
    hours: OfficeHours  # FixedHours for hours: always / never
    closed: str  # what a caller outside the hours is offered after hearing them
    on_failure: str  # what a caller is offered when nobody answers or the queue overflows at the end
    queue: QueueRules
    target_answer_s: float
    title: str = ""  # the display name: "Ufficio Oggetti smarriti"
    spoken: str = ""  # as said after "per": "l'Ufficio Oggetti smarriti"
    recording: str | None = None  # the comune's own WAV of ``spoken`` (a file in switchboard.prompts)
    origin: Origin = _origin()
    tickets: OfficeTickets = OfficeTickets()  # deadline class and subjects (config/tickets_schema.py)

    @classmethod
    def from_node(cls, node: ConfigNode, timezone: str) -> "Office":
        hours = _hours(node, timezone)
        name, title = identity(node, "office")
        default_prompt = f"ufficio_{name}" if title is None and f"ufficio_{name}" in shipped_texts() else None
        prompt = node.get_str("prompt", default_prompt, pattern=PROMPT_KEY,
                              expected="a prompt name such as ufficio_tributi")
        title, spoken = display_names(node, name, title, prompt)
        return cls(name=name, prompt=prompt, title=title, spoken=spoken, recording=_recording(node),
                   group=node.get_str("group", name), email=node.get_str("email", None, pattern=EMAIL,
                                                                          expected="an e-mail address"),
                   hours=hours, closed=node.get_choice("closed", CLOSED_ACTIONS, "voicemail"),
                   on_failure=node.get_choice("on_failure", FAILURE_ACTIONS, "callback"),
                   queue=QueueRules.from_node(node.get_section("queue", {})),
                   target_answer_s=node.get_float("target_answer_s", 20.0, minval=1.0, maxval=600.0),
                   origin=node.origin(), tickets=office_tickets(node))


def shipped_texts() -> dict[str, str]:
    """Key -> text of the shipped catalogue (read once)."""
    global _SHIPPED_TEXTS
    if _SHIPPED_TEXTS is None:
        from centralino.flows.phrases import CATALOGUE_NAME, SHIPPED_DIR, read_catalogue

        _SHIPPED_TEXTS = {e.key: e.text for e in read_catalogue(SHIPPED_DIR / CATALOGUE_NAME)}
    return _SHIPPED_TEXTS


_SHIPPED_TEXTS: dict[str, str] | None = None


def display_names(node: ConfigNode, ident: str, title: str | None, prompt: str | None) -> tuple[str, str]:
    """(display name, spoken form) of an item: given, from its shipped recording's text, or its id."""
    spoken = node.get_str("spoken", None, pattern=SPOKEN_NAME, expected="how the name is said, one line")
    if title is None:
        known = shipped_texts().get(prompt or "")
        title = strip_article(known) if known else strip_article(spoken) if spoken else \
            ident.replace("_", " ").replace("-", " ").capitalize()
        spoken = spoken or known
    return title, spoken or articled(title)


def _recording(node: ConfigNode) -> str | None:
    return node.get_str("recording", None, pattern=r"[A-Za-z0-9][A-Za-z0-9_.-]*\.wav",
                        expected="a WAV file name in switchboard.prompts, e.g. oggetti_smarriti.wav")


@dataclass(frozen=True)
class OptionName:
    """How a menu option is announced when it should not use its destination's name."""
    title: str
    spoken: str
    recording: str | None = None


@dataclass(frozen=True)
class Menu:
    """One level of the voce guida: a greeting, then "Premere 1 per ..." for each option."""
    name: str
    greeting: str | None
    options: dict[str, Destination]
    prompt: str | None  # how a parent menu names it ("i Servizi Sociali")
    operator_key: str | None
    timeout_s: float
    retries: int
    fallback: Destination
    option_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    title: str = ""
    spoken: str = ""
    recording: str | None = None
    option_names: dict[str, OptionName] = field(default_factory=dict)
    origin: Origin = _origin()

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Menu":
        options_node = node.get_section("options")
        options: dict[str, Destination] = {}
        option_names: dict[str, OptionName] = {}
        for key in options_node.keys():
            if len(key) != 1 or key not in MENU_KEYS:
                raise options_node.key_error(key, f"'{key}' is not a telephone key (expected one of "
                                                  f"{' '.join(MENU_KEYS)})")
            if options_node.has_section(key):  # "1": {to: office:x, name: "...", spoken: "..."}
                option = options_node.get_section(key)
                options[key] = _destination(option, "to")
                title = option.get_str("name", None, pattern=SPOKEN_NAME, expected="the option's name, one line")
                spoken = option.get_str("spoken", None, pattern=SPOKEN_NAME, expected="how it is said, one line")
                if title or spoken:
                    title = title or strip_article(spoken)
                    option_names[key] = OptionName(title, spoken or articled(title), _recording(option))
            else:
                options[key] = _destination(options_node, key)
        if not options:
            raise node.error("a menu needs at least one option (expected e.g. '1: office:tributi')",
                             key=f"{node.key}.options")
        operator_key = node.get_str("operator_key", "0", pattern=r"[0-9*#]|none", expected="one key or none")
        operator_key = None if operator_key == "none" else operator_key
        if operator_key in options:
            raise node.key_error("operator_key", f"key {operator_key} is already option '{options[operator_key]}'")
        name, title = identity(node, "menu")
        prompt = node.get_str("prompt", None, pattern=PROMPT_KEY, expected="a prompt name")
        title, spoken = display_names(node, name, title, prompt)
        return cls(name=name, title=title, spoken=spoken, recording=_recording(node), option_names=option_names,
                   greeting=node.get_str("greeting", None, pattern=PROMPT_KEY + "|none",
                                         expected="a prompt name, or none"),
                   options=options, operator_key=operator_key, prompt=prompt,
                   option_lines={key: options_node.key_line(key) for key in options},
                   timeout_s=node.get_float("timeout_s", 6.0, minval=1.0, maxval=60.0),
                   retries=node.get_int("retries", 2, minval=0, maxval=5),
                   fallback=_destination(node, "fallback", "operator"), origin=node.origin())


@dataclass(frozen=True)
class SwitchboardRules:
    """Switchboard-wide rules of the flows."""
    overflow: Destination | None  # where full queues and a fully busy switchboard send callers
    unattended: Destination | None  # where calls go when nobody is logged in to answer
    answer_after_s: float  # a line call is answered by the voce guida after this (caller ID first)
    direct_dial: bool  # outside callers may key an extension number in a menu
    voicemail_max_s: float
    prompts: str | None = None  # the comune's own recordings, used before the shipped ones
    origin: Origin = _origin()

    @classmethod
    def from_node(cls, node: ConfigNode) -> "SwitchboardRules":
        prompts = node.get_str("prompts", None)
        if prompts is not None:
            folder = Path(prompts) if Path(prompts).is_absolute() else Path(node.path).parent / prompts
            try:
                is_folder = folder.is_dir()
            except (OSError, ValueError):  # a name too long for the file system, a NUL in it
                is_folder = False
            if not is_folder:
                raise node.key_error("prompts", f"'{shown(folder)}' is not a folder (expected the comune's own "
                                                "recordings, one <prompt key>.wav each)")
            prompts = str(folder)
        return cls(prompts=prompts, overflow=_destination(node, "overflow"), unattended=_destination(node, "unattended"),
                   answer_after_s=node.get_float("answer_after_s", 4.0, minval=0.0, maxval=30.0),
                   direct_dial=node.get_bool("direct_dial", False),
                   voicemail_max_s=node.get_float("voicemail_max_s", 120.0, minval=10.0, maxval=600.0),
                   origin=node.origin())


def calendar_from_node(node: ConfigNode | None) -> Calendar:
    """The ``calendar`` section: patron saint's day (``patron: {day: 4, month: 10, name: ...}``) and
    extra closures (``closures: [{from: 2026-12-24, to: 2026-12-24, reason: ...}]``)."""
    if node is None:
        return Calendar()
    patron = node.get_section("patron", None)
    patron_day, patron_name = None, "Santo Patrono"
    if patron is not None:
        month = patron.get_int("month", minval=1, maxval=12)
        day = patron.get_int("day", minval=1, maxval=31)
        try:
            date(2024, month, day)  # a leap year: 29 February is a possible patron's day
        except ValueError:
            raise patron.error(f"{day}/{month} is not a day of the year", key=f"{patron.key}.day") from None
        patron_day, patron_name = (month, day), patron.get_str("name", "Santo Patrono")
    closures = []
    for item in node.get_list("closures", None):
        first = _date(item, "from")
        last = _date(item, "to") if item.has("to") else first
        if last < first:
            raise item.error(f"the closure ends ({last}) before it starts ({first})", key=f"{item.key}.to")
        closures.append(Closure(first, last, item.get_str("reason", "chiusura straordinaria")))
    return Calendar(patron_day=patron_day, patron_name=patron_name, closures=closures)


def _date(node: ConfigNode, key: str) -> date:
    text = node.get_str(key)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(text)):
        raise node.key_error(key, f"'{text}' is not a date (expected YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise node.key_error(key, f"'{text}' is not a date of the calendar") from None


def _check_prompts(s) -> None:
    """Every prompt named in menus and offices is in the shipped set or among the comune's own WAVs
    (``switchboard.prompts``), and every ``recording:`` is a readable 8 kHz WAV there."""
    from centralino.flows.phrases import CATALOGUE_NAME
    from centralino.media.wavfile import WavError, read_wav

    folder = Path(s.rules.prompts) if s.rules is not None and s.rules.prompts else None
    own = {p.stem for p in folder.glob("*.wav")} if folder is not None else set()
    known = set(shipped_texts()) | own
    named = [(o.origin, "prompt", o.prompt) for o in s.offices]
    named += [(m.origin, key, getattr(m, key)) for m in s.menus for key in ("greeting", "prompt")]
    for origin, key, prompt in named:
        if prompt is not None and prompt != "none" and prompt not in known:
            where = f"prompts/it/{CATALOGUE_NAME}" + (f" or a WAV in {folder}" if folder is not None else "")
            raise origin.error(key, f"no prompt '{prompt}' in the prompt set (expected a key of {where}, "
                                    "e.g. ufficio_tributi)")
    recorded = [(o.origin, "recording", o.recording) for o in (*s.offices, *s.menus)]
    for menu in s.menus:
        for key, option in menu.option_names.items():
            where = Origin(menu.origin.path, f"{menu.origin.key}.options", menu.option_lines[key],
                           {key: menu.option_lines[key]})
            recorded.append((where, key, option.recording))
    for origin, key, name in recorded:
        if name is None:
            continue
        if folder is None:
            raise origin.error(key, f"'{name}' needs switchboard.prompts (expected the folder of the "
                                    "comune's own recordings)")
        if not (folder / name).is_file():
            raise origin.error(key, f"'{name}' cannot be used: no such file in {folder} (expected the "
                                    "comune's own recording, 8 kHz mono WAV)")
        try:
            read_wav(folder / name)
        except (WavError, OSError) as err:
            raise origin.error(key, f"'{name}' cannot be used: {err}") from None


def check_flows(s) -> None:
    """Cross-checks: every destination names something that exists; offices' groups exist."""
    _check_prompts(s)
    offices = {o.name: o for o in s.offices}
    menus = {m.name: m for m in s.menus}
    for collection, what in ((s.offices, "office"), (s.menus, "menu")):
        seen: set[str] = set()
        for item in collection:
            if item.name in seen:
                raise item.origin.error("name", f"{what} '{item.name}' is defined twice")
            seen.add(item.name)
    for office in s.offices:
        if s.group(office.group) is None:
            groups = ", ".join(g.name for g in s.groups) or "none defined"
            raise office.origin.error("group", f"'{office.group}' is not a group (expected one of {groups})")
        if office.queue.overflow is not None:
            _check_destination(s, office.origin, "queue", office.queue.overflow, offices, menus)
        if office.closed == "voicemail" or office.on_failure == "voicemail":
            pass  # the segreteria needs nothing else: recordings go under the records folder
    for menu in s.menus:
        for key, destination in menu.options.items():
            option = Origin(menu.origin.path, f"{menu.origin.key}.options", menu.option_lines[key],
                            {key: menu.option_lines[key]})
            _check_destination(s, option, key, destination, offices, menus)
        _check_destination(s, menu.origin, "fallback", menu.fallback, offices, menus)
    rules = s.rules
    for key in ("overflow", "unattended"):
        destination = getattr(rules, key)
        if destination is not None:
            _check_destination(s, rules.origin, key, destination, offices, menus)
    for line in s.lines:
        _check_destination(s, line.origin, "incoming", Destination.parse(line.incoming), offices, menus)


def _check_destination(s, origin: Origin, key: str, destination: Destination, offices, menus,
                       what: str = "") -> None:
    found = {"menu": destination.target in menus, "office": destination.target in offices,
             "voicemail": destination.target in offices, "operator": True,
             "extension": s.extension(destination.target) is not None,
             "group": s.group(destination.target) is not None}[destination.kind]
    if not found:
        label = f"{what}: " if what else ""
        known = {"menu": menus, "office": offices, "voicemail": offices}.get(destination.kind)
        expected = f"one of {', '.join(known) or 'none defined'}" if known is not None else \
            "an extension number, a group name, menu:NAME, office:NAME, voicemail:OFFICE or operator"
        raise origin.error(key, f"{label}'{destination}' does not exist (expected {expected})")
