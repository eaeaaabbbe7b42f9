"""A short run of the configuration fuzz benchmark: no crash, no hang, no message on several lines,
and no dangerous configuration accepted, among mutations of the example and the known bombs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fuzz_config.py"
CASES = 150  # about 5 s here; bench/fuzz_config.py runs 2000 by default


def test_mutated_configurations_are_refused_cleanly_or_safe():
    result = subprocess.run([sys.executable, str(BENCH), "--cases", str(CASES), "--seed", "14"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert (figures["crashes"], figures["hangs"], figures["bad_messages"], figures["dangerous_accepted"]) == \
        (0, 0, 0, 0), figures["examples"]
    assert figures["cases"] == CASES + figures["bombs"]
    assert figures["accepted"] > 10 and figures["refused"] > 50  # the mutations are neither all fatal nor all benign
