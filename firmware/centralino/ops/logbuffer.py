"""The last log records kept in memory, so ``log tail`` works without journal access."""

from __future__ import annotations

import logging
from collections import deque

LOG_KEEP = 1000  # records; a few minutes of a busy morning
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RingBufferHandler(logging.Handler):
    """A logging handler that keeps the last ``capacity`` formatted records."""

    def __init__(self, capacity: int = LOG_KEEP, level: int = logging.NOTSET):
        super().__init__(level)
        self.capacity = capacity
        self.records: deque[str] = deque(maxlen=capacity)
        self.setFormatter(logging.Formatter(LOG_FORMAT, datefmt="%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.records.append(self.format(record))
        except Exception:  # a bad log call must not break the caller
            self.handleError(record)

    def tail(self, n: int) -> list[str]:
        return list(self.records)[-n:] if n > 0 else []
