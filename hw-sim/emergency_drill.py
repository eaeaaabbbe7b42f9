"""An emergency drill on the simulated world: dial 112, 113, 115 and 118 and hear whether they answer.

Each emergency service is a party on the public exchange and on the mobile network, with a
voice of its own, so a drill proves which path carried the call by what both sides heard, not by
what the switchboard says. Used by the emergency tests and by ``bench/emergency_faults.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .voices import Voice, hears

EMERGENCY_NUMBERS = ("112", "113", "115", "118")
SERVICE_VOICES_HZ = {"112": 2450.0, "113": 2650.0, "115": 2850.0, "118": 3050.0}
ANSWER_AFTER_S = 1.0
LISTEN_S = 1.5


@dataclass
class DrillResult:
    number: str
    connected: bool = False
    heard_both_ways: bool = False
    path: str | None = None  # the line that carried it (fxo2, gsm, trunk1...)
    ringing_after_s: float | None = None  # last digit to the far end ringing (the engine's figure)
    connected_after_s: float | None = None  # last digit to the far end answering (the world's figure)
    failed_paths: list = field(default_factory=list)
    answered_by: str | None = None  # "pstn:112" or "mobile:112" (NUE 112 for a modem without SIM)

    def as_dict(self) -> dict:
        return {"number": self.number, "connected": self.connected, "heard_both_ways": self.heard_both_ways,
                "path": self.path, "ringing_after_s": self.ringing_after_s,
                "connected_after_s": self.connected_after_s, "failed_paths": self.failed_paths,
                "answered_by": self.answered_by}


class EmergencyServices:
    """The four services, reachable on the PSTN and on the mobile network."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.pstn = {n: scenario.exchange.add_party(n, Voice(SERVICE_VOICES_HZ[n]), answer_after_s=ANSWER_AFTER_S)
                     for n in EMERGENCY_NUMBERS}
        self.mobile = {}
        if scenario.mobile_network is not None:
            self.mobile = {n: scenario.mobile_network.add_party(n, Voice(SERVICE_VOICES_HZ[n]),
                                                                answer_after_s=ANSWER_AFTER_S)
                           for n in EMERGENCY_NUMBERS}

    def answered(self, since_s: float):
        """The (where, party) of a service that answered since ``since_s``, or None."""
        for number, party in self.pstn.items():
            call = party.call
            if call is not None and call.answered and (call.answered_at_s or 0) >= since_s and not call.ended:
                return f"pstn:{number}", party
        for number, party in self.mobile.items():
            if party.connected:
                return f"mobile:{number}", party
        return None


async def dial_emergency(s, services: EmergencyServices, extension: str, number: str,
                         timeout_s: float = 90.0) -> DrillResult:
    """``extension`` dials ``number``; wait for a service to answer, listen both ways, hang up."""
    result = DrillResult(number)
    phone = s.phone(extension)
    phone.off_hook()
    await s.wait(0.5)
    await phone.dial(number)
    dialled_at = s.clock()
    seen = len(s.log)
    try:
        await s.until(lambda: services.answered(dialled_at) is not None, f"{number} answers", timeout_s=timeout_s)
    except AssertionError:
        pass
    found = services.answered(dialled_at)
    if found is not None:
        where, party = found
        result.connected = True
        result.answered_by = where
        result.connected_after_s = round(s.clock() - dialled_at, 3)
        since = s.clock()
        await s.wait(LISTEN_S)
        heard_service = hears(phone.heard(since), party.voice.frequency_hz)
        heard_caller = hears(party.heard(since) if where.startswith("pstn") else party.heard(round(LISTEN_S * 50)),
                             phone.voice.frequency_hz)
        result.heard_both_ways = heard_service and heard_caller
    for _, kind, details in s.log[seen:]:  # what the engine said of it (after the listening)
        if kind == "emergency.ringing" and result.ringing_after_s is None:
            result.ringing_after_s = details["after_s"]
            result.path = details["path"]
        elif kind == "emergency.path_failed":
            result.failed_paths.append(f"{details['path']}: {details['reason']}")
    phone.on_hook()
    await s.wait(1.5)  # the line clears before the next call
    return result
