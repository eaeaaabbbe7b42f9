"""What changed between two configurations, said the way a technician reads it, and which changes
a running switchboard can take on (``config reload``) and which wait for a restart.

Sections that describe hardware or open sockets (the board and its ports, which port is which
line, the modem, SIP, the records file, mail) are built once at start: a change there is reported
as waiting for a restart. Everything else (extensions on existing ports, groups, offices, menus,
hours, the dial plan, feature codes, rules, tickets) applies to new calls at once; calls already
in progress finish under the rules they started with (their flows keep the old flow host), and
an extension removed while in a call keeps its call until it hangs up.
"""

from __future__ import annotations

import dataclasses

# sections built once at start: a change here needs a restart
RESTART_SECTIONS = ("board", "gsm", "sip", "records", "mail", "comune")
# sections a running switchboard takes on for its next calls
LIVE_SECTIONS = ("extensions", "groups", "lines", "dialplan", "features", "offices", "menus", "rules",
                 "failover", "tickets", "announcements", "crisis")
# lists compared item by item, by their key
KEYED = {"extensions": "number", "groups": "name", "offices": "name", "menus": "name", "lines": "port"}


def plain(value):
    """A configuration value as plain data, without the origins (line numbers move when a file is edited)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name != "origin" and f.compare}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if callable(value):
        return None
    return value


def changes(old, new, sections=LIVE_SECTIONS + RESTART_SECTIONS) -> list[str]:
    """One line per change: ``extension 205 added``, ``group tributi changed``, ``dialplan changed``."""
    out = []
    for section in sections:
        before, after = plain(getattr(old, section, None)), plain(getattr(new, section, None))
        if before == after:
            continue
        key = KEYED.get(section)
        if key is None or not isinstance(before, list) or not isinstance(after, list):
            out.append(f"{section} changed")
            continue
        was = {item[key]: item for item in before}
        now = {item[key]: item for item in after}
        noun = section[:-1]
        out += [f"{noun} {k} added" for k in now if k not in was]
        out += [f"{noun} {k} removed" for k in was if k not in now]
        out += [f"{noun} {k} changed" for k in now if k in was and now[k] != was[k]]
    return out


def needs_restart(old, new, ports) -> list[str]:
    """The changes a running switchboard cannot take on: hardware, sockets, files opened at start,
    and an extension or line on a port the running switchboard does not have (``ports``)."""
    out = changes(old, new, RESTART_SECTIONS)
    out += [f"extension {ext.number}: port {ext.port} is not running (it comes with a restart)"
            for ext in new.extensions if ext.port not in ports]
    out += [f"line on {line.port}: the port is not running (it comes with a restart)"
            for line in new.lines if line.port not in ports]
    return out
