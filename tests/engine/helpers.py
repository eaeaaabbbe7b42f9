"""Shared scaffolding for the engine's scenario tests: a switchboard on the simulated board,
the example configuration (or a changed copy of it), and ears to check who heard what."""

from __future__ import annotations

from pathlib import Path

import yaml

from datetime import datetime

from centralino.hwsim.clock import run
from centralino.hwsim.scenario import Scenario
from centralino.hwsim.voices import hears, level_at
from centralino.media.callerid import CallerId
from centralino.media.progress import recognise

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "comune.yaml"
TONE_HZ = 425.0
CITIZEN = "3331234567"
LISTEN_S = 1.5  # long enough for the voices to show in the spectrum
TONE_LISTEN_S = 4.5  # long enough for two periods of busy, congestion or dial tone


def config_copy(tmp_path: Path, change) -> Path:
    """The example configuration with ``change(dict)`` applied, written next to the test."""
    data = yaml.safe_load(EXAMPLE.read_text())
    change(data)
    path = tmp_path / "centralino.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def play(tmp_path: Path, story, config=EXAMPLE, **scenario_options):
    """Run ``await story(s)`` inside a started Scenario on the virtual clock; returns its result."""

    async def main():
        async with Scenario(config, tmp_path / "data", **scenario_options) as s:
            return await story(s)

    return run(main)


def tones(samples) -> list[str]:
    """Names of the Italian progress tones recognised in what a party heard, in order."""
    return [event.tone for event in recognise(samples)]


def hear_each_other(a, b, since_s: float) -> bool:
    """Both parties (phones or remote parties) heard the other's voice since ``since_s``."""
    return hears(a.heard(since_s), b.voice.frequency_hz) and hears(b.heard(since_s), a.voice.frequency_hz)


def hears_tone_only(samples) -> bool:
    """What was heard is a 425 Hz progress tone and nobody's voice."""
    return len(samples) > 0 and level_at(samples, TONE_HZ) >= 0.8


async def lift_and_dial(s: Scenario, extension: str, digits: str, mode: str = "dtmf"):
    """The phone of ``extension`` goes off hook, waits for dial tone and dials ``digits``."""
    phone = s.phone(extension)
    phone.off_hook()
    await s.wait(0.5)
    await phone.dial(digits, mode=mode)
    return phone


async def ring(s: Scenario, caller: str, callee: str):
    """``caller`` dials ``callee`` and the callee's phone starts ringing; returns both phones."""
    a = await lift_and_dial(s, caller, callee)
    b = s.phone(callee)
    await s.until(lambda: b.ringing, f"{callee} rings")
    return a, b


async def connect(s: Scenario, caller: str, callee: str):
    """An answered internal call from ``caller`` to ``callee``; returns both phones."""
    a, b = await ring(s, caller, callee)
    b.off_hook()
    await s.until(lambda: s.station_state(callee) == "talking", f"{callee} talks")
    return a, b


async def listen(s: Scenario, seconds: float = LISTEN_S) -> float:
    """Let the parties talk for ``seconds``; returns when they started (for ``heard(since)``)."""
    since = s.clock()
    await s.wait(seconds)
    return since


async def finished(s: Scenario, count: int, what: str = "the call ends", timeout_s: float = 30.0):
    """Wait until ``count`` calls have finished; returns the last ``count`` call records."""
    await s.until(lambda: len(s.finished) >= count, what, timeout_s=timeout_s)
    return s.records.last(count)


async def rings_no_more(s: Scenario, phone, seconds: float = 6.0) -> bool:
    """No new ring burst starts on ``phone`` for a whole ring period (it stopped ringing)."""
    since = s.clock()
    await s.wait(seconds)
    return not phone.ringing and not any(burst.start_s > since for burst in phone.ring_bursts)


async def call_in(s: Scenario, number: str = CITIZEN, line: str = "fxo1", **options):
    """A citizen calls the town hall on ``line`` with caller ID; returns the remote party."""
    party = s.remote(number)
    await s.exchange.call_in(party, CallerId(number=number, name="ROSSI MARIO", when=datetime(2026, 11, 24, 9, 0)),
                             line=line, **options)
    return party


async def operator_answers(s: Scenario):
    """The operator's phone rings for a line call and the operator answers; returns the phone."""
    op = s.phone(s.settings.dialplan.operator)
    await s.until(lambda: op.ringing, "the operator rings")
    op.off_hook()
    await listen(s)
    return op


async def citizen_with_operator(s):
    """A citizen calls the town hall and the operator answers; returns (citizen, operator phone)."""
    citizen = await call_in(s)
    op = s.phone("200")
    await s.until(lambda: op.ringing, "the operator rings")
    await s.until(lambda: op.caller_ids, "caller ID on the operator's phone", timeout_s=15)
    op.off_hook()
    await s.until(lambda: s.station_state("200") == "talking", "the operator talks")
    return citizen, op


async def flash_and_dial(s, phone, digits: str):
    """A flash on ``phone``, then ``digits`` (a transfer target or a feature code)."""
    await phone.flash()
    await s.wait(0.5)
    await phone.dial(digits)
