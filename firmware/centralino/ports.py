"""From the board's bus objects to channels: each channel kind builds its own from its config block.

A kind is one module of ``centralino.channels`` named in ``CHANNEL_KINDS`` with a
``load_config(settings, board, clock) -> list[Channel]``: ``fxs`` and ``fxo`` build one driver and
one channel per port of their kind in ``board.ports``, ``gsm`` one for the ``gsm`` section. SIP's
channels come with its stack (``sip/service.py``). Adding a kind is one module and one config
block, and a name in this list.
"""

from __future__ import annotations

import importlib

from centralino.channels.base import Channel

CHANNEL_KINDS = ("fxs", "fxo", "gsm")


def build_channels(settings, board, clock) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    for kind in CHANNEL_KINDS:
        module = importlib.import_module(f"centralino.channels.{kind}")
        for channel in module.load_config(settings, board, clock):
            if channel.name in channels:
                raise ValueError(f"two channels named {channel.name!r}")
            channels[channel.name] = channel
    by_port = [p.name for p in settings.board.ports]  # the configuration's order, then the rest
    return {name: channels[name] for name in sorted(channels, key=lambda n: (n not in by_port,
                                                                             by_port.index(n) if n in by_port else 0))}
