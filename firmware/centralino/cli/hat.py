"""``centralino hat probe`` and ``centralino hat eeprom write``: bringing up a HAT.

Both open the board themselves, so they run while the daemon is stopped
(``systemctl stop centralino`` first on the appliance). ``probe`` prints one line per check and
exits 1 when any failed (ops/hat_probe.py); ``eeprom write`` programs a blank ID EEPROM for the
board definition of the configuration (ops/hat_image.py) and refuses one that already holds a HAT
image unless ``--force``.

On the simulated board (``--board sim``) ``--sim-fault PART=FAULT`` breaks a part first, so a
trainer can show what each failure looks like: a port (``fxs3=absent``, ``fxs2=power_leak``,
``fxo2=no_line``...), ``lifeline=stuck_released``, ``eeprom=blank`` (a new board, its
write-protect jumper bridged) or ``eeprom=blank-protected``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from .errors import CliError, load_config

DEFAULT_CONFIG = Path("/etc/centralino/centralino.yaml")
EXIT_FAILED = 1


def register(sub) -> None:
    parser = sub.add_parser("hat", help="bring up the HAT: probe it, program its ID EEPROM",
                            description="Check a HAT check by check, or program a new board's ID EEPROM. "
                                        "Stop the daemon first: these commands use the buses themselves.")
    commands = parser.add_subparsers(dest="hat_command", metavar="ACTION")
    commands.required = True
    probe = commands.add_parser("probe", help="check the EEPROM, the chips, the lines, PCM, the relay, the modem")
    _common(probe)
    probe.set_defaults(handler=run_probe)
    eeprom = commands.add_parser("eeprom", help="the HAT ID EEPROM")
    eeprom_commands = eeprom.add_subparsers(dest="eeprom_command", metavar="ACTION")
    eeprom_commands.required = True
    write = eeprom_commands.add_parser("write", help="program a blank ID EEPROM for the board definition")
    _common(write)
    write.add_argument("--overlay", type=Path, metavar="DTBO",
                       help="embed this compiled overlay (default: store the overlay's name; a 24C32 is too "
                            "small for the reference HAT's overlay)")
    write.add_argument("--uuid", help="the board's UUID (default: a new random one)")
    write.add_argument("--force", action="store_true", help="overwrite an EEPROM that already holds a HAT image")
    write.set_defaults(handler=run_eeprom_write)


def _common(parser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                        help=f"the configuration naming the board (default {DEFAULT_CONFIG})")
    parser.add_argument("--board", choices=("sim", "pi-hat"), help="override board.kind of the configuration")
    parser.add_argument("--sim-fault", action="append", default=[], metavar="PART=FAULT",
                        help="on the simulated board: break a part first (repeatable)")


def _settings(args):
    return load_config(args.config)


def _open(settings, args, loop):
    """The board, with the simulator's faults applied when it is the simulated one."""
    from centralino.board import open_board

    kind = args.board or settings.board.kind
    faults = dict(_fault(text) for text in args.sim_fault)
    if kind != "sim":
        if faults:
            raise CliError("--sim-fault works only on the simulated board (--board sim)")
        return open_board(settings, kind, clock=loop.time), None
    from centralino.hwsim.board import SimBoard

    eeprom = faults.pop("eeprom", None)
    if eeprom not in (None, "blank", "blank-protected"):
        raise CliError(f"--sim-fault eeprom={eeprom}: expected blank or blank-protected")
    parts = {p.name for p in settings.board.ports} | {"lifeline"}
    for part in faults:
        if part not in parts:
            raise CliError(f"--sim-fault {part}=...: no such part (expected one of {', '.join(sorted(parts))}, eeprom)")
    try:
        sim = SimBoard(settings, clock=loop.time, faults=faults, blank_eeprom=eeprom is not None)
    except (ValueError, AttributeError) as err:
        raise CliError(f"--sim-fault: {err}") from err
    sim.eeprom.write_protected = eeprom == "blank-protected" or eeprom is None
    return open_board(settings, "sim", clock=loop.time, sim=sim), sim


def _fault(text: str) -> tuple[str, str]:
    part, sep, fault = text.partition("=")
    if not sep or not part or not fault:
        raise CliError(f"--sim-fault {text!r}: expected PART=FAULT, e.g. fxs3=absent")
    return part, fault


def run_probe(args) -> int:
    from centralino.ops.hat_probe import failed, probe

    settings = _settings(args)

    async def main():
        loop = asyncio.get_running_loop()
        board, sim = _open(settings, args, loop)
        try:
            checks = await probe(settings, board, loop.time)
        finally:
            await board.stop()
            if sim is not None:
                await sim.close()
        return checks

    checks = asyncio.run(main())
    for check in checks:
        print(check.line(), flush=True)
    bad = sum(check.failed for check in checks)
    print(f"{len(checks)} checks, {bad} failed" if bad else f"{len(checks)} checks, all passed")
    return EXIT_FAILED if failed(checks) else 0


def run_eeprom_write(args) -> int:
    from centralino.drivers.errors import ChipError
    from centralino.drivers.hat_eeprom import is_blank, read_hat_info, write_image
    from centralino.ops.hat_image import board_image, device_tree_atom

    settings = _settings(args)
    if args.overlay is not None and not args.overlay.is_file():
        raise CliError(f"--overlay {args.overlay}: no such file (compile the .dts with dtc -@ first)")
    try:
        blob = device_tree_atom(settings.board, args.overlay)
        image = board_image(settings.board, blob, args.uuid)
    except ValueError as err:
        raise CliError(f"cannot build the EEPROM image: {err}") from err

    async def main():
        loop = asyncio.get_running_loop()
        board, sim = _open(settings, args, loop)
        try:
            if not args.force and not is_blank(board.hat_bus):
                try:
                    info = read_hat_info(board.hat_bus)
                    held = f"{info.product} (uuid {info.uuid})"
                except ChipError:
                    held = "a damaged HAT image"
                raise CliError(f"the EEPROM already holds {held}; --force overwrites it")
            await write_image(board.hat_bus, image)
            return read_hat_info(board.hat_bus)
        except ChipError as err:
            raise CliError(str(err), exit_code=EXIT_FAILED) from err
        finally:
            await board.stop()
            if sim is not None:
                await sim.close()

    info = asyncio.run(main())
    what = "the overlay embedded" if args.overlay else f"overlay name {settings.board.overlay!r}"
    print(f"EEPROM written and read back: {info.product} version {info.product_version}, uuid {info.uuid}, "
          f"{len(image)} bytes, {what}", file=sys.stdout)
    return 0
