"""How the foreground servers (`baes sim serve`, `baes proxy serve`) wait for Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT (Ctrl-C) or SIGTERM while the block runs; the old handlers after.

    Enter it before printing the base URL, so a caller may signal as soon as it reads it: both
    signals then end the server cleanly with exit code 0. Handling SIGINT explicitly also covers
    shells that start background jobs ignoring it.
    """
    stopped = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stopped.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield stopped
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def wait_until(stopped: threading.Event) -> None:
    """Block until the event is set (polling, so the main thread still runs signal handlers)."""
    while not stopped.wait(0.2):
        pass
