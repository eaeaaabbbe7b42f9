"""SIP channels: the trunk's line appearances and the operators' desk phones.

``SipLineChannel`` is a line to the outside like an FXO line (``is_line``): a call from the
trunk rings it with the caller's number as caller ID, a call out dials through it. One channel per
concurrent call the trunk carries (``sip.trunk.channels``).

``SipPhoneChannel`` is a station's phone like an FXS port: being rung sends an INVITE to the
registered phone; the phone answering is "off hook". A phone calling us is "off hook and dials"
the number it called (followed by ``#``, so the dial plan needs no timeout); while the switchboard
places the call the phone hears its tones as early media (183), and gets the 200 OK when a peer
is bridged to it. A busy or congestion tone for an unanswered call becomes a 486/503 answer.

Everything here runs on the asyncio loop; the SIP dialog lives on the SIP thread (``wire.Leg``)
and is only reached through ``stack.in_sip``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import threading

import numpy as np

from centralino.channels import events as ev
from centralino.channels.base import Channel
from centralino.media.callerid import CallerId
from centralino.media.frames import silence

from . import sdp
from .media import apply_remote, local_port, open_media

log = logging.getLogger("centralino.sip")

# what the switchboard plays a caller whose call could not be placed, and our SIP answer to it
REFUSAL_TONES = {"it:busy": (486, "Busy Here"), "it:congestion": (503, "Service Unavailable")}
SETUP_TIMEOUT_S = 180.0   # a leg not answered by then is released (RFC 3261's Timer C is 3 minutes)
RESOLVE_TIMEOUT_S = 2.0   # a host name in an offer's c= line


class OfferRefused(Exception):
    """An offer this channel cannot take: the SIP answer to give (code, reason) and why."""

    def __init__(self, code: int, reason: str, why: str):
        super().__init__(why)
        self.code, self.reason = code, reason


class SipChannel(Channel):
    kind = "sip"

    def __init__(self, name: str, clock, stack, core_ref, media_host: str, advertised_host: str):
        super().__init__(name, clock, driver=None)
        self.stack = stack
        self.core_ref = core_ref  # callable giving the SipCore (built on the SIP thread)
        self.media_host = media_host
        self.advertised_host = advertised_host
        self.state = "idle"
        self.leg = None
        self.media = None
        self.remote: sdp.Media | None = None
        self._claimed = False
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task] = set()
        self._setup_timer: asyncio.TimerHandle | None = None
        self._answer_sdp: str | None = None
        self.setup_timeout_s = SETUP_TIMEOUT_S
        self.released_by_timer = 0

    # -- claiming: the SIP thread (an INVITE arriving) and the loop (a call placed) compete
    def claim(self) -> bool:
        with self._lock:
            if self._claimed or not self.available():
                return False
            self._claimed = True
            return True

    def available(self) -> bool:
        return self.fault is None

    def _release_claim(self) -> None:
        with self._lock:
            self._claimed = False

    # -- life cycle: no hardware
    async def start(self) -> None:
        pass

    def close(self) -> None:
        self._drop_media()

    # -- media
    async def _media_for(self, leg) -> bool:
        """Open the RTP session (binding takes a loop turn); False when the call ended meanwhile."""
        if self.media is None:
            media = await open_media(self.media_host, name=f"{self.name}-rtp")
            if self.leg is not leg or leg.ended:
                media.close()
                return False
            self.media = media
            self.media.on_digit = self._rtp_digit
        return True

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: %s", self.name, task.exception(), exc_info=task.exception())

    def _drop_media(self) -> None:
        if self.media is not None:
            try:
                self.media.close()
            except Exception:
                log.exception("%s: closing RTP", self.name)
            self.media = None

    def _local_sdp(self, offer: sdp.Media | None) -> str:
        port = local_port(self.media)
        if offer is None:
            return sdp.build(self.advertised_host, port, offer_both=True)
        return sdp.answer(offer, self.advertised_host, port)

    def _use_remote(self, text: str | None) -> None:
        """An answer or re-offer's SDP; an unusable one keeps the stream as it was."""
        if not text or self.media is None:
            return
        try:
            remote = sdp.parse(text)
            if not sdp.is_address(remote.host):
                raise sdp.SdpError(f"a host name ({remote.host}) in an answer or re-INVITE")
            apply_remote(self.media, remote)
            self.remote = remote
        except Exception as err:  # whatever the far end sent, the call goes on as it was
            log.warning("%s: unusable SDP from the far end: %s", self.name, err)

    async def _take_offer(self, leg, text: str | None) -> bool:
        """Open RTP and answer an offer's SDP; on any problem the leg is refused (488 for SDP we
        cannot use, 503 for our own trouble), everything claimed is released, and False returned."""
        try:
            if not await self._media_for(leg):
                return False
            remote = sdp.parse(text or "")
            if not sdp.is_address(remote.host):
                remote = await self._resolved(remote)
            if self.leg is not leg or leg.ended:
                return False
            answer_sdp = self._local_sdp(remote)
            apply_remote(self.media, remote)
        except OfferRefused as err:
            self._refuse(leg, err.code, err.reason, str(err))
            return False
        except sdp.SdpError as err:
            self._refuse(leg, 488, "Not Acceptable Here", str(err))
            return False
        except Exception as err:
            self._refuse(leg, 503, "Service Unavailable", f"{type(err).__name__}: {err}")
            return False
        self.remote = remote
        self._answer_sdp = answer_sdp
        return True

    async def _resolved(self, remote: sdp.Media) -> sdp.Media:
        """The offer with its host name resolved (IPv4); OfferRefused 488 when it does not resolve."""
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(loop.getaddrinfo(remote.host, remote.port, family=socket.AF_INET,
                                                            type=socket.SOCK_DGRAM), RESOLVE_TIMEOUT_S)
        except (OSError, asyncio.TimeoutError) as err:
            raise OfferRefused(488, "Not Acceptable Here",
                               f"the media host {remote.host!r} does not resolve ({err or 'timeout'})")
        return dataclasses.replace(remote, host=infos[0][4][0])

    def _refuse(self, leg, code: int, reason: str, why: str) -> None:
        log.warning("%s: refusing a call (%d %s): %s", self.name, code, reason, why)
        self.stack.in_sip(leg.reject, code, reason)
        if self.leg is leg:
            self._finish()
            self._refused_offer()

    def _refused_offer(self) -> None:
        """What a refused offer leaves to undo besides the claim (the phone's hook state)."""

    # -- a leg that never completes is released
    def _arm_setup_timer(self) -> None:
        self._cancel_setup_timer()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._setup_timer = loop.call_later(self.setup_timeout_s, self._setup_expired, self.leg)

    def _cancel_setup_timer(self) -> None:
        if self._setup_timer is not None:
            self._setup_timer.cancel()
            self._setup_timer = None

    def _setup_expired(self, leg) -> None:
        self._setup_timer = None
        if leg is None or self.leg is not leg or self.state == "connected":
            return
        log.warning("%s: a call not set up after %.0f s is released (state %s)", self.name,
                    self.setup_timeout_s, self.state)
        self.released_by_timer += 1
        if self._answering():
            self.stack.in_sip(leg.reject, 408, "Request Timeout")
        else:
            self.stack.in_sip(leg.hangup)
        self._leg_ended(leg, 408)

    def _answering(self) -> bool:
        """Whether the current leg is a call to us (we answer it) rather than one we placed."""
        return False

    def _rtp_digit(self, digit: str) -> None:
        if self.state == "connected":
            self.emit(ev.Digit(digit, "dtmf", self.clock()))

    def exchange_audio(self) -> None:
        """Each media tick: the frame the far end sent, and ours to it."""
        media = self.media
        self.receive(media.receive_frame() if media is not None and self._audio_flows() else silence())
        outgoing = self.transmit()
        if media is not None and self._audio_flows() and media.remote is not None:
            media.send_frame(np.asarray(outgoing, dtype=np.int16))

    def _audio_flows(self) -> bool:
        return self.state in ("connected", "early")

    # -- the SIP side's reports (on the loop)
    def on_leg(self, leg, kind: str, data) -> None:
        if self.leg is not None and leg is not self.leg:
            if kind == "offer":  # a second call on a claimed channel: cannot happen, refuse it
                self.stack.in_sip(leg.reject, 486, "Busy Here")
            return
        try:
            if kind == "offer":
                self.leg = leg
                self._arm_setup_timer()
                self._spawn(self._leg_offer(leg, data))
            else:
                getattr(self, f"_leg_{kind}")(leg, data)
        except Exception:
            log.exception("%s: handling %s", self.name, kind)

    def _leg_update(self, leg, text) -> None:
        self._use_remote(text)

    def _leg_digit(self, leg, digit) -> None:
        if self.state == "connected":
            self.emit(ev.Digit(digit, "info", self.clock()))

    def _finish(self) -> None:
        self._cancel_setup_timer()
        self._answer_sdp = None
        self.state = "idle"
        self.leg = None
        self.remote = None
        self.peer = None
        self.source = None
        self._drop_media()
        self._release_claim()

    def status(self) -> dict:
        status = super().status()
        status["state"] = self.state
        if self.remote is not None:
            status["remote_media"] = f"{self.remote.host}:{self.remote.port} {self.remote.law}"
        return status


class SipLineChannel(SipChannel):
    """One call's worth of the trunk: a line to the outside."""

    is_line = True

    def __init__(self, *args, trunk_health=lambda: True, on_incoming=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.trunk_health = trunk_health
        self.on_incoming = on_incoming or (lambda channel, called: None)
        self.called = ""

    @property
    def idle(self) -> bool:
        return self.state == "idle" and not self._claimed and self.in_service and self.trunk_health()

    def _answering(self) -> bool:
        return self.state == "ringing"

    def line_present(self) -> bool:
        """What an FXO line's loop voltage tells the failover logic: the trunk is registered and answering."""
        return bool(self.trunk_health())

    # -- inbound
    async def _leg_offer(self, leg, offer) -> None:
        self.called = offer["called"]
        self.state = "ringing"
        if not await self._take_offer(leg, offer["sdp"]):
            return
        self.stack.in_sip(leg.ring)
        self.on_incoming(self, self.called)
        now = self.clock()
        self.emit(ev.Incoming(now))
        bare = offer["caller"].lstrip("+")
        number = offer["caller"] if bare.isascii() and bare.isdigit() and len(bare) <= 20 else None
        cid = CallerId(number=number, name=offer["name"] or None) if number else CallerId(number_absent="P")
        self.emit(ev.CallerIdReceived(cid, now))

    def answer(self) -> None:
        if self.state == "ringing" and self.leg is not None:
            self.state = "connected"
            self._cancel_setup_timer()
            self.stack.in_sip(self.leg.answer, self._answer_sdp)

    def reject_incoming(self) -> None:
        if self.leg is not None:
            self.stack.in_sip(self.leg.reject, 486, "Busy Here")
        self._finish()

    # -- outbound
    def dial(self, number: str, emergency: bool = False) -> None:
        if not self._claimed and not self.claim():
            self.emit(ev.RemoteHangup("failed", self.clock()))
            return
        from . import wire  # sippy is loaded by now (the stack started)

        self.state = "outgoing"
        self.leg = wire.Leg(self.stack, self.on_leg)
        if not emergency:  # an emergency call rings as long as it takes; its router decides
            self._arm_setup_timer()
        self._spawn(self._dial(self.leg, number))

    async def _dial(self, leg, number: str) -> None:
        if await self._media_for(leg):
            offer = self._local_sdp(None)
            self.stack.in_sip(lambda: self.core_ref().call_trunk(leg, number, offer))

    def _leg_progress(self, leg, text) -> None:
        if text:  # 183 with SDP: the far end's tones come as early media
            self._use_remote(text)
            self.state = "early" if self.state == "outgoing" else self.state
        elif self.state == "outgoing":  # 180 without SDP: it rings there, we give the ringback
            self.emit(ev.Progress("ringback", self.clock()))

    def _leg_answered(self, leg, text) -> None:
        if self.state in ("outgoing", "early"):
            self._use_remote(text)
            self.state = "connected"
            self._cancel_setup_timer()
            self.emit(ev.Answered(self.clock()))

    def _leg_ended(self, leg, code) -> None:
        state = self.state
        self._finish()
        now = self.clock()
        if state == "ringing":
            self.emit(ev.RingingStopped(now))
        elif state in ("outgoing", "early"):
            if code in (486, 600):
                self.emit(ev.Progress("busy", now))
            elif code:
                self.emit(ev.Progress("congestion", now))
            self.emit(ev.RemoteHangup("busy" if code in (486, 600) else "bye", now))
        elif state == "connected":
            self.emit(ev.RemoteHangup("bye", now))

    def hangup(self) -> None:
        if self.leg is not None:
            self.stack.in_sip(self.leg.hangup)
        self._finish()


class SipPhoneChannel(SipChannel):
    """A desk phone registered with the registrar, standing where an FXS port would."""

    def __init__(self, *args, username: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.username = username
        self.off_hook = False
        self.ringing = False
        self._registered = lambda: True

    @property
    def in_service(self) -> bool:
        """Reachable: no fault and a current registration (else ringing it could not work)."""
        return self.fault is None and (self._registered() or self.off_hook)

    def available(self) -> bool:
        return self.fault is None and self.state == "idle"

    # -- the switchboard rings this station
    def ring(self, caller_id: CallerId | None = None) -> None:
        if not self.claim():
            return
        self.ringing = True
        self.state = "ringing"
        from . import wire  # sippy is loaded by now (the stack started)

        self.leg = wire.Leg(self.stack, self.on_leg)
        self._arm_setup_timer()
        caller = (caller_id.number if caller_id and caller_id.number else "anonymous")
        name = caller_id.name if caller_id and caller_id.name else ""
        self._spawn(self._invite_phone(self.leg, caller, name))

    async def _invite_phone(self, leg, caller: str, name: str) -> None:
        if await self._media_for(leg):
            offer = self._local_sdp(None)
            self.stack.in_sip(lambda: self.core_ref().call_phone(leg, self.username, caller, name, offer))

    def set_caller_id(self, caller_id: CallerId) -> None:
        """Too late for SIP: the INVITE already carried what was known."""

    def stop_ringing(self) -> None:
        if self.ringing and not self.off_hook:
            if self.leg is not None:
                self.stack.in_sip(self.leg.hangup)
            self.ringing = False
            self._finish()
        self.ringing = False

    def _leg_progress(self, leg, text) -> None:
        self._use_remote(text)

    def _leg_answered(self, leg, text) -> None:
        if self.state == "ringing":
            self._use_remote(text)
            self.ringing = False
            self.state = "connected"
            self._cancel_setup_timer()
            self.off_hook = True
            self.emit(ev.OffHook(self.clock()))

    # -- the phone calls
    async def _leg_offer(self, leg, offer) -> None:
        self.state = "early"
        self.off_hook = True
        if not await self._take_offer(leg, offer["sdp"]):
            return
        self.stack.in_sip(leg.ring, self._answer_sdp)  # 183: it hears the tones while its call is placed
        self._cancel_setup_timer()  # from here the engine decides (a call to 112 may search for minutes)
        now = self.clock()
        self.emit(ev.OffHook(now))
        for digit in offer["called"]:
            if digit in "0123456789*#":
                self.emit(ev.Digit(digit, "sip", now))
        self.emit(ev.Digit("#", "sip", now))

    def tick(self) -> None:
        """The switchboard's answer to the phone's call: bridged (200) or a refusal tone (486/503)."""
        playing = getattr(self.source, "name", None)
        if self.state == "early" and self._answer_sdp is None:
            return  # still opening its RTP port
        if self.state == "early":
            if self.peer is not None:
                self.state = "connected"
                self._cancel_setup_timer()
                self.stack.in_sip(self.leg.answer, self._answer_sdp)
            elif playing in REFUSAL_TONES:
                code, reason = REFUSAL_TONES[playing]
                self.stack.in_sip(self.leg.reject, code, reason)
                self._hung_up()
        elif self.state == "connected" and playing in REFUSAL_TONES and self.peer is None:
            self.stack.in_sip(self.leg.hangup)  # the other party hung up: the switchboard gives busy
            self._hung_up()

    def _refused_offer(self) -> None:
        self.off_hook = False

    def _answering(self) -> bool:
        return self.state == "early"

    def _hung_up(self) -> None:
        self._finish()
        self.off_hook = False
        self.emit(ev.OnHook(self.clock()))

    def _leg_ended(self, leg, code) -> None:
        was_off_hook = self.off_hook
        self.ringing = False
        self._finish()
        self.off_hook = False
        if was_off_hook:
            self.emit(ev.OnHook(self.clock()))

    def exchange_audio(self) -> None:
        super().exchange_audio()
        if self.state in ("connected", "early"):
            self.tick()

    def status(self) -> dict:
        status = super().status()
        status.update(username=self.username, off_hook=self.off_hook, ringing=self.ringing,
                      registered=self._registered())
        return status
