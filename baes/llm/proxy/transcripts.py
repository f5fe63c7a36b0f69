"""Transcript capture: each call's request and answer, bounded and redacted, as one line.

A streamed answer is kept as raw bytes while it is relayed (up to MAX_STREAM_BYTES) and
reassembled when it ends: chat/completions and completions chunks are joined into the shape of a
non-streamed answer (content, tool calls, finish reasons, usage); a Responses API stream is the
`response` object of its terminal event, or the joined `output_text` deltas if it never came.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baes.llm.proxy.usage import Usage
from baes.llm.transcript_file import append_transcript_line
from baes.records.transcript import (
    MAX_BODY_BYTES,
    MAX_STRING_CHARS,
    TRUNCATION_MARKER,
    TranscriptLine,
    TranscriptResponse,
    TranscriptUsage,
)

log = logging.getLogger(__name__)

# A stream longer than this is reassembled from its first MAX_STREAM_BYTES only (marked).
MAX_STREAM_BYTES = 8 * 1024 * 1024


class _Bounded:
    """Cuts long strings and oversized bodies; remembers whether it cut anything."""

    def __init__(self, redact: Callable[[str], str]):
        self._redact = redact
        self.truncated = False

    def text(self, value: str) -> str:
        value = self._redact(value)
        if len(value) > MAX_STRING_CHARS:
            self.truncated = True
            extra = len(value) - MAX_STRING_CHARS
            return value[:MAX_STRING_CHARS] + TRUNCATION_MARKER.format(n=extra)
        return value

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self._redact(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def body(self, value: Any) -> Any:
        value = self.value(value)
        if value is None:
            return None
        size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
        if size <= MAX_BODY_BYTES:
            return value
        self.truncated = True
        head = json.dumps(value, ensure_ascii=False)[: MAX_STRING_CHARS // 4]
        return {"baes_truncated": f"body of {size} bytes exceeds {MAX_BODY_BYTES}", "head": head}


class StreamCollector:
    """Keeps the raw bytes of a streamed answer for reassembly (bounded)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self.overflowed = False

    def feed(self, data: bytes) -> None:
        if self._size >= MAX_STREAM_BYTES:
            self.overflowed = True
            return
        self._parts.append(data)
        self._size += len(data)

    def events(self) -> list[dict[str, Any]]:
        """The JSON payloads of the stream's `data:` events, in order ([DONE] left out)."""
        raw = b"".join(self._parts).replace(b"\r\n", b"\n")
        payloads = []
        for event in raw.split(b"\n\n"):
            data = b"\n".join(
                line[5:].removeprefix(b" ")
                for line in event.split(b"\n")
                if line.startswith(b"data:")
            )
            if not data or data.strip() == b"[DONE]":
                continue
            try:
                payload = json.loads(data)
            except ValueError:
                continue
            if isinstance(payload, dict):
                payloads.append(payload)
        return payloads


def reassemble(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One answer from the events of a stream (see the module docstring); None if empty."""
    if not events:
        return None
    if any(isinstance(e.get("type"), str) for e in events):
        return _reassemble_responses(events)
    return _reassemble_choices(events)


def _reassemble_responses(events: list[dict[str, Any]]) -> dict[str, Any]:
    for event in reversed(events):
        if event.get("type") in ("response.completed", "response.incomplete", "response.failed"):
            response = event.get("response")
            if isinstance(response, dict):
                return response
    text = "".join(
        e["delta"]
        for e in events
        if e.get("type") == "response.output_text.delta" and isinstance(e.get("delta"), str)
    )
    errors = [e["error"] for e in events if isinstance(e.get("error"), dict)]
    answer: dict[str, Any] = {"object": "response", "output_text": text, "status": "incomplete"}
    if errors:
        answer["error"] = errors[-1]
    return answer


def _reassemble_choices(events: list[dict[str, Any]]) -> dict[str, Any]:
    first = events[0]
    chat = first.get("object") == "chat.completion.chunk" or any(
        isinstance(c, dict) and "delta" in c for e in events for c in e.get("choices") or []
    )
    answer: dict[str, Any] = {
        "id": first.get("id"),
        "object": "chat.completion" if chat else "text_completion",
        "model": next((e["model"] for e in events if isinstance(e.get("model"), str)), None),
    }
    choices: dict[int, dict[str, Any]] = {}
    for event in events:
        if isinstance(event.get("usage"), dict):
            answer["usage"] = event["usage"]
        if isinstance(event.get("error"), dict):
            answer["error"] = event["error"]
        for choice in event.get("choices") or []:
            if isinstance(choice, dict):
                _merge_choice(choices, choice, chat)
    answer["choices"] = [choices[i] for i in sorted(choices)]
    return answer


def _merge_choice(choices: dict[int, dict[str, Any]], chunk: dict[str, Any], chat: bool) -> None:
    index = chunk["index"] if isinstance(chunk.get("index"), int) else 0
    if chat:
        choice = choices.setdefault(
            index, {"index": index, "message": {"role": "assistant", "content": None}}
        )
        message = choice["message"]
        delta = chunk["delta"] if isinstance(chunk.get("delta"), dict) else {}
        if isinstance(delta.get("role"), str):
            message["role"] = delta["role"]
        for key in ("content", "refusal", "reasoning_content"):
            if isinstance(delta.get(key), str):
                message[key] = (message.get(key) or "") + delta[key]
        for call in delta.get("tool_calls") or []:
            if isinstance(call, dict):
                _merge_tool_call(message.setdefault("tool_calls", []), call)
    else:
        choice = choices.setdefault(index, {"index": index, "text": ""})
        if isinstance(chunk.get("text"), str):
            choice["text"] += chunk["text"]
    if chunk.get("finish_reason") is not None:
        choice["finish_reason"] = chunk["finish_reason"]


def _merge_tool_call(calls: list[dict[str, Any]], delta: dict[str, Any]) -> None:
    index = delta["index"] if isinstance(delta.get("index"), int) else len(calls)
    while len(calls) <= index:
        calls.append({"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
    call = calls[index]
    if isinstance(delta.get("id"), str):
        call["id"] = delta["id"]
    if isinstance(delta.get("type"), str):
        call["type"] = delta["type"]
    function = delta["function"] if isinstance(delta.get("function"), dict) else {}
    for key in ("name", "arguments"):
        if isinstance(function.get(key), str):
            call["function"][key] += function[key]


@dataclass(frozen=True)
class CallOutcome:
    """How one call ended, as its transcript line records it (the ledger line says the same)."""

    ts_start: str
    endpoint: str
    status_code: int
    streamed: bool
    body: bytes | None  # the whole answer when it was not streamed
    usage: Usage | None
    latency_s: float
    error: str | None  # already redacted


class CallTranscript:
    """What one call contributes to its run's transcript; written once by `write`."""

    def __init__(self, path: Path, step: str, call: int, redact: Callable[[str], str]):
        self.path = path
        self.step = step
        self.call = call
        self._redact = redact
        self.request: Any = None
        self.stream: StreamCollector | None = None

    def write(self, outcome: CallOutcome) -> None:
        """Append the line; a failure to write is logged, never raised (the call goes on)."""
        try:
            append_transcript_line(self.path, self._line(outcome))
        except Exception as exc:  # noqa: BLE001 - the transcript must never break a call
            log.error(
                "transcript line of step %s call %d not written to %s: %s",
                self.step,
                self.call,
                self.path,
                self._redact(f"{type(exc).__name__}: {exc}"),
            )

    def _line(self, outcome: CallOutcome) -> TranscriptLine:
        bounded = _Bounded(self._redact)
        answer: Any = None
        text: str | None = None
        if outcome.streamed and self.stream is not None:
            answer = reassemble(self.stream.events())
            if self.stream.overflowed:
                bounded.truncated = True
        elif outcome.body:
            try:
                answer = json.loads(outcome.body)
            except ValueError:
                text = bounded.text(outcome.body.decode("utf-8", errors="replace"))
        return TranscriptLine(
            step=self.step,
            call=self.call,
            ts_start=outcome.ts_start,
            endpoint=outcome.endpoint,
            request=bounded.body(self.request),
            response=TranscriptResponse(
                status_code=outcome.status_code,
                stream=outcome.streamed,
                body=bounded.body(answer),
                text=text,
                usage=(
                    TranscriptUsage(**vars(outcome.usage)) if outcome.usage is not None else None
                ),
                latency_s=outcome.latency_s,
                error=outcome.error,
            ),
            truncated=bounded.truncated,
        )
