"""``centralino sim``: drive the simulated world of a running ``centralino run --board sim``.

For a trainer, an installer rehearsing, or a test outside the process: lift a phone and dial,
ring a line as a citizen would, make the modem hang, make a chip's bus fail, and ask what a phone
hears. Each command prints one line and exits 0, or prints what was wrong and exits 2. The daemon
serves the world on its own socket, ``sim.sock`` beside its control socket (``--sim-socket``).
"""

from __future__ import annotations

import argparse
import json
import socket
from pathlib import Path

from .errors import CliError

DEFAULT_SOCKET = Path("/run/centralino/sim.sock")
SOCKET_NAME = "sim.sock"
REPLY_MARGIN_S = 30.0  # beyond a command's own --timeout, how long to wait for its answer

EPILOG = """commands:
  phone EXT offhook | onhook | dial DIGITS [--pulse] | flash [--ms N]
  phone EXT hears [KIND] [--timeout S]   KIND: dial_tone ringback busy congestion voice silence tone
                                         (with KIND: wait until it is heard, exit 2 if not)
  phone EXT rings [--timeout S] | status
  line PORT ring [--caller-id NUMBER] [--name NAME] [--private] [--give-up S]
  line PORT answer | hangup | press DIGITS | unplug | plug | hears [KIND] | status
           (PORT: fxo1..., the line's number, or the number of the party in its call)
  modem hang | reset | no-sim | sim | no-network | network | garble on|off | one-way on|off
  modem lose-urcs N | gone | back
  modem call NUMBER | hangup | status
  bus PORT|eeprom|leds fail [--errno N] | garble | recover | reset | status
  bus PORT irq low|high|free | pcm silent [to_host|to_chip] | pcm back
  world status | help [COMMAND]
"""


def register(sub) -> None:
    parser = sub.add_parser("sim", help="drive the simulated world of a running daemon (--board sim)",
                            description=__doc__.split("\n\n")[1], epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", type=Path, default=None, metavar="PATH",
                        help=f"the world's socket (default {DEFAULT_SOCKET}, beside the control socket)")
    parser.add_argument("words", nargs=argparse.REMAINDER, metavar="COMMAND",
                        help="e.g. phone 201 offhook, line fxo1 ring --caller-id 3331234567")
    parser.set_defaults(handler=run)


def run(args) -> int:
    if not args.words:
        raise CliError("no command: e.g. centralino sim phone 201 offhook (centralino sim --help lists them)")
    response = ask(args.socket or DEFAULT_SOCKET, args.words)
    if not response.get("ok"):
        raise CliError(response.get("error") or "the simulated world refused the command")
    print(response["result"])
    return 0


def ask(path: Path, words: list[str]) -> dict:
    """Send one command to the world's socket and return its response object."""
    request = {"cmd": words[0], "args": words[1:]}
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(_reply_timeout(words))
    try:
        try:
            sock.connect(str(path))
        except FileNotFoundError:
            raise CliError(f"no simulated world at {path}: is centralino run --board sim running? "
                           "(its world's socket is sim.sock beside --control, or --sim-socket)") from None
        except ConnectionRefusedError:
            raise CliError(f"nobody answers at {path}: the daemon has stopped or is restarting") from None
        except PermissionError:
            raise CliError(f"permission denied on {path}: the socket is for the service's group") from None
        except OSError as err:
            raise CliError(f"cannot connect to {path}: {err.strerror or err}") from None
        with sock.makefile("rwb") as stream:
            try:
                stream.write(json.dumps(request).encode() + b"\n")
                stream.flush()
                line = stream.readline()
            except (OSError, socket.timeout) as err:
                raise CliError(f"lost the connection to {path} ({err})") from None
    finally:
        sock.close()
    if not line:
        raise CliError(f"the daemon closed {path} without answering (stopping?)")
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        raise CliError(f"{path} answered something that is not JSON: {line[:80]!r}") from None


def _reply_timeout(words: list[str]) -> float:
    """A command waits up to its own --timeout in the daemon; the answer comes after that."""
    for option in ("--timeout", "--give-up"):
        if option in words[:-1]:
            try:
                return float(words[words.index(option) + 1]) + REPLY_MARGIN_S
            except ValueError:
                break
    return REPLY_MARGIN_S + 10.0


# ------------------------------------------------------------------------ served by `centralino run`
def sim_socket_path(control: Path | None, explicit: Path | None, default_control: Path) -> Path:
    """Where the world's socket goes: ``--sim-socket``, else beside the control socket."""
    if explicit is not None:
        return explicit
    return (control or default_control).parent / SOCKET_NAME


async def serve_world(board, settings, path: Path, explicit: bool):
    """Start the world's control face when the board is simulated; returns the server (or None).

    A socket that cannot be opened is fatal only when asked for with ``--sim-socket``."""
    import logging

    if board.world is None:
        if explicit:
            raise CliError("--sim-socket needs the simulated board (--board sim)")
        return None
    from centralino.hwsim.control import SimControlServer, SimSocketError
    from centralino.hwsim.world_face import WorldFace

    face = WorldFace(board.world, settings)
    face.populate_outside_world()
    server = SimControlServer(face, path)
    try:
        await server.start()
    except SimSocketError as err:
        if explicit:
            raise CliError(str(err)) from err
        logging.getLogger("centralino.sim").warning("%s; running without centralino sim", err)
        return None
    return server
