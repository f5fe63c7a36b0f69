"""Seeing from outside whether the processes a command started are still running."""

from __future__ import annotations

import time
from pathlib import Path

# A child shell with a grandchild, and two children of the command's own shell; each records
# its pid in ./pids.
FAMILY = (
    "bash -c 'sleep 1000 & echo $! >> pids; wait' & echo $! >> pids; "
    "sleep 1000 & echo $! >> pids; sleep 1000; wait"
)


def running(pid: int) -> bool:
    """Alive and not a zombie (orphans may wait a while for PID 1 to reap them)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def pids_in(path: Path, count: int) -> list[int]:
    """The pids recorded in `path`, once there are `count` of them."""
    end = time.monotonic() + 5
    while time.monotonic() < end:
        if path.exists() and len(path.read_text().split()) >= count:
            return [int(p) for p in path.read_text().split()]
        time.sleep(0.02)
    raise AssertionError(f"the command did not record {count} pids in {path}")
