"""The foreground servers stop cleanly on a signal sent as soon as the base URL is read."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from baes.cli.serving import stop_on_signals

PROXY_SERVE = [sys.executable, "-c", "from baes.cli.proxy import app; app()", "serve"]


def test_stop_on_signals_sets_the_event_and_restores_the_old_handlers():
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    with stop_on_signals() as stopped:
        assert not stopped.is_set()
        os.kill(os.getpid(), signal.SIGTERM)
        assert stopped.wait(5)
    assert {signum: signal.getsignal(signum) for signum in before} == before


def test_proxy_serve_exits_0_on_sigterm_sent_right_after_the_base_url(tmp_path):
    process = subprocess.Popen(
        [
            *PROXY_SERVE,
            "--upstream",
            "http://127.0.0.1:9/v1",
            "--ledger",
            str(tmp_path / "usage.jsonl"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout.readline().startswith("http://127.0.0.1:")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
