"""The web service's way to the daemon: the control socket, asked like the console asks.

One short connection per request: the daemon may restart at any time (systemd brings it back in
seconds) and a connection opened per request never holds a dead socket. Answers can be large (a
CSV export, a recording), so the reader's line limit is generous. Two errors only: the daemon
cannot be reached (``DaemonUnavailable``: the page says the switchboard is not answering), or it
refused the request (``DaemonRefused`` with its message: the page shows it).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

ANSWER_MAX_BYTES = 64 * 1024 * 1024
TIMEOUT_S = 15.0
OPENED = "stream.open"


class DaemonUnavailable(RuntimeError):
    """The control socket cannot be reached or stopped answering."""


class DaemonRefused(RuntimeError):
    """The daemon answered with an error; the message is its own, for the page to show."""


class ControlClient:
    def __init__(self, path: Path, timeout_s: float = TIMEOUT_S):
        self.path = Path(path)
        self.timeout_s = timeout_s

    async def ask(self, cmd: str, *args) -> dict | list | str:
        """Run one control command; its ``result``, or DaemonRefused/DaemonUnavailable."""
        request = json.dumps({"cmd": cmd, "args": [str(a) for a in args]}).encode() + b"\n"
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(str(self.path), limit=ANSWER_MAX_BYTES), self.timeout_s)
        except (OSError, asyncio.TimeoutError) as err:
            raise DaemonUnavailable(f"{self.path}: {getattr(err, 'strerror', None) or type(err).__name__}") from None
        try:
            writer.write(request)
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), self.timeout_s)
        except (OSError, asyncio.TimeoutError, ValueError) as err:
            raise DaemonUnavailable(f"{self.path}: no answer ({type(err).__name__})") from None
        finally:
            writer.close()
        if not line:
            raise DaemonUnavailable(f"{self.path}: the daemon closed the connection")
        answer = json.loads(line)
        if not answer.get("ok"):
            raise DaemonRefused(answer.get("error", "unknown error"))
        return answer["result"]

    async def events(self, kinds: list[str]):
        """An async iterator over the daemon's event stream (``ops/event_stream.py``); the first item,
        ``{"event": "stream.open"}``, says the daemon accepted it."""
        try:
            reader, writer = await asyncio.open_unix_connection(str(self.path), limit=ANSWER_MAX_BYTES)
        except OSError as err:
            raise DaemonUnavailable(f"{self.path}: {err.strerror or err}") from None
        try:
            writer.write(json.dumps({"cmd": "events", "kinds": kinds}).encode() + b"\n")
            await writer.drain()
            first = json.loads(await reader.readline() or b"{}")
            if not first.get("ok"):
                raise DaemonRefused(first.get("error", "the daemon closed the event stream"))
            yield {"event": OPENED}
            while line := await reader.readline():
                yield json.loads(line)
        except (OSError, ValueError) as err:
            raise DaemonUnavailable(f"{self.path}: event stream lost ({type(err).__name__})") from None
        finally:
            writer.close()
