"""Who may do what: digest authentication (RFC 2617 as SIP uses it), rate limits and bans.

The answers never tell an outsider which users exist: a request without credentials, with an
unknown user or with a wrong password all get the same 401 challenge with the realm. Failed
authentications are counted per source address; too many in the window ban the source for a
while, and a banned source's datagrams are dropped unread. Each refusal is logged once per
source and reason (a scan of thousands of requests makes one log line, not thousands); the
counts are in ``status()``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("centralino.sip.security")

NONCE_LIFETIME_S = 300.0
FAILED_AUTH_LIMIT = 5          # failed authentications from one source ...
FAILED_AUTH_WINDOW_S = 60.0    # ... within this long ...
BAN_S = 600.0                  # ... ban it this long
CHALLENGE_LIMIT = 300          # unauthenticated requests from one source within the window
CHALLENGE_WINDOW_S = 10.0
SOURCES_KEPT = 4096            # memory bound on the per-source tables
_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*("([^"\\]*(?:\\.[^"\\]*)*)"|[^\s,]+)')


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
    ha1 = md5_hex(f"{params.get('username', '')}:{realm}:{password}")
    ha2 = md5_hex(f"{method}:{params.get('uri', '')}")
    if params.get("qop"):
        return md5_hex(f"{ha1}:{params.get('nonce', '')}:{params.get('nc', '')}:{params.get('cnonce', '')}:"
                       f"{params['qop']}:{ha2}")
    return md5_hex(f"{ha1}:{params.get('nonce', '')}:{ha2}")


@dataclass
class _Source:
    failures: deque = field(default_factory=deque)
    challenges: deque = field(default_factory=deque)
    banned_until: float = 0.0
    logged: set = field(default_factory=set)


class Guard:
    """Digest challenges and checks, with per-source failure counting and bans."""

    def __init__(self, realm: str, clock: Callable[[], float], failed_limit: int = FAILED_AUTH_LIMIT,
                 window_s: float = FAILED_AUTH_WINDOW_S, ban_s: float = BAN_S,
                 challenge_limit: int = CHALLENGE_LIMIT, trusted: tuple[str, ...] = ()):
        self.realm = realm
        self.clock = clock
        self.failed_limit = failed_limit
        self.window_s = window_s
        self.ban_s = ban_s
        self.challenge_limit = challenge_limit
        self.trusted = set(trusted)  # never banned (the trunk's proxy)
        self._secret = secrets.token_bytes(16)
        self._sources: dict[str, _Source] = {}
        self.counts = {"challenged": 0, "authenticated": 0, "failed": 0, "banned": 0, "dropped": 0,
                       "malformed": 0, "refused": 0}

    # -- nonces: stateless, signed with a per-boot secret, valid NONCE_LIFETIME_S
    def nonce(self) -> str:
        stamp = f"{self.clock():.3f}"
        sig = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:16]
        return f"{stamp}-{sig}"

    def nonce_fresh(self, nonce: str) -> bool:
        stamp, _, sig = nonce.partition("-")
        good = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:16]
        try:
            age = self.clock() - float(stamp)
        except ValueError:
            return False
        return hmac.compare_digest(sig, good) and -1.0 <= age <= NONCE_LIFETIME_S

    def challenge_header(self) -> str:
        return f'Digest realm="{self.realm}", nonce="{self.nonce()}", algorithm=MD5'

    # -- checks
    def check(self, source: str, header: str | None, method: str, passwords: Callable[[str], str | None],
              expected_user: str | None = None) -> str | None:
        """The authenticated username, or None (then answer with a challenge).

        ``passwords(username)`` gives the password of a known user or None. An unknown user and a
        wrong password are both failures, counted alike."""
        params = parse_digest(header)
        if params is None:
            self._challenged(source)
            return None
        username = params.get("username", "")
        password = passwords(username)
        if params.get("realm") != self.realm or not self.nonce_fresh(params.get("nonce", "")):
            self._challenged(source)  # a stale or foreign nonce is not a guess: challenge again
            return None
        if password is None or (expected_user is not None and username != expected_user) or \
                not hmac.compare_digest(digest_response(params, method, password, self.realm),
                                        params.get("response", "").lower()):
            self.failed(source, username)
            return None
        self.counts["authenticated"] += 1
        return username

    def _challenged(self, source: str) -> None:
        self.counts["challenged"] += 1
        if source in self.trusted:
            return
        entry = self._entry(source)
        now = self.clock()
        entry.challenges.append(now)
        while entry.challenges and entry.challenges[0] < now - CHALLENGE_WINDOW_S:
            entry.challenges.popleft()
        if len(entry.challenges) > self.challenge_limit:
            self._ban(source, entry, f"more than {self.challenge_limit} unauthenticated requests "
                                     f"in {CHALLENGE_WINDOW_S:g} s")

    def failed(self, source: str, username: str) -> None:
        self.counts["failed"] += 1
        self.refused(source, "failed-auth", f"wrong credentials (user {username!r})")
        if source in self.trusted:
            return
        entry = self._entry(source)
        now = self.clock()
        entry.failures.append(now)
        while entry.failures and entry.failures[0] < now - self.window_s:
            entry.failures.popleft()
        if len(entry.failures) >= self.failed_limit:
            self._ban(source, entry, f"{len(entry.failures)} failed authentications in {self.window_s:g} s")

    def _ban(self, source: str, entry: _Source, why: str) -> None:
        entry.banned_until = self.clock() + self.ban_s
        entry.failures.clear()
        entry.challenges.clear()
        self.counts["banned"] += 1
        log.warning("SIP: %s banned for %.0f s: %s", source, self.ban_s, why)

    def banned(self, source: str) -> bool:
        entry = self._sources.get(source)
        if entry is None or entry.banned_until <= self.clock():
            return False
        self.counts["dropped"] += 1
        return True

    def refused(self, source: str, reason: str, detail: str) -> None:
        """Log a refusal the first time this source gets it for this reason; count every one."""
        if reason == "malformed":
            self.counts["malformed"] += 1
        else:
            self.counts["refused"] += 1
        entry = self._entry(source)
        if reason not in entry.logged:
            entry.logged.add(reason)
            log.warning("SIP: refused %s from %s: %s (further ones from it are counted, not logged)",
                        reason, source, detail)

    def _entry(self, source: str) -> _Source:
        entry = self._sources.get(source)
        if entry is None:
            if len(self._sources) >= SOURCES_KEPT:
                self._forget_idle()
            entry = self._sources[source] = _Source()
        return entry

    def _forget_idle(self) -> None:
        now = self.clock()
        for key in [k for k, v in self._sources.items() if v.banned_until <= now]:
            del self._sources[key]

    def status(self) -> dict:
        now = self.clock()
        return {**self.counts, "banned_sources": sorted(k for k, v in self._sources.items()
                                                        if v.banned_until > now)}
