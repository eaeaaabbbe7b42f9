"""README's first command, ``make demo``: the scripted morning runs through and every check passes.

The morning checks by ear what the citizen hears from the voce guida; when the voce guida's
words change (as they did when it moved to whole sentences), this is what notices the demo lying."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_morning_passes_every_check(tmp_path):
    done = subprocess.run([sys.executable, "-m", "centralino", "demo", "--data-dir", str(tmp_path / "demo")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "All checks passed." in done.stdout
    assert "check(s) failed" not in done.stdout
    assert "line:fxo3>menu:principale>office:anagrafe>answered:" in done.stdout  # the voce guida's story ran
