"""``phone EXT ...``: the analog phones on the FXS ports, by extension number or port name."""

from __future__ import annotations

from .face_base import (DTMF_KEYS, CommandGroup, Reply, check_keys, no_more, parse_options, timeout_of,
                        wait_until)
from .phone import PULSE_DIGITS, AnalogPhone

VERBS = ("offhook", "onhook", "dial", "flash", "hears", "rings", "shows", "status")
FLASH_MS = (10.0, 2000.0)  # what the face lets a trainer try; the switchboard takes 76-600 ms


class PhoneCommands(CommandGroup):
    name = "phone"
    usage = ("phone EXT offhook | onhook | dial DIGITS [--pulse] | flash [--ms N] | "
             "hears [KIND [--from WHO]] [--timeout S] | rings [--timeout S] | shows [TEXT] [--timeout S] | status")

    async def run(self, words: list[str]) -> Reply:
        if not words:
            raise self.fail(f"phone: which one? ({self.face.phone_names()})")
        label, port = self.face.resolve_phone(words[0])
        verb, rest = self.need_verb(words[1:], VERBS, label)
        phone = self.face.world.phones[port]
        return await getattr(self, f"_{verb}")(label, port, phone, rest)

    async def _offhook(self, label, port, phone: AnalogPhone, rest) -> Reply:
        no_more(f"phone {label} offhook", rest)
        was = phone.is_off_hook
        phone.off_hook()
        return Reply(f"{label} off hook" + (" (it already was)" if was else ""), {"off_hook": True})

    async def _onhook(self, label, port, phone: AnalogPhone, rest) -> Reply:
        no_more(f"phone {label} onhook", rest)
        was = not phone.is_off_hook
        phone.on_hook()
        return Reply(f"{label} on hook" + (" (it already was)" if was else ""), {"off_hook": False})

    async def _dial(self, label, port, phone: AnalogPhone, rest) -> Reply:
        what = f"phone {label} dial"
        words, options = parse_options(what, rest, {"--pulse": None})
        if len(words) != 1:
            raise self.fail(f"{what}: give the digits once, e.g. phone {label} dial 203")
        pulse = options.get("--pulse", False)
        digits = check_keys(what, words[0], PULSE_DIGITS if pulse else DTMF_KEYS)
        self._ready_to_use(label, port, phone, "dial")
        self.face.busy_phones.add(port)
        try:
            await phone.dial(digits, mode="pulse" if pulse else "dtmf")
        finally:
            self.face.busy_phones.discard(port)
        return Reply(f"{label} dialled {digits}" + (" (pulses)" if pulse else ""), {"digits": digits})

    async def _flash(self, label, port, phone: AnalogPhone, rest) -> Reply:
        what = f"phone {label} flash"
        words, options = parse_options(what, rest, {"--ms": float})
        no_more(what, words)
        ms = options.get("--ms", 100.0)
        if not FLASH_MS[0] <= ms <= FLASH_MS[1]:
            raise self.fail(f"{what}: --ms must be {FLASH_MS[0]:g}..{FLASH_MS[1]:g}, got {ms:g}")
        self._ready_to_use(label, port, phone, "flash")
        self.face.busy_phones.add(port)
        try:
            await phone.flash(ms)
        finally:
            self.face.busy_phones.discard(port)
        return Reply(f"{label} flashed ({ms:g} ms)", {"ms": ms})

    async def _hears(self, label, port, phone: AnalogPhone, rest) -> Reply:
        what = f"phone {label} hears"
        words, options = parse_options(what, rest, {"--timeout": float, "--from": str})
        wanted = self.face.wanted_kind(what, words, options)
        if not phone.is_off_hook:
            if wanted.kind not in (None, "silence"):
                raise self.fail(f"{label} is on hook: it hears nothing (offhook first)")
            return Reply(f"{label} hears silence (on hook)", {"kind": "silence", "who": None, "on_hook": True})
        heard = await self.face.listen(lambda: self.face.phone_hears(port), wanted, timeout_of(what, options))
        if not wanted.met_by(heard):
            raise self.fail(f"{label} hears {heard}, not {wanted} (waited {timeout_of(what, options):g} s)")
        return Reply(f"{label} hears {heard}", {"kind": heard.kind, "who": heard.who, "detail": heard.detail})

    async def _rings(self, label, port, phone: AnalogPhone, rest) -> Reply:
        what = f"phone {label} rings"
        words, options = parse_options(what, rest, {"--timeout": float})
        no_more(what, words)
        timeout = timeout_of(what, options)
        if not await wait_until(self.face.clock, lambda: phone.ringing, timeout):
            state = "off hook" if phone.is_off_hook else "on hook and silent"
            raise self.fail(f"{label} did not ring within {timeout:g} s (it is {state})")
        return Reply(f"{label} rings" + (f", display: {phone.display}" if phone.display else ""),
                     {"ringing": True, "display": phone.display})

    async def _shows(self, label, port, phone: AnalogPhone, rest) -> Reply:
        """Wait until the display shows a caller ID (containing TEXT, when given)."""
        what = f"phone {label} shows"
        words, options = parse_options(what, rest, {"--timeout": float})
        text = " ".join(words)
        timeout = timeout_of(what, options)
        if not await wait_until(self.face.clock, lambda: text in (phone.display or "\0"), timeout):
            raise self.fail(f"{label}'s display shows {phone.display or 'nothing'}"
                            + (f", not {text!r}" if text else "") + f" (waited {timeout:g} s)")
        return Reply(f"{label} shows {phone.display}", {"display": phone.display})

    async def _status(self, label, port, phone: AnalogPhone, rest) -> Reply:
        no_more(f"phone {label} status", rest)
        return Reply(f"{label} ({port}): " + self.face.phone_summary(port), self.face.phone_status(port))

    def _ready_to_use(self, label: str, port: str, phone: AnalogPhone, action: str) -> None:
        if not phone.is_off_hook:
            raise self.fail(f"{label} is on hook: it cannot {action} (offhook first)")
        if port in self.face.busy_phones:
            raise self.fail(f"{label} is still dialling or flashing: wait for it to finish")

