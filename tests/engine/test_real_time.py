"""The same scenario runs on the real clock as on the virtual one, with the same outcome."""

from __future__ import annotations

import pytest

from centralino.hwsim.clock import run
from centralino.hwsim.scenario import Scenario

from .helpers import EXAMPLE, connect, hear_each_other, listen


async def _internal_call(s: Scenario):
    a, b = await connect(s, "201", "205")
    since = await listen(s)
    heard = hear_each_other(a, b, since)
    a.on_hook()
    await s.until(lambda: s.finished, "the call ends")
    row = s.records.last(1)[0]
    return heard, row.disposition, row.caller, row.called


@pytest.mark.parametrize("virtual", [True, False], ids=["virtual-clock", "real-time"])
def test_internal_call_on_either_clock(tmp_path, virtual):
    async def main():
        async with Scenario(EXAMPLE, tmp_path / "data") as s:
            return await _internal_call(s)

    assert run(main, virtual=virtual) == (True, "answered", "201", "205")
