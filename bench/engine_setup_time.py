"""Call set-up time: from the PSTN line ringing to the extension's phone ringing.

The example comune on the simulated board; ``CALLS`` incoming calls in turn over its four lines
(two to the operator, one to a three-extension group, one to the Polizia Municipale), each
answered and ended before the next. For every call three moments are taken:
- the exchange starts ringing the line (``call_in``);
- the FXO driver reports the ring (``RingStart``, the ``at_s`` of the channel's Incoming event);
- the extension's SLIC enters ringing (the model's first ring burst of that call, ``start_s``).
``setup`` is ring detect -> extension ringing; ``command`` is its first part, ring detect -> the
switchboard telling the FXS channel to ring (routing, the call record's first row in SQLite);
``detect`` is the exchange ringing -> ring detect (the DAA's ring detection and the driver's
polling); ``total`` is exchange ringing -> extension ringing. Reported as median and max, in real time (the asyncio loop
on the wall clock, as the appliance runs) and in virtual time (deterministic: the engine's logic
only, no scheduling delays).
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import _engine as support
from _common import report

from centralino.channels import events as ev
from centralino.config.schema import load_settings
from centralino.hwsim import clock
from centralino.hwsim.scenario import Scenario

CALLS = 20
ANSWER_AFTER_S = 0.2  # after the first complete ring burst
BETWEEN_CALLS_S = 0.5
WAIT_S = 15.0


async def run_calls(config: Path, data_dir: Path, calls: int) -> list[dict]:
    settings = load_settings(config)
    async with Scenario(settings, data_dir) as s:
        detected: dict[str, list[float]] = {}
        for line in settings.lines:
            channel = s.daemon.channels[line.port]
            detected[line.port] = []
            channel.listener = _spy(channel.listener, detected[line.port])
        commanded: list[float] = []
        for channel in s.daemon.channels.values():
            if channel.kind == "fxs":
                channel.ring = _timed(channel.ring, s.clock, commanded)
        parties = {line.port: s.remote(f"055123{index:04d}") for index, line in enumerate(settings.lines)}
        results = []
        for index in range(calls):
            line = settings.lines[index % len(settings.lines)]
            phones = [s.phone(number) for number in _targets(settings, line.incoming)]
            seen, commands = len(detected[line.port]), len(commanded)
            rang_at = s.clock()
            await s.exchange.call_in(parties[line.port], line=line.port)
            bursts = await s.until(lambda: _first_bursts(phones, rang_at), f"call {index} rings an extension",
                                   timeout_s=WAIT_S)
            await s.until(lambda: len(detected[line.port]) > seen, f"call {index}: ring detected", WAIT_S)
            detect_at = detected[line.port][seen]
            phone, burst = min(bursts, key=lambda pb: pb[1].start_s)
            await s.wait(ANSWER_AFTER_S)
            phone.off_hook()
            await s.until(lambda: parties[line.port].call.answered, f"call {index} answered", WAIT_S)
            phone.on_hook()
            await s.until(lambda: not s.switchboard.calls and s.line(line.port).state == "idle",
                          f"call {index} ends", WAIT_S)
            await s.wait(BETWEEN_CALLS_S)
            results.append({"detect_s": detect_at - rang_at, "command_s": commanded[commands] - detect_at,
                            "setup_s": burst.start_s - detect_at,
                            "total_s": burst.start_s - rang_at})
        return results


def _spy(listener, times: list[float]):
    """The channel's listener, noting when each Incoming (the driver's RingStart) happened."""
    def spy(channel, event):
        if isinstance(event, ev.Incoming):
            times.append(event.at_s)
        listener(channel, event)
    return spy


def _timed(ring, clock, times: list[float]):
    """A channel's ``ring`` that notes when the switchboard called it."""
    def timed(*args, **kwargs):
        times.append(clock())
        return ring(*args, **kwargs)
    return timed


def _targets(settings, incoming: str) -> list[str]:
    group = settings.group(incoming)
    return list(group.members) if group else [incoming]


def _first_bursts(phones, since_s: float):
    found = [(phone, burst) for phone in phones for burst in phone.ring_bursts if burst.start_s >= since_s]
    return found or None


def summary(results: list[dict]) -> dict:
    out = {"calls": len(results)}
    for key in ("detect_s", "command_s", "setup_s", "total_s"):
        values = [r[key] * 1000 for r in results]
        name = key[:-2]
        out[f"{name}_median_ms"] = round(statistics.median(values), 2)
        out[f"{name}_max_ms"] = round(max(values), 2)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="centralino-bench-") as tmp:
        figures = {}
        for mode, virtual in (("virtual", True), ("real", False)):
            results = clock.run(lambda: run_calls(support.EXAMPLE_CONFIG, Path(tmp) / mode, CALLS),
                                virtual=virtual)
            figures[mode] = summary(results)
    report("engine_setup_time", **support.machine(), config="examples/comune.yaml", **figures)


if __name__ == "__main__":
    main()
