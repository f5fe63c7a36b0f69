"""Appending whole lines to a file shared by threads and processes (ledgers, usage logs)."""

from __future__ import annotations

import os

import portalocker


def append_line(fd: int, data: bytes) -> None:
    """Append `data` (one line, newline-terminated) to the file open at `fd` with O_APPEND.

    Holds an exclusive file lock for the write, so lines of concurrent writers never interleave,
    even when a line is longer than what the kernel writes atomically. Callers add their own
    thread lock: flock does not exclude threads sharing one descriptor. Raises OSError or
    portalocker.LockException.
    """
    portalocker.lock(fd, portalocker.LockFlags.EXCLUSIVE)
    try:
        # A writer killed mid-line leaves no newline; start on a fresh line so its fragment stays
        # a single damaged line instead of corrupting this one.
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        view = memoryview(data)
        while view:
            # Regular files write in full unless the disk fills; the loop stays under the lock.
            view = view[os.write(fd, view) :]
    finally:
        portalocker.unlock(fd)
