"""Digest authentication as SIP uses it (RFC 2617 / RFC 3261 section 22), with nonces that can be
used only by whom they were given to, only for the request they were computed for, and only once.

A nonce is 128 random bits (it reveals nothing: no clock, no counter) remembered with the address
it was sent to and the highest ``nc`` seen with it. A credential is accepted only when

- its nonce is one of ours, still fresh, and was issued to the same source address;
- its ``uri`` is the request-URI of the request carrying it (a digest computed for ``sip:201`` is
  not one for ``sip:112``);
- with ``qop=auth``: its ``nc`` is higher than any seen with that nonce and a ``cnonce`` is given;
  without qop (RFC 2069 clients): the nonce has not been used before;
- the response matches the user's password.

A nonce that has expired with an otherwise correct response gets ``stale=true``, so a phone
re-authenticates silently instead of asking its user for a password. The table is bounded (oldest
forgotten first, and a few per source), so a flood of requests cannot grow memory.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

NONCE_LIFETIME_S = 300.0
NONCES_KEPT = 4096        # all sources together
NONCES_PER_SOURCE = 8     # outstanding challenges one address can hold
_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*("([^"\\]*(?:\\.[^"\\]*)*)"|[^\s,]+)')
_NC = re.compile(r"[0-9a-fA-F]{8}")


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def parse_digest(header: str | None) -> dict[str, str] | None:
    """The parameters of a ``Digest ...`` credentials header; None when it is not one."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    params = {}
    for match in _PARAM.finditer(rest):
        value = match.group(3) if match.group(3) is not None else match.group(2)
        params[match.group(1).lower()] = value
    return params


def digest_response(params: dict[str, str], method: str, password: str, realm: str) -> str:
    """The response a client with ``password`` computes for these parameters."""
    ha1 = md5_hex(f"{params.get('username', '')}:{realm}:{password}")
    ha2 = md5_hex(f"{method}:{params.get('uri', '')}")
    if params.get("qop"):
        return md5_hex(f"{ha1}:{params.get('nonce', '')}:{params.get('nc', '')}:{params.get('cnonce', '')}:"
                       f"{params['qop']}:{ha2}")
    return md5_hex(f"{ha1}:{params.get('nonce', '')}:{ha2}")


class Verdict(Enum):
    """What a credential is worth; the caller answers and counts accordingly."""

    OK = "ok"
    NONE = "none"            # no credentials, or not for our realm: challenge
    UNKNOWN_NONCE = "unknown-nonce"  # not ours, or forgotten: challenge (not a guess)
    STALE = "stale"          # ours, expired, response right: challenge with stale=true
    WRONG_SOURCE = "wrong-source"    # a nonce issued to another address: a replay
    WRONG_URI = "wrong-uri"  # computed for another request-URI: a replay
    REPLAYED = "replayed"    # nc not higher than before / no-qop nonce used twice
    BAD_PARAMS = "bad-params"  # qop other than auth, malformed nc, missing cnonce
    WRONG_USER = "wrong-user"  # REGISTER for another user than it authenticates as
    WRONG_PASSWORD = "wrong-password"  # unknown user or wrong password (alike)


@dataclass
class _Nonce:
    source: str
    issued_s: float
    highest_nc: int = 0  # 0: never used


class DigestAuthority:
    """Issues challenges and checks credentials against them."""

    def __init__(self, realm: str, clock: Callable[[], float], lifetime_s: float = NONCE_LIFETIME_S,
                 kept: int = NONCES_KEPT, per_source: int = NONCES_PER_SOURCE):
        self.realm = realm
        self.clock = clock
        self.lifetime_s = lifetime_s
        self.kept = kept
        self.per_source = per_source
        self._nonces: OrderedDict[str, _Nonce] = OrderedDict()
        self._per_source: dict[str, list[str]] = {}

    def challenge(self, source: str, stale: bool = False) -> str:
        """A WWW-Authenticate value with a fresh nonce bound to ``source``."""
        nonce = secrets.token_hex(16)
        self._remember(nonce, _Nonce(source, self.clock()))
        return (f'Digest realm="{self.realm}", nonce="{nonce}", qop="auth", algorithm=MD5'
                + (", stale=true" if stale else ""))

    def _remember(self, nonce: str, entry: _Nonce) -> None:
        mine = self._per_source.setdefault(entry.source, [])
        mine.append(nonce)
        while len(mine) > self.per_source:
            self._forget(mine[0])
        self._nonces[nonce] = entry
        while len(self._nonces) > self.kept:
            self._forget(next(iter(self._nonces)))

    def _forget(self, nonce: str) -> None:
        entry = self._nonces.pop(nonce, None)
        source = entry.source if entry is not None else None
        mine = self._per_source.get(source)
        if mine is not None:
            if nonce in mine:
                mine.remove(nonce)
            if not mine:
                del self._per_source[source]

    def check(self, source: str, params: dict[str, str] | None, method: str, request_uri: str,
              password_of: Callable[[str], str | None], expected_user: str | None = None,
              canonical: Callable[[str], str | None] = lambda uri: uri) -> Verdict:
        """How good these credentials are for this request. ``canonical`` gives a URI's one
        spelling (None when it is no URI), so ``uri`` and the request-URI compare as URIs."""
        if params is None or params.get("realm") != self.realm:
            return Verdict.NONE
        entry = self._nonces.get(params.get("nonce", ""))
        if entry is None:
            return Verdict.UNKNOWN_NONCE
        if entry.source != source:
            return Verdict.WRONG_SOURCE
        if canonical(params.get("uri", "")) != canonical(request_uri):
            return Verdict.WRONG_URI
        qop = params.get("qop")
        nc = 0
        if qop is not None:
            nc_text = params.get("nc", "")
            if qop != "auth" or not _NC.fullmatch(nc_text) or not params.get("cnonce"):
                return Verdict.BAD_PARAMS
            nc = int(nc_text, 16)
            if nc <= entry.highest_nc:
                return Verdict.REPLAYED
        elif entry.highest_nc:
            return Verdict.REPLAYED
        username = params.get("username", "")
        if expected_user is not None and username != expected_user:
            return Verdict.WRONG_USER
        password = password_of(username)
        if password is None or not hmac.compare_digest(
                digest_response(params, method, password, self.realm), params.get("response", "").lower()):
            return Verdict.WRONG_PASSWORD
        if self.clock() - entry.issued_s > self.lifetime_s:
            self._forget(params["nonce"])
            return Verdict.STALE
        entry.highest_nc = nc if qop is not None else 2 ** 32  # without qop: used up
        return Verdict.OK

    def __len__(self) -> int:
        return len(self._nonces)
