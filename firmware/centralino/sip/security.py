"""Who may do what: digest authentication (see ``digest``), rate limits and bans.

The answers never tell an outsider which users exist: a request without credentials, with an
unknown user or with a wrong password all get the same 401 challenge with the realm. Failed
authentications are counted per source address *and* user; too many in the window ban the source
for a while, and a banned source's datagrams are dropped unread. Two kinds of source are never
banned: the trunk's proxy (a forged datagram with its address must not cut the comune off the
network) and the address a phone is registered from. Nothing is lost by sparing them: a nonce
works only for the address it was sent to, and whoever forges that address never sees the
challenge, so guessing through a spoofed source cannot succeed. Each refusal is logged once per
source and reason (a scan of thousands of requests makes one log line, not thousands); the counts
are in ``status()``. Every table here is bounded.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .digest import DigestAuthority, Verdict, digest_response, parse_digest  # noqa: F401 (re-exported)

log = logging.getLogger("centralino.sip.security")

FAILED_AUTH_LIMIT = 5          # failed authentications from one source for one user ...
FAILED_AUTH_WINDOW_S = 60.0    # ... within this long ...
BAN_S = 600.0                  # ... ban the source this long
CHALLENGE_LIMIT = 300          # unauthenticated requests from one source within the window
CHALLENGE_WINDOW_S = 10.0
SOURCES_KEPT = 4096            # memory bound on the per-source tables
USERS_PER_SOURCE = 16          # memory bound on the per-user failure counts of one source
AUTHENTICATED_KEPT = 1024      # sources that have authenticated at least once

# verdicts that are someone trying credentials that are not theirs (counted towards a ban)
_FAILURES = {Verdict.WRONG_PASSWORD: "wrong credentials", Verdict.WRONG_USER: "credentials of another user",
             Verdict.WRONG_SOURCE: "a nonce issued to another address (replay)",
             Verdict.WRONG_URI: "a digest computed for another request-URI (replay)",
             Verdict.REPLAYED: "a nonce count already used (replay)",
             Verdict.BAD_PARAMS: "digest parameters we did not offer"}


@dataclass
class _Source:
    failures: dict = field(default_factory=dict)  # username -> deque of times
    challenges: deque = field(default_factory=deque)
    banned_until: float = 0.0
    logged: set = field(default_factory=set)


@dataclass(frozen=True)
class Outcome:
    """The result of ``Guard.check``: who authenticated (None: challenge again, stale or not)."""

    user: str | None
    stale: bool = False


class Guard:
    """Digest challenges and checks, with per-source and per-user failure counting and bans."""

    def __init__(self, realm: str, clock: Callable[[], float], failed_limit: int = FAILED_AUTH_LIMIT,
                 window_s: float = FAILED_AUTH_WINDOW_S, ban_s: float = BAN_S,
                 challenge_limit: int = CHALLENGE_LIMIT, trusted: tuple[str, ...] = (),
                 protected: Callable[[str], bool] = lambda source: False):
        self.realm = realm
        self.clock = clock
        self.failed_limit = failed_limit
        self.window_s = window_s
        self.ban_s = ban_s
        self.challenge_limit = challenge_limit
        self.trusted = set(trusted)  # never banned (the trunk's proxy)
        self.protected = protected   # never banned either (a registered phone's address)
        self.digest = DigestAuthority(realm, clock)
        self._sources: OrderedDict[str, _Source] = OrderedDict()
        self._authenticated: OrderedDict[str, None] = OrderedDict()
        self.counts = {"challenged": 0, "authenticated": 0, "failed": 0, "replayed": 0, "stale": 0,
                       "banned": 0, "dropped": 0, "malformed": 0, "refused": 0, "ban_spared": 0}

    def challenge_header(self, source: str, stale: bool = False) -> str:
        return self.digest.challenge(source, stale)

    def never_banned(self, source: str) -> bool:
        return source in self.trusted or self.protected(source)

    def has_authenticated(self, source: str) -> bool:
        """Whether this address has ever proved a password (it then gets full retransmissions)."""
        return source in self._authenticated or source in self.trusted

    # -- checks
    def check(self, source: str, header: str | None, method: str, request_uri: str,
              passwords: Callable[[str], str | None], expected_user: str | None = None,
              canonical: Callable[[str], str | None] = lambda uri: uri) -> Outcome:
        """Who sent this request, proven by its Authorization header; else whom to challenge.

        ``passwords(username)`` gives the password of a known user or None. An unknown user and a
        wrong password are both failures, counted alike, and so is every kind of replay."""
        params = parse_digest(header)
        verdict = self.digest.check(source, params, method, request_uri, passwords, expected_user, canonical)
        if verdict is Verdict.OK:
            self.counts["authenticated"] += 1
            self._authenticated[source] = None
            self._authenticated.move_to_end(source)
            while len(self._authenticated) > AUTHENTICATED_KEPT:
                self._authenticated.popitem(last=False)
            return Outcome(params.get("username", ""))
        if verdict is Verdict.STALE:
            self.counts["stale"] += 1
            return Outcome(None, stale=True)
        if verdict in (Verdict.NONE, Verdict.UNKNOWN_NONCE):
            self._challenged(source)  # no credentials or a forgotten nonce: not a guess
            return Outcome(None)
        if verdict in (Verdict.WRONG_SOURCE, Verdict.WRONG_URI, Verdict.REPLAYED):
            self.counts["replayed"] += 1
        self.failed(source, (params or {}).get("username", ""), _FAILURES[verdict])
        return Outcome(None)

    def _challenged(self, source: str) -> None:
        self.counts["challenged"] += 1
        entry = self._entry(source)
        now = self.clock()
        entry.challenges.append(now)
        while entry.challenges and entry.challenges[0] < now - CHALLENGE_WINDOW_S:
            entry.challenges.popleft()
        if len(entry.challenges) > self.challenge_limit:
            self._ban(source, entry, f"more than {self.challenge_limit} unauthenticated requests "
                                     f"in {CHALLENGE_WINDOW_S:g} s")

    def failed(self, source: str, username: str, why: str = "wrong credentials") -> None:
        self.counts["failed"] += 1
        self.refused(source, "failed-auth", f"{why} (user {username!r})")
        entry = self._entry(source)
        now = self.clock()
        times = entry.failures.get(username)
        if times is None:
            if len(entry.failures) >= USERS_PER_SOURCE:
                entry.failures.pop(next(iter(entry.failures)))
            times = entry.failures[username] = deque()
        times.append(now)
        while times and times[0] < now - self.window_s:
            times.popleft()
        if len(times) >= self.failed_limit:
            times.clear()
            self._ban(source, entry, f"{self.failed_limit} failed authentications for user {username!r} "
                                     f"in {self.window_s:g} s")

    def _ban(self, source: str, entry: _Source, why: str) -> None:
        entry.failures.clear()
        entry.challenges.clear()
        if self.never_banned(source):
            self.counts["ban_spared"] += 1
            if "ban-spared" not in entry.logged:
                entry.logged.add("ban-spared")
                log.warning("SIP: not banning %s, the trunk's or a registered phone's address (a forged "
                            "source cannot authenticate): %s", source, why)
            return
        entry.banned_until = self.clock() + self.ban_s
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
        """Make room: sources not banned go first, then the oldest (the table stays bounded)."""
        now = self.clock()
        for key in [k for k, v in self._sources.items() if v.banned_until <= now]:
            del self._sources[key]
        while len(self._sources) >= SOURCES_KEPT:
            self._sources.popitem(last=False)

    def sizes(self) -> dict:
        """How many entries each table holds (to show they stay bounded)."""
        return {"sources": len(self._sources), "nonces": len(self.digest),
                "authenticated": len(self._authenticated)}

    def status(self) -> dict:
        now = self.clock()
        return {**self.counts, "banned_sources": sorted(k for k, v in self._sources.items()
                                                        if v.banned_until > now), "tables": self.sizes()}
