"""Shared scaffolding for the SIP tests: the example comune with a ``sip`` section, free ports,
and real SIP programs (SIPp, sipsak...) run against the daemon on 127.0.0.1 in real time."""

from __future__ import annotations

import asyncio
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
