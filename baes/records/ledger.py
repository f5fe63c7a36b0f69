"""A line of usage.jsonl: one LLM call as the metering proxy saw it."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, StrictBool, StrictInt

from baes.records.base import Record


class LedgerLine(Record):
    """One LLM call (runs/<framework>/<run_id>/usage.jsonl holds one JSON line per call).

    Lines written before the typed records have no `schema_version`; they are version 1 too
    (the same fields). Newer writers may add fields: a reader keeps the ones it knows.
    """

    # Frozen: an entry is a measurement. Strict numbers: a token count of `true` or "12" in a
    # line is corruption, not a number.
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    schema_version: Literal[1] = 1
    """Version of the line's format (absent in lines of baes before the typed records: 1)."""
    ts_start: str
    """ISO-8601 UTC time the proxy received the request."""
    ts_end: str
    """ISO-8601 UTC time the answer was complete."""
    run_id: str
    """The run the call belongs to."""
    step: str
    """The step the call belongs to (`NN-<id>`)."""
    endpoint: str
    """The API path called, e.g. `/v1/chat/completions`."""
    model_requested: str | None
    """The model the framework asked for."""
    model_served: str | None
    """The model the provider says answered."""
    status_code: StrictInt
    """HTTP status of the answer."""
    stream: StrictBool
    """True for a streamed answer."""
    input_tokens: StrictInt | None
    """Prompt tokens, cached ones included; null when the provider did not report them."""
    output_tokens: StrictInt | None
    """Completion tokens; null when the provider did not report them."""
    cached_tokens: StrictInt | None
    """Prompt tokens served from cache; null when the provider did not report them."""
    reasoning_tokens: StrictInt | None
    """Reasoning tokens (part of output_tokens); null when not reported."""
    latency_s: float
    """Seconds from request to complete answer."""
    usage_reported: StrictBool
    """False when the answer carried no usage at all."""
    error: str | None
    """Why the call failed (e.g. `budget_exceeded: ...`); null when it did not."""
