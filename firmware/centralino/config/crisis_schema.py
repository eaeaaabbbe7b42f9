"""The ``crisis:`` section: which offices the crisis service (Protezione Civile) opens.

During a crisis (``service crisis`` on the console, ``*53``, or a scheduled window) the offices
named here answer around the clock, holidays included; the others keep their hours. Without the
section, or without ``offices``, every office is opened::

    crisis:
      offices: [urp, pm_pronto_intervento, pm_sinistri]   # office identifiers (offices[].id)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .loader import ConfigError, ConfigNode


@dataclass(frozen=True)
class Crisis:
    offices: tuple[str, ...] = ()  # the office identifiers opened; empty: every office
    lines: tuple[int, ...] = field(default=(), compare=False, repr=False)  # each name's line, for errors
    path: str = field(default="", compare=False, repr=False)

    def opens(self, office: str) -> bool:
        """Whether a crisis opens ``office`` around the clock."""
        return not self.offices or office in self.offices

    @classmethod
    def from_node(cls, node: ConfigNode | None) -> "Crisis":
        if node is None:
            return cls()
        items = node.get_list("offices", None)
        if node.has("offices") and not items:
            raise node.key_error("offices", "no offices listed (list the identifiers of the offices a crisis "
                                            "opens, or leave the key out to open every office)")
        names = tuple(item.text() for item in items)
        return cls(offices=names, lines=tuple(item.line for item in items), path=str(node.path))


def check_crisis(settings) -> None:
    """Every office a crisis opens must be a configured office (the error points at its line)."""
    crisis = settings.crisis
    known = [office.name for office in settings.offices]
    seen: set[str] = set()
    for index, (name, line) in enumerate(zip(crisis.offices, crisis.lines)):
        key = f"crisis.offices[{index}]"
        if name not in known:
            raise ConfigError(crisis.path, line, key, f"no office '{name}' (expected one of "
                                                      f"{', '.join(known) or 'no office: the configuration has none'})")
        if name in seen:
            raise ConfigError(crisis.path, line, key, f"office '{name}' is named twice")
        seen.add(name)
