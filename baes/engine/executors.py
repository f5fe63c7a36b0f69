"""Where runs execute, behind a small interface: local threads now, a cluster later.

An executor takes a callable that performs one run and returns its finished record; the
coordinator persists what comes back, so an executor on another machine would need no shared
filesystem beyond shipping the run folder back.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class LocalThreadExecutor:
    """Runs up to `jobs` runs at once in threads of this process (frameworks are subprocesses or I/O)."""

    def __init__(self, jobs: int):
        self._pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="baes-run")

    def submit(self, run: Callable[[], dict[str, Any]]) -> Future[dict[str, Any]]:
        return self._pool.submit(run)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
