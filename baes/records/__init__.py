"""Typed records: the on-disk contracts of baes as pydantic models (docs/records.md).

One module per record. Each model has a `schema_version`; `load_record` reads a record, migrates
an older version through that record's explicit migration functions, and refuses a newer one.
These modules import nothing from baes but `baes.errors`, so every layer can use them. This
package's face imports no pydantic (the errors only): `load_record` and `Record` are in
`baes.records.base`.
"""

from __future__ import annotations

from baes.records.errors import NewerRecordError, RecordError

__all__ = ["NewerRecordError", "RecordError", "RECORDS"]

# `baes schema --record NAME`: the module holding each record's model.
RECORDS = {
    "run": "baes.records.run:RunRecord",
    "manifest": "baes.records.manifest:ManifestRecord",
    "registry": "baes.records.registry:RegistryRecord",
    "ledger": "baes.records.ledger:LedgerLine",
    "progress": "baes.records.progress:RunProgressRecord",
    "evidence": "baes.records.evidence:EvidenceRecord",
    "stats": "baes.records.stats:StatsRecord",
    "transcript": "baes.records.transcript:TranscriptLine",
}
