"""The checker's worker process: its limits under the service unit's system call filter, and what
the daemon answers when the worker itself fails."""

from __future__ import annotations

import asyncio
import ctypes.util
import json
import subprocess
import sys

import pytest

from centralino.config.checker import MEMORY_LIMIT_BYTES, OOM_SCORE_ADJ, ConfigChecker

from .test_bombs import alias_bomb
from .test_config import EXAMPLE

SAFETY_TIMEOUT_S = 60.0
# The service unit says SystemCallFilter=~@privileged @resources; of what that removes, these are
# the calls a limit could need (systemd-analyze syscall-filter @resources lists setrlimit).
UNIT_FILTER = ("setrlimit",)
STRICTER_FILTER = ("setrlimit", "prlimit64", "getrlimit")  # in case a later unit removes those too

SECCOMP_THEN = """
import ctypes, errno, sys
lib = ctypes.CDLL(sys.argv[1], use_errno=True)
lib.seccomp_init.restype = ctypes.c_void_p
lib.seccomp_init.argtypes = [ctypes.c_uint32]
lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
lib.seccomp_load.argtypes = [ctypes.c_void_p]
lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
ALLOW, ERRNO = 0x7fff0000, 0x00050000  # SCMP_ACT_ALLOW, SCMP_ACT_ERRNO(EPERM) as systemd answers
ctx = lib.seccomp_init(ALLOW)
for name in sys.argv[2].split(","):
    assert lib.seccomp_rule_add(ctx, ERRNO | errno.EPERM, lib.seccomp_syscall_resolve_name(name.encode()), 0) == 0
assert lib.seccomp_load(ctx) == 0
"""
LIMITS_PROBE = SECCOMP_THEN + """
import json
from centralino.config.checker import limit_resources
limit_resources()
limits = open("/proc/self/limits").read().splitlines()
address = next(line for line in limits if line.startswith("Max address space")).split()[3]
print(json.dumps({"address_space": address, "oom_score_adj": open("/proc/self/oom_score_adj").read().strip()}))
"""
WORKER = SECCOMP_THEN + """
import runpy
sys.argv = ["checker", *sys.argv[3:]]
runpy.run_module("centralino.config.checker", run_name="__main__")
"""
LIBSECCOMP = ctypes.util.find_library("seccomp")
needs_seccomp = pytest.mark.skipif(LIBSECCOMP is None, reason="libseccomp is not installed")


def _run(script: str, calls, *args) -> dict:
    result = subprocess.run([sys.executable, "-c", script, LIBSECCOMP, ",".join(calls), *map(str, args)],
                            capture_output=True, text=True, timeout=SAFETY_TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@needs_seccomp
def test_the_worker_limits_itself_under_the_units_filter():
    assert _run(LIMITS_PROBE, UNIT_FILTER) == {"address_space": str(MEMORY_LIMIT_BYTES),
                                               "oom_score_adj": str(OOM_SCORE_ADJ)}


@needs_seccomp
def test_a_filter_that_refuses_every_limit_still_leaves_a_working_checker(tmp_path):
    probe = _run(LIMITS_PROBE, STRICTER_FILTER)
    assert probe["address_space"] == "unlimited"  # the filter did refuse the limit...
    assert probe["oom_score_adj"] == str(OOM_SCORE_ADJ)  # ...and the kernel still kills the worker first
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb())
    good = _run(WORKER, STRICTER_FILTER, "--", EXAMPLE)
    bad = _run(WORKER, STRICTER_FILTER, "--", bomb)
    assert good["ok"] and good["summary"]["extensions"] == 8
    assert not bad["ok"] and bad["error"].startswith(f"{bomb}:5: the aliases stand for more than 20000 values")


def test_a_worker_that_cannot_run_is_a_refusal_with_one_line(tmp_path):
    """A broken installation (the interpreter gone, the module missing) refuses the file clearly
    rather than accepting it or raising into the control socket."""
    async def check(python):
        return await ConfigChecker(python=python).check(EXAMPLE)

    gone = asyncio.run(check("/bin/false"))
    assert (gone.ok, gone.error) == (False, f"{EXAMPLE}: the configuration check failed (exit status 1: no output): "
                                            "refused")
    killer = tmp_path / "killed"
    killer.write_text("#!/bin/sh\nkill -KILL $$\n")  # what the OOM killer does to a worker
    killer.chmod(0o755)
    killed = asyncio.run(check(str(killer)))
    assert killed.error == f"{EXAMPLE}: the configuration check failed (stopped by SIGKILL): refused"
