"""The web's local accounts: name, role, offices and an argon2 hash, in one JSON file.

Roles: ``admin`` (everything, the configuration and the accounts included), ``office`` (the
wallboard, tickets and segreteria of the offices listed for the account), ``readonly`` (every
page but the configuration and the accounts, and no change). There is no default password: at
the first start, with no accounts at all, ``admin`` is created with a random one-time password
that is printed once (on the serial console, through the unit's standard output) and must be
changed at the first login. The file is written whole to a temporary file, fsynced and renamed,
mode 0600, so a power cut leaves the old accounts or the new ones, never half of them.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ROLES = ("admin", "office", "readonly")
PERMISSIONS = {"view": ("admin", "office", "readonly"), "overview": ("admin", "readonly"),
               "change": ("admin", "office"), "configure": ("admin",)}
ROLE_LABELS = {"admin": "Amministratore", "office": "Personale d'ufficio", "readonly": "Sola lettura"}
NAME = re.compile(r"[a-z][a-z0-9._-]{0,31}")
PASSWORD_MIN = 10
ONE_TIME_BYTES = 12  # 16 URL-safe characters
FIRST_ADMIN = "admin"


def hasher() -> PasswordHasher:
    """argon2id with OWASP's parameters for small machines (19 MiB, 2 passes, 1 lane): about
    0.1 s on a Pi 4, and a login never takes 64 MiB out of the Pi 3's 1 GiB."""
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


# A hash computed once so that an unknown name costs the same time as a wrong password.
_DUMMY_HASH = hasher().hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A change the accounts do not allow; the message is for the administrator's page."""


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    password_hash: str
    offices: tuple[str, ...] = ()
    must_change: bool = False  # a one-time password: the next login must set a new one
    full_name: str = ""

    def may(self, what: str) -> bool:
        """What a role allows: ``view`` (its offices' pages), ``overview`` (status, calls, statistics),
        ``change`` (tickets, segreteria), ``configure`` (configuration, accounts, audit log)."""
        return self.role in PERMISSIONS.get(what, ())

    @property
    def home(self) -> str:
        return "/stato" if self.may("overview") else "/wallboard"

    def sees_office(self, office: str) -> bool:
        return self.role != "office" or office in self.offices

    def as_json(self) -> dict:
        data = asdict(self)
        data["offices"] = list(self.offices)
        return data


@dataclass
class AccountStore:
    path: Path
    hasher: PasswordHasher = field(default_factory=hasher)

    def __post_init__(self):
        self.path = Path(self.path)
        self._accounts: dict[str, Account] = self._read()

    @property
    def accounts(self) -> dict[str, Account]:
        """The accounts, read again when the file changed (``centralino web reset-password``)."""
        if self._mtime_ns != self._stat():
            self._accounts = self._read()
        return self._accounts

    def _stat(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def _read(self) -> dict[str, Account]:
        self._mtime_ns = self._stat()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            raise AccountError(f"{self.path}: cannot read the accounts ({err})") from None
        try:
            rows = [Account(**{**row, "offices": tuple(row.get("offices", ()))}) for row in data["accounts"]]
        except (KeyError, TypeError) as err:
            raise AccountError(f"{self.path}: not a centralino accounts file ({err})") from None
        return {row.name: row for row in rows}

    def _write(self) -> None:
        text = json.dumps({"accounts": [a.as_json() for a in self.accounts.values()]}, indent=1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=".accounts.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(partial, 0o600)
            os.replace(partial, self.path)
        except OSError:
            Path(partial).unlink(missing_ok=True)
            raise
        self._mtime_ns = self._stat()

    # -- first start
    def ensure_admin(self) -> str | None:
        """With no accounts at all, create ``admin`` with a one-time password and return it."""
        if self.accounts:
            return None
        password = secrets.token_urlsafe(ONE_TIME_BYTES)
        self.accounts[FIRST_ADMIN] = Account(FIRST_ADMIN, "admin", self.hasher.hash(password), must_change=True,
                                             full_name="Amministratore")
        self._write()
        return password

    def reset_password(self, name: str) -> str:
        """A new one-time password for ``name`` (the technician's way back in)."""
        account = self.get(name)
        password = secrets.token_urlsafe(ONE_TIME_BYTES)
        self.accounts[name] = replace(account, password_hash=self.hasher.hash(password), must_change=True)
        self._write()
        return password

    # -- checking
    def get(self, name: str) -> Account:
        try:
            return self.accounts[name]
        except KeyError:
            raise AccountError(f"nessun account '{name}'") from None

    def verify(self, name: str, password: str) -> Account | None:
        """The account when the password is right, else None (same cost either way)."""
        account = self.accounts.get(name)
        try:
            self.hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if account is None:
            return None
        if self.hasher.check_needs_rehash(account.password_hash):
            self.accounts[name] = account = replace(account, password_hash=self.hasher.hash(password))
            self._write()
        return account

    # -- changing
    @staticmethod
    def check_password(password: str, name: str) -> None:
        if len(password) < PASSWORD_MIN:
            raise AccountError(f"la password deve avere almeno {PASSWORD_MIN} caratteri")
        if password.lower() == name.lower():
            raise AccountError("la password non può essere il nome dell'account")

    def set_password(self, name: str, password: str) -> Account:
        account = self.get(name)
        self.check_password(password, name)
        if self.verify(name, password) is not None:
            raise AccountError("la nuova password deve essere diversa da quella attuale")
        self.accounts[name] = account = replace(account, password_hash=self.hasher.hash(password), must_change=False)
        self._write()
        return account

    def create(self, name: str, role: str, password: str, offices: tuple[str, ...] = (), full_name: str = "") -> Account:
        if not NAME.fullmatch(name):
            raise AccountError("nome account non valido: minuscole, cifre, . _ - (al massimo 32, inizia con una lettera)")
        if name in self.accounts:
            raise AccountError(f"l'account '{name}' esiste già")
        if role not in ROLES:
            raise AccountError(f"ruolo sconosciuto '{role}'")
        if role == "office" and not offices:
            raise AccountError("un account d'ufficio deve avere almeno un ufficio")
        self.check_password(password, name)
        account = Account(name, role, self.hasher.hash(password), tuple(offices) if role == "office" else (),
                          must_change=True, full_name=full_name.strip()[:80])
        self.accounts[name] = account
        self._write()
        return account

    def delete(self, name: str, by: str) -> None:
        account = self.get(name)
        if name == by:
            raise AccountError("non si può eliminare il proprio account")
        if account.role == "admin" and sum(a.role == "admin" for a in self.accounts.values()) == 1:
            raise AccountError("non si può eliminare l'ultimo amministratore")
        del self.accounts[name]
        self._write()
