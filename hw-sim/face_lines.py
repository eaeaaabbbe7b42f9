"""``line PORT ...``: the PSTN lines and the people at their far end.

A line is named by its FXO port (``fxo1``), by its own number when only one line has it, or by
the number of the party in its current call (``line 3479876543 answer``: the mobile the office
dialled answers). ``ring`` makes a citizen call the switchboard on that line; the other verbs act
for whoever is at the far end of the line's call, or on the line itself (``unplug``).
"""

from __future__ import annotations

import re

from centralino.media.callerid import CallerId

from .face_base import (DTMF_KEYS, CommandGroup, Reply, check_keys, no_more, parse_options, timeout_of)
from .hearing import Heard

VERBS = ("ring", "answer", "hangup", "press", "unplug", "plug", "hears", "status")
NAME_RE = re.compile(r"[A-Za-z0-9 .'-]{1,20}")  # what an exchange sends as a caller name (MDMF 0x07)
MAX_NUMBER_DIGITS = 20  # a caller-ID number parameter [ETSI EN 300 659-3]
MAX_GIVE_UP_S = 600.0


class LineCommands(CommandGroup):
    name = "line"
    usage = ("line PORT ring [--caller-id NUMBER] [--name NAME] [--private] [--give-up S] | answer | "
             "hangup | press DIGITS | unplug | plug | hears [KIND [--from WHO]] [--timeout S] | status")

    async def run(self, words: list[str]) -> Reply:
        if not words:
            raise self.fail(f"line: which one? ({', '.join(self.face.world.lines)})")
        port = self.face.resolve_line(words[0])
        verb, rest = self.need_verb(words[1:], VERBS, port)
        return await getattr(self, f"_{verb}")(port, self.face.world.lines[port], rest)

    async def _ring(self, port, line, rest) -> Reply:
        what = f"line {port} ring"
        words, options = parse_options(what, rest, {"--caller-id": str, "--name": str, "--private": None,
                                                    "--give-up": float})
        no_more(what, words)
        number = options.get("--caller-id")
        if number is not None:
            check_keys(f"{what} --caller-id", number, "0123456789")
            if len(number) > MAX_NUMBER_DIGITS:
                raise self.fail(f"{what}: --caller-id {number} has {len(number)} digits, at most "
                                f"{MAX_NUMBER_DIGITS} fit in a caller-ID message")
        name = options.get("--name")
        if name is not None and not NAME_RE.fullmatch(name):
            raise self.fail(f"{what}: --name {name!r} is not a caller name (1-20 letters, digits, spaces)")
        give_up = options.get("--give-up")
        if give_up is not None and not 0 < give_up <= MAX_GIVE_UP_S:
            raise self.fail(f"{what}: --give-up must be 0..{MAX_GIVE_UP_S:g} seconds, got {give_up:g}")
        if not line.plugged:
            raise self.fail(f"line {port} is unplugged: plug it first")
        if line.state != "idle" or line.off_hook:
            raise self.fail(f"line {port} is busy ({line.state}): it cannot ring now")
        party = self.face.caller(number)
        if options.get("--private"):
            caller_id = CallerId(number_absent="P", name_absent="P", when=self.face.local_now())
        elif number is not None or name is not None:
            caller_id = CallerId(number=number, name=name,
                                 number_absent=None if number else "O", when=self.face.local_now())
        else:
            caller_id = None  # no caller-ID burst at all
        await self.face.world.exchange.call_in(party, caller_id, give_up_after_s=give_up, line=line)
        shown = "a private number" if options.get("--private") else party.number
        return Reply(f"{port} rings: {shown} calls {line.number or port}", {"caller": party.number})

    async def _answer(self, port, line, rest) -> Reply:
        no_more(f"line {port} answer", rest)
        if not line.far_end_answers():
            raise self.fail(f"line {port}: no call of the switchboard rings out on it (it is {line.state})")
        return Reply(f"{line.call.number} answered on {port}", {"number": line.call.number})

    async def _hangup(self, port, line, rest) -> Reply:
        no_more(f"line {port} hangup", rest)
        call = line.call
        if call is None or call.ended or call.party is None:
            raise self.fail(f"line {port} has no call to hang up (it is {line.state})")
        call.party.hang_up()
        return Reply(f"{call.party.number} hung up on {port}", {"number": call.party.number})

    async def _press(self, port, line, rest) -> Reply:
        what = f"line {port} press"
        if len(rest) != 1:
            raise self.fail(f"{what}: give the keys once, e.g. line {port} press 1")
        keys = check_keys(what, rest[0], DTMF_KEYS)
        party = self._connected_party(port, line, "press keys")
        party.press(keys)
        return Reply(f"{party.number} pressed {keys} on {port}", {"keys": keys})

    async def _unplug(self, port, line, rest) -> Reply:
        no_more(f"line {port} unplug", rest)
        line.unplug()
        return Reply(f"{port} unplugged: no line voltage", {"plugged": False})

    async def _plug(self, port, line, rest) -> Reply:
        no_more(f"line {port} plug", rest)
        line.plug()
        return Reply(f"{port} plugged in", {"plugged": True})

    async def _hears(self, port, line, rest) -> Reply:
        what = f"line {port} hears"
        words, options = parse_options(what, rest, {"--timeout": float, "--from": str})
        wanted = self.face.wanted_kind(what, words, options)
        timeout = timeout_of(what, options)
        heard = await self.face.listen(lambda: self.face.line_hears(port), wanted, timeout)
        who = line.call.party.number if line.call is not None and line.call.party is not None else "nobody"
        if not wanted.met_by(heard):
            raise self.fail(f"{who} on {port} hears {heard}, not {wanted} (waited {timeout:g} s)")
        return Reply(f"{who} on {port} hears {heard}",
                     {"kind": heard.kind, "who": heard.who, "detail": heard.detail, "listener": who})

    async def _status(self, port, line, rest) -> Reply:
        no_more(f"line {port} status", rest)
        return Reply(f"{port}: " + self.face.line_summary(port), self.face.line_status(port))

    def _connected_party(self, port, line, action: str):
        call = line.call
        if call is None or call.ended or call.party is None or line.state != "connected":
            raise self.fail(f"line {port} has no connected call: nobody can {action} (it is {line.state})")
        return call.party


def exchange_ringback() -> Heard:
    """What a caller hears while the line rings: ringback from the exchange, not from us."""
    return Heard("ringback", detail="from the exchange: the switchboard has not answered")
