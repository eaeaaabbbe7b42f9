"""The ``mail:`` section: the SMTP server that carries voicemails and callback requests to offices.

Example::

    mail:
      smtp_host: smtp.comune.example.it
      smtp_port: 587            # default: 587 with starttls, 465 with tls, 25 with none
      security: starttls        # starttls (default) | tls | none
      username: centralino@comune.example.it
      password: "..."
      sender: "Centralino <centralino@comune.example.it>"
      timeout_s: 20             # default

Addresses are checked here, once, so a typo in an office's address is a configuration error on
load and not a mail that silently never arrives. Only ASCII addresses are accepted: every mail
server takes them, without the SMTPUTF8 extension.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr

from .loader import ConfigError, ConfigNode, Origin

SECURITIES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
HOST = r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?"
ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def check_address(text: str) -> str:
    """``"Name <a@b.it>"`` or ``"a@b.it"``, returned normalised; ValueError saying why otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{text!r} is not an e-mail address (expected e.g. anagrafe@comune.example.it)")
    name, address = parseaddr(text.strip())
    if not address or not ADDRESS.fullmatch(address) or ".." in address:
        raise ValueError(f"'{text}' is not an e-mail address (expected e.g. anagrafe@comune.example.it)")
    return formataddr((name, address)) if name else address


def bare_address(text: str) -> str:
    """The ``a@b.it`` part of a checked address (what the SMTP envelope carries)."""
    return parseaddr(check_address(text))[1]


def get_address(node: ConfigNode, key: str, default=...) -> str | None:
    """Read an e-mail address from a config section; the error names file, line and key."""
    text = node.get_str(key) if default is ... else node.get_str(key, default)
    if text is None:
        return None
    try:
        return check_address(text)
    except ValueError as err:
        raise node.key_error(key, str(err)) from None


@dataclass(frozen=True)
class Mail:
    smtp_host: str
    smtp_port: int
    security: str
    username: str | None
    password: str | None = field(repr=False)  # never in a log line
    sender: str
    timeout_s: float
    origin: Origin = field(default=None, compare=False, repr=False)

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Mail":
        security = node.get_choice("security", SECURITIES, "starttls")
        username = node.get_str("username", None)
        password = node.get_str("password", None)
        if (username is None) != (password is None):
            given, missing = ("username", "password") if password is None else ("password", "username")
            raise ConfigError(node.path, node.key_line(given), f"{node.key}.{missing}",
                              f"'{given}' is given without '{missing}' (expected both, or neither "
                              "for a server that needs no login)")
        return cls(smtp_host=node.get_str("smtp_host", pattern=HOST, expected="a host name or address"),
                   smtp_port=node.get_int("smtp_port", DEFAULT_PORTS[security], minval=1, maxval=65535),
                   security=security, username=username, password=password,
                   sender=get_address(node, "sender"),
                   timeout_s=node.get_float("timeout_s", 20.0, minval=1.0, maxval=300.0),
                   origin=node.origin())
