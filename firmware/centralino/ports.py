"""From the board's bus objects to channels: one driver and one channel per configured port."""

from __future__ import annotations

from centralino.channels.base import Channel
from centralino.channels.fxo import HANGUP_SIGNALS, FxoChannel
from centralino.channels.fxs import FxsChannel
from centralino.channels.gsm import GsmChannel
from centralino.drivers.gsm_modem import GsmModem
from centralino.drivers.proslic import ProSlic
from centralino.drivers.si3050 import Si3050Daa

LAW = "alaw"  # Italy


def build_channels(settings, board, clock) -> dict[str, Channel]:
    hangup = {line.port: tuple(line.hangup_detect) for line in settings.lines}
    channels: dict[str, Channel] = {}
    for port in settings.board.ports:
        buses = board.ports[port.name]
        if port.kind == "fxs":
            driver = ProSlic(buses.spi, buses.irq, buses.reset, port=port.name, timeslot=port.timeslot,
                             law=LAW, clock=clock)
            channels[port.name] = FxsChannel(port.name, driver, clock)
        else:
            driver = Si3050Daa(buses.spi, buses.irq, buses.reset, port=port.name, timeslot=port.timeslot,
                               law=LAW, country=port.country or "ITALY", clock=clock)
            channels[port.name] = FxoChannel(port.name, driver, clock,
                                             hangup_detect=hangup.get(port.name, HANGUP_SIGNALS))
    if settings.gsm is not None:
        at_port, audio_port = board.gsm_ports
        modem = GsmModem(at_port, dialect=settings.gsm.dialect, audio_path=audio_port, clock=clock,
                         power_key=board.gsm_power_key)
        channels["gsm"] = GsmChannel("gsm", modem, clock)
    return channels
