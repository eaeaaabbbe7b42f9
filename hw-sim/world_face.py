"""The simulated world's control face: phones, lines, the modem and bus faults, by name.

These are the functions behind ``centralino sim`` (served on its own socket by ``control.py``
while ``centralino run --board sim`` runs) and behind the demo's stories (``morning.py``): one
face for a trainer at a terminal, an outside test driving the real daemon, and the scripted
morning. A command is the words as typed (``phone 201 dial 203``); ``await face.run(words)``
returns a ``Reply`` (its ``text`` is the one line the client prints, its ``data`` a dict for
programs) or raises ``WorldCommandError`` saying what was wrong, having changed nothing.

Groups: ``phone`` (face_phones.py), ``line`` (face_lines.py), ``modem`` (face_modem.py), ``bus``
(face_bus.py), and ``world status`` / ``help`` here.
"""

from __future__ import annotations

import itertools
import shlex
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from .face_base import CommandGroup, Reply, WorldCommandError, wait_until
from .face_bus import BusCommands
from .face_lines import LineCommands, exchange_ringback
from .face_modem import ModemCommands
from .face_phones import PhoneCommands
from .hearing import KINDS, WINDOW_S, Heard, classify

GROUPS = (PhoneCommands, LineCommands, ModemCommands, BusCommands)
ANONYMOUS_CALLERS_FROM = 577000001  # numbers given to callers without --caller-id: 0577000001...
EMERGENCY_ANSWER_AFTER_S = 2.0  # the NUE operator of the outside world answers this fast


@dataclass(frozen=True)
class Wanted:
    """What a ``hears KIND [--from WHO]`` waits for (kind None: nothing, answer at once)."""

    kind: str | None
    who: str | None = None

    def met_by(self, heard: Heard) -> bool:
        return self.kind is None or (heard.kind == self.kind and (self.who is None or heard.who == self.who))

    def __str__(self) -> str:
        return f"{self.kind} of {self.who}" if self.who else str(self.kind)


class WorldFace:
    """The commands of ``centralino sim`` on one ``SimBoard`` (``world``) and its configuration."""

    def __init__(self, world, settings, clock=None, wall_clock=None):
        self.world = world
        self.settings = settings
        self.clock = clock or world.clock
        self.wall_clock = wall_clock or (lambda: datetime.now(timezone.utc))
        self.zone = ZoneInfo(settings.comune.timezone)
        self.extensions = {ext.number: ext for ext in settings.extensions}
        self.extension_of = {ext.port: ext.number for ext in settings.extensions}
        self.busy_phones: set[str] = set()  # dialling or flashing right now
        self._anonymous = itertools.count(ANONYMOUS_CALLERS_FROM)
        self.groups: dict[str, CommandGroup] = {group.name: group(self) for group in GROUPS}

    def populate_outside_world(self) -> None:
        """For a world driven by hand: the emergency numbers answer (after 2 s), and any other
        number dialled out rings until ``line NUMBER answer`` (instead of congestion)."""
        exchange = self.world.exchange
        for number in self.settings.dialplan.emergency_numbers:
            if number not in exchange.parties:
                exchange.add_party(number, self.world.next_voice(), answer_after_s=EMERGENCY_ANSWER_AFTER_S)
        exchange.unknown_number = lambda number: exchange.add_party(number, self.world.next_voice(),
                                                                    answer_after_s=None)

    # ------------------------------------------------------------------ the one entry point
    async def run(self, words: list[str] | str) -> Reply:
        if isinstance(words, str):
            words = shlex.split(words)
        if not words:
            raise WorldCommandError(f"no command (expected one of {', '.join([*self.groups, 'world', 'help'])})")
        group, rest = words[0], list(words[1:])
        if group == "help":
            return self._help(rest)
        if group == "world":
            if rest != ["status"]:
                raise WorldCommandError("world: the only action is status")
            return Reply("world: " + self.world_summary(), self.world_status())
        if group not in self.groups:
            raise WorldCommandError(f"unknown command {group!r} (expected one of "
                                    f"{', '.join([*self.groups, 'world', 'help'])})")
        return await self.groups[group].run(rest)

    def _help(self, rest: list[str]) -> Reply:
        if rest and rest[0] in self.groups:
            return Reply(self.groups[rest[0]].usage)
        if rest:
            raise WorldCommandError(f"help: no command {rest[0]!r} (try help {' | help '.join(self.groups)})")
        return Reply("commands: " + "; ".join(g.name for g in self.groups.values())
                     + "; world status (help COMMAND for its words)")

    # ------------------------------------------------------------------ names
    def resolve_phone(self, name: str) -> tuple[str, str]:
        """(label, port) of a phone named by extension number or port."""
        if name in self.extensions and self.extensions[name].port in self.world.phones:
            return name, self.extensions[name].port
        if name in self.world.phones:
            return self.extension_of.get(name, name), name
        raise WorldCommandError(f"unknown phone {name!r}: the phones are {self.phone_names()}")

    def phone_names(self) -> str:
        return ", ".join(f"{self.extension_of.get(port, port)} ({port})" for port in self.world.phones)

    def resolve_line(self, name: str) -> str:
        lines = self.world.lines
        if name in lines:
            return name
        by_number = [port for port, line in lines.items() if line.number == name]
        if len(by_number) == 1:
            return by_number[0]
        if len(by_number) > 1:
            raise WorldCommandError(f"line {name}: the number is on {' and '.join(by_number)}: name the port")
        by_call = [port for port, line in lines.items()
                   if line.call is not None and not line.call.ended
                   and name in (line.call.number, getattr(line.call.party, "number", None))]
        if len(by_call) == 1:
            return by_call[0]
        raise WorldCommandError(f"unknown line {name!r}: the lines are "
                                + ", ".join(f"{port} ({line.number})" for port, line in lines.items())
                                + ", or the number of the party in a line's call")

    def caller(self, number: str | None):
        """The remote party that calls in: the known one with that number, or a new one."""
        exchange = self.world.exchange
        if number is None:
            number = f"0{next(self._anonymous)}"
        party = exchange.parties.get(number)
        if party is not None and party.in_call:
            raise WorldCommandError(f"{number} is already in a call")
        return party or exchange.add_party(number, self.world.next_voice())

    def wanted_kind(self, what: str, words: list[str], options: dict) -> "Wanted":
        """What a ``hears`` command waits for: a kind (``voice``...) and, for a voice, whose."""
        if len(words) > 1 or (words and words[0] not in KINDS):
            raise WorldCommandError(f"{what}: {' '.join(words)!r} is not something to hear "
                                    f"(expected one of {', '.join(KINDS)})")
        kind = words[0] if words else None
        who = options.get("--from")
        if who is not None and kind != "voice":
            raise WorldCommandError(f"{what}: --from names whose voice: say hears voice --from {who}")
        if who is not None and who not in self.extensions and who not in self.world.phones \
                and who not in self.world.exchange.parties and who not in self.world.mobile_network.parties:
            raise WorldCommandError(f"{what}: --from {who}: nobody of that name speaks in this world "
                                    "(an extension, a port or a remote party's number)")
        return Wanted(kind, self.extension_of.get(who, who) if who else None)

    def local_now(self) -> datetime:
        return self.wall_clock().astimezone(self.zone).replace(tzinfo=None)

    # ------------------------------------------------------------------ hearing
    def voices(self) -> list[tuple[float, str]]:
        """(frequency, name) of every speaker of the world, phones first."""
        out = [(phone.voice.frequency_hz, self.extension_of.get(port, port))
               for port, phone in self.world.phones.items()]
        out += [(party.voice.frequency_hz, number) for number, party in self.world.exchange.parties.items()
                if party.in_call]
        out += [(party.voice.frequency_hz, number) for number, party in self.world.mobile_network.parties.items()
                if party.voice is not None and party.call is not None]
        return out

    def phone_hears(self, port: str) -> Heard:
        phone = self.world.phones[port]
        if not phone.is_off_hook:
            return Heard("silence", detail="on hook")
        now = self.clock()
        return classify(phone.recent_frames(now - WINDOW_S), self._voices_but(self.extension_of.get(port, port)),
                        now, since_s=phone.lifted_at_s)

    def line_hears(self, port: str) -> Heard:
        line = self.world.lines[port]
        call = line.call
        if call is None or call.ended or call.party is None:
            return Heard("silence", detail=f"no call on {port}")
        if line.state == "ringing":
            return exchange_ringback()
        if line.state != "connected":
            return Heard("silence", detail=f"{port} is {line.state}")
        now = self.clock()
        return classify(call.party.recent_frames(now - WINDOW_S), self._voices_but(call.party.number), now,
                        since_s=call.answered_at_s)

    def _voices_but(self, listener: str) -> list[tuple[float, str]]:
        return [(hz, name) for hz, name in self.voices() if name != listener]

    async def listen(self, hears, wanted: "Wanted", timeout_s: float) -> Heard:
        """What ``hears()`` says now, or once it says what is ``wanted`` (within ``timeout_s``)."""
        if wanted.kind is None:
            return hears()
        last: list[Heard] = []

        def matches():
            last[:] = [hears()]
            return wanted.met_by(last[0])

        await wait_until(self.clock, matches, timeout_s)
        return last[0]

    # ------------------------------------------------------------------ status lines
    def phone_status(self, port: str) -> dict:
        phone = self.world.phones[port]
        return {"port": port, "extension": self.extension_of.get(port), "off_hook": phone.is_off_hook,
                "ringing": phone.ringing, "display": phone.display, "dialling": port in self.busy_phones,
                "hears": str(self.phone_hears(port)) if phone.is_off_hook else None,
                "faults": self.port_faults(port)}

    def phone_summary(self, port: str) -> str:
        s = self.phone_status(port)
        parts = ["off hook" if s["off_hook"] else "on hook"]
        if s["ringing"]:
            parts.append("ringing")
        if s["hears"]:
            parts.append(f"hears {s['hears']}")
        if s["display"]:
            parts.append(f"display {s['display']}")
        fault = self.port_fault_summary(port)
        if fault != "healthy":
            parts.append(f"faults: {fault}")
        return ", ".join(parts)

    def line_status(self, port: str) -> dict:
        line = self.world.lines[port]
        call = line.call if line.call is not None and not line.call.ended else None
        return {"port": port, "number": line.number, "state": line.state, "plugged": line.plugged,
                "voltage_v": line.voltage_v, "call": None if call is None else {
                    "direction": call.direction, "number": call.number, "answered": call.answered,
                    "party": call.party.number if call.party is not None else None},
                "faults": self.port_faults(port)}

    def line_summary(self, port: str) -> str:
        s = self.line_status(port)
        parts = [f"{s['number'] or 'no number'}", s["state"]]
        if s["call"]:
            c = s["call"]
            parts.append(f"{'from' if c['direction'] == 'in' else 'to'} {c['party'] or c['number']}")
        parts.append(f"{s['voltage_v']:+.0f} V" if s["plugged"] else "unplugged")
        fault = self.port_fault_summary(port)
        if fault != "healthy":
            parts.append(f"faults: {fault}")
        return ", ".join(parts)

    def port_faults(self, name: str) -> dict:
        port = self.world.ports[name]
        return {"spi": port.spi_faults.mode, "irq_stuck": port.irq.stuck,
                "pcm": self.world.pcm.silent_slots.get(port.timeslot),
                "chip": list(port.chip.faults), "chip_resets": port.chip.power_glitches}

    def port_fault_summary(self, name: str) -> str:
        f = self.port_faults(name)
        parts = []
        if f["spi"]:
            parts.append(f"spi {f['spi']}")
        if f["irq_stuck"] is not None:
            parts.append(f"irq stuck {'high' if f['irq_stuck'] else 'low'}")
        if f["pcm"]:
            parts.append(f"pcm silent ({f['pcm'].replace('_', ' ')})")
        parts += [f"chip {fault}" for fault in f["chip"]]
        return ", ".join(parts) or "healthy"

    def modem_summary(self) -> str:
        s = self.world.modem.status()
        if not s["present"]:
            return f"{s['dialect']} gone from USB"
        parts = [s["dialect"], "hung" if s["hung"] else "answering",
                 "registered" if s["registered"] else "not registered"]
        if not s["sim"]:
            parts.append("no SIM")
        if not s["network"]:
            parts.append("no network")
        if s["garbling"]:
            parts.append("URCs garbled")
        if s["call"] is not None:
            parts.append(f"in a call with {s['call'] or 'a withheld number'}")
        return ", ".join(parts)

    def world_status(self) -> dict:
        return {"phones": {port: self.phone_status(port) for port in self.world.phones},
                "lines": {port: self.line_status(port) for port in self.world.lines},
                "modem": self.world.modem.status() if self.world.modem is not None else None,
                "faults": {**{name: self.port_fault_summary(name) for name in self.world.ports
                              if self.port_fault_summary(name) != "healthy"},
                           **{f"i2c 0x{address:02x}": f"i2c {faults.mode}"
                              for address, faults in self.world.i2c_faults.items() if faults.mode}}}

    def world_summary(self) -> str:
        phones = self.world.phones.values()
        off = sum(p.is_off_hook for p in phones)
        ringing = sum(p.ringing for p in phones)
        lines = self.world.lines.values()
        in_call = sum(line.state not in ("idle",) for line in lines)
        unplugged = sum(not line.plugged for line in lines)
        parts = [f"{len(phones)} phones ({off} off hook, {ringing} ringing)",
                 f"{len(lines)} lines ({in_call} in use, {unplugged} unplugged)"]
        if self.world.modem is not None:
            parts.append("modem " + self.modem_summary())
        faults = [f"{name} {text}" for name, text in self.world_status()["faults"].items()]
        parts.append("faults: " + "; ".join(faults) if faults else "no faults")
        return ", ".join(parts)
