"""``modem ...``: the GSM modem's faults, and calls to it from the mobile network."""

from __future__ import annotations

from .face_base import CommandGroup, Reply, check_keys, no_more

VERBS = ("hang", "reset", "no-sim", "sim", "no-network", "network", "garble", "one-way", "lose-urcs",
         "gone", "back", "call", "hangup", "status")


class ModemCommands(CommandGroup):
    name = "modem"
    usage = ("modem hang | reset | no-sim | sim | no-network | network | garble on|off | one-way on|off | "
             "lose-urcs N | gone | back | call NUMBER | hangup | status")

    async def run(self, words: list[str]) -> Reply:
        modem = self.face.world.modem
        if modem is None:
            raise self.fail("modem: this configuration has no GSM modem (no gsm: section)")
        verb, rest = self.need_verb(words, VERBS, "")
        if verb == "garble":
            if rest not in (["on"], ["off"]):
                raise self.fail("modem garble: say on or off")
            modem.garble(rest[0] == "on")
            return Reply(f"modem URCs {'garbled from now on' if rest[0] == 'on' else 'clean again'}",
                         modem.status())
        if verb == "one-way":
            if rest not in (["on"], ["off"]):
                raise self.fail("modem one-way: say on or off")
            modem.one_way_audio(rest[0] == "on")
            return Reply(f"modem audio {'one way: the switchboard hears nothing' if rest[0] == 'on' else 'both ways'}",
                         modem.status())
        if verb == "lose-urcs":
            if len(rest) != 1 or not rest[0].isdigit() or not 0 < int(rest[0]) <= 1000:
                raise self.fail("modem lose-urcs: say how many unsolicited lines to lose (1..1000)")
            modem.lose_urcs(int(rest[0]))
            return Reply(f"modem: the next {rest[0]} unsolicited lines are lost", modem.status())
        if verb == "call":
            if len(rest) != 1:
                raise self.fail("modem call: give the calling number, e.g. modem call 3391234567")
            number = check_keys("modem call", rest[0], "0123456789")
            network = self.face.world.mobile_network
            if network.lookup(number) is None:  # known to the world, so its voice has a name
                network.add_party(number, self.face.world.next_voice())
            party = await modem.incoming_call(number)
            if party.busy:
                raise self.fail(f"modem call: {number} gets busy: the modem is in a call, down or not registered")
            return Reply(f"{number} calls the modem", {"caller": number})
        no_more(f"modem {verb}", rest)
        if verb == "hangup":
            call = modem.call
            if call is None:
                raise self.fail("modem hangup: the modem has no call")
            call.far_end_hangup()
            return Reply(f"{call.number} hung up the modem's call", {"number": call.number})
        if verb == "status":
            return Reply("modem: " + self.face.modem_summary(), modem.status())
        action, text = {
            "hang": (modem.hang, "modem hung: it answers nothing (AT+CFUN=1,1 still resets it)"),
            "reset": (modem.reset, "modem reset by itself: it boots and registers again"),
            "no-sim": (modem.no_sim, "modem: SIM card removed"),
            "sim": (modem.insert_sim, "modem: SIM card back"),
            "no-network": (modem.no_network, "modem: no network coverage"),
            "network": (modem.restore_network, "modem: network coverage back"),
            "gone": (modem.vanish, "modem gone from USB: its ports are closed"),
            "back": (modem.reappear, "modem back on USB: it boots"),
        }[verb]
        action()
        return Reply(text, modem.status())
