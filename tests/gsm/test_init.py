"""Init and status against the simulated modem."""

import pytest

from tests.gsm.harness import scenario


@pytest.mark.parametrize("dialect", ["sim7600", "ec25"])
def test_start_reports_status(dialect):
    async def body(rig):
        return rig.modem.status(), list(rig.sim.received)

    status, received = scenario(body, dialect=dialect)
    assert status["state"] == "ready"
    assert status["sim"] == "READY"
    assert status["signal_dbm"] == -73
    assert status["operator"] == "I TIM"
    assert status["registration"] == "home"
    assert received[0] == "ATE0"
    assert ("AT+DDET=1,1000,1" if dialect == "sim7600" else "AT+QTONEDET=1") in received
