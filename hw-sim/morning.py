"""A scripted morning at the town hall, on the simulated board: README's first command.

Five stories: a citizen's call answered by the operator and transferred to Tributi; an office
calling another; an office calling a mobile phone outside; a caller who gives up while ringing; a
citizen who reaches the Anagrafe through the voce guida. Every action and every "who hears whom"
goes through the world's control face, the very commands of ``centralino sim`` (printed as a
trainer would type them), so the demo and the outside tests exercise one face; the prompts of
the voce guida are checked by ear on the caller's audio, and the call records at the end.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from centralino.flows import sentences

from .ears import PromptEars
from .face_base import Reply, WorldCommandError
from .scenario import Scenario

CITIZEN = "3331234567"
MOBILE = "3479876543"
HEAR_TIMEOUT_S = "5"


class Check:
    def __init__(self, say: Callable[[str], None]):
        self.say = say
        self.failed: list[str] = []

    def __call__(self, ok: bool, what: str) -> None:
        self.say(f"  {'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            self.failed.append(what)


class Hands:
    """The demo's hands on the world: ``centralino sim`` commands, echoed as they are typed."""

    def __init__(self, s: Scenario, say: Callable[[str], None]):
        self.s = s
        self.say = say

    async def __call__(self, *words: str) -> Reply:
        reply = await self.s.face.run(list(words))
        self.say(f"     $ centralino sim {shlex.join(words)}  ->  {reply.text}")
        return reply

    async def hears(self, *listener: str, kind: str = "voice", speaker: str | None = None) -> Reply | None:
        """``phone 200 hears voice --from 3331234567 --timeout 5``; None when it does not."""
        words = [*listener, "hears", kind, *(["--from", speaker] if speaker else []), "--timeout", HEAR_TIMEOUT_S]
        try:
            return await self(*words)
        except WorldCommandError as err:
            self.say(f"     $ centralino sim {shlex.join(words)}  ->  {err}")
            return None

    async def hears_voice_of(self, listener: tuple[str, ...], speaker: str) -> bool:
        return await self.hears(*listener, speaker=speaker) is not None


async def morning(s: Scenario, say: Callable[[str], None]) -> list[str]:
    """Run the morning; returns the checks that failed (empty when all is well)."""
    check = Check(say)
    sim = Hands(s, say)
    operator = s.settings.dialplan.operator
    tributi = _extension_named(s, "Tributi")
    anagrafe = _extension_named(s, "Anagrafe")
    sociali = _extension_named(s, "Servizi Sociali")
    edilizia = _extension_named(s, "Edilizia")
    line_in = s.settings.lines[0].port

    say(f"1. A citizen ({CITIZEN}) calls the town hall on {line_in}")
    await sim("line", line_in, "ring", "--caller-id", CITIZEN, "--name", "ROSSI MARIO")
    await sim("phone", operator, "rings", "--timeout", "15")
    try:
        shown = (await sim("phone", operator, "shows", CITIZEN, "--timeout", "15")).data["display"]
    except WorldCommandError as err:
        shown = str(err)
    check(CITIZEN in shown, f"the operator's display shows {shown!r}")
    await sim("phone", operator, "offhook")
    check(await sim.hears_voice_of(("phone", operator), CITIZEN), "the operator hears the citizen")
    check(await sim.hears_voice_of(("line", line_in), operator), "the citizen hears the operator")
    say(f"   the operator flashes, dials Tributi ({tributi}) and hangs up: a blind transfer")
    await sim("phone", operator, "flash")
    await s.wait(0.5)
    await sim("phone", operator, "dial", tributi)
    await s.wait(0.5)
    await sim("phone", operator, "onhook")
    await sim("phone", tributi, "rings", "--timeout", "15")
    await s.wait(2.0)
    stations = s.engine.stations
    check(stations[tributi].state == "ringing" and stations[operator].state == "idle",
          "Tributi rings while the operator is free again")
    await sim("phone", tributi, "offhook")
    check(await sim.hears_voice_of(("phone", tributi), CITIZEN), "Tributi hears the citizen")
    check(await sim.hears_voice_of(("line", line_in), tributi), "the citizen hears Tributi")
    say("   the citizen hangs up; Tributi hears busy tone and hangs up")
    await sim("line", line_in, "hangup")
    await s.until(lambda: len(s.finished) >= 1, "the citizen's call ends")
    check(await sim.hears("phone", tributi, kind="busy") is not None, "Tributi hears busy tone")
    await sim("phone", tributi, "onhook")
    await s.wait(1.0)

    say(f"2. Anagrafe ({anagrafe}) calls Servizi Sociali ({sociali})")
    await sim("phone", anagrafe, "offhook")
    check(await sim.hears("phone", anagrafe, kind="dial_tone") is not None, "Anagrafe hears dial tone")
    await sim("phone", anagrafe, "dial", sociali)
    await sim("phone", sociali, "rings")
    check(await sim.hears("phone", anagrafe, kind="ringback") is not None, "Anagrafe hears ringback")
    await sim("phone", sociali, "offhook")
    check(await sim.hears_voice_of(("phone", sociali), anagrafe)
          and await sim.hears_voice_of(("phone", anagrafe), sociali), "both offices hear each other")
    await sim("phone", anagrafe, "onhook")
    await s.wait(1.0)
    await sim("phone", sociali, "onhook")
    await s.wait(1.0)

    say(f"3. Edilizia ({edilizia}) calls a mobile phone outside: 0 {MOBILE}")
    s.remote(MOBILE, answer_after_s=None)  # the world's directory: it rings until answered
    await sim("phone", edilizia, "offhook")
    await s.wait(0.5)
    await sim("phone", edilizia, "dial", s.settings.dialplan.outside_prefix + MOBILE + "#")
    check(await sim.hears("phone", edilizia, kind="ringback") is not None, "Edilizia hears the mobile ring")
    await sim("line", MOBILE, "answer")
    check(await sim.hears_voice_of(("line", MOBILE), edilizia), "the mobile hears Edilizia")
    check(await sim.hears_voice_of(("phone", edilizia), MOBILE), "Edilizia hears the mobile")
    await sim("phone", edilizia, "onhook")
    await s.wait(1.5)

    say("4. Someone calls and hangs up while the phones ring")
    await sim("line", line_in, "ring", "--caller-id", "0557654321")
    await sim("phone", operator, "rings", "--timeout", "15")
    await s.wait(6.0)
    await sim("line", line_in, "hangup")
    await s.until(lambda: not s.world.phones[s.face.resolve_phone(operator)[1]].ringing
                  and len(s.finished) >= 4, "ringing stops when the caller gives up", timeout_s=30)
    await s.wait(1.0)

    voce_guida = next((line for line in s.settings.lines if line.incoming.startswith("menu:")), None)
    if voce_guida is not None:
        say(f"5. A citizen calls the voce guida on {voce_guida.port} and presses 1 for the Anagrafe")
        await _voce_guida(s, sim, voce_guida.port, voce_guida.incoming.removeprefix("menu:"), check)
    return check.failed


async def _voce_guida(s: Scenario, sim: Hands, port: str, menu: str, check: Check) -> None:
    ears = PromptEars(s.daemon.flows.phrases)
    caller = "3351112233"
    t = s.clock()
    await sim("line", port, "ring", "--caller-id", caller)
    check(await sim.hears("line", port, kind="voice") is not None, "the voce guida answers")
    await s.wait(10.0)
    heard = s.exchange.parties[caller].heard(t)  # the prompts, by ear on the caller's audio
    settings = s.daemon.settings  # the whole sentences the voce guida says (flows/sentences.py)
    greeting = sentences.greeting(settings)
    option = next(x for x in sentences.menu_sentences(settings, settings.menu(menu))
                  if x.text.startswith("Premere 1 "))
    check(ears.heard(heard, greeting), f"the citizen hears the greeting (\"{greeting.text}\")")
    check(ears.sequence(heard, [greeting, option]), f"the citizen hears \"{option.text}\"")
    await sim("line", port, "press", "1")
    desks = s.settings.group(s.settings.office("anagrafe").group).members
    await s.until(lambda: any(s.world.phones[s.face.resolve_phone(d)[1]].ringing for d in desks),
                  "an anagrafe desk rings", timeout_s=15)
    desk = next(d for d in desks if s.world.phones[s.face.resolve_phone(d)[1]].ringing)
    await sim("phone", desk, "offhook")
    check(await sim.hears_voice_of(("phone", desk), caller) and await sim.hears_voice_of(("line", port), desk),
          "the Anagrafe and the citizen hear each other")
    await sim("line", port, "hangup")
    await s.until(lambda: len(s.finished) >= 5, "the call ends", timeout_s=15)
    await sim("phone", desk, "onhook")
    await s.wait(1.0)


def _extension_named(s: Scenario, word: str) -> str:
    for ext in s.settings.extensions:
        if word.lower() in ext.name.lower():
            return ext.number
    raise KeyError(f"the configuration has no extension named like {word!r}")
