"""RSS memory of the daemon with 50 registered SIP desk phones.

The daemon runs on the simulated board (8 analog extensions) with a ``sip`` section naming N desk
phones, each an extension of its own (3000...). SIPp registers all of them with digest
authentication from a CSV injection file (one row per phone: the user, then SIPp's
``[authentication ...]`` keyword with that user's password; SIPp 3.6 does not expand fields inside
the keyword): REGISTER, 401, REGISTER with credentials, 200. Figures: the daemon's RSS before
any registration and after all of them, the difference per phone, and how many bindings the
registrar holds (it must be N).

    .venv/bin/python bench/sip_registrations.py [--phones 50]
"""

from _common import report  # first: it puts firmware/ on the import path

import argparse
import asyncio
import gc
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import _engine as support

HOST = "127.0.0.1"
FIRST_PHONE = 3000
FXS_PORTS = 8

REGISTER_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="register with digest">
  <send retrans="500"><![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[field0]@[remote_ip]>;tag=[pid]reg[call_number]
      To: <sip:[field0]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Expires: 300
      Max-Forwards: 70
      Content-Length: 0

    ]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[field0]@[remote_ip]>;tag=[pid]reg[call_number]
      To: <sip:[field0]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      [field1]
      Expires: 300
      Max-Forwards: 70
      Content-Length: 0

    ]]></send>
  <recv response="200"/>
</scenario>
"""


def password(user: int) -> str:
    return f"desk-phone-{user}"


def settings_for(n: int, sip_port: int, folder: Path):
    from centralino.config.schema import load_settings

    folder.mkdir(parents=True, exist_ok=True)
    board = support._yaml(FXS_PORTS, 32, [support.IRQ_LINES[i] for i in range(FXS_PORTS)])
    users = range(FIRST_PHONE, FIRST_PHONE + n)
    head, dialplan, rest = board.partition("dialplan:")  # the phones' extensions join the analog ones
    extensions = "".join(f"  - {{number: \"{u}\", port: sip{u}, name: \"Scrivania {u}\"}}\n" for u in users)
    sip = f"sip:\n  listen: {HOST}\n  port: {sip_port}\n  phones:\n"
    sip += "".join(f"    - {{port: sip{u}, username: \"{u}\", password: \"{password(u)}\"}}\n" for u in users)
    path = folder / f"phones{n}.yaml"
    path.write_text(head + extensions + dialplan + rest + sip)
    return load_settings(path)


def rss_kb() -> int:
    for row in Path("/proc/self/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1])
    return 0


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


async def measure(n: int, folder: Path) -> dict:
    from centralino.hwsim.scenario import Scenario

    sip_port = free_udp_port()
    settings = settings_for(n, sip_port, folder)
    scenario = folder / "register.xml"
    scenario.write_text(REGISTER_SCENARIO)
    users = folder / "users.csv"
    rows = (f"{u};[authentication username={u} password={password(u)}]\n" for u in range(FIRST_PHONE, FIRST_PHONE + n))
    users.write_text("SEQUENTIAL\n" + "".join(rows))
    async with Scenario(settings, folder / "data") as s:
        await asyncio.sleep(1.0)  # the media loop and the SIP thread settle
        gc.collect()
        before = rss_kb()
        proc = await asyncio.create_subprocess_exec(
            "sipp", f"{HOST}:{sip_port}", "-i", HOST, "-p", str(free_udp_port()), "-sf", str(scenario),
            "-inf", str(users), "-m", str(n), "-r", "50", "-nostdin", "-nr", "-timeout", "30s", "-timeout_error",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await proc.communicate()
        await asyncio.sleep(1.0)
        gc.collect()
        after = rss_kb()
        registered = len(s.daemon.sip.status()["registered"])
        free = sum(s.switchboard.stations[str(u)].free for u in range(FIRST_PHONE, FIRST_PHONE + n))
    if proc.returncode != 0:
        print(out.decode(errors="replace")[-3000:], file=sys.stderr)
    return {"phones": n, "sipp_rc": proc.returncode, "registered": registered, "stations_reachable": free,
            "rss_mb_before": round(before / 1024, 1), "rss_mb_after": round(after / 1024, 1),
            "rss_kb_per_phone": round((after - before) / n, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=50)
    args = parser.parse_args()
    if shutil.which("sipp") is None:
        sys.exit("needs sipp (make debs installs it)")
    from centralino.hwsim.clock import run

    with tempfile.TemporaryDirectory() as tmp:
        row = run(lambda: measure(args.phones, Path(tmp)), virtual=False)
    report("sip_registrations", **row, **support.machine())


if __name__ == "__main__":
    main()
