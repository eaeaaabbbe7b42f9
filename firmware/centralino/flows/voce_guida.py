"""A menu of the voce guida: "Premere 1 per l'Ufficio Tributi...", then the caller's key.

The caller may press a key at any moment (barge-in): the prompt stops and the key counts. No key
within the menu's timeout, or a key that means nothing, and the options are said again; after
``retries`` repetitions the caller goes to the menu's fallback (the operator unless configured).
"""

from __future__ import annotations

from centralino.config.flows_schema import Destination

from . import sentences

EXTENSION_WAIT_S = 3.0  # between the keys of an extension number dialled from a menu


def option_pieces(flow, menu) -> list:
    """The sentences that list the options: "Premere 1 per l'Ufficio Anagrafe." ..."""
    return sentences.menu_sentences(flow.settings, menu)


def greeting_pieces(flow, menu) -> list:
    """The first menu of a call greets and names the comune (``greeting: none`` is silent); a
    ``greeting:`` key the comune recorded itself is played instead."""
    if menu.greeting == "none" or getattr(flow, "greeted", False):
        return []
    flow.greeted = True
    if menu.greeting and flow.host.phrases.own(menu.greeting):
        return [menu.greeting]
    return [sentences.greeting(flow.settings)]


async def run_menu(flow, menu) -> Destination:
    session = flow.session
    attempts = 0
    greeting = greeting_pieces(flow, menu)
    while True:
        key = await session.say(*greeting, *option_pieces(flow, menu), name=f"menu:{menu.name}")
        greeting = []
        if key is None:
            key = await session.get_key(menu.timeout_s)
        else:
            session.keys.popleft()
        if key is not None:
            flow.menu_path.append(key)
            if key == menu.operator_key:
                return Destination("operator", "")
            if key in menu.options:
                return menu.options[key]
            direct = await _direct_extension(flow, key)
            if direct is not None:
                return direct
        attempts += 1
        if attempts > menu.retries:
            flow.ctx.step("menu-fallback")
            return menu.fallback
        session.forget_keys()
        await session.say(sentences.invalid_choice(no_key=key is None), barge_in=True)


async def _direct_extension(flow, first: str) -> Destination | None:
    """An extension number keyed in a menu, only where the configuration allows outside callers to."""
    if not flow.rules.direct_dial or not first.isdigit():
        return None
    number = first + await flow.session.get_number(max(len(n) for n in flow.ctx.stations) - 1, EXTENSION_WAIT_S)
    if number in flow.ctx.stations:
        return Destination("extension", number)
    return None
