"""What centralino answers to a SIP request that belongs to no dialog yet. Runs on the SIP thread.

- REGISTER: the registrar, for the desk phones, after digest authentication.
- INVITE from the trunk's proxy: a call from outside by DID, on a free line appearance.
- INVITE from anywhere else: a desk phone calling, after digest authentication; without it the
  caller gets a 401 like everybody else, so no call (and no outside call) leaves unauthenticated.
- OPTIONS: 200 to all (it says nothing about users).
- anything else: 481 inside a dialog we do not know, else 405.

An INVITE to an emergency number is no exception: it comes from the comune's own phones, which
authenticate; an unauthenticated one from an unknown source is challenged like any other (see
README, "SIP"). New INVITEs beyond what the stack can set up get 503 (``overload``).
"""

from __future__ import annotations

import logging
import socket
import time

from . import wire
from .overload import Admission
from .registrar import Registrar, requested_expiry
from .security import Guard

log = logging.getLogger("centralino.sip")


class SipCore:
    def __init__(self, stack, sip_config, lines, phones, clock=time.monotonic, emergency_numbers=()):
        """``lines``: the trunk's line channels; ``phones``: username -> phone channel."""
        self.stack = stack
        self.config = sip_config
        self.lines = lines
        self.phones = phones
        self.clock = clock
        self.passwords = {p.username: p.password for p in sip_config.phones}
        self.trunk = None
        self.trunk_source: tuple[str, int] | None = None
        trusted: tuple[str, ...] = ()
        if sip_config.trunk is not None:
            from .trunk import Trunk

            self.trunk = Trunk(stack, sip_config.trunk, clock)
            host = _resolve(sip_config.trunk.proxy_host)
            self.trunk_source = (host, sip_config.trunk.proxy_port)
            trusted = (host,)
        self.registrar = Registrar(clock)
        self.guard = Guard(sip_config.realm, clock, failed_limit=sip_config.failed_auth_limit,
                           ban_s=sip_config.ban_s, trusted=trusted, protected=self.registrar.is_bound_host)
        self.admission = Admission(clock, sip_config.max_setups_per_s)
        self.emergency_numbers = frozenset(emergency_numbers)

    def is_emergency(self, number: str) -> bool:
        return number in self.emergency_numbers

    def has_authenticated(self, host: str) -> bool:
        return self.guard.has_authenticated(host)

    # -- hooks from the stack
    def started(self) -> None:
        if self.trunk is not None:
            self.trunk.start()

    def stopped(self) -> None:
        if self.trunk is not None:
            self.trunk.stop()

    def dropped(self, source: str) -> bool:
        return self.guard.banned(source)

    def refused(self, source: str, reason: str, detail: str) -> None:
        self.guard.refused(source, reason, detail)

    # -- requests
    def recv_request(self, req, sip_t):
        method = req.getMethod()
        if req.getHFBody("to").getTag() is not None:
            return wire.response(req, 481, "Call/Transaction Does Not Exist")
        if method == "OPTIONS":
            return wire.response(req, 200, "OK", (("allow", wire.ALLOW), ("accept", "application/sdp")))
        if method == "REGISTER":
            return self._register(req)
        if method == "INVITE":
            return self._invite(req, sip_t)
        if method in ("BYE", "INFO", "UPDATE", "PRACK"):
            return wire.response(req, 481, "Call/Transaction Does Not Exist")
        return wire.response(req, 405, "Method Not Allowed", (("allow", wire.ALLOW),))

    def _challenge(self, req, stale: bool = False):
        header = self.guard.challenge_header(wire.source_of(req)[0], stale)
        return wire.response(req, 401, "Unauthorized", (("www-authenticate", header),))

    def _authenticate(self, req, method: str, expected_user: str | None = None):
        """The authenticated user, or the 401 to answer with (a tuple)."""
        outcome = self.guard.check(wire.source_of(req)[0], wire.header_text(req, "authorization"), method,
                                   wire.request_uri(req), self.passwords.get, expected_user=expected_user,
                                   canonical=wire.canonical_uri)
        return outcome.user if outcome.user is not None else self._challenge(req, outcome.stale)

    def _register(self, req):
        source = wire.source_of(req)
        to_user = req.getHFBody("to").getUrl().username or ""
        user = self._authenticate(req, "REGISTER", expected_user=to_user)
        if not isinstance(user, str):
            return user
        contact = wire.header_text(req, "contact")
        if contact is None:  # a query: the current binding
            binding = self.registrar.lookup(user)
            headers = (("contact", f"{binding.contact};expires={round(binding.expires_at_s - self.clock())}"),) \
                if binding else ()
            return wire.response(req, 200, "OK", headers)
        uri = contact.split(";")[0] if not contact.startswith("<") else contact[:contact.index(">") + 1]
        address = wire.contact_address(req) or source  # RFC 3261: calls go to the Contact
        granted = self.registrar.register(user, uri, address, requested_expiry(contact, wire.header_text(req, "expires")),
                                          source_host=source[0])
        headers = (("contact", f"{uri};expires={granted}"),) if granted else ()
        return wire.response(req, 200, "OK", headers + (("expires", str(granted)),))

    def _invite(self, req, sip_t):
        source = wire.source_of(req)
        if self.trunk_source is not None and source == self.trunk_source:
            channel = self.lines.claim()
            if channel is None:
                return wire.response(req, 486, "Busy Here")
            return wire.Leg(self.stack, channel.on_leg).accept(req, sip_t)
        user = self._authenticate(req, "INVITE")
        if not isinstance(user, str):
            return user
        phone = self.phones.get(user)
        if phone is None or not phone.claim():
            return wire.response(req, 486, "Busy Here")
        return wire.Leg(self.stack, phone.on_leg).accept(req, sip_t)

    # -- calls we place (called through stack.in_sip)
    def call_phone(self, leg, username: str, caller: str, name: str, sdp: str) -> None:
        binding = self.registrar.lookup(username)
        if binding is None:
            leg.ended = True
            self.stack.to_loop(leg.sink, leg, "ended", 480)
            return
        leg.invite(binding.address, username, caller, name, sdp)

    def call_trunk(self, leg, number: str, sdp: str) -> None:
        trunk = self.config.trunk
        leg.invite((trunk.proxy_host, trunk.proxy_port), number, trunk.username or "centralino", "", sdp,
                   trunk.username, trunk.password)

    def status(self) -> dict:
        return {"security": self.guard.status(), "overload": self.admission.status(),
                "registered": self.registrar.status(),
                "trunk": self.trunk.status() if self.trunk else None}


def _resolve(host: str) -> str:
    try:
        return socket.gethostbyname(host)
    except OSError:
        return host
