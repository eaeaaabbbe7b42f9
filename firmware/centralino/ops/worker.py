"""Control commands that read files for a while run in a worker thread, not on the daemon's loop.

The control server calls a command's handler on the asyncio loop that also runs the 20 ms media
clock: a statistics report over a year of records (about 0.2 s on 10,000 calls here) or a CSV
export would hold every call's audio for that long. The commands listed here only read files
through connections of their own (``records/stats.py``, ``records/cdr_search.py``, the
configuration text) and change nothing the loop owns, so they are safe in a thread; the loop
goes on while they work.
"""

from __future__ import annotations

import json

from .commands import CommandError, resolve

IN_THREAD = frozenset({"report", "cdr search", "cdr export", "config diff", "config show"})


def in_thread(line: bytes) -> bool:
    """Whether the request on ``line`` names one of the ``IN_THREAD`` commands."""
    try:
        request = json.loads(line)
        command, _ = resolve(request["cmd"], [str(a) for a in request.get("args", [])])
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, CommandError):
        return False
    return command.name in IN_THREAD
