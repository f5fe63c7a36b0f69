"""Writing and reading `transcript.jsonl.gz`: one gzip member per call, so a kill loses at most
the line being written.

Each call's line is compressed on its own into a complete gzip member and appended with one
write on an O_APPEND descriptor under a file lock (as baes.store.append_only does). A gzip file may hold
many members (RFC 1952), so `gzip -dc` and `zcat` read the whole file; a writer killed mid-write
leaves a truncated last member, which `read_transcript` reports instead of failing on.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import portalocker
from pydantic import ValidationError
from pydantic_core import from_json

from baes.records.transcript import TranscriptLine

# Fast enough to stay out of a call's latency, and conversations compress well even so.
_COMPRESS_LEVEL = 3


def gzip_member(data: bytes) -> bytes:
    """`data` as one complete gzip member."""
    compressor = zlib.compressobj(_COMPRESS_LEVEL, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


def append_transcript_line(path: Path, line: TranscriptLine) -> None:
    """Append one call to the transcript at `path` (created if missing). Raises OSError."""
    data = line.model_dump_json().encode("utf-8") + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        _append_member(fd, gzip_member(data))
    finally:
        os.close(fd)


def _append_member(fd: int, member: bytes) -> None:
    # Like baes.store.append_only, without its fresh-line repair: a member cut off by a killed
    # writer is recognised by the reader as a whole, so the next member needs no separator.
    portalocker.lock(fd, portalocker.LockFlags.EXCLUSIVE)
    try:
        view = memoryview(member)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        portalocker.unlock(fd)


@dataclass(frozen=True)
class Transcript:
    """A run's transcript as read back: its calls, and what could not be read."""

    lines: list[TranscriptLine]
    # Why the file ends early or holds unreadable lines (a killed writer); None when whole.
    damage: str | None = None


def read_transcript(path: Path) -> Transcript:
    """Every readable call of the transcript at `path`; FileNotFoundError if there is none."""
    raw = path.read_bytes()
    text, damage = _decompress_members(raw)
    lines: list[TranscriptLine] = []
    bad = 0
    for row in text.splitlines():
        if not row.strip():
            continue
        try:
            # pydantic-core's parser, then validation: faster than either json.loads or
            # model_validate_json on the long lines of a conversation.
            lines.append(TranscriptLine.model_validate(from_json(row)))
        except (ValueError, ValidationError):
            bad += 1
    if bad:
        note = f"{bad} unreadable line(s) skipped"
        damage = f"{damage}; {note}" if damage else note
    return Transcript(lines, damage)


def _decompress_members(raw: bytes) -> tuple[bytes, str | None]:
    out: list[bytes] = []
    rest = raw
    while rest:
        decompressor = zlib.decompressobj(31)
        try:
            data = decompressor.decompress(rest)
        except zlib.error:
            return b"".join(out), f"damaged data after {len(raw) - len(rest)} bytes (ignored)"
        if not decompressor.eof:
            # A writer killed mid-member: everything before it is whole.
            return b"".join(out), "the last call was cut off while being written (ignored)"
        out.append(data)
        rest = decompressor.unused_data
    return b"".join(out), None
