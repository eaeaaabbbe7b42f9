"""``centralino demo``: a scripted morning at the town hall on the simulated board.

Starts the switchboard with the example configuration on the hardware simulator, on a virtual
clock (a morning in seconds), and plays four stories: a citizen's call answered by the operator
and transferred to Tributi, an office calling another, an office calling a mobile outside, a
caller hanging up while the phones ring. It prints what happens as it happens, checks by ear that
each party heard the other, prints the call records, and exits 0 only if every check passed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from .cdr import format_table
from .errors import CliError

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "comune.yaml"


def register(sub) -> None:
    parser = sub.add_parser("demo", help="run a scripted morning on the simulated board",
                            description=__doc__.split("\n\n")[1])
    parser.add_argument("--config", type=Path, default=EXAMPLE, help="configuration (default: the example comune)")
    parser.add_argument("--data-dir", type=Path, help="where the call records go (default: a temporary folder)")
    parser.add_argument("--real-time", action="store_true", help="run on the wall clock instead of the virtual one")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from centralino.config.loader import ConfigError
    from centralino.config.schema import load_settings
    from centralino.hwsim import clock
    from centralino.hwsim.morning import morning
    from centralino.hwsim.scenario import Scenario

    try:
        settings = load_settings(args.config)
    except ConfigError as err:
        raise CliError(str(err)) from err
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="centralino-demo-"))
    print(f"centralino demo: {settings.comune.name}, {len(settings.extensions)} extensions, "
          f"{len(settings.lines)} lines, simulated board; records in {data_dir}")

    async def main():
        async with Scenario(settings, data_dir) as s:
            start = s.clock()

            def live(event):
                text = " ".join(f"{k}={v}" for k, v in event.details.items())
                kind = event.kind.removeprefix("engine.")
                print(f"  [{s.wall_clock().astimezone(s.engine.timezone):%H:%M:%S}] {kind:<14} {text}")

            s.daemon.bus.subscribe("engine.*", live)
            failed = await morning(s, print)
            ours = {call["call_id"] for call in s.finished}
            rows = [row for row in s.records.last(200) if row.call_id in ours]
            elapsed = s.clock() - start
        return failed, rows, elapsed

    failed, rows, elapsed = clock.run(main, virtual=not args.real_time)
    print(f"\nCall records ({len(rows)}), {elapsed:.0f} s of switchboard time:")
    print(format_table(rows))
    print("\nRoutes:")
    for number, row in enumerate(rows, 1):
        chain = f"  (transfers {row.transfer_chain})" if row.transfer_chain else ""
        print(f"  {number}. {row.route}{chain}")
    if failed:
        print(f"\n{len(failed)} check(s) failed: {'; '.join(failed)}")
        return 1
    print("\nAll checks passed.")
    return 0
