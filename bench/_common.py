"""Shared helpers for bench scripts: import path, CPU timing, one JSON line out."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT / "firmware", ROOT):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))


def cpu_seconds(fn, repeat: int = 3) -> float:
    """Best of ``repeat`` runs of ``fn()``, in CPU seconds of this process (one core)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def report(name: str, **figures) -> None:
    print(json.dumps({"bench": name, **figures}, sort_keys=False))
