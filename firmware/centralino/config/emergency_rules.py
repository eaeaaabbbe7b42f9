"""The rules that keep 112 reachable, whatever else the file says.

- 112, 113, 115 and 118 are always emergency numbers (``ALWAYS_EMERGENCY``). A configuration may
  add numbers to ``dialplan.emergency_numbers`` but must list these four too: a list without them
  is refused rather than merged, so the file always says what the switchboard does.
- Nothing dialled on the switchboard (extension and group numbers, feature and pickup codes, the
  outside and trunk prefixes, the other emergency numbers) may be the beginning of an emergency
  number or begin with one. The dial plan takes a number as soon as it is complete, so an
  extension ``11`` would ring before a caller reaches the 2 of 112.
- There is a way out for an emergency call: a PSTN line, the GSM modem or a SIP trunk.

Each error names the entry to change and, in the message, the other entry with its line.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError

ALWAYS_EMERGENCY = ("112", "113", "115", "118")
PREFIX_RULE = "no number, code or prefix may be the beginning of an emergency number, nor begin with one"


@dataclass(frozen=True)
class Dialled:
    """Something a phone on the switchboard can dial, and where the file says it."""

    code: str
    label: str  # "extension 201", "the outside prefix 0", "the emergency number 112"
    path: str
    key: str
    line: int | None  # None: not in the file, a default
    emergency: bool = False

    @property
    def where(self) -> str:
        return f"{self.key}, line {self.line}" if self.line else f"{self.key}, built in"

    @property
    def number(self) -> bool:
        """A number that rings or calls something when complete (not a prefix or a code)."""
        return self.label.startswith(("extension", "group", "the emergency"))

    def error(self, message: str) -> ConfigError:
        return ConfigError(self.path, self.line, self.key, message)


def _emergency_numbers(s) -> list[Dialled]:
    plan = s.dialplan
    key = f"{plan.origin.key}.emergency_numbers" if plan.origin else "dialplan.emergency_numbers"
    path = plan.origin.path if plan.origin else s.source_path
    lines = plan.emergency_lines or {}
    return [Dialled(n, f"the emergency number {n}", path, f"{key}[{i}]" if lines else key, lines.get(n), True)
            for i, n in enumerate(plan.emergency_numbers)]


def _dialled(s) -> list[Dialled]:
    """Everything else a phone can dial, with its key and line."""
    found = []
    for ext in s.extensions:
        found.append(Dialled(ext.number, f"extension {ext.number}", ext.origin.path, f"{ext.origin.key}.number",
                             ext.origin.key_lines.get("number", ext.origin.line)))
    for group in s.groups:
        if group.number:
            found.append(Dialled(group.number, f"group {group.name}'s number {group.number}", group.origin.path,
                                 f"{group.origin.key}.number", group.origin.key_lines.get("number", group.origin.line)))
    features = s.features
    for name in ("pickup",) + tuple(features.CODES):
        origin = features.origin
        found.append(Dialled(getattr(features, name), f"the feature code {getattr(features, name)} ({name})",
                             origin.path, f"features.{name}", origin.key_lines.get(name)))
    plan = s.dialplan.origin
    found.append(Dialled(s.dialplan.outside_prefix, f"the outside prefix {s.dialplan.outside_prefix}",
                         plan.path, "dialplan.outside_prefix", plan.key_lines.get("outside_prefix")))
    trunk = s.sip.trunk if s.sip is not None else None
    if trunk is not None and trunk.outbound_prefix:
        found.append(Dialled(trunk.outbound_prefix, f"the trunk prefix {trunk.outbound_prefix}", trunk.origin.path,
                             f"{trunk.origin.key}.outbound_prefix", trunk.origin.key_lines.get("outbound_prefix")))
    return found


def _collision(first: Dialled, other: Dialled) -> str:
    """Why ``first`` cannot stay, given ``other`` (one of them an emergency number)."""
    if first.code == other.code:
        return f"{first.label} is also {other.label} ({other.where}) ({PREFIX_RULE})"
    shorter, longer = (first, other) if other.code.startswith(first.code) else (other, first)
    stop = f": dialling {longer.code} would stop at {shorter.code}" if shorter.number else ""
    if first is shorter:
        return f"{first.label} is the beginning of {other.label} ({other.where}){stop} ({PREFIX_RULE})"
    return f"{first.label} begins with {other.label} ({other.where}){stop} ({PREFIX_RULE})"


def _to_change(emergency: Dialled, other: Dialled) -> tuple[Dialled, Dialled]:
    """Which of two colliding entries the error points at: never one of the four built-in
    numbers; between an added emergency number and anything else, the added number."""
    if emergency.code in ALWAYS_EMERGENCY:
        return other, emergency
    if other.emergency and other.code not in ALWAYS_EMERGENCY:
        return other, emergency  # two added numbers: the later one in the list
    return emergency, other


def check_emergency_reach(s) -> None:
    """No emergency number is shadowed by, or shadows, anything else dialled."""
    emergency = _emergency_numbers(s)
    others = _dialled(s)
    for index, number in enumerate(emergency):
        for other in emergency[index + 1:] + others:
            if other.code.startswith(number.code) or number.code.startswith(other.code):
                first, second = _to_change(number, other)
                raise first.error(_collision(first, second))


def check_path_out(s) -> None:
    """An emergency call needs a line, the GSM modem or a SIP trunk."""
    trunk = s.sip.trunk if s.sip is not None else None
    if s.lines or s.gsm is not None or trunk is not None:
        return
    raise s.origin.error("lines", "no way out: no line, no GSM modem and no SIP trunk, so 112 could not be called "
                                  "(expected at least one of: lines, gsm, sip.trunk)")
