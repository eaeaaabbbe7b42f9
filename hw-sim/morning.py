"""A scripted morning at the town hall, on the simulated board: README's first command.

Five stories, each checked by ear (who hears whom and which prompts, in the frames the parties
received) and by the call records: a citizen's call answered by the operator and transferred to
Tributi; an office calling another; an office calling a mobile phone outside; a caller who gives
up while ringing; a citizen who reaches the Anagrafe through the voce guida.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from centralino.media.callerid import CallerId

from .ears import PromptEars
from .scenario import Scenario
from .voices import hears

CITIZEN = "3331234567"
MOBILE = "3479876543"
LISTEN_S = 2.0


class Check:
    def __init__(self, say: Callable[[str], None]):
        self.say = say
        self.failed: list[str] = []

    def __call__(self, ok: bool, what: str) -> None:
        self.say(f"  {'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            self.failed.append(what)


async def morning(s: Scenario, say: Callable[[str], None]) -> list[str]:
    """Run the morning; returns the checks that failed (empty when all is well)."""
    check = Check(say)
    operator = s.settings.dialplan.operator
    tributi = _extension_named(s, "Tributi")
    anagrafe = _extension_named(s, "Anagrafe")
    sociali = _extension_named(s, "Servizi Sociali")
    edilizia = _extension_named(s, "Edilizia")
    line_in = s.settings.lines[0].port

    say(f"1. A citizen ({CITIZEN}) calls the town hall on {line_in}")
    citizen = s.remote(CITIZEN)
    await s.exchange.call_in(citizen, CallerId(number=CITIZEN, name="ROSSI MARIO",
                                               when=datetime(2026, 11, 24, 9, 0)), line=line_in)
    op = s.phone(operator)
    await s.until(lambda: op.ringing, f"operator {operator} rings")
    await s.until(lambda: op.display, "caller ID on the operator's display", timeout_s=15)
    check(CITIZEN in (op.display or ""), f"the operator's display shows {op.display!r}")
    op.off_hook()
    t = s.clock()
    await s.wait(LISTEN_S)
    check(hears(op.heard(t), citizen.voice.frequency_hz), "the operator hears the citizen")
    check(hears(citizen.heard(t), op.voice.frequency_hz), "the citizen hears the operator")
    say(f"   the operator flashes, dials Tributi ({tributi}) and hangs up: a blind transfer")
    await op.flash()
    await s.wait(0.5)
    await op.dial(tributi)
    await s.wait(0.5)
    op.on_hook()
    trib = s.phone(tributi)
    await s.until(lambda: trib.ringing, f"Tributi {tributi} rings")
    await s.wait(2.0)
    stations = s.engine.stations
    check(stations[tributi].state == "ringing" and stations[operator].state == "idle",
          "Tributi rings while the operator is free again")
    trib.off_hook()
    t = s.clock()
    await s.wait(LISTEN_S)
    check(hears(trib.heard(t), citizen.voice.frequency_hz), "Tributi hears the citizen")
    check(hears(citizen.heard(t), trib.voice.frequency_hz), "the citizen hears Tributi")
    say("   the citizen hangs up; Tributi hears busy tone and hangs up")
    citizen.hang_up()
    await s.until(lambda: len(s.finished) >= 1, "the citizen's call ends")
    trib.on_hook()
    await s.wait(1.0)

    say(f"2. Anagrafe ({anagrafe}) calls Servizi Sociali ({sociali})")
    a, b = s.phone(anagrafe), s.phone(sociali)
    a.off_hook()
    await s.wait(0.5)
    await a.dial(sociali)
    await s.until(lambda: b.ringing, f"{sociali} rings")
    await s.wait(1.5)
    b.off_hook()
    t = s.clock()
    await s.wait(LISTEN_S)
    check(hears(b.heard(t), a.voice.frequency_hz) and hears(a.heard(t), b.voice.frequency_hz),
          "both offices hear each other")
    a.on_hook()
    await s.wait(1.0)
    b.on_hook()
    await s.wait(1.0)

    say(f"3. Edilizia ({edilizia}) calls a mobile phone outside: 0 {MOBILE}")
    mobile = s.remote(MOBILE, answer_after_s=4.0)
    e = s.phone(edilizia)
    e.off_hook()
    await s.wait(0.5)
    await e.dial(s.settings.dialplan.outside_prefix + MOBILE + "#")
    await s.until(lambda: mobile.call is not None and mobile.call.answered, "the mobile phone answers",
                  timeout_s=30)
    t = s.clock()
    await s.wait(LISTEN_S)
    check(hears(mobile.heard(t), e.voice.frequency_hz), "the mobile hears Edilizia")
    check(hears(e.heard(t), mobile.voice.frequency_hz), "Edilizia hears the mobile")
    e.on_hook()
    await s.wait(1.5)

    say("4. Someone calls and hangs up while the phones ring")
    impatient = s.remote("0557654321")
    await s.exchange.call_in(impatient, CallerId(number="0557654321", when=datetime(2026, 11, 24, 9, 5)),
                             give_up_after_s=8.0, line=line_in)
    await s.until(lambda: op.ringing, "the operator rings")
    await s.until(lambda: not op.ringing and len(s.finished) >= 4,
                  "ringing stops when the caller gives up", timeout_s=30)
    await s.wait(1.0)

    voce_guida = next((line for line in s.settings.lines if line.incoming.startswith("menu:")), None)
    if voce_guida is not None:
        say(f"5. A citizen calls the voce guida on {voce_guida.port} and presses 1 for the Anagrafe")
        await _voce_guida(s, voce_guida.port, check)
    return check.failed


async def _voce_guida(s: Scenario, port: str, check: Check) -> None:
    ears = PromptEars(s.daemon.flows.phrases)
    citizen = s.remote("3351112233")
    await s.exchange.call_in(citizen, CallerId(number="3351112233", when=datetime(2026, 11, 24, 9, 10)), line=port)
    await s.until(lambda: citizen.call.answered, "the voce guida answers", timeout_s=15)
    t = s.clock()
    await s.wait(12.0)
    heard = citizen.heard(t)
    check(ears.heard(heard, "benvenuto"), "the citizen hears the greeting")
    check(ears.sequence(heard, ["premere", "n1", "per", "ufficio_anagrafe"]),
          "the citizen hears \"Premere 1 per l'Ufficio Anagrafe\"")
    citizen.press("1")
    desks = [s.phone(m) for m in s.settings.group(s.settings.office("anagrafe").group).members]
    await s.until(lambda: any(d.ringing for d in desks), "an anagrafe desk rings", timeout_s=15)
    desk = next(d for d in desks if d.ringing)
    desk.off_hook()
    await s.wait(0.5)
    t = s.clock()
    await s.wait(LISTEN_S)
    check(hears(desk.heard(t), citizen.voice.frequency_hz) and hears(citizen.heard(t), desk.voice.frequency_hz),
          "the Anagrafe and the citizen hear each other")
    citizen.hang_up()
    await s.until(lambda: len(s.finished) >= 5, "the call ends", timeout_s=15)
    desk.on_hook()
    await s.wait(1.0)


def _extension_named(s: Scenario, word: str) -> str:
    for ext in s.settings.extensions:
        if word.lower() in ext.name.lower():
            return ext.number
    raise KeyError(f"the configuration has no extension named like {word!r}")
