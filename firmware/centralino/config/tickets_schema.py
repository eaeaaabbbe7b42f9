"""The tickets' configuration: deadline classes per office and per subject, and the citizen's SMS.

An office says its default deadline class and its subjects (codes the operator keys, read by the
office's staff as a word)::

    offices:
      - name: tributi
        deadline: 7_days            # same_day, 7_days or 40_days (default 7_days)
        subjects:
          1: IMU                    # the office's deadline
          2: {name: TARI, deadline: 40_days}

The comune opts in to the SMS that tells a citizen their ticket was taken in charge and closed
(``tickets.sms``); it goes only to mobile numbers and only through a GSM modem that is there::

    tickets:
      sms:
        enabled: true
        opened: "{comune}: richiesta n. {number} presa in carico"   # comune.name, the ticket number
        closed: "{comune}: richiesta n. {number} chiusa"
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from centralino.records.deadlines import DEADLINES, DEFAULT_DEADLINE

from .loader import ConfigNode, Origin

SMS_FIELDS = ("comune", "number", "office", "subject")
SMS_MAX_CHARS = 160  # one SMS of the GSM alphabet, with the fields filled in
SMS_FIELD_WIDTH = {"comune": 30, "number": 6, "office": 20, "subject": 20}  # what a filled field may take
DEFAULT_OPENED = "{comune}: richiesta n. {number} presa in carico"
DEFAULT_CLOSED = "{comune}: richiesta n. {number} chiusa"


@dataclass(frozen=True)
class Subject:
    """A kind of request an office defines: the code keyed on the phone, its name, its deadline."""
    code: str
    name: str
    deadline: str


@dataclass(frozen=True)
class OfficeTickets:
    """An office's deadline class and its subjects."""
    deadline: str = DEFAULT_DEADLINE
    subjects: tuple[Subject, ...] = ()

    def subject(self, code: str) -> Subject | None:
        return next((s for s in self.subjects if s.code == str(code)), None)

    def deadline_for(self, code: str = "") -> str:
        """The deadline class of a ticket with subject ``code`` (the office's for none or unknown)."""
        subject = self.subject(code) if code else None
        return subject.deadline if subject is not None else self.deadline


def office_tickets(node: ConfigNode) -> OfficeTickets:
    """An office's ``deadline`` and ``subjects`` keys (both optional)."""
    deadline = node.get_choice("deadline", DEADLINES, DEFAULT_DEADLINE)
    if not node.has("subjects"):
        node.get_section("subjects", None)  # still a known key
        return OfficeTickets(deadline)
    if not node.has_section("subjects"):
        raise node.key_error("subjects", "expected a mapping of codes to subjects, e.g. {1: IMU, 2: TARI}")
    section = node.get_section("subjects")
    subjects = []
    for code in section.keys():
        if not code.isdigit() or len(code) > 3:
            raise section.key_error(code, f"'{code}' is not a subject code (expected 1 to 3 digits, keyed on "
                                          "the phone)")
        if section.has_section(code):
            item = section.get_section(code)
            name = item.get_str("name")
            subject_deadline = item.get_choice("deadline", DEADLINES, deadline)
        else:
            name, subject_deadline = section.get_str(code), deadline
        subjects.append(Subject(code, name, subject_deadline))
    return OfficeTickets(deadline, tuple(subjects))


@dataclass(frozen=True)
class TicketSms:
    """The SMS to the citizen when a ticket is opened and when it is closed (opt-in)."""
    enabled: bool = False
    opened: str = DEFAULT_OPENED
    closed: str = DEFAULT_CLOSED
    origin: Origin = field(default=None, compare=False, repr=False)

    def text(self, which: str, **values) -> str:
        return getattr(self, which).format(**{name: values.get(name, "") for name in SMS_FIELDS})


def _template(node: ConfigNode, key: str, default: str) -> str:
    text = node.get_str(key, default)
    try:
        names = [name for _, name, spec, conv in string.Formatter().parse(text) if name is not None]
    except ValueError as err:
        raise node.key_error(key, f"not a text with fields ({err}; expected e.g. {DEFAULT_OPENED!r})") from None
    for name in names:
        if name not in SMS_FIELDS:
            raise node.key_error(key, f"unknown field {{{name}}} (expected some of "
                                      f"{', '.join('{' + f + '}' for f in SMS_FIELDS)})")
    filled = text.format(**{name: "x" * SMS_FIELD_WIDTH[name] for name in SMS_FIELDS})
    if len(filled) > SMS_MAX_CHARS:
        raise node.key_error(key, f"too long for one SMS once its fields are filled in ({len(filled)} "
                                  f"characters, expected at most {SMS_MAX_CHARS})")
    return text


@dataclass(frozen=True)
class Tickets:
    sms: TicketSms = TicketSms()

    @classmethod
    def from_node(cls, node: ConfigNode | None) -> "Tickets":
        if node is None:
            return cls()
        sms = node.get_section("sms", None)
        if sms is None:
            return cls()
        return cls(TicketSms(enabled=sms.get_bool("enabled", False), opened=_template(sms, "opened", DEFAULT_OPENED),
                             closed=_template(sms, "closed", DEFAULT_CLOSED), origin=sms.origin()))
