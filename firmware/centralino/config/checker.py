"""Check a configuration file within a time and memory limit: in this process for
``centralino config check``, in a child process for the running daemon.

A technician may check or reload a file that is broken in ways nobody foresaw, and the daemon's
asyncio loop also runs the 20 ms media clock and answers the console: the check must not run on
it. ``ConfigChecker.check`` starts ``python -m centralino.config.checker FILE``, which caps its
own address space and CPU time, prints one JSON line (a ``Verdict``) and exits; the daemon kills
it after ``timeout_s`` real seconds (a timer thread measures them, whatever the loop's clock
says) and answers with one line either way. One check runs at a time.

The loader's own limits (``yaml_reader``) refuse every bomb known today within milliseconds; the
time and memory limits are for the ones nobody has thought of yet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import one_line
from .yaml_reader import MAX_VALUES

CHECK_TIMEOUT_S = 15.0  # the console waits 30 s for an answer; a Pi 3 needs about 3 s
MEMORY_LIMIT_BYTES = 512 * 1024 * 1024  # address space of the checking process; it needs about 150 MB
OOM_SCORE_ADJ = 1000  # the most a process may ask for itself: killed first when memory runs out
ORPHAN_GRACE_S = 2.0  # a worker whose daemon died stops by itself this long after the deadline


class CheckTimeout(Exception):
    """The in-process deadline passed."""


class CheckerBusy(RuntimeError):
    """Another check is running (one at a time: each may take a worker's memory)."""


@dataclass(frozen=True)
class Verdict:
    """A file's check: accepted with a summary, or refused with one line naming file and problem."""

    ok: bool
    file: str
    error: str | None = None
    summary: dict | None = None  # ports, extensions, groups, lines, operator, operators

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Verdict":
        data = json.loads(text)
        return cls(bool(data["ok"]), str(data["file"]), data.get("error"), data.get("summary"))

    def summary_text(self) -> str:
        s = self.summary or {}
        return f"{s.get('ports')} ports, {s.get('extensions')} extensions, {s.get('groups')} groups, {s.get('lines')} lines"


def _summary(settings) -> dict:
    return {"ports": len(settings.board.ports), "extensions": len(settings.extensions),
            "groups": len(settings.groups), "lines": len(settings.lines), "operator": settings.dialplan.operator,
            "operators": [e.number for e in settings.operator_extensions]}


def limit_resources(memory_bytes: int = MEMORY_LIMIT_BYTES, cpu_s: float | None = None) -> None:
    """Cap this process's address space (and CPU seconds), only ever lowering a limit, and make
    it the kernel's first choice when memory runs out, so the switchboard is never the one killed.

    Best effort: where a system call filter refuses a limit (the service unit's allows setrlimit
    through prlimit64 today), the others still apply, and the loader's own bounds remain."""
    limits = [(resource.RLIMIT_AS, memory_bytes)]
    if cpu_s is not None:
        limits.append((resource.RLIMIT_CPU, max(1, int(cpu_s + 0.999))))
    for which, wanted in limits:
        try:
            soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                wanted = min(wanted, hard)
            if soft == resource.RLIM_INFINITY or wanted < soft:
                resource.setrlimit(which, (wanted, hard))
        except (OSError, ValueError):  # EPERM from a seccomp filter (Python says ValueError)
            pass
    try:
        Path("/proc/self/oom_score_adj").write_text(f"{OOM_SCORE_ADJ}\n")
    except OSError:
        pass


@contextmanager
def _deadline(seconds: float | None):
    """Raise CheckTimeout in this (main) thread after ``seconds`` of wall-clock time."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        raise CheckTimeout()

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timeout_error(path, seconds: float) -> str:
    return (f"{path}: checking took longer than {seconds:g} s: refused (no configuration needs that long; "
            "is the file very large or full of aliases?)")


def check_file(path, max_values: int = MAX_VALUES, time_limit_s: float | None = None) -> Verdict:
    """Load and validate ``path``; never raises: a refusal is a Verdict with one line."""
    from .loader import ConfigError
    from .schema import load_settings

    path = str(path)
    try:
        with _deadline(time_limit_s):
            settings = load_settings(path, max_values=max_values)
    except ConfigError as err:
        return Verdict(False, path, str(err))
    except CheckTimeout:
        return Verdict(False, path, timeout_error(path, time_limit_s))
    except MemoryError:
        return Verdict(False, path, f"{path}: checking needed more memory than the checker may use: refused")
    except RecursionError:
        return Verdict(False, path, f"{path}: nested too deeply to check: refused")
    except Exception as err:  # a bug in the checks; still one line, and the file is refused
        return Verdict(False, path, one_line(f"{path}: internal error while checking ({type(err).__name__}: {err}); "
                                             "the file is refused, please report this"))
    return Verdict(True, path, summary=_summary(settings))


class ConfigChecker:
    """The daemon's way to check a file: in a worker process with a time and memory limit."""

    def __init__(self, timeout_s: float = CHECK_TIMEOUT_S, memory_limit_bytes: int = MEMORY_LIMIT_BYTES,
                 max_values: int = MAX_VALUES, python: str = sys.executable):
        self.timeout_s, self.memory_limit_bytes, self.max_values = timeout_s, memory_limit_bytes, max_values
        self.python = python
        self.busy = False

    def _argv(self, path) -> list[str]:
        return [self.python, "-I", "-m", "centralino.config.checker", "--max-values", str(self.max_values),
                "--time-limit-s", str(self.timeout_s + ORPHAN_GRACE_S), "--memory-limit-bytes",
                str(self.memory_limit_bytes), "--", str(path)]

    async def check(self, path) -> Verdict:
        if self.busy:
            raise CheckerBusy("another configuration check is running; try again when it has answered")
        self.busy = True
        try:
            return await self._run(path)
        finally:
            self.busy = False

    async def _run(self, path) -> Verdict:
        loop = asyncio.get_running_loop()
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")  # less address space
        proc = await asyncio.create_subprocess_exec(*self._argv(path), stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE, env=env)
        expired = threading.Event()

        def expire() -> None:  # in the timer's thread: real seconds, also on a virtual clock
            expired.set()
            loop.call_soon_threadsafe(_kill, proc)

        timer = threading.Timer(self.timeout_s, expire)
        timer.daemon = True
        timer.start()
        try:
            out, err = await proc.communicate()
        finally:
            timer.cancel()
            if proc.returncode is None:  # cancelled: the daemon is stopping
                _kill(proc)
                await proc.wait()
        if expired.is_set():
            return Verdict(False, str(path), timeout_error(path, self.timeout_s))
        return _verdict(path, proc.returncode, out, err)


def _kill(proc) -> None:
    if proc.returncode is None:
        try:
            proc.kill()
        except ProcessLookupError:
            pass


def _verdict(path, returncode: int, out: bytes, err: bytes) -> Verdict:
    """The worker's JSON line, or one line saying how it failed."""
    lines = out.decode("utf-8", "replace").strip().splitlines()
    if returncode == 0 and lines:
        try:
            return Verdict.from_json(lines[-1])
        except (ValueError, KeyError, TypeError):
            pass
    if returncode is not None and returncode < 0:
        try:
            how = f"stopped by {signal.Signals(-returncode).name}"  # SIGKILL from the OOM killer, SIGXCPU...
        except ValueError:
            how = f"stopped by signal {-returncode}"
    else:
        last = (err.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        how = f"exit status {returncode}: {last}"
    return Verdict(False, str(path), one_line(f"{path}: the configuration check failed ({how}): refused"))


def main(argv: list[str] | None = None) -> int:
    """The worker: check one file within the limits given, print its Verdict as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m centralino.config.checker")
    parser.add_argument("file", type=Path)
    parser.add_argument("--max-values", type=int, default=MAX_VALUES)
    parser.add_argument("--time-limit-s", type=float, default=CHECK_TIMEOUT_S)
    parser.add_argument("--memory-limit-bytes", type=int, default=MEMORY_LIMIT_BYTES)
    args = parser.parse_args(argv)
    limit_resources(args.memory_limit_bytes, args.time_limit_s + ORPHAN_GRACE_S)
    verdict = check_file(args.file, args.max_values, args.time_limit_s)
    sys.stdout.write(verdict.to_json() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
