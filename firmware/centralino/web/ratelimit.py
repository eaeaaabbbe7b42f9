"""Counting attempts in a sliding window: logins and the citizens' lookups are rate-limited.

A key (a client address, an account name, or ``*`` for everyone) may make ``limit`` attempts in
``window_s``; past that it waits until the oldest attempt leaves the window, and the page says
how long. Memory is bounded: keys whose attempts have all expired are forgotten, and at most
``max_keys`` are tracked (the oldest go first), so a flood of addresses cannot fill the memory.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque


class RateLimiter:
    def __init__(self, limit: int, window_s: float, clock=time.monotonic, max_keys: int = 10_000):
        self.limit, self.window_s, self.clock, self.max_keys = limit, window_s, clock, max_keys
        self._attempts: OrderedDict[str, deque] = OrderedDict()

    def _recent(self, key: str) -> deque:
        now = self.clock()
        attempts = self._attempts.get(key)
        if attempts is None:
            return deque()
        while attempts and now - attempts[0] >= self.window_s:
            attempts.popleft()
        if not attempts:
            del self._attempts[key]
        return attempts

    def wait_s(self, key: str) -> float:
        """0 when ``key`` may try now; else the seconds until it may."""
        attempts = self._recent(key)
        if len(attempts) < self.limit:
            return 0.0
        return max(0.0, self.window_s - (self.clock() - attempts[0]))

    def hit(self, key: str) -> None:
        """Count one attempt (a failed login, a lookup)."""
        attempts = self._recent(key)
        if key not in self._attempts:
            self._attempts[key] = attempts
        attempts.append(self.clock())
        self._attempts.move_to_end(key)
        while len(self._attempts) > self.max_keys:
            self._attempts.popitem(last=False)

    def clear(self, key: str) -> None:
        self._attempts.pop(key, None)
