"""An extension as the engine sees it: its phone's channel, its number, and where it is in a call."""

from __future__ import annotations

from dataclasses import dataclass

from centralino.channels.base import Channel

from .call import Call


@dataclass(eq=False)
class Station:
    number: str
    name: str
    channel: Channel  # an FXS port or a SIP desk phone
    operator: bool = False
    # idle, ringing (offered a call), dialling, calling (hears ringback), talking, tone (hears
    # busy or congestion after a call, until it hangs up), feature (a staff feature code runs)
    state: str = "idle"
    call: Call | None = None  # the call it is offered, placing, or talking in
    held: Call | None = None  # a call it put on hold with a flash (transfer or enquiry)
    digits: str = ""
    last_digit_at_s: float = 0.0
    logged_in: bool = True  # a group member logged out (away) is not rung by groups and queues
    last_call_end_s: float = 0.0  # for the longest-idle strategy and the groups' wrap-up
    ended_a_call: bool = False  # last_call_end_s means something (a wrap-up may be running)
    dial_timer: object | None = None  # the dialling timeout running now

    @property
    def free(self) -> bool:
        return self.state == "idle" and self.channel.in_service and not self.channel.off_hook

    def status(self) -> dict:
        return {"number": self.number, "name": self.name, "port": self.channel.name, "state": self.state,
                "in_service": self.channel.in_service, "fault": self.channel.fault,
                "on_hold": self.held.caller if self.held else None, "logged_in": self.logged_in}
