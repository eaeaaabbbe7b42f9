"""The callers waiting for one office, in the order they arrived.

The position a caller hears is the number of callers ahead of them who are still waiting or
being put through. A caller may try to reach a member when there are fewer callers ahead of them
that are not already ringing someone than members free to answer, so two free members serve the
first two callers at once and nobody overtakes.
"""

from __future__ import annotations


class OfficeQueue:
    def __init__(self, office: str):
        self.office = office
        self.waiting: list = []  # sessions, oldest first
        self.ringing: set = set()  # sessions whose call is ringing a member now
        self.longest_wait_s = 0.0

    def join(self, session) -> None:
        if session not in self.waiting:
            self.waiting.append(session)

    def leave(self, session) -> None:
        if session in self.waiting:
            self.waiting.remove(session)
        self.ringing.discard(session)

    def ahead_of(self, session) -> int:
        return self.waiting.index(session) if session in self.waiting else 0

    def may_try(self, session, free_members: int) -> bool:
        ahead = [s for s in self.waiting[:self.ahead_of(session)] if s not in self.ringing]
        return free_members > len(ahead)

    def __len__(self) -> int:
        return len(self.waiting)

    def status(self) -> dict:
        return {"office": self.office, "waiting": len(self.waiting), "ringing": len(self.ringing)}
