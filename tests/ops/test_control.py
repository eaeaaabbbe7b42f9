"""The control socket against a switchboard on the virtual clock: commands, errors, access."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import stat
from pathlib import Path

import pytest

from centralino.config.checker import ConfigChecker
from centralino.hwsim.clock import run
from centralino.hwsim.scenario import Scenario
from centralino.ops.commands import ControlContext
from centralino.ops.control import ControlError, ControlServer
from centralino.ops.logbuffer import RingBufferHandler

from ..config.test_bombs import alias_bomb
from ..config.test_config import _line_of
from ..engine.helpers import connect
from .conftest import EXAMPLE


class Client:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    async def raw(self, line: bytes) -> dict:
        self.writer.write(line + b"\n")
        await self.writer.drain()
        return json.loads(await self.reader.readline())

    async def ask(self, cmd: str, *args) -> dict:
        return await self.raw(json.dumps({"cmd": cmd, "args": list(args)}).encode())


async def open_client(path) -> Client:
    return Client(*await asyncio.open_unix_connection(str(path)))


def control_session(tmp_path, story, config=EXAMPLE, virtual=True, checker=None, **scenario_options):
    """Run ``await story(s, client, ctx)`` with a control server on the scenario's daemon (on the
    virtual clock, or in real time with ``virtual=False``)."""
    path = tmp_path / "control.sock"

    async def main():
        async with Scenario(config, tmp_path / "data", **scenario_options) as s:
            buffer = RingBufferHandler(capacity=50)
            logging.getLogger().addHandler(buffer)
            ctx = ControlContext(s.daemon, config, buffer, checker=checker or ConfigChecker())
            server = ControlServer(ctx, path)
            await server.start()
            try:
                client = await open_client(path)
                try:
                    return await story(s, client, ctx)
                finally:
                    client.writer.close()
            finally:
                await server.stop()
                logging.getLogger().removeHandler(buffer)

    return run(main, virtual=virtual)


def test_socket_is_0660_and_removed_at_stop(tmp_path):
    async def story(s, client, ctx):
        mode = os.stat(tmp_path / "control.sock").st_mode
        return stat.S_ISSOCK(mode), stat.S_IMODE(mode)

    assert control_session(tmp_path, story) == (True, 0o660)
    assert not (tmp_path / "control.sock").exists()


def test_status_lines_calls_and_cdr_follow_a_call(tmp_path):
    async def story(s, client, ctx):
        status = await client.ask("status")
        idle_calls = await client.ask("calls")
        a, b = await connect(s, "201", "205")
        calls = await client.ask("calls")
        lines = await client.ask("lines")
        a.on_hook()
        await s.until(lambda: s.finished, "the call ends")
        cdr = await client.ask("cdr", "5")
        return status, idle_calls, calls, lines, cdr

    status, idle_calls, calls, lines, cdr = control_session(tmp_path, story)
    assert status["ok"] and status["result"]["ready"] and status["result"]["board"] == "sim"
    assert len(status["result"]["ports"]) == 12
    assert idle_calls == {"ok": True, "result": {"calls": []}}
    [call] = calls["result"]["calls"]
    assert (call["caller"], call["called"], call["state"]) == ("201", "205", "answered")
    by_port = {row["port"]: row for row in lines["result"]["lines"]}
    assert by_port["fxs2"]["extension"] == "201" and by_port["fxs2"]["state"] == "off-hook"
    assert by_port["fxs2"]["bridged_to"] == "fxs6" and by_port["fxs1"]["state"] == "idle"
    assert by_port["fxo1"]["kind"] == "fxo"
    [record] = cdr["result"]["records"]
    assert (record["caller"], record["called"], record["disposition"]) == ("201", "205", "answered")


def test_line_test_measures_fxs_and_fxo(tmp_path):
    async def story(s, client, ctx):
        idle = await client.ask("line", "test", "fxs1")
        s.phone("fxs1").off_hook()
        await s.wait(0.5)
        off_hook = await client.ask("line test", "fxs1")
        fxo = await client.ask("line", "test", "fxo1")
        return idle, off_hook, fxo

    idle, off_hook, fxo = control_session(tmp_path, story)
    r = idle["result"]
    assert r["kind"] == "fxs" and r["off_hook"] is False and r["loop_current_ma"] == 0
    assert r["battery_v"] < -40  # the ProSLIC's battery feeds below ground
    r = off_hook["result"]
    assert r["off_hook"] is True and r["loop_current_ma"] > 10
    r = fxo["result"]
    assert r["kind"] == "fxo" and r["line_present"] is True and abs(r["line_voltage_v"]) > 20
    assert r["polarity"] in (1, -1) and set(r) >= {"loop_current_ma", "state"}


def test_bad_requests_get_errors_and_the_connection_survives(tmp_path):
    async def story(s, client, ctx):
        answers = [await client.raw(b"status please"),
                   await client.raw(b'["status"]'),
                   await client.raw(b'{"cmd": "status", "args": "all"}'),
                   await client.ask("reboot"),
                   await client.ask("status", "now"),
                   await client.ask("cdr", "many"),
                   await client.ask("cdr", "0"),
                   await client.ask("line", "test"),
                   await client.ask("line", "test", "fxs99"),
                   await client.ask("config"),
                   await client.ask("help", "reboot")]
        return answers, await client.ask("status")

    answers, after = control_session(tmp_path, story)
    assert all(a["ok"] is False for a in answers)
    errors = [a["error"] for a in answers]
    assert "not JSON" in errors[0]
    assert '{"cmd"' in errors[1]
    assert "args must be a list" in errors[2]
    assert "unknown command 'reboot'" in errors[3] and "status" in errors[3]
    assert "status: too many arguments 'now'; usage: status" == errors[4]
    assert "cdr: N must be a whole number, got 'many'; usage: cdr [N]" == errors[5]
    assert "cdr: N must be 1..1000, got 0" in errors[6]
    assert "line test: which port? usage: line test PORT" in errors[7] and "fxs1" in errors[7]
    assert "no port 'fxs99'" in errors[8]
    assert "config check" in errors[9] and "config reload" in errors[9]
    assert "help: no command 'reboot'" in errors[10]
    assert after["ok"] and after["result"]["ready"]


def test_out_of_service_port_is_named_in_line_test(tmp_path):
    async def story(s, client, ctx):
        return await client.ask("line", "test", "fxs3")

    answer = control_session(tmp_path, story, faults={"fxs3": "absent"})
    assert answer["ok"] is False and answer["error"].startswith("line test: fxs3 is out of service: ")


def test_broken_reload_is_refused_and_the_running_config_stays(tmp_path, caplog):
    config = tmp_path / "centralino.yaml"
    shutil.copy(EXAMPLE, config)

    async def story(s, client, ctx):
        running = s.daemon.settings
        good_check = await client.ask("config", "check")
        text = config.read_text()
        config.write_text(text.replace("  definition: centralino-8fxs-4fxo", "  definition: centralino-8fxs-4fxo\n"
                                       "  pcm_slots: lots #", 1))  # a board key given in the config wins
        bad_check = await client.ask("config", "check")
        bad_reload = await client.ask("config", "reload")
        after = await client.ask("status")
        config.write_text(text)
        good_reload = await client.ask("config reload")
        status = await client.ask("status")
        return good_check, bad_check, bad_reload, after, good_reload, status, s.daemon.settings is running

    with caplog.at_level(logging.INFO, logger="centralino.control"):
        good_check, bad_check, bad_reload, after, good_reload, status, same = control_session(
            tmp_path, story, config=config)
    assert good_check["ok"] and good_check["result"]["summary"].startswith("12 ports")
    assert bad_check["ok"] is False and bad_reload["ok"] is False
    assert bad_reload["error"].startswith(f"configuration refused: {config}:")
    assert "pcm_slots" in bad_reload["error"]
    assert after["ok"] and after["result"]["ready"] and not after["result"]["config_pending_restart"]
    assert good_reload["ok"] and good_reload["result"]["applied"] is True  # the same file again
    assert good_reload["result"]["message"] == "no change" and good_reload["result"]["changed"] == []
    assert status["result"]["config_pending_restart"] is False
    assert same  # nothing changed: the running settings object is untouched
    # who ran it: both reloads (refused and accepted) are logged with this process's uid and pid
    audit = [r.getMessage() for r in caplog.records if "ran by" in r.getMessage()]
    assert len(audit) == 2
    assert all(f"uid {os.getuid()} " in m and f"pid {os.getpid()}" in m for m in audit)
    assert all(m.startswith("control: config reload ran by") for m in audit)


def test_log_tail_and_help(tmp_path):
    async def story(s, client, ctx):
        for n in range(60):  # more than the buffer keeps (50)
            logging.getLogger("centralino.test").warning("marker %d", n)
        return (await client.ask("log", "tail", "3"), await client.ask("help"),
                await client.ask("help", "config", "reload"), await client.ask("log", "tail", "51"))

    tail, help_all, help_reload, bad = control_session(tmp_path, story)
    assert [line.split(" ", 1)[1] for line in tail["result"]["lines"]] == [
        f"WARNING centralino.test: marker {n}" for n in (57, 58, 59)]
    names = [c["name"] for c in help_all["result"]["commands"]]
    assert {"status", "lines", "calls", "cdr", "config check", "config reload", "line test", "log tail",
            "help"} <= set(names)
    assert "without dropping a call" in help_reload["result"]["help"].replace("\n", " ")
    assert bad["ok"] is False and bad["error"] == "log tail: N must be 1..50, got 51; usage: log tail [N]"


def test_stale_socket_is_replaced_and_a_live_one_refused(tmp_path):
    path = tmp_path / "control.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # a crashed daemon's leftover file

    async def main():
        async with Scenario(EXAMPLE, tmp_path / "data") as s:
            first = ControlServer(ControlContext(s.daemon), path)
            await first.start()
            try:
                with pytest.raises(ControlError, match="another centralino is answering"):
                    await ControlServer(ControlContext(s.daemon), path).start()
            finally:
                await first.stop()
        return True

    assert run(main)


def test_a_line_that_is_not_utf8_or_too_deep_gets_an_error_line_not_a_traceback(tmp_path, caplog):
    async def story(s, client, ctx):
        return ([await client.raw(b'{"cmd": "st\xffatus"}'), await client.raw(b"\xc3\x28"),
                 await client.raw(b"[" * 60_000)], await client.ask("status"))

    with caplog.at_level(logging.DEBUG):
        answers, after = control_session(tmp_path, story)
    assert answers[0] == {"ok": False, "error": 'the request is not UTF-8 text (byte 0xff at column 12); '
                                                'send JSON such as {"cmd": "help"}'}
    assert answers[1]["error"].startswith("the request is not UTF-8 text (byte 0xc3 at column 1)")
    assert answers[2] == {"ok": False, "error": 'not JSON that can be read (nested too deep); send {"cmd": "help"}'}
    assert after["ok"] and after["result"]["ready"]  # the same connection goes on
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not [r for r in caplog.records if r.name == "centralino.control" and r.levelno >= logging.ERROR]


EXTENSION_207 = '{number: "207"'
BOMBS = {  # what a technician might have saved by accident, or someone on purpose
    "alias bomb": (alias_bomb(), ":5: the aliases stand for more than 20000 values"),
    "recursive alias": ("comune: &c [a, *c]\n", ":1: the alias *c is inside its own anchor &c"),
    "deep nesting": ("comune: " + "[" * 10_000 + "]" * 10_000 + "\n", ":1: nested more than 32 levels deep"),
    "long time zone": (EXAMPLE.read_text().replace("timezone: Europe/Rome", "timezone: Europe/" + "x" * 300),
                       f":{_line_of(EXAMPLE, 'timezone:')}: comune.timezone: unknown time zone 'Europe/xxx"),
    "empty": ("", ": the file is empty"),
    "binary": (b"\x7fELF\x02\x01\x01\x00\xff\xfe", ":1: not UTF-8 text: byte 0xff at column 9"),
    "NUL": (b"comune:\n\x00", ":2: a NUL character at column 1"),
    "112 unreachable": (EXAMPLE.read_text().replace('{number: "207",', '{number: "11",'),
                        f":{_line_of(EXAMPLE, EXTENSION_207)}: extensions[7].number: extension 11 is the "
                        "beginning of the emergency number 112"),
}


def test_every_bomb_is_refused_by_reload_with_one_line_and_the_running_config_stays(tmp_path):
    config = tmp_path / "centralino.yaml"
    shutil.copy(EXAMPLE, config)

    async def story(s, client, ctx):
        running = s.daemon.settings
        answers = {}
        for name, (content, _) in BOMBS.items():
            (config.write_bytes if isinstance(content, bytes) else config.write_text)(content)
            answers[name] = await client.ask("config", "reload")
        return answers, await client.ask("config", "check"), await client.ask("status"), s.daemon.settings is running

    # in real time: on the virtual clock the media loop would race ahead and take the CPU from the workers
    answers, check, status, same = control_session(tmp_path, story, config=config, virtual=False)
    for name, reload in answers.items():
        expected = f"configuration refused: {config}{BOMBS[name][1]}"
        assert reload["ok"] is False and reload["error"].startswith(expected), (name, reload)
        assert "\n" not in reload["error"] and len(reload["error"]) < 500, name
    assert check == answers["112 unreachable"]  # config check says the same as reload
    assert status["ok"] and status["result"]["ready"] and not status["result"]["config_pending_restart"]
    assert same


def _checkers_running() -> list[int]:
    """Worker processes of this test process still alive (each is a child running the checker)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid() and b"centralino.config.checker" in cmdline:
            found.append(int(entry.name))
    return found


def test_a_check_that_hangs_is_killed_at_its_deadline_while_the_switchboard_answers(tmp_path):
    """The old loader's walk over an alias bomb, for real: the budget lifted, the worker is busy for
    minutes. Meanwhile status answers, the media clock ticks, a second check is turned away, and
    at the deadline the worker is killed and reload answers with one line."""
    config = tmp_path / "centralino.yaml"
    shutil.copy(EXAMPLE, config)
    checker = ConfigChecker(timeout_s=3.0, max_values=10**12)

    async def story(s, client, ctx):
        config.write_text(alias_bomb())
        reload = asyncio.create_task(client.ask("config", "reload"))
        while not _checkers_running():  # the worker has started
            await asyncio.sleep(0.05)
        other = await open_client(tmp_path / "control.sock")
        first = await other.ask("status")
        busy = await other.ask("config", "check")
        await asyncio.sleep(0.5)
        second = await other.ask("status")
        pending = not reload.done()
        answer = await reload
        other.writer.close()
        return first, busy, second, pending, answer, _checkers_running()

    first, busy, second, pending, answer, left = control_session(tmp_path, story, config=config,
                                                                  virtual=False, checker=checker)
    assert first["ok"] and first["result"]["ready"] and pending
    assert second["result"]["media"]["ticks"] > first["result"]["media"]["ticks"]  # the clock ran on
    assert busy == {"ok": False, "error": "another configuration check is running; try again when it has answered"}
    assert answer == {"ok": False, "error": f"configuration refused: {config}: checking took longer than 3 s: "
                                            "refused (no configuration needs that long; is the file very large "
                                            "or full of aliases?)"}
    assert left == []
