"""The legacy `/v1/completions` endpoint: a bare prompt continued as text.

The prompt is answered as the latest user turn of a one-message conversation (code, a plan or
prose, like a chat answer), but counted without chat framing, and the body is OpenAI's
`text_completion`. As on OpenAI, `max_tokens` defaults to 16 on this endpoint.
"""

from __future__ import annotations

from typing import Any

from baes.simulator.messages import RequestFormatError

LEGACY_DEFAULT_MAX_TOKENS = 16


def legacy_prompt(raw: Any) -> str:
    """The prompt: a string or an array of token ids, or an array holding one of them (the
    simulator answers one prompt per request). Token ids are read as their decimal text."""
    if isinstance(raw, list) and len(raw) == 1 and isinstance(raw[0], (str, list)):
        raw = raw[0]
    if isinstance(raw, list) and raw and all(type(t) is int for t in raw):
        return " ".join(str(t) for t in raw)
    if isinstance(raw, list):
        raise RequestFormatError(
            "The simulator answers one prompt per request; send a string.", "prompt"
        )
    if not isinstance(raw, str):
        raise RequestFormatError("'prompt' must be a string.", "prompt")
    return raw


def legacy_completion(
    id_: str,
    created: int,
    model: str,
    text: str,
    finish_reason: str | None,
    usage: dict[str, Any] | None,
) -> dict[str, Any]:
    """A `text_completion` body (whole, or one streamed chunk with `usage` None)."""
    body: dict[str, Any] = {
        "id": id_,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}],
        "system_fingerprint": None,
    }
    if usage is not None:
        body["usage"] = usage
    return body
