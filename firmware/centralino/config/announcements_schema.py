"""Who may record announcements and the comune's prompts from their own phone (issue 15).

The feature code is ``features.announcements`` (default ``*55``); this section says which
extensions may use it and the PIN they key after it::

    announcements:
      staff: ["200", "202"]     # extensions allowed (none: the feature code refuses everyone)
      pin: "4821"              # 4 to 8 digits, asked after the code; never shown in status or logs

A PIN in an error message is never repeated back: the message says what is wrong with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .loader import ConfigNode, Origin

PIN_PATTERN = r"\d{4,8}"


@dataclass(frozen=True)
class Announcements:
    staff: tuple[str, ...] = ()
    pin: str = field(default="", repr=False)  # compared, never shown
    origin: Origin | None = field(default=None, compare=False, repr=False)

    def allows(self, extension: str) -> bool:
        return bool(self.pin) and extension in self.staff

    @classmethod
    def from_node(cls, node: ConfigNode | None) -> "Announcements":
        if node is None:
            return cls()
        staff = []
        for i, item in enumerate(node.get_list("staff")):
            number = item.text()
            if number in staff:
                raise item.error(f"extension '{number}' is listed twice", key=f"announcements.staff[{i}]")
            staff.append(number)
        if not staff:
            raise node.key_error("staff", "the list is empty (expected the extensions allowed, e.g. [\"200\"])")
        pin = node.get_str("pin")  # missing: the loader's own error, with the line
        if not re.fullmatch(PIN_PATTERN, pin):
            raise node.key_error("pin", f"the PIN is not valid: {len(pin)} character(s)"
                                        f"{'' if pin.isdigit() else ', not all digits'} "
                                        "(expected 4 to 8 digits, in quotes so that a leading 0 stays)")
        return cls(staff=tuple(staff), pin=pin, origin=node.origin())

