"""The daemon's control socket: one JSON request per line in, one JSON response line out.

``{"cmd": "cdr", "args": ["5"]}`` -> ``{"ok": true, "result": ...}`` or ``{"ok": false, "error":
"..."}``. The socket is a Unix stream socket with mode 0660: only the service's user and group
(the technicians added to it) can connect, and the kernel tells us who did (``SO_PEERCRED``), so
every audited command is logged with the uid and pid that ran it. A bad request costs the client
an error line, never the daemon anything.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import socket
import struct
from pathlib import Path

from . import event_stream, worker
from .commands import CommandError, ControlContext, resolve

log = logging.getLogger("centralino.control")

DEFAULT_SOCKET = Path("/run/centralino/control.sock")
SOCKET_MODE = 0o660
MAX_REQUEST_BYTES = 64 * 1024
_PEERCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


class ControlError(RuntimeError):
    """The control socket could not be opened."""


def peer_credentials(sock: socket.socket | None) -> tuple[int, int, int] | None:
    """(pid, uid, gid) of the process at the other end, or None when the kernel will not say."""
    if sock is None:
        return None
    try:
        return _PEERCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))
    except OSError:
        return None


def _who(creds: tuple[int, int, int] | None) -> str:
    if creds is None:
        return "unknown peer"
    pid, uid, gid = creds
    try:
        import pwd
        user = pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        user = "?"
    return f"uid {uid} ({user}) gid {gid} pid {pid}"


def _decode(line: bytes) -> str:
    """The request line as text; a line that is not UTF-8 is the client's error, not ours."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CommandError(f"the request is not UTF-8 text (byte 0x{line[err.start]:02x} at column "
                           f"{err.start + 1}); send JSON such as {{\"cmd\": \"help\"}}") from None


async def handle_request(ctx: ControlContext, line: bytes, creds=None) -> dict:
    """One request line to one response object; never raises. A command may return a coroutine
    (``config check`` waits for its worker process): it is awaited here, off nobody's path."""
    try:
        request = json.loads(_decode(line))
        if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
            raise CommandError('a request is a JSON object {"cmd": "...", "args": [...]}')
        args = request.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, (str, int)) for a in args):
            raise CommandError(f"{request['cmd']}: args must be a list of words")
        command, rest = resolve(request["cmd"], [str(a) for a in args])
        if command.audited:
            log.info("control: %s ran by %s", " ".join([command.name, *rest]), _who(creds))
        result = command.handler(ctx, rest)
        if inspect.isawaitable(result):
            result = await result
        return {"ok": True, "result": result}
    except json.JSONDecodeError as err:
        return {"ok": False, "error": f"not JSON ({err.msg} at column {err.colno}); "
                                      'send {"cmd": "help"}'}
    except RecursionError:
        return {"ok": False, "error": 'not JSON that can be read (nested too deep); send {"cmd": "help"}'}
    except CommandError as err:
        return {"ok": False, "error": str(err)}
    except Exception as err:  # a fault in one command must not reach the switchboard
        log.exception("control command %r failed", line[:200])
        return {"ok": False, "error": f"internal error: {type(err).__name__}: {err}"}


def _in_thread(ctx: ControlContext, line: bytes, creds) -> dict:
    """``handle_request`` in a worker thread, on a loop of its own (the command is a plain read)."""
    return asyncio.run(handle_request(ctx, line, creds))


class ControlServer:
    """The asyncio server behind the socket file."""

    def __init__(self, ctx: ControlContext, path: Path = DEFAULT_SOCKET, mode: int = SOCKET_MODE):
        self.ctx = ctx
        self.path = Path(path)
        self.mode = mode
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self._clear_stale()
        try:
            self._server = await asyncio.start_unix_server(self._client, path=str(self.path),
                                                           limit=MAX_REQUEST_BYTES)
        except OSError as err:
            raise ControlError(f"control socket {self.path}: {err.strerror}") from err
        os.chmod(self.path, self.mode)
        log.info("control socket at %s (mode %o)", self.path, self.mode)

    def _clear_stale(self) -> None:
        """Remove a socket file left by a crash; refuse if a live daemon still answers on it."""
        if not self.path.exists() and not self.path.is_symlink():
            return
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(self.path))
        except OSError:
            self.path.unlink()
            return
        finally:
            probe.close()
        raise ControlError(f"control socket {self.path}: another centralino is answering there")

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        creds = peer_credentials(writer.get_extra_info("socket"))
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # longer than the limit: answer, then drop the connection
                    writer.write(b'{"ok": false, "error": "request too long"}\n')
                    break
                if not line:
                    break
                if not line.strip():
                    continue
                try:  # {"cmd": "events"} turns this connection into an event stream (ops/event_stream.py)
                    if (kinds := event_stream.requested_kinds(line)) is not None:
                        await event_stream.serve(self.ctx.daemon, kinds, reader, writer)
                        break
                except event_stream.StreamRequestError as err:
                    writer.write(json.dumps({"ok": False, "error": str(err)}).encode() + b"\n")
                    await writer.drain()
                    continue
                if worker.in_thread(line):  # a long read (a year's statistics) off the media clock's loop
                    response = await asyncio.to_thread(_in_thread, self.ctx, line, creds)
                else:
                    response = await handle_request(self.ctx, line, creds)
                writer.write(json.dumps(response, default=str).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
