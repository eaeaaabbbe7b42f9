"""The registrar for the operators' desk phones: where each extension's phone can be reached.

A phone proves who it is with digest authentication (its own username and password, see
``security.Guard``) and registers the address it sent from; calls to its extension go there until
the registration expires. The bindings are kept in memory: phones re-register every few minutes, so
after a restart they are back within one period.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

MIN_EXPIRES_S = 60
MAX_EXPIRES_S = 3600
DEFAULT_EXPIRES_S = 600
_EXPIRES_PARAM = re.compile(r";\s*expires\s*=\s*(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Binding:
    username: str
    contact: str
    address: tuple[str, int]  # the Contact's address: where its calls are sent
    expires_at_s: float
    source_host: str = ""     # where the REGISTER came from


def requested_expiry(contact_header: str | None, expires_header: str | None) -> int:
    """The expiry the phone asked for: the Contact's expires parameter, else Expires, else default."""
    if contact_header:
        match = _EXPIRES_PARAM.search(contact_header)
        if match:
            return int(match.group(1))
    if expires_header and expires_header.strip().isdigit():
        return int(expires_header.strip())
    return DEFAULT_EXPIRES_S


class Registrar:
    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self._bindings: dict[str, Binding] = {}

    def register(self, username: str, contact: str, address: tuple[str, int], expires_s: int,
                 source_host: str = "") -> int:
        """Bind (or with 0, unbind) ``username``; returns the expiry granted in seconds."""
        if expires_s == 0 or contact.strip() == "*":
            self._bindings.pop(username, None)
            return 0
        granted = max(MIN_EXPIRES_S, min(MAX_EXPIRES_S, expires_s))
        self._bindings[username] = Binding(username, contact, address, self.clock() + granted, source_host)
        return granted

    def lookup(self, username: str) -> Binding | None:
        binding = self._bindings.get(username)
        if binding is not None and binding.expires_at_s <= self.clock():
            self._bindings.pop(username, None)  # read from the loop too: never a KeyError
            return None
        return binding

    def is_bound_host(self, host: str) -> bool:
        """Whether a current registration was made from ``host`` (such an address is never banned)."""
        now = self.clock()
        return any(b.source_host == host for b in list(self._bindings.values())
                   if b.expires_at_s > now)

    def registered(self) -> list[str]:
        return sorted(u for u in list(self._bindings) if self.lookup(u) is not None)

    def status(self) -> dict:
        now = self.clock()
        return {u: {"address": f"{b.address[0]}:{b.address[1]}", "expires_in_s": round(b.expires_at_s - now)}
                for u, b in list(self._bindings.items()) if b.expires_at_s > now}
