"""Shared pieces of the failover benchmarks (bench/failover_*.py); not a benchmark itself.

- ``failover_config(folder, ...)``: the example comune with the GSM modem and a failover section
  (the mobile, the technician's SMS number, the hysteresis), written as YAML and loaded with the
  production loader, as the appliance would.
- ``Moments``: the switchboard's observer log (``Scenario.log``) read as "when did the first
  event of this kind happen on this line after that time", so that each call's milestones come
  from the engine's own clock rather than from polling.
- ``FirstTrue``: a sampler for the few world conditions the engine does not announce (the mobile
  starts ringing, the mobile answers), polled every ``SAMPLE_S`` of the scenario's clock.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from pathlib import Path

import yaml

from _common import ROOT

from centralino.config.schema import load_settings

EXAMPLE_CONFIG = ROOT / "examples" / "comune.yaml"
MOBILE = "3471234567"
TECHNICIAN = "3330000000"
DOWN_AFTER_S = 4.0  # the schema's default: detection then stays within the 5 s goal
SAMPLE_S = 0.005
MODEM_READY_WAIT_S = 30.0


def failover_config(folder: Path, *, down_after_s: float = DOWN_AFTER_S, healthy_for_s: float = 10.0,
                    window: tuple[str, str] | None = None):
    """The example configuration with a SIM7600 and failover to ``MOBILE``; ``window`` is a scheduled
    migration window ("YYYY-MM-DD HH:MM" local from, to), none by default."""
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    data["gsm"] = {"dialect": "sim7600"}
    data["failover"] = {"mobile_number": MOBILE, "technician_sms": TECHNICIAN,
                        "down_after_s": down_after_s, "healthy_for_s": healthy_for_s}
    if window is not None:
        data["failover"]["windows"] = [{"from": window[0], "to": window[1]}]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "centralino.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_settings(path)


async def modem_ready(s) -> None:
    await s.until(lambda: s.daemon.channels["gsm"].idle, "the modem is ready", timeout_s=MODEM_READY_WAIT_S)


class Moments:
    """Times of the switchboard's notes (``kind`` with details) in a scenario's log."""

    def __init__(self, scenario):
        self.log = scenario.log

    def first(self, kind: str, since_s: float, **match) -> float | None:
        for at, k, details in self.log:
            if k == kind and at >= since_s and all(details.get(key) == value for key, value in match.items()):
                return at
        return None


class FirstTrue:
    """Notes, per name, the first scenario time its condition held; armed again with ``watch``."""

    def __init__(self, clock):
        self.clock = clock
        self.watching: dict[str, object] = {}
        self.seen: dict[str, float] = {}
        self._task: asyncio.Task | None = None

    def watch(self, name: str, condition) -> None:
        self.seen.pop(name, None)
        self.watching[name] = condition

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._sample())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _sample(self) -> None:
        while True:
            now = self.clock()
            for name, condition in list(self.watching.items()):
                if condition():
                    self.seen[name] = now
                    del self.watching[name]
            await asyncio.sleep(SAMPLE_S)


def median_max_ms(values, name: str) -> dict:
    """``{name_median_ms, name_max_ms}`` of values in seconds (None values are left out)."""
    values = [v * 1000 for v in values if v is not None]
    if not values:
        return {f"{name}_median_ms": None, f"{name}_max_ms": None}
    return {f"{name}_median_ms": round(statistics.median(values), 1), f"{name}_max_ms": round(max(values), 1)}


if __name__ == "__main__":
    sys.exit(0)  # a helper module: `make bench` runs every bench/*.py, this one has nothing to say
