"""The engine's timers, run by the media clock: ring timeouts, dialling timeouts, transfer recalls.

Each timer belongs to an owner (a call or a station) so that ending the call cancels all of its
timers at once, and a timer that raises is the owner's fault only: the engine ends that call
(``on_error``) and every other timer still runs. Time is the media clock's, so the same timers
run on the simulator's virtual clock and on the Pi.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(order=True)
class Timer:
    due_s: float
    seq: int
    fn: Callable[[], None] = field(compare=False)
    owner: object = field(compare=False, default=None)
    what: str = field(compare=False, default="")
    cancelled: bool = field(compare=False, default=False)

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self.failures = 0

    def after(self, delay_s: float, fn: Callable[[], None], owner=None, what: str = "") -> Timer:
        timer = Timer(self.clock() + max(0.0, delay_s), next(self._seq), fn, owner, what)
        heapq.heappush(self._heap, timer)
        return timer

    def cancel_owner(self, owner) -> None:
        for timer in self._heap:
            if timer.owner is owner:
                timer.cancelled = True

    def pending(self, owner=None) -> list[Timer]:
        return sorted(t for t in self._heap if not t.cancelled and (owner is None or t.owner is owner))

    def run_due(self, on_error: Callable[[Timer, Exception], None]) -> None:
        now = self.clock()
        while self._heap and self._heap[0].due_s <= now:
            timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            try:
                timer.fn()
            except Exception as err:  # the owner's fault, not the clock's
                self.failures += 1
                on_error(timer, err)
        if len(self._heap) > 64 and sum(t.cancelled for t in self._heap) > len(self._heap) // 2:
            self._heap = [t for t in self._heap if not t.cancelled]
            heapq.heapify(self._heap)
