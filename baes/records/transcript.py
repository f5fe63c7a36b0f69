"""One line of a run's `transcript.jsonl.gz`: an LLM call as the metering proxy saw it.

Not to be confused with the reference agent's step log (`steps/<step>/stdout.log`, written by
baes.frameworks.step_log): that is the agent's own readable account; this is what went over the
wire, for every framework. The ledger (usage.jsonl) holds the numbers; the transcript holds the
words. Keys never appear: only bodies are kept (never headers), and every text goes through
baes.redaction before it is written.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from baes.records.base import Record

TRANSCRIPT_FILE = "transcript.jsonl.gz"
# Bounds (docs/metering.md, "Transcripts"): a string value longer than MAX_STRING_CHARS is cut to
# that length with TRUNCATION_MARKER appended; a request or response body that is still larger
# than MAX_BODY_BYTES once serialised is replaced by {"baes_truncated": ..., "head": ...}.
MAX_STRING_CHARS = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024
TRUNCATION_MARKER = "… [baes: truncated, {n} more characters]"


class TranscriptUsage(BaseModel):
    """Tokens as the provider reported them for this call (same meaning as the ledger's)."""

    model_config = ConfigDict(extra="forbid")

    input_tokens: int = Field(description="Input tokens, cached ones included.")
    output_tokens: int | None = Field(description="Output tokens; null if not reported.")
    cached_tokens: int | None = Field(description="Cached input tokens; null if not reported.")
    reasoning_tokens: int | None = Field(description="Reasoning tokens; null if not reported.")


class TranscriptResponse(BaseModel):
    """What came back: the body (a stream reassembled into one answer), usage, status, timing."""

    model_config = ConfigDict(extra="forbid")

    status_code: int = Field(description="HTTP status the client got (499: it hung up).")
    stream: bool = Field(description="The answer was a server-sent event stream.")
    body: Any = Field(
        description="The JSON answer. A chat/completions stream is reassembled into the shape of "
        "a non-streamed `chat.completion` (content and tool calls joined from their deltas); a "
        "Responses API stream is the `response` object of its terminal event. Null when the "
        "answer was not JSON or never arrived."
    )
    text: str | None = Field(
        None, description="The answer's text when it was not JSON (an HTML error page, say)."
    )
    usage: TranscriptUsage | None = Field(description="Usage read from the answer, if any.")
    latency_s: float = Field(description="Seconds from the request's arrival to the answer's end.")
    error: str | None = Field(description="The ledger's error text for this call, if it failed.")


class TranscriptLine(Record):
    """One LLM call of a run, in the order calls arrived within a step."""

    schema_version: Literal[1] = Field(1, description="Version of this line's format.")
    step: str = Field(description="The step label (`NN-<id>`), as in the ledger and steps/.")
    call: int = Field(ge=1, description="1-based number of the call within its step, by arrival.")
    ts_start: str = Field(description="UTC ISO time the proxy received the request.")
    endpoint: str = Field(description="The API path called, e.g. `/v1/chat/completions`.")
    request: Any = Field(
        description="The JSON request body as forwarded upstream (after the model policy and "
        "the proxy's stream_options), or null when the body was not JSON. Never headers."
    )
    response: TranscriptResponse = Field(description="The answer.")
    truncated: bool = Field(
        False, description="Some text of this call was cut to the bounds (see MAX_*)."
    )
