"""The trunk to the municipal PBX: registration with digest auth, OPTIONS keepalive, health.

Runs on the SIP thread (sippy timers and transactions). It registers, re-registers at half of the
expiry the registrar granted (so one lost REGISTER never lets the binding lapse), retries every
RETRY_S after a failure, and sends OPTIONS every ``keepalive_s``: any answer, even an error,
shows the PBX is there, and when it comes while unregistered (the PBX restarted, or was away) the
trunk registers at once instead of waiting for the retry. ``healthy`` (registered, when registration is configured, and the PBX
answered within MISSED_KEEPALIVES periods) is what the failover logic reads.
"""

from __future__ import annotations

import logging
import time

from sippy.SipAddress import SipAddress
from sippy.SipConf import SipConf
from sippy.SipContact import SipContact
from sippy.SipFrom import SipFrom
from sippy.SipHeader import SipHeader
from sippy.SipRequest import SipRequest
from sippy.SipTo import SipTo
from sippy.SipURL import SipURL
from sippy.Time.Timeout import Timeout

log = logging.getLogger("centralino.sip.trunk")

RETRY_S = 30.0
MISSED_KEEPALIVES = 3
MAX_AUTH_TRIES = 2


class Trunk:
    def __init__(self, stack, config, clock=time.monotonic):
        self.stack = stack
        self.config = config
        self.clock = clock
        self.target = (config.proxy_host, config.proxy_port)
        self.registered_until_s = 0.0
        self.last_answer_s: float | None = None
        self.registrations = 0
        self.failures = 0
        self.keepalives_answered = 0
        self.last_problem: str | None = None
        self._timers: list = []
        self._register_timer = None
        self._registering = False
        self._auth_tries = 0
        self._cseq = 1
        self._stopped = False
        self._register_msg: SipRequest | None = None

    # -- health (read from the loop: plain values)
    @property
    def registered(self) -> bool:
        return self.registered_until_s > self.clock()

    @property
    def healthy(self) -> bool:
        now = self.clock()
        answered = self.config.keepalive_s == 0 or (self.last_answer_s is not None and
                                                    now - self.last_answer_s <= MISSED_KEEPALIVES * self.config.keepalive_s)
        return answered and (self.registered or not self.config.register)

    def status(self) -> dict:
        now = self.clock()
        return {"proxy": f"{self.target[0]}:{self.target[1]}", "healthy": self.healthy,
                "registered": self.registered if self.config.register else None,
                "registered_for_s": round(max(0.0, self.registered_until_s - now)) if self.config.register else None,
                "registrations": self.registrations, "failures": self.failures,
                "keepalives_answered": self.keepalives_answered,
                "last_answer_s_ago": None if self.last_answer_s is None else round(now - self.last_answer_s, 1),
                "problem": self.last_problem}

    # -- life cycle (SIP thread)
    def start(self) -> None:
        if self.config.register:
            self.register()
        if self.config.keepalive_s > 0:
            self.keepalive()

    def stop(self) -> None:
        self._stopped = True
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _later(self, fn, delay_s: float):
        if self._stopped:
            return None
        self._timers = [t for t in self._timers if t.cb_func is not None]
        timer = Timeout(fn, delay_s)
        self._timers.append(timer)
        return timer

    def _register_later(self, delay_s: float) -> None:
        if self._register_timer is not None:
            self._register_timer.cancel()
        self._register_timer = self._later(self.register, delay_s)

    def _request(self, method: str, expires_s: int | None = None) -> SipRequest:
        aor = SipURL(username=self.config.username or "centralino", host=self.target[0], port=self.target[1])
        ruri = SipURL(host=self.target[0], port=self.target[1])
        tf = SipAddress(url=aor)
        fr0m = SipFrom(address=tf.getCopy())
        fr0m.genTag()
        contact = SipContact(address=SipAddress(url=SipURL(username=self.config.username or "centralino")))
        if expires_s is not None:
            contact.address.params["expires"] = str(expires_s)
        return SipRequest(method=method, ruri=ruri, fr0m=fr0m, to=SipTo(address=tf), contact=contact,
                          target=(self.target, SipConf.my_transport))

    # -- registration
    def register(self) -> None:
        if self._stopped:
            return
        if self._register_timer is not None:
            self._register_timer.cancel()
            self._register_timer = None
        self._registering = True
        self._auth_tries = 0
        self._register_msg = self._request("REGISTER", self.config.expires_s)
        self._send_register()

    def _send_register(self) -> None:
        msg = self._register_msg
        self.stack.global_config["_sip_tm"].newTransaction(msg, lambda resp: self._register_reply(resp, msg))

    def _register_reply(self, resp, msg=None) -> None:
        if self._stopped or resp.scode < 200 or (msg is not None and msg is not self._register_msg):
            return  # an answer (or sippy's timeout) for a REGISTER a newer one replaced
        if resp.scode != 408:  # sippy's own timeout is no answer
            self.last_answer_s = self.clock()
        if 200 <= resp.scode < 300:
            self._registering = False
            granted = self._granted(resp)
            self.registered_until_s = self.clock() + granted
            self.registrations += 1
            self.last_problem = None
            self._register_later(max(granted / 2.0, 1.0))
            return
        if resp.scode in (401, 407) and self._auth_tries < MAX_AUTH_TRIES and self.config.password:
            header = "www-authenticate" if resp.scode == 401 else "proxy-authenticate"
            if resp.countHFs(header):
                challenge = resp.getHFBody(header)
                supported, qop = challenge.supportedAlgorithm()
                if supported:
                    self._auth_tries += 1
                    msg = self._register_msg
                    for old in msg.getHFs("authorization") + msg.getHFs("proxy-authorization"):
                        msg.removeHeader(old)
                    auth = challenge.genAuthHF(self.config.username, self.config.password, "REGISTER",
                                               str(msg.ruri), qop=qop)
                    name = "authorization" if resp.scode == 401 else "proxy-authorization"
                    msg.appendHeader(SipHeader(name=name, body=auth))
                    msg.getHFBody("via").genBranch()
                    msg.getHFBody("cseq").incCSeqNum()
                    self._send_register()
                    return
        self._failed(f"REGISTER answered {resp.scode} {resp.reason}")

    def _granted(self, resp) -> float:
        for contact in resp.getHFBodys("contact") if resp.countHFs("contact") else ():
            expires = contact.address.params.get("expires")
            if expires is not None and str(expires).isdigit():
                return float(expires)
        if resp.countHFs("expires"):
            return float(resp.getHFBody("expires").getNum())
        return float(self.config.expires_s)

    def _failed(self, problem: str) -> None:
        self.failures += 1
        if problem != self.last_problem:
            log.warning("SIP trunk %s:%d: %s; retrying every %.0f s", *self.target, problem, RETRY_S)
        self.last_problem = problem
        self.registered_until_s = 0.0
        self._registering = False
        self._register_later(RETRY_S)

    # -- keepalive
    def keepalive(self) -> None:
        if self._stopped:
            return
        self.stack.global_config["_sip_tm"].newTransaction(self._request("OPTIONS"), self._keepalive_reply)
        self._later(self.keepalive, self.config.keepalive_s)

    def _keepalive_reply(self, resp) -> None:
        if resp.scode >= 200 and resp.scode != 408:  # 408 is sippy's own timeout, not an answer
            self.last_answer_s = self.clock()
            self.keepalives_answered += 1
            if self.config.register and not self.registered and not self._registering:
                self.register()  # the PBX is back: no need to wait for the retry
