"""Shared pieces of the engine benchmarks (bench/engine_*.py); not a benchmark itself.

- ``machine()``: the facts a reader needs to compare figures between machines.
- ``fxs_board(n, folder)``: settings for a board of ``n`` FXS extensions (no lines), written as
  YAML and loaded with the production loader while the appliance's bounds allow it. Beyond them
  (more than 53 interrupt lines on GPIO 0..53 besides the shared reset) the same layout is built
  in code with ``dataclasses.replace`` from a loaded one-port configuration: a bench-only board
  that says so (``how``). 128 ports is a hard limit: one PCM bus has 128 eight-bit slots and the
  ProSLIC's 10-bit PCM bit count cannot address more (the driver refuses timeslot 128).
- ``widen_simulator(n)``: the simulated world has 20 test voices; a bench with more phones gives
  each its own extra frequency.
- ``keep_recent_audio``: simulated phones record all they hear; the benchmarks keep only the last
  seconds so that the recordings neither grow the heap nor lengthen garbage collections.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import platform
import sys
import time
from pathlib import Path

from _common import ROOT  # noqa: F401  (puts firmware/ on the import path)

from centralino.config.schema import GPIO_MAX, load_settings

EXAMPLE_CONFIG = ROOT / "examples" / "comune.yaml"
RESET_GPIO = 4  # one reset line shared by every SLIC, as on the example HAT
IRQ_LINES = tuple(line for line in range(GPIO_MAX + 1) if line != RESET_GPIO)
MAX_PCM_SLOTS = 128  # the schema's bound (board.pcm_slots)
FIRST_NUMBER = 2000  # extensions 2000, 2001 ...: four digits, none a prefix of another
VOICE_SPACING_HZ = 16.0  # > the 15 Hz that voices.hears() looks around a frequency
AVOID_HZ = (425.0, 697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0, 1477.0, 1633.0, 1300.0, 2100.0)


def machine() -> dict:
    """CPU, cores, Python and load: the context every figure needs."""
    model = platform.processor() or platform.machine()
    try:
        rows = Path("/proc/cpuinfo").read_text().splitlines()
        names = [r.split(":", 1)[1].strip() for r in rows if r.lower().startswith(("model name", "hardware"))]
        model = names[0] if names else model
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "load_1m": round(os.getloadavg()[0], 2)}


def pin_to_one_core() -> int:
    """Pin this process to the core that was idlest over the last 0.3 s (others may share the box)."""
    first = _core_times()
    time.sleep(0.3)
    busy = {core: sum(_core_times()[core]) - sum(first[core]) - (_core_times()[core][3] - first[core][3])
            for core in first if core in os.sched_getaffinity(0)}
    core = min(busy, key=busy.get) if busy else 0
    os.sched_setaffinity(0, {core})
    return core


def _core_times() -> dict[int, list[int]]:
    """Per-core jiffies from /proc/stat: user nice system idle iowait irq softirq steal."""
    times = {}
    for row in Path("/proc/stat").read_text().splitlines():
        name, *fields = row.split()
        if name.startswith("cpu") and name != "cpu":
            times[int(name[3:])] = [int(v) for v in fields[:8]]
    return times


def steal_s(core: int) -> float:
    """CPU time the hypervisor gave to other guests on ``core`` since boot (virtual machines)."""
    return _core_times()[core][7] / os.sysconf("SC_CLK_TCK")


def fxs_board(n: int, folder: Path) -> tuple[object, str]:
    """Settings for ``n`` FXS extensions, each on its own SPI device, IRQ line and timeslot."""
    if n > MAX_PCM_SLOTS:
        raise ValueError(f"{n} ports do not fit on one PCM bus of {MAX_PCM_SLOTS} timeslots")
    folder.mkdir(parents=True, exist_ok=True)
    slots = max(32, n)
    if n <= len(IRQ_LINES):
        path = folder / f"fxs{n}.yaml"
        path.write_text(_yaml(n, slots, [IRQ_LINES[i] for i in range(n)]))
        return load_settings(path), "yaml"
    path = folder / "fxs1.yaml"
    path.write_text(_yaml(1, 32, [IRQ_LINES[0]]))
    one = load_settings(path)
    port0, ext0 = one.board.ports[0], one.extensions[0]
    lines = [line for line in range(n + 1) if line != RESET_GPIO][:n]
    ports = tuple(dataclasses.replace(port0, name=f"fxs{i + 1}", spi=_spi(i), irq_gpio=lines[i], timeslot=i)
                  for i in range(n))
    extensions = tuple(dataclasses.replace(ext0, number=str(FIRST_NUMBER + i), port=f"fxs{i + 1}",
                                           name=f"Ufficio {i + 1}", operator=i == 0) for i in range(n))
    board = dataclasses.replace(one.board, pcm_slots=slots, ports=ports)
    how = f"bench-only: irq_gpio up to {lines[-1]} (the Pi has 0..{GPIO_MAX})"
    return dataclasses.replace(one, board=board, extensions=extensions), how


def _spi(i: int) -> str:
    return f"/dev/spidev{i // 2}.{i % 2}"


def _yaml(n: int, slots: int, irq: list[int]) -> str:
    rows = ["comune: {name: \"Comune di Prova\", timezone: Europe/Rome}",
            "board:", "  kind: sim", "  hat: centralino-8fxs-4fxo", f"  pcm_slots: {slots}", "  ports:"]
    rows += [f"    - {{name: fxs{i + 1}, kind: fxs, spi: {_spi(i)}, irq_gpio: {irq[i]}, "
             f"reset_gpio: {RESET_GPIO}, timeslot: {i}, part: Si3215}}" for i in range(n)]
    rows.append("extensions:")
    rows += [f"  - {{number: \"{FIRST_NUMBER + i}\", port: fxs{i + 1}, name: \"Ufficio {i + 1}\""
             f"{', operator: true' if i == 0 else ''}}}" for i in range(n)]
    rows += ["dialplan: {outside_prefix: \"0\", interdigit_timeout_s: 4}", ""]
    return "\n".join(rows)


def widen_simulator(phones: int) -> None:
    """Enough distinct test voices for ``phones`` phones (the simulator has 20; bench-only)."""
    from centralino.hwsim import board as sim_board

    voices = list(sim_board.VOICE_FREQUENCIES_HZ)
    f = 200.0
    while len(voices) < phones:
        if all(abs(f - v) >= VOICE_SPACING_HZ for v in voices) and all(abs(f - a) > 30 for a in AVOID_HZ):
            voices.append(f)
        f += 1.0
        if f > 3900:
            raise ValueError(f"cannot find {phones} distinct voice frequencies below 3.9 kHz")
    sim_board.VOICE_FREQUENCIES_HZ = tuple(voices)


async def keep_recent_audio(phones, keep_s: float, every_s: float = 1.0) -> None:
    """Forget what simulated phones heard more than ``keep_s`` ago (their recordings are lists)."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every_s)
        cutoff = loop.time() - keep_s
        for phone in phones:
            heard = phone._heard  # the simulator's recording; bench bookkeeping only
            drop = 0
            while drop < len(heard) and heard[drop][0] < cutoff:
                drop += 1
            del heard[:drop]


def percentiles_ms(values) -> dict:
    import numpy as np

    x = np.asarray(values, dtype=float) * 1000 if len(values) else np.zeros(1)
    return {"p50_ms": round(float(np.percentile(x, 50)), 3), "p99_ms": round(float(np.percentile(x, 99)), 3),
            "max_ms": round(float(x.max()), 3)}


if __name__ == "__main__":
    sys.exit(0)  # a helper module: `make bench` runs every bench/*.py, this one has nothing to say
