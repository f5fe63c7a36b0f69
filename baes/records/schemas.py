"""The JSON Schema of each record, for `baes schema --record NAME`."""

from __future__ import annotations

import importlib
from typing import Any

from baes.errors import InputError
from baes.records import RECORDS
from baes.records.base import Record

# What each record is, for the schema's title.
_FILES = {
    "run": "runs/<framework>/<run_id>/run.json",
    "manifest": "runs/manifest.json",
    "registry": ".registry.json (at the root)",
    "ledger": "a line of runs/<framework>/<run_id>/usage.jsonl",
    "progress": ".meta/run-progress.json",
    "evidence": "a line of .meta/reconcile.jsonl",
    "stats": "analysis/stats.json",
    "transcript": "a line of runs/<framework>/<run_id>/transcript.jsonl.gz",
}


def record_model(name: str) -> type[Record]:
    """The model of the record called `name`; InputError naming the known ones otherwise."""
    if name not in RECORDS:
        raise InputError(f"unknown record {name!r} (one of {', '.join(RECORDS)})")
    module, _, attribute = RECORDS[name].partition(":")
    model: type[Record] = getattr(importlib.import_module(module), attribute)
    return model


def record_schema(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the record called `name`."""
    model = record_model(name)
    document = model.model_json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = (
        f"baes {name} record ({_FILES[name]}), schema_version {model.SCHEMA_VERSION}"
    )
    return document
