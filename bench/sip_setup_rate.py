"""SIP call setups per second through centralino's SIP stack (sippy thread + asyncio bridge).

SIPp's built-in ``uac`` places N calls at rate R against a stack whose calls are answered on the
asyncio loop (every INVITE crosses to the loop and the 200 OK crosses back, as a trunk call does in
the daemon; no board, no RTP). Rates go up until a run has a failed call; the last clean one is the
ceiling. Run: .venv/bin/python bench/sip_setup_rate.py [--calls 2000] [--rates 100,200,400,...]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import sys
import time

from centralino.sip import sdp
from centralino.sip.stack import SipStack

HOST = "127.0.0.1"


class AnsweringCore:
    """Answers every INVITE from the loop (the bridge both ways), hangs up on BYE."""

    def __init__(self, stack):
        self.stack = stack
        self.answer = sdp.build(HOST, 40000)

    def recv_request(self, req, sip_t):
        from centralino.sip import wire

        if req.getMethod() == "INVITE" and req.getHFBody("to").getTag() is None:
            return wire.Leg(self.stack, self.on_leg).accept(req, sip_t)
        return wire.response(req, 200 if req.getMethod() == "OPTIONS" else 481, "OK")

    def on_leg(self, leg, kind, data):  # on the asyncio loop
        if kind == "offer":
            self.stack.in_sip(leg.answer, self.answer)

    def dropped(self, source):
        return False

    def refused(self, source, reason, detail):
        pass

    def started(self):
        pass

    def stopped(self):
        pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


async def one_rate(port: int, rate: int, calls: int) -> tuple[bool, float, str]:
    argv = ["sipp", f"{HOST}:{port}", "-i", HOST, "-p", str(free_port()), "-sn", "uac", "-s", "0558450200",
            "-r", str(rate), "-m", str(calls), "-nostdin", "-nr", "-timeout", "60s", "-timeout_error",
            "-l", str(max(rate * 2, 100))]
    began = time.monotonic()
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = await proc.communicate()
    elapsed = time.monotonic() - began
    text = out.decode(errors="replace")
    failed = [l for l in text.splitlines() if "Failed call" in l]
    return proc.returncode == 0, elapsed, failed[-1].strip() if failed else ""


async def main(args) -> int:
    if shutil.which("sipp") is None:
        print("sipp is not installed (apt-get install sip-tester)")
        return 1
    port = free_port()
    stack = SipStack(HOST, port, AnsweringCore)
    await stack.start()
    ceiling, achieved = 0, 0.0
    try:
        for rate in args.rates:
            ok, elapsed, failed = await one_rate(stack.port, rate, args.calls)
            print(f"rate {rate:5d} cps, {args.calls} calls: {'all answered' if ok else 'FAILURES ' + failed}, "
                  f"{args.calls / elapsed:7.1f} calls/s end to end ({elapsed:.1f} s)", flush=True)
            if not ok:
                break
            ceiling, achieved = rate, max(achieved, args.calls / elapsed)
    finally:
        await stack.stop()
    print(f"ceiling: {achieved:.0f} call setups per second completed with zero failures "
          f"(SIPp asked for up to {ceiling}/s; goal >= 200)")
    return 0 if achieved >= 200 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rates", type=lambda t: [int(x) for x in t.split(",")], default=[100, 200, 300, 400, 600, 800])
    sys.exit(asyncio.run(main(parser.parse_args())))
