"""Running one shell command in its own process group, with a deadline and a cancel event.

Frameworks start servers, language servers and helper processes of their own; killing only the
shell we started would leave those running (and holding the workspace). Every command therefore
gets its own session, and stopping it means stopping the whole process group.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TERM_GRACE_S = 2.0  # time between SIGTERM and SIGKILL: enough for a tool to flush its files
POLL_S = 0.05  # how often the cancel event is looked at while the command runs

# bash when present: users write templates and checks with bash habits ([[ ]], pipefail, $'..').
SHELL = shutil.which("bash") or "/bin/sh"


@dataclass(frozen=True)
class ProcessResult:
    """How a command ended. `exit_code` is None when baes stopped it (deadline or cancel)."""

    exit_code: int | None
    timed_out: bool
    cancelled: bool
    duration_s: float
    pid: int | None  # None when the command never started (deadline passed or already cancelled)


def run_process(
    command: str,
    cwd: Path,
    env: Mapping[str, str],
    stdout_path: Path,
    stderr_path: Path | None,
    deadline: float,
    cancel: threading.Event | None = None,
) -> ProcessResult:
    """Run `command` with the shell in `cwd` until it exits, the deadline passes or `cancel` is set.

    stdout and stderr stream to their files (`stderr_path=None` merges stderr into stdout).
    On deadline or cancel the whole process group gets SIGTERM, then SIGKILL after a grace
    period; processes the command left behind when it exited normally are stopped the same way.
    `deadline` is a time.monotonic() value. stdin is /dev/null, so a tool that asks a question
    reads end-of-file instead of waiting forever. OSError if the command cannot be started
    (e.g. `cwd` does not exist).
    """
    started = time.monotonic()
    stdout_path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as files:
        out = files.enter_context(open(stdout_path, "ab"))
        err = files.enter_context(open(stderr_path, "ab")) if stderr_path else None
        if cancel is not None and cancel.is_set():
            return ProcessResult(None, False, True, 0.0, None)
        if deadline <= started:
            return ProcessResult(None, True, False, 0.0, None)
        process = subprocess.Popen(
            [SHELL, "-c", command],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err if err is not None else subprocess.STDOUT,
            start_new_session=True,
        )
        timed_out = cancelled = False
        try:
            while True:
                try:
                    process.wait(timeout=max(0.0, min(POLL_S, deadline - time.monotonic())))
                    break
                except subprocess.TimeoutExpired:
                    pass
                if cancel is not None and cancel.is_set():
                    cancelled = True
                    break
                if time.monotonic() >= deadline:
                    timed_out = True
                    break
        finally:
            # Also on KeyboardInterrupt: the group is in its own session and never saw the signal.
            stop_process_group(process.pid)
            process.wait()
    duration = time.monotonic() - started
    exit_code = None if (timed_out or cancelled) else process.returncode
    return ProcessResult(exit_code, timed_out, cancelled, duration, process.pid)


def stop_process_group(pgid: int) -> None:
    """SIGTERM every live process of the group, then SIGKILL what is left after TERM_GRACE_S."""
    if not group_alive(pgid):
        return
    _signal_group(pgid, signal.SIGTERM)
    end = time.monotonic() + TERM_GRACE_S
    while time.monotonic() < end:
        if not group_alive(pgid):
            return
        time.sleep(0.02)
    _signal_group(pgid, signal.SIGKILL)
    end = time.monotonic() + TERM_GRACE_S
    while time.monotonic() < end and group_alive(pgid):
        time.sleep(0.02)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def group_alive(pgid: int) -> bool:
    """Whether a process of the group is still running (zombies waiting to be reaped don't count)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    # kill(0) also succeeds on zombies, and orphans left by a killed group may stay zombies
    # for a while (or for good, when PID 1 does not reap); /proc tells running from dead.
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    return any(
        pid_running(int(entry.name), pgid) for entry in proc.iterdir() if entry.name.isdigit()
    )


def pid_running(pid: int, pgid: int) -> bool:
    """Whether `pid` is a live (non-zombie) process in group `pgid`."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        if not Path("/proc").is_dir():
            try:
                os.kill(pid, 0)
            except (ProcessLookupError, PermissionError):
                return False
            return os.getpgid(pid) == pgid
        return False
    # Fields after the parenthesised command name: state, ppid, pgrp, ...
    fields = stat.rsplit(")", 1)[-1].split()
    if fields[0] in ("Z", "X"):
        return False
    return int(fields[2]) == pgid


def last_output_line(path: Path, limit: int = 200) -> str:
    """The last non-empty line a process wrote to `path` (baes's own `[baes]` lines skipped),
    at most `limit` characters; '' when there is none."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 8192))
            tail = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines()]
    lines = [line for line in lines if line and not line.startswith("[baes]")]
    if not lines:
        return ""
    return lines[-1] if len(lines[-1]) <= limit else lines[-1][: limit - 1] + "…"
