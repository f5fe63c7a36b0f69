"""The usage ledger (usage.jsonl): one JSON line per LLM call seen by the metering proxy.

Writing is append-only and safe for many threads and several processes sharing one file:
each line goes out in one `os.write` on an O_APPEND descriptor while holding both a per-file
threading lock (flock-style locks do not exclude threads sharing a descriptor) and a
portalocker lock (O_APPEND alone is not atomic for long lines or on network file systems).
Each line is flushed to the kernel as it is written (there is no user-space buffer), so a
killed process loses nothing it has recorded. Lines are not fsync'ed one by one: that would put
a disk flush (milliseconds on many disks) into the latency of every LLM call. `LedgerWriter.sync`
fsyncs, and the proxy calls it when a step's attribution is closed.

Reading tolerates what a killed writer can leave behind (a truncated last line) and reports it.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import portalocker

from baes.errors import InputError, WorkError
from baes.records.base import NewerRecordError, RecordError, load_record
from baes.records.ledger import LedgerLine
from baes.store.append_only import append_line

log = logging.getLogger(__name__)


class LedgerWriteError(WorkError):
    """A ledger line could not be written (disk full, permissions, a vanished directory)."""


class LedgerNotFoundError(InputError):
    """The ledger file to read does not exist."""


# One LLM call as usage.jsonl records it: the typed record (docs/records.md). Token fields are
# None when the provider did not report them; `usage_reported` is False when the response
# carried no usage at all. `input_tokens` includes `cached_tokens`.
LedgerEntry = LedgerLine


# One threading lock per file (keyed by device and inode, so two paths to one file share it).
_file_locks: dict[tuple[int, int], threading.Lock] = {}
_file_locks_guard = threading.Lock()


def _lock_for(fd: int) -> threading.Lock:
    stat = os.fstat(fd)
    key = (stat.st_dev, stat.st_ino)
    with _file_locks_guard:
        return _file_locks.setdefault(key, threading.Lock())


class LedgerWriter:
    """Appends entries to one usage.jsonl; safe to share between threads and across processes."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # O_RDWR (not O_WRONLY) so a write can check the file's last byte; see append().
            self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise LedgerWriteError(
                f"cannot open ledger {self.path}: {exc.strerror or exc}",
                hint="check that the directory exists and is writable",
            ) from None
        self._lock = _lock_for(self._fd)

    def append(self, entry: LedgerEntry) -> None:
        """Write one line and hand it to the kernel before returning."""
        data = (entry.model_dump_json() + "\n").encode("utf-8")
        with self._lock:
            fd = self._fd
            if fd is None:
                raise LedgerWriteError(f"ledger writer for {self.path} is closed")
            try:
                append_line(fd, data)
            except (OSError, portalocker.LockException) as exc:
                raise LedgerWriteError(f"cannot append to ledger {self.path}: {exc}") from None

    def sync(self) -> None:
        """fsync the file, so recorded lines survive an operating-system crash too."""
        with self._lock:
            if self._fd is not None:
                try:
                    os.fsync(self._fd)
                except OSError as exc:
                    raise LedgerWriteError(f"cannot fsync ledger {self.path}: {exc}") from None

    def close(self) -> None:
        """Close the descriptor (idempotent)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> LedgerWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def append_entry(path: str | os.PathLike[str], entry: LedgerEntry) -> None:
    """Append one entry to the ledger at `path` (opens and closes the file)."""
    with LedgerWriter(path) as writer:
        writer.append(entry)


@dataclass(frozen=True)
class DamagedLine:
    """A line of the ledger that is not a valid entry, with where and why."""

    line_number: int
    reason: str
    text: str  # the first 200 characters, enough to recognise it
    truncated: bool  # True: the file's last line, cut off without its newline (a killed writer)


class LedgerEntries(list[LedgerEntry]):
    """The entries of a ledger, plus the lines that could not be read (`damaged`)."""

    def __init__(self, entries: list[LedgerEntry], damaged: list[DamagedLine] | None = None):
        super().__init__(entries)
        self.damaged: list[DamagedLine] = damaged or []

    @property
    def truncated_tail(self) -> DamagedLine | None:
        """The cut-off last line a killed writer left, if there is one."""
        return next((line for line in self.damaged if line.truncated), None)


def read_ledger(path: str | os.PathLike[str]) -> LedgerEntries:
    """All valid entries of a usage.jsonl; damaged lines are reported in `.damaged`, not raised."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LedgerNotFoundError(f"no ledger at {path}") from None
    except OSError as exc:
        raise WorkError(f"cannot read ledger {path}: {exc.strerror or exc}") from None
    entries: list[LedgerEntry] = []
    damaged: list[DamagedLine] = []
    lines = data.split(b"\n")
    ends_without_newline = bool(lines[-1])
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        is_last = number == len(lines)
        try:
            entries.append(load_record(LedgerLine, raw, "ledger line"))
        except (RecordError, NewerRecordError) as exc:
            truncated = is_last and ends_without_newline
            reason = (
                "truncated last line (the writer was killed mid-write)" if truncated else str(exc)
            )
            damaged.append(
                DamagedLine(number, reason, raw[:200].decode("utf-8", "replace"), truncated)
            )
    for line in damaged:
        log.warning("ledger %s line %d skipped: %s", path, line.line_number, line.reason)
    return LedgerEntries(entries, damaged)
