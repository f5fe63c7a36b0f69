"""`.meta/reconcile.jsonl`: every usage read reconcile made, appended, never rewritten in content.

One JSON line per read: when, what window and query, whether it succeeded (the provider's bucket
results) or failed (the cause, and no numbers), the comparisons, and the state each run got.
The state machine reads the earlier successful reads back to tell settled data from data that
is still changing.

Appending writes the whole new file to a temporary file and renames it over the old one, under
the file's lock. The file stays small (one line per read; reads are minutes apart), so rewriting
it costs little, and in exchange a reader, or a reconcile killed mid-write, can only ever see
the old file or the new one: never a half-written line. (An O_APPEND write can be cut short by
a full disk or a crash and leave a fragment behind.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from baes.reconcile.usage_client import ProviderBucket
from baes.records.base import RecordError, load_record
from baes.records.evidence import EvidenceRecord
from baes.store.atomic import atomic_write_bytes, file_lock
from baes.store.paths import ExperimentPaths

log = logging.getLogger(__name__)

EVIDENCE_SCHEMA_VERSION = EvidenceRecord.SCHEMA_VERSION
EVIDENCE_FILE = "reconcile.jsonl"


def evidence_path(paths: ExperimentPaths) -> Path:
    """Where an experiment's reconciliation evidence lives."""
    return paths.meta_dir / EVIDENCE_FILE


@dataclass(frozen=True)
class PastRead:
    """A successful read as the evidence holds it."""

    read_id: str
    at: float
    window: tuple[int, int]
    scope: str
    buckets: list[ProviderBucket]

    def covers(self, start: int, end: int) -> bool:
        return self.window[0] <= start and end <= self.window[1]


def _past_read(record: EvidenceRecord) -> PastRead:
    start, end = record.window
    return PastRead(
        read_id=record.read_id,
        at=record.t,
        window=(start, end),
        scope=record.scope,
        buckets=[ProviderBucket.from_json(b) for b in record.buckets or []],
    )


class EvidenceLog:
    """The evidence file of one experiment."""

    def __init__(self, path: Path):
        self.path = path

    def append(self, record: EvidenceRecord) -> None:
        """Add one read's record; readers see the file with or without it, nothing in between."""
        line = record.model_dump_json()
        with file_lock(self.path):
            try:
                existing = self.path.read_bytes()
            except FileNotFoundError:
                existing = b""
            if existing and not existing.endswith(b"\n"):
                existing += b"\n"  # a hand-edited file; keep its last line whole
            atomic_write_bytes(self.path, existing + line.encode("utf-8") + b"\n")

    def records(self) -> list[EvidenceRecord]:
        """Every readable record, oldest first (damaged lines are skipped and logged; a line of
        a newer baes raises NewerRecordError: its reads must not be judged by an older one)."""
        try:
            lines = self.path.read_bytes().split(b"\n")
        except FileNotFoundError:
            return []
        records = []
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                records.append(load_record(EvidenceRecord, raw, "reconcile evidence line"))
            except RecordError as exc:
                log.warning("%s line %d skipped: %s", self.path, number, exc)
        return records

    def reads(self, scope: str) -> list[PastRead]:
        """The successful reads made with the same query scope, oldest first."""
        reads = []
        for record in self.records():
            if not record.ok or record.scope != scope:
                continue
            try:
                reads.append(_past_read(record))
            except ValueError as exc:
                log.warning("%s: read %s skipped: %s", self.path, record.read_id, exc)
        return sorted(reads, key=lambda r: r.at)
