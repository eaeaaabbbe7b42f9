"""What a string of dialled digits means: an extension, a group, an outside or emergency number,
a feature code, not yet complete, or nothing at all.

Numbers are matched as soon as they are unambiguous, so a caller does not wait for the
inter-digit timeout after dialling an extension; outside numbers have no fixed length in Italy
and end with the timeout or with ``#``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Match:
    kind: str  # extension, group, outside, trunk, emergency, pickup, feature, partial, invalid
    target: str = ""  # extension number, group name, or outside number (without the prefix)
    complete: bool = True


class Dialplan:
    def __init__(self, extensions: dict[str, object], groups: dict[str, str], outside_prefix: str,
                 emergency_numbers: tuple[str, ...], pickup_code: str, features: dict[str, str] | None = None,
                 trunk_prefix: str | None = None):
        self.extensions = extensions  # number -> extension
        self.groups = groups  # dialable number -> group name
        self.outside_prefix = outside_prefix
        self.emergency = tuple(emergency_numbers)
        self.pickup = pickup_code
        self.features = dict(features or {})  # code -> feature name ("*61" -> "login")
        self.trunk_prefix = trunk_prefix  # outside numbers through the SIP trunk ("9" + number)
        self._internal = {**{n: ("extension", n) for n in extensions},
                          **{n: ("group", g) for n, g in groups.items()}}

    def classify(self, digits: str, timed_out: bool = False) -> Match:
        ended = timed_out or digits.endswith("#")
        digits = digits.rstrip("#")
        if digits in self.emergency:
            return Match("emergency", digits)
        if digits in self.features:
            return Match("feature", self.features[digits])
        if any(code.startswith(digits) for code in self.features) and not ended \
                and not self.pickup.startswith(digits):
            return Match("partial", complete=False)
        if self.pickup.startswith(digits) and digits != self.pickup and not ended:
            return Match("partial", complete=False)
        if digits.startswith(self.pickup):
            rest = digits[len(self.pickup):]
            if rest == "" and not ended:
                return Match("partial", complete=False)
            if rest == "" or rest in self.extensions:
                return Match("pickup", rest)
            return self._partial_or_invalid(rest, set(self.extensions), ended)
        for kind, prefix in (("trunk", self.trunk_prefix), ("outside", self.outside_prefix)):
            if prefix and digits.startswith(prefix):
                return self._outside(kind, digits[len(prefix):], ended)
        if digits in self._internal:
            kind, target = self._internal[digits]
            longer = any(n != digits and n.startswith(digits) for n in self._internal)
            if not longer or ended:
                return Match(kind, target)
        if any(e.startswith(digits) for e in self.emergency) and not ended:
            return Match("partial", complete=False)
        return self._partial_or_invalid(digits, set(self._internal), ended)

    def _outside(self, kind: str, number: str, ended: bool) -> Match:
        """A number after the outside (or trunk) prefix: emergency numbers keep their meaning."""
        if number in self.emergency:
            return Match("emergency", number)
        if not ended or not number:
            return Match("partial", complete=False) if not ended else Match("invalid")
        return Match(kind, number)

    @staticmethod
    def _partial_or_invalid(digits: str, known: set[str], ended: bool) -> Match:
        if not ended and any(n.startswith(digits) for n in known):
            return Match("partial", complete=False)
        return Match("invalid")
