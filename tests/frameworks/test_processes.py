"""run_process: own process group, output to files, deadline and cancel stop the whole group."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from baes.frameworks import processes
from baes.frameworks.processes import run_process
from tests.frameworks.process_probe import FAMILY, pids_in, running


def run(command: str, cwd: Path, timeout_s: float = 10, cancel=None, merged=False):
    return run_process(
        command,
        cwd,
        dict(os.environ),
        cwd / "out.log",
        None if merged else cwd / "err.log",
        time.monotonic() + timeout_s,
        cancel,
    )


def test_output_streams_to_files_and_the_exit_code_is_returned(tmp_path):
    result = run("echo to-out; echo to-err >&2; exit 3", tmp_path)
    assert result.exit_code == 3 and not result.timed_out and not result.cancelled
    assert (tmp_path / "out.log").read_text() == "to-out\n"
    assert (tmp_path / "err.log").read_text() == "to-err\n"


def test_without_a_stderr_path_both_streams_share_one_file(tmp_path):
    run("echo one; echo two >&2; echo three", tmp_path, merged=True)
    assert (tmp_path / "out.log").read_text().split() == ["one", "two", "three"]


def test_the_deadline_kills_children_and_grandchildren(tmp_path):
    started = time.monotonic()
    result = run(FAMILY, tmp_path, timeout_s=1.0)
    assert result.timed_out and result.exit_code is None
    assert time.monotonic() - started < 1.0 + processes.TERM_GRACE_S + 1
    pids = pids_in(tmp_path / "pids", 3)
    assert not [pid for pid in pids if running(pid)], "processes of the group survived"


def test_cancel_stops_the_whole_group_promptly(tmp_path):
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    result = run(FAMILY, tmp_path, timeout_s=60, cancel=cancel)
    assert result.cancelled and not result.timed_out and result.exit_code is None
    assert time.monotonic() - started < 3
    assert not [pid for pid in pids_in(tmp_path / "pids", 3) if running(pid)]


def test_a_process_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path, monkeypatch):
    monkeypatch.setattr(processes, "TERM_GRACE_S", 0.3)
    started = time.monotonic()
    result = run("trap '' TERM; sleep 1000 & echo $! > pids; wait", tmp_path, timeout_s=0.5)
    assert result.timed_out
    assert time.monotonic() - started < 3
    assert not running(pids_in(tmp_path / "pids", 1)[0])


def test_background_processes_left_behind_by_a_finished_command_are_stopped(tmp_path):
    result = run("sleep 1000 & echo $! > pids; exit 0", tmp_path)
    assert result.exit_code == 0
    assert not running(pids_in(tmp_path / "pids", 1)[0])


def test_stdin_is_empty_so_a_question_does_not_hang(tmp_path):
    result = run('read answer; echo "read exit $?"', tmp_path, timeout_s=5)
    assert result.exit_code == 0
    assert (tmp_path / "out.log").read_text() == "read exit 1\n"


def test_nothing_starts_after_the_deadline_or_a_cancel(tmp_path):
    late = run_process("touch ran", tmp_path, {}, tmp_path / "o", None, time.monotonic() - 1)
    assert late.timed_out and late.pid is None
    cancel = threading.Event()
    cancel.set()
    cancelled = run("touch ran", tmp_path, cancel=cancel)
    assert cancelled.cancelled and cancelled.pid is None
    assert not (tmp_path / "ran").exists()
