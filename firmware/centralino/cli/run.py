"""``centralino run``: the switchboard daemon."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

from .errors import CliError


def register(sub) -> None:
    parser = sub.add_parser("run", help="run the switchboard daemon",
                            description="Start centralino on the board of the configuration "
                                        "(or the simulated one) and serve calls until stopped.")
    parser.add_argument("--config", required=True, type=Path, help="the YAML configuration file")
    parser.add_argument("--board", choices=("sim", "pi-hat"), help="override board.kind of the configuration")
    parser.add_argument("--database", type=Path, help="override records.database")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    parser.add_argument("--control", type=Path, metavar="PATH",
                        help="the control socket for centralino console (default /run/centralino/control.sock)")
    parser.add_argument("--sim-socket", type=Path, metavar="PATH",  # centralino sim (cli/sim.py)
                        help="with --board sim: the simulated world's socket for centralino sim "
                             "(default sim.sock beside the control socket)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from centralino.board import open_board
    from centralino.config.loader import ConfigError
    from centralino.config.schema import load_settings
    from centralino.daemon import Daemon
    from centralino.ops.commands import ControlContext
    from centralino.ops.control import DEFAULT_SOCKET, ControlError, ControlServer
    from centralino.ops.logbuffer import RingBufferHandler
    from centralino.ops.systemd import Notifier, ServiceSupervision

    from .sim import serve_world, sim_socket_path

    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_buffer = RingBufferHandler()
    logging.getLogger().addHandler(log_buffer)
    try:
        settings = load_settings(args.config)
    except ConfigError as err:
        raise CliError(str(err)) from err
    database = args.database or Path(settings.records.database)
    if args.sim_socket is not None and (args.board or settings.board.kind) != "sim":
        raise CliError("--sim-socket needs the simulated board (--board sim)")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        from centralino.ops.restore import apply_staged
        apply_staged(database, args.config)  # a backup restored from the web waits for this start; never raises
        board = open_board(settings, args.board, clock=loop.time)
        daemon = Daemon(settings, board, database, clock=loop.time)
        service = ServiceSupervision(Notifier(clock=loop.time))
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        service.starting()
        await daemon.start()
        control = ControlServer(ControlContext(daemon, args.config, log_buffer), args.control or DEFAULT_SOCKET)
        try:
            await control.start()
        except ControlError as err:
            if args.control:  # asked for explicitly: it must work
                await daemon.stop()
                raise CliError(str(err)) from err
            logging.getLogger("centralino.control").warning("%s; running without a console", err)
            control = None
        # centralino sim: the simulated world's control face (cli/sim.py; None on the Pi)
        try:
            world = await serve_world(board, settings, sim_socket_path(args.control, args.sim_socket, DEFAULT_SOCKET),
                                      explicit=args.sim_socket is not None)
        except CliError:
            if control is not None:
                await control.stop()
            await daemon.stop()
            raise
        service.ready(daemon)
        status = daemon.status()
        in_service = sum(p["in_service"] for p in status["ports"])
        print(f"centralino ready: board {status['board']}, {in_service}/{len(status['ports'])} ports "
              f"in service, database {database}", flush=True)
        await stop.wait()
        service.stopping()
        if world is not None:
            await world.stop()
        if control is not None:
            await control.stop()
        await daemon.stop()

    asyncio.run(main())
    return 0
