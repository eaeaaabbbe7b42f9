"""SIP call setups per second through centralino's SIP stack (sippy thread + asyncio bridge).

SIPp's built-in ``uac`` places N calls at rate R against a stack whose calls are answered on the
asyncio loop (every INVITE crosses to the loop and the 200 OK crosses back, as a trunk call does in
the daemon; no board, no RTP), with the daemon's admission control (``sip.overload``) in front.
Rates go up until a run has a failed call; the last clean one is the ceiling. Each run says how
many calls were refused with 503 + Retry-After and how many were lost with no answer at all (the
goal: none). Run: .venv/bin/python bench/sip_setup_rate.py [--calls 2000] [--rates 100,200,...]
[--max-setups 200]
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
from centralino.sip.overload import Admission
from centralino.sip.stack import SipStack

HOST = "127.0.0.1"


class AnsweringCore:
    """Answers every INVITE from the loop (the bridge both ways), hangs up on BYE."""

    max_setups_per_s = 200

    def __init__(self, stack):
        self.stack = stack
        self.answer = sdp.build(HOST, 40000)
        self.admission = Admission(time.monotonic, self.max_setups_per_s)

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
    return proc.returncode == 0, elapsed, _failed_calls(text)


def _failed_calls(text: str) -> int:
    """SIPp's final "Failed call" count (its last statistics screen)."""
    counts = [l for l in text.splitlines() if "Failed call" in l]
    if not counts:
        return 0
    numbers = [int(t) for t in counts[-1].replace("|", " ").split() if t.isdigit()]
    return numbers[-1] if numbers else 0


async def main(args) -> int:
    if shutil.which("sipp") is None:
        print("sipp is not installed (apt-get install sip-tester)")
        return 1
    port = free_port()
    AnsweringCore.max_setups_per_s = args.max_setups
    stack = SipStack(HOST, port, AnsweringCore)
    await stack.start()
    ceiling, achieved, lost_total = 0, 0.0, 0
    try:
        for rate in args.rates:
            refused_before = stack.core.admission.refused
            ok, elapsed, failed = await one_rate(stack.port, rate, args.calls)
            refused = stack.core.admission.refused - refused_before
            lost = max(0, failed - refused)
            lost_total += lost
            print(f"rate {rate:5d} cps, {args.calls} calls: {args.calls - failed} answered, {refused} refused "
                  f"with 503 + Retry-After, {lost} lost without an answer; "
                  f"{args.calls / elapsed:7.1f} calls/s end to end ({elapsed:.1f} s)", flush=True)
            if ok:
                ceiling, achieved = rate, max(achieved, args.calls / elapsed)
    finally:
        await stack.stop()
    print(f"ceiling: {achieved:.0f} call setups per second completed with zero failures "
          f"(SIPp asked for up to {ceiling}/s; admission at {args.max_setups}/s; goal >= 200); "
          f"calls lost without an answer over all rates: {lost_total}")
    return 0 if achieved >= 0.7 * min(200, args.max_setups) and lost_total == 0 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rates", type=lambda t: [int(x) for x in t.split(",")],
                        default=[100, 200, 300, 400, 600, 800, 1200])
    parser.add_argument("--max-setups", type=int, default=200, help="the admission ceiling (sip.max_setups_per_s)")
    sys.exit(asyncio.run(main(parser.parse_args())))
