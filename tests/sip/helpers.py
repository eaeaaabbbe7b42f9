"""Shared scaffolding for the SIP tests: the example comune with a ``sip`` section, free ports,
and real SIP programs (SIPp, sipsak...) run against the daemon on 127.0.0.1 in real time."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from pathlib import Path

import pytest

from tests.engine.helpers import config_copy

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
HOST = "127.0.0.1"
DID_ANAGRAFE = "0558450200"   # routed to extension 201 in these tests
DID_DEFAULT = "0558450999"    # no route: the operator (200)
PHONE_USER, PHONE_PASSWORD = "210", "desk-phone-210"


def free_port() -> int:
    """A UDP port nobody uses right now on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def play_on_sip(tmp_path: Path, story, *tools: str, **config):
    """Run ``await story(s, sip_port)`` against the daemon on a free SIP port, in real time (the SIP
    programs are real processes); ``tools`` must be installed, ``config`` goes to ``sip_config``."""
    from centralino.hwsim.clock import run
    from centralino.hwsim.scenario import Scenario

    need(*tools)
    sip_port = free_port()
    path = sip_config(tmp_path, sip_port, **config)

    async def main():
        async with Scenario(path, tmp_path / "data") as s:
            return await story(s, sip_port)

    return run(main, virtual=False)


def need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (make debs installs them)")


def sip_config(tmp_path: Path, sip_port: int, trunk_port: int | None = None, register: bool = False,
               trunk_extra: dict | None = None, phones: bool = True, **extra) -> Path:
    """The example configuration plus SIP on ``sip_port``; the trunk's proxy is 127.0.0.1:trunk_port."""

    def change(data):
        sip = {"listen": HOST, "port": sip_port, "realm": "centralino", **extra}
        if trunk_port is not None:
            trunk = {"proxy": f"{HOST}:{trunk_port}", "register": register, "channels": 4,
                     "routes": {DID_ANAGRAFE: "201"}, "keepalive_s": 0}
            if register:
                trunk.update(username="centralino", password="trunk-secret")
            trunk.update(trunk_extra or {})
            sip["trunk"] = trunk
        if phones:
            sip["phones"] = [{"port": "sip210", "username": PHONE_USER, "password": PHONE_PASSWORD}]
            data["extensions"].append({"number": "210", "port": "sip210", "name": "Operatore SIP"})
        data["sip"] = sip

    return config_copy(tmp_path, change)


async def run_tool(*argv: str, timeout_s: float = 30.0, cwd: Path | None = None) -> tuple[int, str]:
    """Run a program to its end on the loop (the daemon keeps working meanwhile): rc and output."""
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT, cwd=cwd)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
    except asyncio.TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
        return -9, out.decode(errors="replace")
    return proc.returncode, out.decode(errors="replace")


async def stop_process(proc) -> None:
    """End a program the test started: SIGTERM, then SIGKILL if it is still there after 5 s."""
    if proc is None or proc.returncode is not None:
        return
    proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), 5.0)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()


def sipp(sip_port: int, local_port: int, *args: str, service: str = DID_ANAGRAFE, calls: int = 1) -> list[str]:
    """A SIPp command line against centralino (``-sn uac`` unless args give a scenario)."""
    scenario = [] if any(a in ("-sf", "-sn") for a in args) else ["-sn", "uac"]
    return ["sipp", f"{HOST}:{sip_port}", "-i", HOST, "-p", str(local_port), "-s", service, "-m", str(calls),
            "-nostdin", "-nr", "-timeout", "25s", "-timeout_error", *scenario, *args]


class Peer:
    """A bare UDP socket that speaks just enough SIP to probe the daemon, from any 127.x address."""

    def __init__(self, host: str = HOST, port: int = 0):
        self.host = host
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.n = 0

    def request(self, sip_port: int, method: str, user: str, authorization: str | None = None,
                uri: str | None = None, body: str = "", headers: tuple[str, ...] = (), from_user: str | None = None,
                call_id: str | None = None) -> bytes:
        self.n += 1
        uri = uri or f"sip:{user}@{HOST}:{sip_port}"
        caller = from_user or user
        lines = [f"{method} {uri} SIP/2.0",
                 f"Via: SIP/2.0/UDP {self.host}:{self.port};branch=z9hG4bK-probe-{self.n}-{self.port}-{os.getpid()}",
                 f"From: <sip:{caller}@{HOST}>;tag=probe{self.n}", f"To: <sip:{user}@{HOST}>",
                 f"Call-ID: {call_id or f'probe-{self.n}-{self.port}@{self.host}'}", f"CSeq: {self.n} {method}",
                 f"Contact: <sip:{caller}@{self.host}:{self.port}>", "Max-Forwards: 70", *headers]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        if body:
            lines.append("Content-Type: application/sdp")
        lines += [f"Content-Length: {len(body.encode())}", "", ""]
        return ("\r\n".join(lines) + body).encode()

    def send(self, sip_port: int, data: bytes) -> None:
        self.sock.sendto(data, (HOST, sip_port))

    async def ask(self, sip_port: int, data: bytes, wait_s: float = 1.0, final: bool = False) -> str | None:
        """Send ``data`` and return the first answer (with ``final``, the first non-1xx one)."""
        self.send(sip_port, data)
        while True:
            reply = await self.receive(wait_s)
            if reply is None or not final or not reply.startswith("SIP/2.0 1"):
                return reply

    async def receive(self, wait_s: float = 1.0) -> str | None:
        loop = asyncio.get_running_loop()
        try:
            reply = await asyncio.wait_for(loop.sock_recv(self.sock, 65536), wait_s)
        except asyncio.TimeoutError:
            return None
        return reply.decode(errors="replace")

    def close(self):
        self.sock.close()


def challenge_of(reply: str) -> dict[str, str]:
    """The parameters of a 401's WWW-Authenticate header."""
    from centralino.sip.digest import parse_digest

    header = next(l for l in reply.split("\r\n") if l.lower().startswith("www-authenticate:"))
    return parse_digest(header.split(":", 1)[1])


def credentials(challenge: dict[str, str], method: str, user: str, password: str, uri: str,
                nc: int = 1, cnonce: str = "c0ffee", realm: str = "centralino") -> str:
    """An Authorization header answering ``challenge`` with qop=auth, as a phone computes it."""
    from centralino.sip.digest import digest_response

    params = {"username": user, "nonce": challenge["nonce"], "uri": uri, "qop": "auth",
              "nc": f"{nc:08x}", "cnonce": cnonce}
    response = digest_response(params, method, password, realm)
    return (f'Digest username="{user}", realm="{realm}", nonce="{params["nonce"]}", uri="{uri}", '
            f'response="{response}", algorithm=MD5, qop=auth, nc={params["nc"]}, cnonce="{cnonce}"')


def status_line(reply: str | None) -> str | None:
    return reply.split("\r\n", 1)[0] if reply else None
