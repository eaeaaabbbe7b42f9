"""Scaffolding for the voce guida's scenario tests: a citizen calling the voce guida's number and
ears that recognise the prompts they heard."""

from __future__ import annotations

from pathlib import Path

from centralino.config.schema import load_settings
from centralino.flows import sentences
from centralino.flows.speech import Speech
from centralino.hwsim.ears import PromptEars

from tests.engine.helpers import call_in

VOCE_GUIDA_LINE = "fxo3"  # the example comune's line whose calls the voce guida answers
EARS = PromptEars(Speech())  # prompt keys, word lists and whole sentences (flows/sentences.py)
EXAMPLE = load_settings(Path(__file__).resolve().parents[2] / "examples" / "comune.yaml")
GREETING = sentences.greeting(EXAMPLE)  # "Grazie per aver chiamato il Comune di Borgo Fiorito."
MENU = sentences.menu_sentences(EXAMPLE, EXAMPLE.menu("principale"))  # "Premere 1 per l'Ufficio Anagrafe." ...


async def call_voce_guida(s, number: str = "3331234567"):
    """A citizen calls the voce guida's number; returns once the voce guida has answered."""
    citizen = await call_in(s, number, line=VOCE_GUIDA_LINE)
    await s.until(lambda: citizen.call is not None and citizen.call.answered, "the voce guida answers")
    return citizen


async def press(s, party, keys: str, settle_s: float = 0.5):
    party.press(keys)
    await s.wait(settle_s)


def phrase(*pieces) -> list[str]:
    """Prompt keys of a phrase made of keys and word lists, in order."""
    keys: list[str] = []
    for piece in pieces:
        keys += [piece] if isinstance(piece, str) else EARS.phrase_keys(list(piece))
    return keys
