"""Retention: the one rule for masking a citizen's telephone number after the retention period.

Call records and callback tickets keep the caller's number while it is useful (calling back,
answering a complaint) and only its first digits afterwards: enough for statistics by area or
operator (``055`` Firenze, ``333`` a mobile), not enough to identify anyone. One function, so the
records and the tickets can never drift into two rules.
"""

from __future__ import annotations

KEPT_DIGITS = 3
MASK_CHAR = "x"


def mask_number(number: str) -> str:
    """``"3331234567"`` -> ``"333xxxxxxx"``; a leading ``+`` and the first 3 digits are kept.

    Every later character becomes ``x`` (the length stays, so an operator still sees a mobile from
    a landline); an empty or already masked number is returned unchanged.
    """
    number = number or ""
    prefix = "+" if number.startswith("+") else ""
    body = number[len(prefix):]
    return prefix + body[:KEPT_DIGITS] + MASK_CHAR * len(body[KEPT_DIGITS:])

