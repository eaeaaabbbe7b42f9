"""A call as the engine tracks it: who called whom, on which ports, by which route, and how it went.

Only the engine's own facts live here (parties, legs, ringing, answer, route). What a flow learns
about a call for its record (the office asked for, time queued, an overflow, a voicemail or a
callback as the outcome) goes into ``facts``, which the engine copies into ``call.ended``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from centralino.channels.base import Channel

from .causes import Cause, disposition_for

# what a flow may tell the record of a call it serves; queue_entered_s (media clock) makes the
# engine count an unanswered caller's queued_s up to the end of the call
FACTS = ("office", "queued_s", "overflowed", "outcome", "ticket_id", "queue_entered_s", "callback_id")
PUBLISHED_FACTS = ("office", "queued_s", "overflowed", "ticket_id", "callback_id")


@dataclass(eq=False)
class Call:
    direction: str  # inbound, outbound, internal
    origin: Channel
    caller: str
    called: str
    started_at: datetime
    started_s: float = 0.0  # on the media clock
    caller_name: str = ""
    caller_absent: str | None = None  # why a line call's number is missing: "P" private, "O" unavailable
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # The two parties. A leg is None while that side is being rung (at first, or after a
    # transfer): whoever answers fills it.
    legs: list = field(default_factory=lambda: [None, None])
    ringing: list = field(default_factory=list)  # stations being rung
    state: str = "setup"  # setup, ringing, answered, ended
    answered_at: datetime | None = None
    route: list[str] = field(default_factory=list)
    transfer_chain: list[str] = field(default_factory=list)
    ports: list[str] = field(default_factory=list)
    emergency: bool = False
    crisis: bool = False  # started while the crisis service was on: marked in its record
    outside_line: Channel | None = None  # the line (FXO, GSM, SIP) an outbound call or a forward uses
    far_end_tone: str | None = None  # progress tone heard from the far end (busy, congestion)
    facts: dict = field(default_factory=dict)
    plan: object | None = None  # how its ringing goes on (calls/ringing.py RingPlan)
    flow: str | None = None  # the kind of flow serving it (menu, office, forward...)
    recorded: bool = False  # call.started published
    on_answered: list[Callable[["Call"], None]] = field(default_factory=list)
    on_ended: list[Callable[["Call"], None]] = field(default_factory=list)

    def __post_init__(self):
        self.legs = [self.origin, None]

    def legs_set(self, a: Channel, b: Channel | None) -> None:
        self.legs = [a, b]

    def other(self, channel: Channel) -> Channel | None:
        if self.legs[0] is channel:
            return self.legs[1]
        if self.legs[1] is channel:
            return self.legs[0]
        return None

    def waiting_party(self) -> Channel | None:
        """The party waiting for someone to answer (the leg beside the empty one)."""
        present = [leg for leg in self.legs if leg is not None]
        return present[0] if len(present) == 1 else None

    def fill_empty_leg(self, channel: Channel) -> None:
        if channel in self.legs:
            return
        index = self.legs.index(None) if None in self.legs else 1
        self.legs[index] = channel

    def vacate_leg(self, channel: Channel) -> None:
        self.legs = [None if leg is channel else leg for leg in self.legs]

    def channels(self) -> list[Channel]:
        """Every channel the call holds: its legs and its outside line."""
        held = [leg for leg in self.legs if leg is not None]
        if self.outside_line is not None and self.outside_line not in held:
            held.append(self.outside_line)
        return held

    def involves(self, channel: Channel) -> bool:
        return channel in self.legs or channel is self.outside_line \
            or any(station.channel is channel for station in self.ringing)

    def use_port(self, name: str) -> None:
        if name not in self.ports:
            self.ports.append(name)

    def disposition(self, cause: Cause) -> str:
        return disposition_for(cause, self.answered_at is not None, bool(self.transfer_chain))

    def start_fields(self) -> dict:
        """The details of ``call.started`` (the record's first row)."""
        return {"call_id": self.id, "started_at": self.started_at, "direction": self.direction,
                "caller": self.caller, "called": self.called, "caller_name": self.caller_name,
                "ports": ",".join(self.ports), "route": ">".join(self.route), "emergency": self.emergency, "crisis": self.crisis}

    def status(self) -> dict:
        return {"id": self.id, "direction": self.direction, "caller": self.caller, "called": self.called,
                "state": self.state, "ports": list(self.ports), "route": ">".join(self.route),
                "emergency": self.emergency, "office": self.facts.get("office", ""),
                "overflowed": bool(self.facts.get("overflowed", False)),
                "started_at": self.started_at.isoformat(timespec="seconds"),
                "answered_at": self.answered_at.isoformat(timespec="seconds") if self.answered_at else None}
