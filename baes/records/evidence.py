"""A line of `.meta/reconcile.jsonl`: one usage read of `baes reconcile`, appended, never changed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import StrictInt

from baes.records.base import Record


class ReadError(Record):
    """Why a usage read failed (a failed read records no numbers)."""

    kind: str
    """The cause's kind (e.g. `auth`, `network`, `rate_limited`)."""
    message: str
    """The cause in one line."""
    permanent: bool
    """True when retrying cannot help (e.g. a key without usage permission)."""


class RunStateChange(Record):
    """The verification state one run got from this read."""

    framework: str
    """The run's framework."""
    previous: str
    """Its state before the read."""
    state: str
    """Its state after the read."""
    message: str
    """Why, in one line."""


class EvidenceRecord(Record):
    """One usage read: when, what window and query, the provider's buckets or the failure's
    cause, the comparisons with the ledger, and the state each run got."""

    schema_version: Literal[1] = 1
    """Version of the line's format."""
    read_id: str
    """The read's id."""
    experiment: str
    """The experiment's name."""
    at: str
    """ISO-8601 UTC time of the read."""
    t: float
    """The same time as Unix seconds (what the state machine compares)."""
    scope: str
    """Signature of the query (provider, key, models): reads of one scope are compared."""
    window: tuple[StrictInt, StrictInt]
    """[start, end] of the queried time window, Unix seconds."""
    ok: bool
    """True when the read succeeded."""
    pages: int | None
    """Pages the usage API returned; null for a failed read."""
    attempts: int
    """HTTP attempts the read took."""
    error: ReadError | None
    """Why the read failed; null when it succeeded."""
    buckets: list[list[Any]] | None
    """The provider's buckets, each [start, model, api_key_id, requests, input_tokens,
    cached_tokens, output_tokens]; null for a failed read."""
    comparisons: list[dict[str, Any]] | None
    """Per unit and group: the ledger's and the provider's quantities, their delta and what
    differs beyond tolerance; null for a failed read."""
    runs: dict[str, RunStateChange]
    """The state each run got from this read, by run id."""
