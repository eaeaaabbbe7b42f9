"""The callers waiting for one office, in the order they arrived.

The position a caller hears is the number of callers ahead of them who are still waiting or
being put through. A caller may try to reach a member when there are fewer callers ahead of them
that are not already ringing someone than members free to answer, so two free members serve the
first two callers at once and nobody overtakes.

A place may be a caller on the line (their flow's session) or a ``VirtualPlace``: a caller who
asked to be called back keeps their turn without their line (flows/queue_callback.py). A virtual
place whose callback no member took steps aside for a while: callers on the line pass it then.
"""

from __future__ import annotations


class OfficeQueue:
    def __init__(self, office: str):
        self.office = office
        self.waiting: list = []  # sessions, oldest first
        self.ringing: set = set()  # sessions whose call is ringing a member now
        self.aside: set = set()  # virtual places letting the callers on the line pass for now
        self.longest_wait_s = 0.0

    def join(self, session) -> None:
        if session not in self.waiting:
            self.waiting.append(session)

    def leave(self, session) -> None:
        if session in self.waiting:
            self.waiting.remove(session)
        self.ringing.discard(session)
        self.aside.discard(session)

    def replace(self, session, place) -> None:
        """``place`` takes ``session``'s turn (a caller booked a callback from the queue)."""
        if session in self.waiting:
            self.waiting[self.waiting.index(session)] = place
        else:
            self.waiting.append(place)
        self.ringing.discard(session)

    def step_aside(self, place) -> None:
        self.aside.add(place)

    def step_back(self, place) -> None:
        self.aside.discard(place)

    def ahead_of(self, session) -> int:
        return self.waiting.index(session) if session in self.waiting else 0

    def may_try(self, session, free_members: int) -> bool:
        ahead = [s for s in self.waiting[:self.ahead_of(session)] if s not in self.ringing and s not in self.aside]
        return free_members > len(ahead)

    def __len__(self) -> int:
        return len(self.waiting)

    def status(self) -> dict:
        virtual = sum(1 for s in self.waiting if getattr(s, "virtual", False))
        return {"office": self.office, "waiting": len(self.waiting), "ringing": len(self.ringing),
                "callbacks": virtual}
