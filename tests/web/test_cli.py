"""``centralino web`` refuses what it cannot use with one line naming it, and keeps what it stored."""

from __future__ import annotations

import socket
import subprocess

from .harness import CENTRALINO, free_port


def _web(tmp_path, *args):
    return subprocess.run([str(CENTRALINO), "web", "--state-dir", str(tmp_path / "state"), "--control",
                           str(tmp_path / "none.sock"), "--listen", "127.0.0.1", "--http-port", "0", *args],
                          capture_output=True, text=True, timeout=30)


def test_a_damaged_accounts_file_is_named_and_left_as_it_is(tmp_path):
    (tmp_path / "state").mkdir()
    accounts = tmp_path / "state" / "accounts.json"
    accounts.write_text('{"accounts": [{"name": "admin"')
    result = _web(tmp_path, "--https-port", str(free_port()))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"centralino: {accounts}: cannot read the accounts")
    assert accounts.read_text() == '{"accounts": [{"name": "admin"', "nothing overwritten, no new admin"


def test_a_port_in_use_is_named(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _web(tmp_path, "--https-port", str(port))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr.strip().splitlines()[-1]


def test_reset_password_of_an_unknown_account(tmp_path):
    result = subprocess.run([str(CENTRALINO), "web", "--state-dir", str(tmp_path), "reset-password", "mrossi"],
                            capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stderr.strip()) == (2, "centralino: nessun account 'mrossi'")
