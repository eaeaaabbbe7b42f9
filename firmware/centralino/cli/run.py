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
    parser.set_defaults(handler=run)


def run(args) -> int:
    from centralino.board import open_board
    from centralino.config.loader import ConfigError
    from centralino.config.schema import load_settings
    from centralino.daemon import Daemon
    from centralino.records.cdr import CdrStore

    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(args.config)
    except ConfigError as err:
        raise CliError(str(err)) from err
    database = args.database or Path(settings.records.database)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        records = CdrStore(database)
        board = open_board(settings, args.board, clock=loop.time)
        daemon = Daemon(settings, board, records, clock=loop.time)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await daemon.start()
        status = daemon.status()
        in_service = sum(p["in_service"] for p in status["ports"])
        print(f"centralino ready: board {status['board']}, {in_service}/{len(status['ports'])} ports "
              f"in service, database {database}", flush=True)
        await stop.wait()
        await daemon.stop()

    asyncio.run(main())
    return 0
