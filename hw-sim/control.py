"""The simulated world's control socket: ``centralino sim`` talks to the running daemon's world here.

Served by ``centralino run --board sim`` beside its control socket (``sim.sock`` next to
``control.sock`` unless ``--sim-socket`` says otherwise). One JSON request per line,
``{"cmd": "phone", "args": ["201", "dial", "203"]}``, one JSON response line:
``{"ok": true, "result": "201 dialled 203", "data": {...}}`` or ``{"ok": false, "error": "..."}``.
A command that takes time (dialling, waiting to hear a tone) answers when it is done; each
connection is served on its own, so a waiting command holds up nobody else. A bad request costs
the client an error line, never the switchboard anything.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import struct
from pathlib import Path

from .face_base import WorldCommandError
from .world_face import WorldFace

log = logging.getLogger("centralino.sim")

SOCKET_NAME = "sim.sock"
SOCKET_MODE = 0o660  # like the control socket: the service's user and group
MAX_REQUEST_BYTES = 16 * 1024
_PEERCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


class SimSocketError(RuntimeError):
    """The world's socket could not be opened."""


def _peer(writer: asyncio.StreamWriter) -> str:
    sock = writer.get_extra_info("socket")
    try:
        pid, uid, _gid = _PEERCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))
    except (OSError, AttributeError):
        return "unknown peer"
    return f"uid {uid} pid {pid}"


async def handle_request(face: WorldFace, line: bytes) -> dict:
    """One request line to one response object; never raises."""
    try:
        request = json.loads(line)
        if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
            raise WorldCommandError('a request is a JSON object {"cmd": "...", "args": [...]}')
        args = request.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, (str, int, float)) for a in args):
            raise WorldCommandError(f"{request['cmd']}: args must be a list of words")
        reply = await face.run([request["cmd"], *(str(a) for a in args)])
        return {"ok": True, "result": reply.text, "data": reply.data}
    except json.JSONDecodeError as err:
        return {"ok": False, "error": f"not JSON ({err.msg} at column {err.colno})"}
    except WorldCommandError as err:
        return {"ok": False, "error": str(err)}
    except Exception as err:  # a fault in the face must not reach the switchboard
        log.exception("sim command %r failed", line[:200])
        return {"ok": False, "error": f"internal error: {type(err).__name__}: {err}"}


class SimControlServer:
    """The asyncio server behind the world's socket file."""

    def __init__(self, face: WorldFace, path: Path, mode: int = SOCKET_MODE):
        self.face = face
        self.path = Path(path)
        self.mode = mode
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._clear_stale()
        try:
            self._server = await asyncio.start_unix_server(self._client, path=str(self.path),
                                                           limit=MAX_REQUEST_BYTES)
        except OSError as err:
            raise SimSocketError(f"simulated world socket {self.path}: {err.strerror}") from err
        os.chmod(self.path, self.mode)
        log.info("simulated world at %s: drive it with centralino sim --socket %s", self.path, self.path)

    def _clear_stale(self) -> None:
        """Remove a socket file a crash left; refuse when a live daemon still answers there."""
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
        raise SimSocketError(f"simulated world socket {self.path}: another centralino is answering there")

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        who = _peer(writer)
        task = asyncio.current_task()
        self._clients.add(task)
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
                response = await handle_request(self.face, line)
                log.info("sim: %s -> %s (%s)", line.decode(errors="replace").strip()[:200],
                         response.get("result") or response.get("error"), who)
                writer.write(json.dumps(response, default=str).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._clients.discard(task)
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):  # a command still waiting ends with the daemon
                task.cancel()
            await asyncio.gather(*self._clients, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
