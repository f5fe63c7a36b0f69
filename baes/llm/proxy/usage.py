"""Token usage as the OpenAI-compatible APIs report it, from whole bodies and from SSE streams.

Two shapes exist: chat/completions, completions and embeddings report `prompt_tokens`,
`completion_tokens` (+ `*_details`); the Responses API reports `input_tokens`, `output_tokens`
(+ `input_tokens_details.cached_tokens`, `output_tokens_details.reasoning_tokens`). In both,
input tokens include cached ones. A detail the provider does not report stays None.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from baes.redaction import redact as redact_keys


@dataclass(frozen=True)
class Usage:
    """Tokens of one call; None = the provider did not report that number."""

    input_tokens: int
    output_tokens: int | None
    cached_tokens: int | None
    reasoning_tokens: int | None


def _count(value: Any) -> int | None:
    # bool is an int subclass; `true` is not a token count.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _detail(usage: dict[str, Any], group: str, name: str) -> int | None:
    details = usage.get(group)
    return _count(details.get(name)) if isinstance(details, dict) else None


def parse_usage(usage: Any) -> Usage | None:
    """A `usage` object of either API shape; None when it carries no input token count."""
    if not isinstance(usage, dict):
        return None
    if "input_tokens" in usage:  # Responses API
        input_tokens = _count(usage.get("input_tokens"))
        output_tokens = _count(usage.get("output_tokens"))
        cached = _detail(usage, "input_tokens_details", "cached_tokens")
        reasoning = _detail(usage, "output_tokens_details", "reasoning_tokens")
    else:  # chat/completions, completions, embeddings
        input_tokens = _count(usage.get("prompt_tokens"))
        output_tokens = _count(usage.get("completion_tokens"))
        total = _count(usage.get("total_tokens"))
        if output_tokens is None and input_tokens is not None and total is not None:
            # Embeddings report prompt and total tokens only; the difference is measured.
            output_tokens = total - input_tokens if total >= input_tokens else None
        cached = _detail(usage, "prompt_tokens_details", "cached_tokens")
        reasoning = _detail(usage, "completion_tokens_details", "reasoning_tokens")
    if input_tokens is None:
        return None
    return Usage(input_tokens, output_tokens, cached, reasoning)


def usage_from_payload(payload: Any) -> Usage | None:
    """Usage of a response body or stream event (Responses events nest it under `response`)."""
    if not isinstance(payload, dict):
        return None
    usage = parse_usage(payload.get("usage"))
    if usage is None and isinstance(payload.get("response"), dict):
        usage = parse_usage(payload["response"].get("usage"))
    return usage


def model_from_payload(payload: Any) -> str | None:
    """The model named by a response body or stream event, if any."""
    if not isinstance(payload, dict):
        return None
    model = payload.get("model")
    if model is None and isinstance(payload.get("response"), dict):
        model = payload["response"].get("model")
    return model if isinstance(model, str) else None


def error_summary(status_code: int, payload: Any, limit: int = 200) -> str:
    """A short one-line description of an error answer, for the ledger's `error` field."""
    text = f"HTTP {status_code}"
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        kind = error.get("code") or error.get("type")
        if kind:
            text += f" {kind}"
        if error.get("message"):
            text += f": {error['message']}"
    elif isinstance(error, str):
        text += f": {error}"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stream_error(payload: dict[str, Any]) -> str | None:
    """The ledger's `error` for an event of a stream that carries one, else None: a chat or
    completions chunk `{"error": {...}}`, a Responses API `error` event (its code and message at
    the top) or `response.failed` (its `response.error`)."""
    if isinstance(payload.get("error"), dict):
        error: Any = payload["error"]
    elif payload.get("type") == "error":
        error = payload
    elif payload.get("type") == "response.failed":
        response = payload.get("response")
        failed = response.get("error") if isinstance(response, dict) else None
        error = failed if isinstance(failed, dict) else {"message": "the response failed"}
    else:
        return None
    return error_summary(200, {"error": error}).replace("HTTP 200", "stream error", 1)


# An event larger than this is passed on without being metered (a whole Responses API answer
# fits easily: `response.completed` repeats the full output).
MAX_EVENT_BYTES = 16 * 1024 * 1024

# The Responses API ends a stream with one of these events instead of `data: [DONE]`.
_TERMINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")
_TERMINAL_EVENT_BYTES = tuple(kind.encode() for kind in _TERMINAL_EVENTS)
# Events that carry an error: chat/completions send `{"error": {...}}`, the Responses API an
# event of type `error` or `response.failed` (its `response.error`).
_ERROR_EVENT_TYPES = ("error", "response.failed")
_ERROR_EVENT_NAMES = tuple(kind.encode() for kind in _ERROR_EVENT_TYPES)


def _event_data(event: bytes) -> bytes | None:
    """The joined `data:` lines of one SSE event, or None if it has none."""
    parts = []
    for line in event.splitlines():
        if line.startswith(b"data:"):
            value = line[5:]
            parts.append(value[1:] if value.startswith(b" ") else value)
    return b"\n".join(parts) if parts else None


def _next_boundary(buffer: bytes) -> int:
    """End (exclusive) of the first complete SSE event in `buffer`, or -1."""
    ends = [i + len(sep) for sep in (b"\n\n", b"\r\n\r\n") if (i := buffer.find(sep)) >= 0]
    return min(ends) if ends else -1


def _event_name(event: bytes) -> bytes | None:
    """The `event:` field of one SSE event, if it has one."""
    if not event.startswith(b"event:") and b"\nevent:" not in event:
        return None
    for line in event.splitlines():
        if line.startswith(b"event:"):
            return line[6:].strip()
    return None


class StreamMeter:
    """Reads usage, model and errors from an SSE stream while it is passed on to the client.

    `feed` returns the bytes to send on now: the complete events among what has arrived. An
    event still arriving is held until its end (the client could not use half an event
    anyway), so an event can be changed before any of it is sent: an event that carries an
    error (a provider may echo the key it was sent) is passed through `redact`, and with
    `strip_usage_chunk` (the proxy asked for usage that the client did not) the usage-only chunk
    (`choices: []` plus `usage`) is removed. Whole events with nothing to change are passed on
    as the very bytes that came.
    """

    def __init__(self, strip_usage_chunk: bool = False, redact: Callable[[str], str] = redact_keys):
        self.strip_usage_chunk = strip_usage_chunk
        self.usage: Usage | None = None
        self.model_served: str | None = None
        self.error: str | None = None
        self.done = False  # the end of the answer was seen ([DONE] or a terminal event)
        self._redact = redact
        self._buffer = b""

    def feed(self, data: bytes) -> bytes:
        """Take the next bytes from upstream; return the bytes the client should get now."""
        held = self._buffer
        self._buffer = held + data
        kept: list[bytes] = []
        changed = False
        while (end := _next_boundary(self._buffer)) >= 0:
            event, self._buffer = self._buffer[:end], self._buffer[end:]
            sent = self._inspect(event)
            changed = changed or sent is not event
            if sent is not None:
                kept.append(sent)
        if len(self._buffer) > MAX_EVENT_BYTES:
            # Not SSE after all, or a runaway event: pass it on unread rather than hold it.
            kept.append(self._buffer)
            self._buffer = b""
        if not (changed or held or self._buffer):
            return data  # the usual read: whole events, nothing to change
        return b"".join(kept)

    def finish(self) -> bytes:
        """The stream ended: inspect and return what is left of an unterminated last event."""
        rest, self._buffer = self._buffer, b""
        if not rest.strip():
            return rest
        sent = self._inspect(rest)
        return b"" if sent is None else sent

    def _inspect(self, event: bytes) -> bytes | None:
        """Meter one event; return it as the client gets it (redacted if it carries an error),
        or None if it is the usage-only chunk the client did not ask for."""
        data = _event_data(event)
        if data is None:
            return event
        if data.strip() == b"[DONE]":
            self.done = True
            return event
        name = _event_name(event)
        # Most chunks are text deltas with nothing to meter; parse only the ones that may matter.
        if (
            self.model_served is not None
            and name not in _ERROR_EVENT_NAMES
            and b'"usage"' not in data
            and b'"error"' not in data
            and not any(kind in data for kind in _TERMINAL_EVENT_BYTES)
        ):
            return event
        try:
            payload = json.loads(data)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            # Not a JSON object: only an `event: error` is worth a look (plain-text error data).
            return self._redacted(event) if name in _ERROR_EVENT_NAMES else event
        if self.model_served is None:
            self.model_served = model_from_payload(payload)
        if payload.get("type") in _TERMINAL_EVENTS:
            self.done = True
        if (error := stream_error(payload)) is not None:
            self.error = error
        if (
            payload.get("error") is not None
            or payload.get("type") in _ERROR_EVENT_TYPES
            or name in _ERROR_EVENT_NAMES
        ):
            return self._redacted(event)
        usage = usage_from_payload(payload)
        if usage is None:
            return event
        self.usage = usage
        usage_only = payload.get("choices") == [] and "usage" in payload
        return None if self.strip_usage_chunk and usage_only else event

    def _redacted(self, event: bytes) -> bytes:
        # surrogateescape: bytes that are not UTF-8 come back out exactly as they went in.
        text = event.decode("utf-8", "surrogateescape")
        cleaned = self._redact(text)
        return event if cleaned == text else cleaned.encode("utf-8", "surrogateescape")
