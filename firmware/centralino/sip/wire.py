"""Everything that touches sippy objects. Imported only on the SIP thread (see stack.SipThread).

``TransactionManager`` is sippy's, with one UDP worker (with several, a "100 Trying" can overtake
the "200 OK" that follows it) and a guard in front: datagrams from a banned source are dropped
unread and anything sippy cannot parse is counted and answered 400 or dropped, never raised.
``Leg`` is one dialog (a sippy ``UA``) that reports what happens to its channel on the loop.
"""

from __future__ import annotations

import logging
import socket

import sippy.SipMsg  # noqa: F401 (loaded here so that _quieten_sippy reaches its print)
import sippy.SipRequest  # noqa: F401 (likewise)
import sippy.SipTransactionManager as sippy_tm
from sippy.CCEvents import (CCEventConnect, CCEventDisconnect, CCEventFail, CCEventInfo, CCEventPreConnect,
                            CCEventRedirect, CCEventRing, CCEventTry, CCEventUpdate)
from sippy.Core.EventDispatcher import ED2
from sippy.MsgBody import MsgBody
from sippy.SipConf import SipConf
from sippy.SipHeader import SipHeader
from sippy.SipURL import SipURL
from sippy.Time.MonoTime import MonoTime
from sippy.SipTransactionManager import SipTransactionManager
from sippy.Udp_server import Udp_server, Udp_server_opts
from sippy.UA import UA

log = logging.getLogger("centralino.sip")

UA_NAME = "centralino"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REGISTER"


class NullLogger:
    """sippy logs every message it sends and receives; the daemon's log gets only what matters."""

    def write(self, *args, **kwargs) -> None:
        pass


def make_config(host: str, port: int) -> dict:
    SipConf.my_address = host
    SipConf.my_port = port
    SipConf.my_uaname = UA_NAME
    return {"_sip_address": host, "_sip_port": port, "_sip_logger": NullLogger()}


class OneWorker(Udp_server_opts):
    nworkers = 1


_malformed_sink = None
_parse_failure: list = []  # what sippy's parser reported about the datagram being handled


def _quiet_dump(title, *args, **kwargs) -> None:
    """sippy reports a message it could not parse through dump_exception (to stdout): count it."""
    _parse_failure.append(str(title))
    if _malformed_sink is not None:
        _malformed_sink("?", str(title))


def _to_log(*args, **kwargs) -> None:
    """sippy's own print() calls (a truncated body it fixed, a stuck transaction) go to the log."""
    log.info("sippy: %s", " ".join(str(a) for a in args))


# sippy prints to stdout in a few places; under systemd that is the journal without a source, so
# the names are rebound to the log in its modules' globals
def _log_exception(msg, *args, **kwargs) -> None:
    """sippy's dump_exception writes tracebacks to stdout: they go to the log instead."""
    log.warning("sippy: %s", msg, exc_info=True)


def _quieten_sippy() -> None:
    """Rebind print and dump_exception in every sippy module loaded so far (they write to stdout,
    which under systemd is the journal without a source or a level)."""
    import sys

    for name, module in list(sys.modules.items()):
        if not name.startswith("sippy") or module is None:
            continue
        module.print = _to_log
        if getattr(module, "dump_exception", None) is not None and module is not sippy_tm:
            module.dump_exception = _log_exception


_quieten_sippy()
RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024  # a burst waits here rather than being dropped by the kernel
STRANGERS_TRANSACTIONS = 1024  # beyond this, requests from addresses never authenticated get a stateless 503
MAX_SERVER_TRANSACTIONS = 4096  # beyond this, everybody's (a flood forging the trunk's address too)

# the headers a 400 needs from a request sippy could not parse (long and compact forms)
_RESPONSE_HEADERS = {"via": "Via", "v": "Via", "from": "From", "f": "From", "to": "To", "t": "To",
                     "call-id": "Call-ID", "i": "Call-ID", "cseq": "CSeq"}


def bad_request(data: str, problem: str) -> str | None:
    """A 400 for a request sippy could not parse, from its raw text; None without the headers a
    response needs (then nothing is sent: the sender cannot be told anyway)."""
    return raw_response(data, 400, "Bad Request", problem)


def raw_response(data: str, code: int, reason: str, problem: str = "", headers: tuple[str, ...] = ()) -> str | None:
    """A stateless response built from a request's raw text (no transaction kept for it)."""
    head = data.replace("\r\n", "\n").split("\n\n", 1)[0].split("\n")
    if not head or " " not in head[0] or head[0].startswith("SIP/"):
        return None
    found: dict[str, list[str]] = {}
    for line in head[1:]:
        name, sep, value = line.partition(":")
        wanted = _RESPONSE_HEADERS.get(name.strip().lower())
        if sep and wanted:
            found.setdefault(wanted, []).append(value.strip())
    if not all(found.get(k) for k in ("Via", "From", "To", "Call-ID", "CSeq")):
        return None
    to = found["To"][0] + ("" if ";tag=" in found["To"][0] else ";tag=centralino-400")
    warning = "".join(ch for ch in problem if ch.isprintable())[:80]
    lines = [f"SIP/2.0 {code} {reason}"] + [f"Via: {v}" for v in found["Via"]] + [
        f"From: {found['From'][0]}", f"To: {to}", f"Call-ID: {found['Call-ID'][0]}", f"CSeq: {found['CSeq'][0]}",
        *headers, *([f"Warning: 399 centralino \"{warning.replace(chr(34), chr(39))}\""] if warning else []),
        "Content-Length: 0", "", ""]
    return "\r\n".join(lines)


class TransactionManager(SipTransactionManager):
    """sippy's transaction manager with centralino's guards around it.

    ``admission`` (overload.Admission) decides on each new INVITE; ``emergency(number)`` says
    whether a request-URI's user is an emergency number (never refused for load);
    ``has_authenticated(host)`` whether a host ever proved a password (a final response to an
    INVITE from one that never did is retransmitted once, not for 32 s: a forged source must not
    turn us into a reflector)."""

    model_udp_server = (Udp_server, OneWorker)

    def __init__(self, global_config, req_cb, on_malformed, dropped, admission=None,
                 emergency=lambda number: False, has_authenticated=lambda host: True):
        global _malformed_sink
        self._on_malformed = on_malformed
        self._dropped = dropped
        self._core_cb = req_cb
        self.admission = admission
        self._emergency = emergency
        self._has_authenticated = has_authenticated
        self.bad_requests = 0
        self.shed = 0
        _malformed_sink = on_malformed
        sippy_tm.dump_exception = _quiet_dump
        super().__init__(global_config, self._admit)

    def _admit(self, req, sip_t):
        if self.admission is not None and req.getMethod() == "INVITE" and req.getHFBody("to").getTag() is None:
            user = req.getRURI().username or ""
            waited = max(0.0, MonoTime().monot - req.rtime.monot) if getattr(req, "rtime", None) else 0.0
            if not self._emergency(user) and not self.admission.admit(waited):
                return response(req, 503, "Service Unavailable",
                                (("retry-after", str(self.admission.retry_after_s)),))
        return self._core_cb(req, sip_t)

    def timerA(self, t):
        """Retransmission of a final answer to an INVITE: bounded for sources never authenticated."""
        if not self._has_authenticated(str(t.address[0])):
            t.retransmitted = getattr(t, "retransmitted", 0) + 1
            if t.retransmitted > 1:
                t.teA = None
                return
        super().timerA(t)

    def newTransaction(self, msg, *args, **kwargs):
        """sippy compares the transport to "udp" exactly; SIPp's Contact says transport=UDP."""
        address, transport = msg.getTarget()
        if isinstance(transport, str) and transport != transport.lower():
            msg.setTarget((address, transport.lower()))
        return super().newTransaction(msg, *args, **kwargs)

    def bound_port(self) -> int:
        server = next(iter(self.l4r.cache_l2s.values()))
        return int(server.uopts.laddress[1])

    def enlarge_receive_buffer(self, size: int = RECEIVE_BUFFER_BYTES) -> int:
        """Ask for a larger socket receive buffer (the kernel caps it at net.core.rmem_max);
        returns what was granted."""
        server = next(iter(self.l4r.cache_l2s.values()))
        try:
            server.skt.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
            return server.skt.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        except (OSError, AttributeError) as err:
            log.info("SIP: could not enlarge the receive buffer: %s", err)
            return 0

    def handleIncoming(self, data_in, ra, server, rtime):
        source = ra.address[0]
        if self._dropped(source):
            return
        try:
            text = data_in.decode() if isinstance(data_in, bytes) else data_in
        except UnicodeDecodeError:
            self._on_malformed(source, "not UTF-8 text")
            return
        held = len(self.tserver)
        if held >= STRANGERS_TRANSACTIONS and not text.startswith("SIP/2.0 ") and \
                (held >= MAX_SERVER_TRANSACTIONS or not self._has_authenticated(source)):
            self.shed += 1  # each transaction is kept 32 s: a flood would hold memory that long
            reply = raw_response(text, 503, "Service Unavailable", headers=("Retry-After: 10",))
            if reply is not None:
                try:
                    server.send_to(reply, ra.address)
                except Exception:
                    pass
            return
        _parse_failure.clear()
        try:
            super().handleIncoming(data_in, ra, server, rtime)
        except Exception as err:  # whatever a datagram contains, the stack keeps running
            self._on_malformed(source, f"{type(err).__name__}: {err}")
            _parse_failure.append(str(err))
        if _parse_failure and not text.startswith("SIP/2.0 "):
            reply = bad_request(text, _parse_failure[-1])
            if reply is not None:
                self.bad_requests += 1
                try:
                    server.send_to(reply, ra.address)
                except Exception as err:
                    log.info("SIP: could not send a 400 to %s: %s", source, err)
        _parse_failure.clear()


def forget_timers() -> None:
    """Drop the timers of a stopped stack (the dispatcher outlives it)."""
    ED2.tlisteners = []
    ED2.twasted = 0


def response(req, code: int, reason: str, headers: tuple[tuple[str, str], ...] = ()):
    """A stateless answer for ``recv_request``: (response, cancel_cb, noack_cb)."""
    resp = req.genResponse(code, reason)
    for name, value in headers:
        resp.appendHeader(SipHeader(name=name, bodys=value))
    return resp, None, None


def header_text(req, name: str) -> str | None:
    try:
        return str(req.getHFBody(name)) if req.countHFs(name) else None
    except Exception:
        return None


def request_uri(req) -> str:
    return str(req.getRURI())


def canonical_uri(text: str) -> str | None:
    """One spelling of a SIP URI (sippy's), so two spellings of the same URI compare equal."""
    try:
        return str(SipURL(text.strip().strip("<>")))
    except Exception:
        return None


def source_of(req) -> tuple[str, int]:
    host, port = req.getSource()
    return str(host), int(port)


def contact_address(req) -> tuple[str, int] | None:
    """host and port of the request's Contact URI (None for "*" or an unusable one)."""
    try:
        contact = req.getHFBody("contact")
        if contact.asterisk:
            return None
        url = contact.getUrl()
        return str(url.host), int(url.port or 5060)
    except Exception:
        return None


def body_text(msg_or_body) -> str | None:
    body = msg_or_body.getBody() if hasattr(msg_or_body, "getBody") else msg_or_body
    return None if body is None else body.localStr()


class Leg:
    """One SIP dialog on the SIP thread. ``sink(leg, kind, data)`` runs on the loop for:
    offer {caller, name, called, sdp}, progress sdp|None, answered sdp, update sdp, digit d, ended code."""

    def __init__(self, stack, sink):
        self.stack = stack
        self.sink = sink
        self.ua: UA | None = None
        self.local_sdp: str | None = None
        self.ended = False

    def _emit(self, kind: str, data=None) -> None:
        self.stack.to_loop(self.sink, self, kind, data)

    # -- sippy's events (SIP thread)
    def on_ua_event(self, event, ua) -> None:
        if isinstance(event, CCEventTry):
            cid, caller, called, body, auth, name = event.getData()
            self._emit("offer", {"caller": caller or "", "name": name or "", "called": called or "",
                                 "sdp": body_text(body)})
        elif isinstance(event, CCEventRing):
            code, reason, body = event.getData() or (180, "Ringing", None)
            self._emit("progress", body_text(body) if body is not None else None)
        elif isinstance(event, (CCEventConnect, CCEventPreConnect)):
            code, reason, body = event.getData()
            if code != "ACK":
                self._emit("answered", body_text(body) if body is not None else None)
        elif isinstance(event, CCEventUpdate):  # re-INVITE: same stream, maybe a new address or hold
            body = event.getData()
            ua.recvEvent(CCEventConnect((200, "OK", MsgBody(self.local_sdp))))
            self._emit("update", body_text(body) if body is not None else None)
        elif isinstance(event, CCEventInfo):
            digit = _info_digit(body_text(event.getData()) or "")
            if digit:
                self._emit("digit", digit)
        elif isinstance(event, (CCEventDisconnect, CCEventFail, CCEventRedirect)):
            data = event.getData()
            code = data[0] if isinstance(event, CCEventFail) and data else 0
            if not self.ended:
                self.ended = True
                self._emit("ended", code)

    # -- the channel's actions (called on the SIP thread through stack.in_sip)
    def accept(self, req, sip_t):
        self.ua = UA(self.stack.global_config, self.on_ua_event)
        self.ua.local_ua = UA_NAME
        return self.ua.recvRequest(req, sip_t)

    def invite(self, target: tuple[str, int], called: str, caller: str, name: str, sdp: str,
               username: str | None = None, password: str | None = None) -> None:
        self.local_sdp = sdp
        self.ua = UA(self.stack.global_config, self.on_ua_event, username, password, nh_address=target)
        self.ua.local_ua = UA_NAME
        self.ua.recvEvent(CCEventTry((None, caller, called, MsgBody(sdp), None, name or None)))

    def ring(self, sdp: str | None = None) -> None:
        if self.ua is not None and not self.ended:
            if sdp is None:
                self.ua.recvEvent(CCEventRing((180, "Ringing", None)))
            else:
                self.local_sdp = sdp
                self.ua.recvEvent(CCEventRing((183, "Session Progress", MsgBody(sdp))))

    def answer(self, sdp: str) -> None:
        if self.ua is not None and not self.ended:
            self.local_sdp = sdp
            self.ua.recvEvent(CCEventConnect((200, "OK", MsgBody(sdp))))

    def reject(self, code: int, reason: str) -> None:
        if self.ua is not None and not self.ended:
            self.ended = True
            self.ua.recvEvent(CCEventFail((code, reason)))

    def hangup(self) -> None:
        if self.ua is not None and not self.ended:
            self.ended = True
            self.ua.recvEvent(CCEventDisconnect())


def _info_digit(body: str) -> str | None:
    """A key from a SIP INFO body (application/dtmf-relay "Signal=5" or a bare digit)."""
    for line in body.replace("\r", "").split("\n"):
        key, _, value = line.partition("=")
        if key.strip().lower() == "signal":
            value = value.strip()
            return value if value in "0123456789*#ABCD" and len(value) == 1 else None
    text = body.strip()
    return text if len(text) == 1 and text in "0123456789*#ABCD" else None
