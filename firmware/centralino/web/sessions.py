"""Signed sessions and the CSRF token every form carries.

A session lives in the web process (a restart logs everyone out, which on a switchboard is
acceptable); the browser holds only its random id, signed with the service's secret key
(itsdangerous), in a ``Secure; HttpOnly; SameSite=Strict`` cookie. A forged or altered cookie
fails the signature and is treated as no session. Each session has its own CSRF token, sent in a
hidden field of every form (or the ``X-CSRF-Token`` header) and compared in constant time on
every POST; the login form gets an anonymous session first, and a successful login replaces it
with a new id, so a session id seen before login is worth nothing after it.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from itsdangerous import BadSignature, Signer

COOKIE = "centralino_sessione"
IDLE_S = 30 * 60  # an idle session ends after half an hour
ABSOLUTE_S = 12 * 3600  # a working day, then log in again
SECRET_BYTES = 32


@dataclass
class Session:
    id: str
    csrf: str
    account: str | None = None
    created_s: float = field(default_factory=time.time)
    seen_s: float = field(default_factory=time.time)
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, text) for the next page

    def note(self, kind: str, text: str) -> None:
        self.flash.append((kind, text))

    def take_flash(self) -> list[tuple[str, str]]:
        out, self.flash = self.flash, []
        return out


def load_secret(path: Path) -> bytes:
    """The signing key: made at the first start (mode 0600) and kept, so restarts keep it."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    secret = secrets.token_bytes(SECRET_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret)
    return secret


class SessionStore:
    def __init__(self, secret: bytes, clock=time.time):
        self.signer = Signer(secret, salt="centralino-web-session")
        self.clock = clock
        self.sessions: dict[str, Session] = {}

    def new(self, account: str | None = None) -> Session:
        self._expire()
        session = Session(secrets.token_urlsafe(24), secrets.token_urlsafe(24), account,
                          created_s=self.clock(), seen_s=self.clock())
        self.sessions[session.id] = session
        return session

    def cookie_value(self, session: Session) -> str:
        return self.signer.sign(session.id).decode()

    def from_cookie(self, value: str | None) -> Session | None:
        """The live session a cookie names, or None (missing, forged, expired)."""
        if not value:
            return None
        try:
            session_id = self.signer.unsign(value).decode()
        except (BadSignature, UnicodeDecodeError):
            return None
        session = self.sessions.get(session_id)
        if session is None:
            return None
        now = self.clock()
        if now - session.seen_s > IDLE_S or now - session.created_s > ABSOLUTE_S:
            self.sessions.pop(session.id, None)
            return None
        session.seen_s = now
        return session

    def login(self, old: Session | None, account: str) -> Session:
        """A fresh session for ``account``; the anonymous one is dropped."""
        if old is not None:
            self.sessions.pop(old.id, None)
        return self.new(account)

    def end(self, session: Session) -> None:
        self.sessions.pop(session.id, None)

    def end_account(self, account: str) -> None:
        """Log an account out everywhere (its password changed or it was deleted)."""
        for sid in [s.id for s in self.sessions.values() if s.account == account]:
            self.sessions.pop(sid, None)

    def _expire(self) -> None:
        now = self.clock()
        for sid in [s.id for s in self.sessions.values()
                    if now - s.seen_s > IDLE_S or now - s.created_s > ABSOLUTE_S]:
            self.sessions.pop(sid, None)


def csrf_ok(session: Session | None, token: str | None) -> bool:
    return bool(session and token) and hmac.compare_digest(session.csrf, token)
