"""Admission of new calls: beyond what the stack can set up, a caller gets 503 with Retry-After.

Without it, a burst beyond the SIP thread's capacity fills the socket's receive buffer and the
kernel drops datagrams: calls are lost silently, and the caller's retransmissions make it worse.
Two measures, either of which refuses a new INVITE (requests inside a dialog are never refused):

- a token bucket of ``max_setups_per_s`` new calls per second (bursts up to one second's worth);
- the age of the datagram when its turn comes: when it waited more than ``max_lag_s`` in the
  receive queue, the thread is behind, and a cheap 503 lets it catch up.

Emergency numbers are never refused here: their INVITE still needs a phone's credentials, which is
a 401 and costs as little as a 503.
"""

from __future__ import annotations

from collections.abc import Callable

RETRY_AFTER_S = 5
MAX_LAG_S = 0.2


class Admission:
    def __init__(self, clock: Callable[[], float], max_per_s: float, max_lag_s: float = MAX_LAG_S,
                 retry_after_s: int = RETRY_AFTER_S):
        self.clock = clock
        self.rate = float(max_per_s)
        self.capacity = float(max_per_s)
        self.max_lag_s = max_lag_s
        self.retry_after_s = retry_after_s
        self._tokens = self.capacity
        self._last = clock()
        self.counts = {"admitted": 0, "refused_rate": 0, "refused_lag": 0}

    def admit(self, waited_s: float = 0.0) -> bool:
        """Whether a new call may be set up now (``waited_s``: how long its datagram queued)."""
        now = self.clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if waited_s > self.max_lag_s:
            self.counts["refused_lag"] += 1
            return False
        if self._tokens < 1.0:
            self.counts["refused_rate"] += 1
            return False
        self._tokens -= 1.0
        self.counts["admitted"] += 1
        return True

    @property
    def refused(self) -> int:
        return self.counts["refused_rate"] + self.counts["refused_lag"]

    def status(self) -> dict:
        return {"max_setups_per_s": self.rate, "retry_after_s": self.retry_after_s, **self.counts}
