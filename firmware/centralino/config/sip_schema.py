"""The ``sip:`` section: where centralino listens, its trunk to the municipal PBX, its desk phones.

    sip:
      listen: 0.0.0.0            # default; the address SIP and RTP bind to
      address: 192.168.1.20      # the address peers reach us at (default: listen, unless 0.0.0.0)
      port: 5060                 # default
      realm: centralino          # default; the digest realm phones authenticate in
      max_setups_per_s: 200      # default; new calls beyond this rate get 503 with Retry-After
      trunk:                     # optional: the municipal PBX or provider
        proxy: "pbx.comune.it:5060"
        register: true           # default
        username: "0558450100"
        password: "..."
        expires_s: 300           # default; re-registered at half of what the registrar grants
        keepalive_s: 30          # default; OPTIONS every this long, the trunk's health (0: none)
        channels: 4              # default; calls at once through the trunk
        outbound_prefix: "9"     # optional: 9 + number leaves through the trunk
        default_route: operator  # default: where a DID without a route goes
        routes: {"0558450200": "201", "0558450210": anagrafe}
      phones:                    # operators' SIP desk phones, each an extension's "port"
        - {port: sip210, username: "210", password: "..."}

An extension whose phone is a SIP phone names the phone's port: ``{number: "210", port: sip210,
name: ...}``. ``check_sip(settings)`` checks those references from ``_cross_check``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .loader import ConfigError, ConfigNode, Origin

SIP_PORT_NAME = r"sip[a-z0-9_-]{1,20}"
USERNAME = r"[A-Za-z0-9._+-]{1,64}"
HOST = r"[A-Za-z0-9.:-]{1,253}"
DID = r"\+?[0-9]{2,20}"


def _origin():
    return field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class SipPhone:
    port: str
    username: str
    password: str
    origin: Origin = _origin()

    @classmethod
    def from_node(cls, node: ConfigNode) -> "SipPhone":
        password = node.get_str("password")
        if len(password) < 8:
            raise node.error("a phone's password needs at least 8 characters (it guards outside calls)",
                             key=f"{node.key}.password")
        return cls(port=node.get_str("port", pattern=SIP_PORT_NAME, expected="sip followed by a name, e.g. sip210"),
                   username=node.get_str("username", pattern=USERNAME, expected="letters, digits, . _ + -"),
                   password=password, origin=node.origin())


@dataclass(frozen=True)
class SipTrunk:
    proxy_host: str
    proxy_port: int
    register: bool
    username: str | None
    password: str | None
    expires_s: int
    keepalive_s: float
    channels: int
    outbound_prefix: str | None
    default_route: str
    routes: dict[str, str] = field(default_factory=dict)
    origin: Origin = _origin()

    @classmethod
    def from_node(cls, node: ConfigNode) -> "SipTrunk":
        proxy = node.get_str("proxy", pattern=HOST + r"(:[0-9]{1,5})?", expected="host or host:port")
        host, _, port = proxy.rpartition(":") if proxy.count(":") == 1 else (proxy, "", "")
        port_number = int(port) if port else 5060
        if not 1 <= port_number <= 65535:
            raise node.error(f"port {port_number} is not a UDP port (1..65535)", key=f"{node.key}.proxy")
        register = node.get_bool("register", True)
        username = node.get_str("username", None, pattern=USERNAME, expected="letters, digits, . _ + -")
        password = node.get_str("password", None)
        if register and (username is None or password is None):
            raise node.error("registering needs username and password (or register: false)", key=f"{node.key}.username")
        routes: dict[str, str] = {}
        section = node.get_section("routes", None)
        if section is not None:
            for did in section.keys():
                if not _matches(DID, did):
                    raise ConfigError(section.path, section.key_line(did), f"{section.key}.{did}",
                                      f"'{did}' is not a DID (expected digits, optionally after +)")
                routes[did] = section.get_str(did)
        return cls(proxy_host=host or proxy, proxy_port=port_number, register=register, username=username,
                   password=password, expires_s=node.get_int("expires_s", 300, minval=60, maxval=3600),
                   keepalive_s=_keepalive(node),
                   channels=node.get_int("channels", 4, minval=1, maxval=64),
                   outbound_prefix=node.get_str("outbound_prefix", None, pattern=r"[0-9]{1,3}",
                                                expected="1 to 3 digits"),
                   default_route=node.get_str("default_route", "operator"), routes=routes, origin=node.origin())


@dataclass(frozen=True)
class Sip:
    listen: str
    address: str
    port: int
    realm: str
    trunk: SipTrunk | None
    phones: tuple[SipPhone, ...]
    failed_auth_limit: int = 5
    ban_s: float = 600.0
    max_setups_per_s: int = 200
    origin: Origin = _origin()

    @classmethod
    def from_node(cls, node: ConfigNode) -> "Sip":
        listen = node.get_str("listen", "0.0.0.0", pattern=HOST, expected="an IP address")
        address = node.get_str("address", None, pattern=HOST, expected="an IP address or host name")
        if address is None:
            if listen == "0.0.0.0":
                raise node.error("with listen: 0.0.0.0 give 'address', the address peers reach centralino at",
                                 key=f"{node.key}.address")
            address = listen
        phones = tuple(SipPhone.from_node(n) for n in node.get_list("phones", None))
        for attribute in ("port", "username"):
            seen: set[str] = set()
            for phone in phones:
                if getattr(phone, attribute) in seen:
                    raise phone.origin.error(attribute, f"{attribute} {getattr(phone, attribute)} is used twice")
                seen.add(getattr(phone, attribute))
        trunk = node.get_section("trunk", None)
        return cls(listen=listen, address=address, port=node.get_int("port", 5060, minval=1, maxval=65535),
                   realm=node.get_str("realm", "centralino", pattern=r"[A-Za-z0-9.-]{1,64}", expected="a name"),
                   trunk=SipTrunk.from_node(trunk) if trunk is not None else None, phones=phones,
                   failed_auth_limit=node.get_int("failed_auth_limit", 5, minval=2, maxval=100),
                   ban_s=node.get_float("ban_s", 600.0, minval=10.0, maxval=86400.0),
                   max_setups_per_s=node.get_int("max_setups_per_s", 200, minval=1, maxval=5000),
                   origin=node.origin())

    def phone(self, port: str) -> SipPhone | None:
        return next((p for p in self.phones if p.port == port), None)


def _keepalive(node: ConfigNode) -> float:
    value = node.get_float("keepalive_s", 30.0, minval=0.0, maxval=600.0)
    if 0.0 < value < 5.0:
        raise node.error(f"keepalive_s {value:g} is too often (expected 0 for none, or 5..600)",
                         key=f"{node.key}.keepalive_s")
    return value


def _matches(pattern: str, text: str) -> bool:
    import re

    return re.fullmatch(pattern, text) is not None


def sip_station_ports(settings) -> list[str]:
    """The SIP phones' ports, which extensions may name like FXS ports."""
    sip = getattr(settings, "sip", None)
    return [p.port for p in sip.phones] if sip is not None else []


def check_sip(settings) -> None:
    """References from the sip section: routes name extensions or groups, every phone is an extension."""
    sip = getattr(settings, "sip", None)
    if sip is None:
        return
    used = {e.port for e in settings.extensions}
    for phone in sip.phones:
        if phone.port not in used:
            raise phone.origin.error("port", f"no extension uses the phone {phone.port} "
                                             f"(add an extension with port: {phone.port})")
    trunk = sip.trunk
    if trunk is None:
        return
    for did, target in list(trunk.routes.items()) + [("default_route", trunk.default_route)]:
        if target != "operator" and ":" not in target and settings.extension(target) is None \
                and settings.group(target) is None:
            raise trunk.origin.error("routes" if did != "default_route" else "default_route",
                                     f"'{target}' (for {did}) is neither an extension number nor a group name")
    prefix = trunk.outbound_prefix
    if prefix:
        for ext in settings.extensions:
            if ext.number.startswith(prefix):
                raise trunk.origin.error("outbound_prefix", f"extension {ext.number} starts with the trunk's "
                                                            f"prefix {prefix}")
