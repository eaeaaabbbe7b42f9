"""The emergency fault matrix: with each single fault, do 112, 113, 115 and 118 connect, and how fast?

The example comune with its GSM modem, on the simulated board and the virtual clock. For each
fault below: an internal call (202 with 203) is put up first, the fault is injected, then
extension 207 dials each emergency number in turn; the services are parties on the PSTN and on
the mobile network with voices of their own, so "connected" means both sides heard each other.
Afterwards the internal call must still carry both voices (unless the fault was on its own port).

Per fault and number it reports whether the call connected, the path that carried it, the paths
that failed before it, and two times from the caller's last digit: ``ringing_after_s`` (the engine
heard the far end ring or answer) and ``connected_after_s`` (the far end answered). Services
answer after ``ANSWER_AFTER_S``, so the ringing figure is the time to reach a ringing service.
Faults with no path left at all (every line and the modem's radio gone) are listed with
``expect_connect: false``: they show what the caller then hears, not a failure of the rule.

    .venv/bin/python bench/emergency_faults.py [--only NAME] [--table]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from _common import ROOT, report

from centralino.config.schema import load_settings
from centralino.hwsim import clock
from centralino.hwsim.emergency_drill import EMERGENCY_NUMBERS, EmergencyServices, dial_emergency
from centralino.hwsim.scenario import Scenario
from centralino.hwsim.voices import Voice, hears
from centralino.media.callerid import CallerId

EXAMPLE = ROOT / "examples" / "comune.yaml"
LINES = ("fxo1", "fxo2", "fxo3", "fxo4")
ANSWER_AFTER_S = 6.0
ROME = ZoneInfo("Europe/Rome")


@dataclass
class Fault:
    name: str
    inject: object = None  # async (scenario, context) -> None, after the internal call is up
    prepare: object = None  # (context) -> None, before the daemon starts
    config: object = None  # (data) -> None, on the configuration
    faults: dict = field(default_factory=dict)  # chip faults from the start
    start_at: datetime | None = None
    expect_connect: bool = True
    own_port: str | None = None  # the internal call may end when the fault is on its port


async def _unplug_all(s, ctx):
    for port in LINES:
        s.line(port).unplug()


def _and_pstn_dead(inject):
    async def both(s, ctx):
        await _unplug_all(s, ctx)
        await inject(s, ctx)
    return both


async def _modem_hang(s, ctx):
    s.modem.hang()


async def _modem_no_sim(s, ctx):
    s.modem.no_sim()


async def _modem_no_network(s, ctx):
    s.modem.no_network()


async def _modem_gone(s, ctx):
    s.modem.vanish()


async def _modem_garbled(s, ctx):
    s.modem.garble_next(40)
    await s.modem.incoming_call("3389990000", Voice(2150))  # a call the driver never hears ring
    await s.wait(2.0)


async def _flow_raises(s, ctx):
    import centralino.flows.inbound as inbound

    async def broken(flow, menu):
        raise RuntimeError("a bug in the voce guida (injected by the bench)")

    ctx["restore"] = (inbound, "run_menu", inbound.run_menu)
    inbound.run_menu = broken
    citizen = s.remote("3330001111")
    await s.exchange.call_in(citizen, CallerId(number="3330001111", when=datetime(2026, 11, 24, 9)), line="fxo3")
    await s.wait(6.0)


def _records_unwritable(ctx):
    ctx["volume"].read_only()  # before the daemon starts: it cannot even create its database


async def _disk_full(s, ctx):
    ctx["volume"].fill()


async def _chip_fails(s, ctx):
    """Tributi (204, fxs5) talks with 205; its SLIC's SPI transfers start to raise mid-call."""
    for command in ("phone 204 offhook", "phone 204 dial 205", "phone 205 rings", "phone 205 offhook",
                    "phone 204 hears voice --from 205"):
        await s.face.run(command)
    await s.face.run("bus fxs5 fail")


async def _everything_busy(s, ctx):
    """Every PSTN line carries an ordinary call out, and the modem a call in: 112 must cut one."""
    for i, ext in enumerate(("200", "201", "204", "205")):
        party = s.remote(f"0577{i:06d}", answer_after_s=1.0)
        phone = s.phone(ext)
        phone.off_hook()
        await s.wait(0.4)
        await phone.dial(f"0{party.number}#")
    await s.modem.incoming_call("3351112222", Voice(2200))
    await s.wait(8.0)
    s.phone("206").off_hook()  # the modem's caller is answered by whoever rings
    await s.wait(3.0)


def _gsm(data):
    data["gsm"] = {"dialect": "sim7600", "incoming": "206"}


def _failover_window(data):
    _gsm(data)
    data["failover"] = {"mobile_number": "3471234567", "windows": [{"from": "2026-11-24 08:00",
                                                                    "to": "2026-11-24 20:00"}]}


async def _forwarding(s, ctx):
    s.mobile_network.add_failover_mobile("3471234567")
    citizen = s.remote("3330002222")
    await s.exchange.call_in(citizen, CallerId(number="3330002222", when=datetime(2026, 11, 24, 9)), line="fxo2")
    await s.wait(10.0)  # forwarded to the mobile through the modem


def _trunk_down(data):
    data["sip"] = {"listen": "127.0.0.1", "address": "127.0.0.1", "port": 15099,
                   "trunk": {"proxy": "127.0.0.1:9", "register": True, "username": "centralino",
                             "password": "x" * 12, "channels": 2, "keepalive_s": 5}}


FAULTS = [
    Fault("none"),
    Fault("fxo1 unplugged", inject=lambda s, ctx: _one(s.line("fxo1").unplug)),
    Fault("every PSTN line unplugged", inject=_unplug_all),
    Fault("every PSTN line dead at start", faults={p: "line_side_never_links" for p in LINES}),
    Fault("modem hung", inject=_modem_hang),
    Fault("modem without SIM", inject=_modem_no_sim),
    Fault("modem without network", inject=_modem_no_network),
    Fault("modem gone", inject=_modem_gone),
    Fault("modem RING lines garbled", inject=_modem_garbled),
    Fault("PSTN dead + modem without SIM", inject=_and_pstn_dead(_modem_no_sim)),
    Fault("PSTN dead + modem RING lines garbled", inject=_and_pstn_dead(_modem_garbled)),
    Fault("PSTN dead + modem hung", inject=_and_pstn_dead(_modem_hang)),
    Fault("PSTN dead + modem without network", inject=_and_pstn_dead(_modem_no_network), expect_connect=False),
    Fault("SIP trunk down", config=_trunk_down),
    Fault("a flow raises", inject=_flow_raises),
    Fault("records unwritable (read-only at start)", prepare=_records_unwritable),
    Fault("disk full", inject=_disk_full),
    Fault("corrupt database at start"),
    Fault("chip fails mid-call (fxs5)", inject=_chip_fails),
    Fault("night (Sunday 03:00)", start_at=datetime(2026, 11, 29, 3, 0, tzinfo=ROME)),
    Fault("everything busy", inject=_everything_busy),
    Fault("failover active, a call forwarded", config=_failover_window, inject=_forwarding),
]


async def _one(action):
    action()


def _config(tmp: Path, fault: Fault) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text())
    _gsm(data)
    if fault.config is not None:
        fault.config(data)
    path = tmp / "centralino.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


async def run_fault(fault: Fault, tmp: Path) -> dict:
    settings = load_settings(_config(tmp, fault))
    data_dir = tmp / "data"
    data_dir.mkdir()
    if fault.name == "corrupt database at start":
        (data_dir / "centralino.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 8000)
    ctx: dict = {}
    volume_cm = None
    if fault.name.startswith(("records unwritable", "disk full")):
        sys.path.insert(0, str(ROOT))
        from tests.records.volumes import small_volume

        volume_cm = small_volume(data_dir, size_kb=2048)
        ctx["volume"] = volume_cm.__enter__()
    if fault.prepare is not None:
        fault.prepare(ctx)
    options = {"faults": fault.faults}
    if fault.start_at is not None:
        options["start_at"] = fault.start_at
    try:
        async with Scenario(settings, data_dir, **options) as s:
            await s.until(lambda: s.daemon.channels["gsm"].idle, "the modem is ready", timeout_s=30)
            services = EmergencyServices(s)
            for party in (*services.pstn.values(), *services.mobile.values()):
                party.answer_after_s = ANSWER_AFTER_S
            a, b = s.phone("202"), s.phone("203")
            a.off_hook()
            await s.wait(0.5)
            await a.dial("203")
            await s.until(lambda: b.ringing, "203 rings")
            b.off_hook()
            await s.wait(1.0)
            if fault.inject is not None:
                await fault.inject(s, ctx)
            results = [await dial_emergency(s, services, "207", n, timeout_s=90) for n in EMERGENCY_NUMBERS]
            since = s.clock()
            await s.wait(1.5)
            survived = hears(a.heard(since), b.voice.frequency_hz) and hears(b.heard(since), a.voice.frequency_hz)
            status = s.daemon.status()
    finally:
        if "restore" in ctx:
            module, name, original = ctx["restore"]
            setattr(module, name, original)
        if volume_cm is not None:
            volume_cm.__exit__(None, None, None)
    connected = all(r.connected and r.heard_both_ways for r in results)
    return {"fault": fault.name, "expect_connect": fault.expect_connect,
            "passed": connected == fault.expect_connect and (survived or fault.own_port is not None),
            "connected": [r.number for r in results if r.connected],
            "other_call_survived": survived,
            "records": (status.get("records") or {}).get("writer", {}).get("state"),
            "calls": [r.as_dict() for r in results]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only the faults whose name contains this")
    parser.add_argument("--table", action="store_true", help="also print a table on stderr")
    args = parser.parse_args()
    faults = [f for f in FAULTS if args.only is None or args.only in f.name]
    rows = []
    began = time.monotonic()
    for fault in faults:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                rows.append(clock.run(lambda: run_fault(fault, Path(tmp))))
            except Exception as err:  # a fault the bench could not stage is a finding, not a crash
                rows.append({"fault": fault.name, "passed": False, "error": f"{type(err).__name__}: {err}"})
        if args.table:
            row = rows[-1]
            times = " ".join(f"{c['number']}:{c['path'] or '-'}/{c['ringing_after_s']}"
                             for c in row.get("calls", []))
            print(f"{'ok ' if row['passed'] else 'BAD'} {row['fault']:<38} {times} {row.get('error', '')}",
                  file=sys.stderr)
    calls = [c for r in rows for c in r.get("calls", []) if r.get("expect_connect", True)]
    ringing = sorted(c["ringing_after_s"] for c in calls if c["ringing_after_s"] is not None)
    report("emergency_faults", faults=len(rows), passed=sum(r["passed"] for r in rows),
           emergency_calls=len(calls), connected=sum(c["connected"] and c["heard_both_ways"] for c in calls),
           ringing_after_s_median=ringing[len(ringing) // 2] if ringing else None,
           ringing_after_s_max=ringing[-1] if ringing else None,
           wall_s=round(time.monotonic() - began, 1), matrix=rows)


if __name__ == "__main__":
    main()
