"""A call as the engine tracks it: who called whom, on which ports, by which route, and how it went."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from centralino.channels.base import Channel

from .causes import Cause, disposition_for


@dataclass(eq=False)
class Call:
    direction: str  # inbound, outbound, internal
    origin: Channel
    caller: str
    called: str
    started_at: datetime
    caller_name: str = ""
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # The two parties. A leg is None while that side is being rung (at first, or after a
    # transfer): whoever answers fills it.
    legs: list = field(default_factory=lambda: [None, None])
    ringing: list = field(default_factory=list)  # stations being rung
    targets: list = field(default_factory=list)  # stations an inbound call may ring
    state: str = "setup"  # setup, ringing, answered, ended
    answered_at: datetime | None = None
    route: list[str] = field(default_factory=list)
    transfer_chain: list[str] = field(default_factory=list)
    ports: list[str] = field(default_factory=list)
    emergency: bool = False
    ring_deadline_s: float | None = None
    recall_at_s: float | None = None  # an unanswered blind transfer returns to the operator then
    transferred_by: object | None = None  # the station that transferred it (for the recall)
    outside_line: Channel | None = None  # the FXO line of an outbound call
    far_end_tone: str | None = None  # progress tone heard from the far end (busy, congestion)
    started_s: float = 0.0  # on the media clock
    failover: bool = False  # arrived while failover was active: goes to the mobile
    forwarded: bool = False
    announcing: bool = False  # the caller hears the mobile's number, then the call ends
    # the municipal flows (voce guida, offices, queue)
    flow_destination: object | None = None  # where the voce guida starts, for a call it answers
    flow_started: bool = False
    office: str = ""  # the office the caller asked for
    office_entered_s: float | None = None
    queued_s: float = 0.0  # from reaching the office to an answer (or to the end)
    overflowed: bool = False
    outcome: str | None = None  # voicemail or callback, when that is how the call ended
    positions_announced: list = field(default_factory=list)  # "callers ahead" said to the caller
    ticket_id: int | None = None  # the callback ticket this outbound call serves
    caller_absent: str | None = None  # why a line call's number is missing: "P" private, "O" unavailable
    # a call to a response group rung member by member (hunt, round robin, longest idle)
    hunt_group: str | None = None
    hunt_tried: set = field(default_factory=set)  # members rung in this round
    next_batch_s: float | None = None  # when the members ringing now give way to the next

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

    def use_port(self, name: str) -> None:
        if name not in self.ports:
            self.ports.append(name)

    def disposition(self, cause: Cause) -> str:
        return disposition_for(cause, self.answered_at is not None, bool(self.transfer_chain))

    def status(self) -> dict:
        return {"id": self.id, "direction": self.direction, "caller": self.caller, "called": self.called,
                "state": self.state, "ports": list(self.ports), "route": ">".join(self.route),
                "started_at": self.started_at.isoformat(timespec="seconds"),
                "answered_at": self.answered_at.isoformat(timespec="seconds") if self.answered_at else None}
