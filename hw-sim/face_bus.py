"""``bus TARGET ...``: faults of the HAT's buses and chips, set and cleared while the daemon runs.

TARGET is a port (``fxs3``, ``fxo1``: its chip's SPI chip select, interrupt and reset lines and
PCM timeslot), ``eeprom`` (the HAT ID EEPROM's I2C address) or ``leds`` (the LED driver's).
``fail`` makes every transfer raise as the kernel would (SPI: periphery's SPIError, EIO; I2C:
OSError, EREMOTEIO), ``garble`` returns noise for what is read, ``reset`` makes the chip reset
itself (registers back to their defaults), ``irq`` sticks the interrupt line, ``pcm`` silences
the timeslot, and ``recover`` clears every fault of the target set here.
"""

from __future__ import annotations

import errno as errnos

from .board import EEPROM_ADDRESS
from .buses import PCM_DIRECTIONS
from .face_base import CommandGroup, Reply, no_more, parse_options

PORT_VERBS = ("fail", "garble", "recover", "reset", "irq", "pcm", "status")
I2C_VERBS = ("fail", "garble", "recover", "reset", "status")


class BusCommands(CommandGroup):
    name = "bus"
    usage = ("bus PORT|eeprom|leds fail [--errno N] | garble | recover | reset | "
             "irq low|high|free | pcm silent [to_host|to_chip] | pcm back | status")

    async def run(self, words: list[str]) -> Reply:
        world = self.face.world
        targets = [*world.ports, "eeprom", *(["leds"] if world.leds.chip is not None else [])]
        if not words or words[0] not in targets:
            shown = repr(words[0]) if words else "nothing"
            raise self.fail(f"bus: unknown target {shown} (expected one of {', '.join(targets)})")
        target, rest = words[0], words[1:]
        if target in world.ports:
            verb, rest = self.need_verb(rest, PORT_VERBS, target)
            return self._port(target, verb, rest)
        verb, rest = self.need_verb(rest, I2C_VERBS, target)
        return self._i2c(target, verb, rest)

    # -- a port: SPI device, wires, PCM slot, chip
    def _port(self, name: str, verb: str, rest: list[str]) -> Reply:
        port = self.face.world.ports[name]
        what = f"bus {name} {verb}"
        if verb == "fail":
            code = self._errno(what, rest, errnos.EIO)
            port.spi_faults.fail(code)
            return Reply(f"{name}: SPI transfers on {port.spi_path} fail ({errnos.errorcode[code]})",
                         self.face.port_faults(name))
        if verb == "irq":
            levels = {"low": False, "high": True, "free": None}
            if len(rest) != 1 or rest[0] not in levels:
                raise self.fail(f"{what}: say low, high or free")
            port.irq.stick(levels[rest[0]])
            text = f"{name}: interrupt line {port.irq.name} " + ("free again" if rest[0] == "free"
                                                                 else f"stuck {rest[0]}")
            return Reply(text, self.face.port_faults(name))
        if verb == "pcm":
            return self._pcm(name, port, what, rest)
        no_more(what, rest)
        if verb == "garble":
            port.spi_faults.garble()
            text = f"{name}: SPI reads on {port.spi_path} return garbage"
        elif verb == "reset":
            port.chip.power_glitch()
            text = f"{name}: the chip reset itself (registers back to their defaults)"
        elif verb == "recover":
            port.spi_faults.clear()
            port.irq.stick(None)
            self.face.world.pcm.restore(port.timeslot)
            text = f"{name}: bus faults cleared"
        else:
            return Reply(f"{name}: " + self.face.port_fault_summary(name), self.face.port_faults(name))
        return Reply(text, self.face.port_faults(name))

    def _pcm(self, name, port, what: str, rest: list[str]) -> Reply:
        pcm = self.face.world.pcm
        if rest and rest[0] == "back" and len(rest) == 1:
            pcm.restore(port.timeslot)
            return Reply(f"{name}: PCM timeslot {port.timeslot} carries audio again", self.face.port_faults(name))
        if rest and rest[0] == "silent" and len(rest) <= 2:
            direction = rest[1] if len(rest) == 2 else "both"
            if direction not in PCM_DIRECTIONS:
                raise self.fail(f"{what} silent: direction {direction!r} is not one of {', '.join(PCM_DIRECTIONS)}")
            pcm.silence(port.timeslot, direction)
            return Reply(f"{name}: PCM timeslot {port.timeslot} silent ({direction.replace('_', ' ')})",
                         self.face.port_faults(name))
        raise self.fail(f"{what}: say silent [to_host|to_chip] or back")

    # -- an I2C device
    def _i2c(self, target: str, verb: str, rest: list[str]) -> Reply:
        world = self.face.world
        address = EEPROM_ADDRESS if target == "eeprom" else world.leds.address
        faults = world.i2c_faults[address]
        what = f"bus {target} {verb}"
        if verb == "fail":
            code = self._errno(what, rest, errnos.EREMOTEIO)
            faults.fail(code)
            text = f"{target}: I2C transfers to 0x{address:02x} fail ({errnos.errorcode[code]})"
        else:
            no_more(what, rest)
            if verb == "garble":
                faults.garble()
                text = f"{target}: I2C reads from 0x{address:02x} return garbage"
            elif verb == "reset":
                (world.eeprom if target == "eeprom" else world.leds).power_glitch()
                text = f"{target}: the chip reset itself"
            elif verb == "recover":
                faults.clear()
                text = f"{target}: bus faults cleared"
            else:
                text = f"{target}: I2C 0x{address:02x} " + (faults.mode or "healthy")
        return Reply(text, faults.status())

    def _errno(self, what: str, rest: list[str], default: int) -> int:
        words, options = parse_options(what, rest, {"--errno": str})
        no_more(what, words)
        raw = options.get("--errno")
        if raw is None:
            return default
        code = int(raw) if raw.isdigit() else getattr(errnos, raw.upper(), None)
        if not isinstance(code, int) or code not in errnos.errorcode:
            raise self.fail(f"{what}: --errno {raw!r} is no errno (e.g. EIO, ETIMEDOUT, 121)")
        return code
