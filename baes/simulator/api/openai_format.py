"""JSON bodies shaped exactly like OpenAI's: completions, chunks, responses (errors: openai_errors)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from baes.simulator.messages import ToolCall

SERVER_ERROR_MESSAGE = (
    "The server had an error while processing your request. Sorry about that! "
    "(simulated by the baes simulator)"
)


def chat_usage(prompt_tokens: int, completion_tokens: int, cached_tokens: int) -> dict[str, Any]:
    """The `usage` object of a chat completion."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def responses_usage(input_tokens: int, output_tokens: int, cached_tokens: int) -> dict[str, Any]:
    """The `usage` object of a Responses API response."""
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached_tokens},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def chat_completion(
    id_: str,
    created: int,
    model: str,
    fingerprint: str,
    text: str,
    finish_reason: str,
    usage: dict[str, Any],
) -> dict[str, Any]:
    """A non-streaming chat completion."""
    return {
        "id": id_,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": text,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": fingerprint,
    }


def chat_tool_calls(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    """A chat message's `tool_calls`."""
    return [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for call in calls
    ]


def with_tool_calls(completion: dict[str, Any], calls: Sequence[ToolCall]) -> dict[str, Any]:
    """A chat completion whose message makes tool calls: `content` null, `tool_calls` set."""
    message = completion["choices"][0]["message"]
    message["content"] = None
    message["tool_calls"] = chat_tool_calls(calls)
    return completion


def tool_call_deltas(
    calls: Sequence[ToolCall], argument_chunks: Sequence[Sequence[str]]
) -> list[dict[str, Any]]:
    """The deltas of streamed tool calls, as OpenAI sends them: per call, one delta with its
    index, id, type, name and empty arguments, then one delta per argument chunk."""
    deltas: list[dict[str, Any]] = []
    for index, (call, chunks) in enumerate(zip(calls, argument_chunks, strict=True)):
        opening = {"name": call.name, "arguments": ""}
        deltas.append(
            {
                "tool_calls": [
                    {"index": index, "id": call.id, "type": "function", "function": opening}
                ]
            }
        )
        for chunk in chunks:
            deltas.append({"tool_calls": [{"index": index, "function": {"arguments": chunk}}]})
    return deltas


def function_call_item(call: ToolCall, item_id: str, status: str = "completed") -> dict[str, Any]:
    """A Responses API `function_call` output item."""
    arguments = call.arguments if status == "completed" else ""
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call.id,
        "name": call.name,
    }


def function_call_item_id(call: ToolCall) -> str:
    """The output item id of a function call: `fc_` and the call id's hash part."""
    return "fc_" + call.id.removeprefix("call_")


def chat_chunk(
    id_: str,
    created: int,
    model: str,
    fingerprint: str,
    delta: dict[str, Any],
    finish_reason: str | None,
    with_usage_field: bool,
) -> dict[str, Any]:
    """One streamed chunk; with include_usage every chunk but the last has `usage: null`."""
    chunk: dict[str, Any] = {
        "id": id_,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "service_tier": "default",
        "system_fingerprint": fingerprint,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }
    if with_usage_field:
        chunk["usage"] = None
    return chunk


def chat_usage_chunk(
    id_: str, created: int, model: str, fingerprint: str, usage: dict[str, Any]
) -> dict[str, Any]:
    """The extra last chunk of a stream with `stream_options.include_usage`."""
    chunk = chat_chunk(id_, created, model, fingerprint, {}, None, True)
    # Assigning existing keys keeps their place, so the key order is OpenAI's.
    chunk["choices"], chunk["usage"] = [], usage
    return chunk


def response_object(
    id_: str,
    message_id: str,
    created: int,
    model: str,
    text: str,
    complete: bool,
    usage: dict[str, Any] | None,
    request: dict[str, Any],
    tool_calls: Sequence[ToolCall] = (),
) -> dict[str, Any]:
    """A Responses API `response`; `output_text` is not a server field (the SDKs compute it).
    A tool-calling answer's output is its `function_call` items."""
    status = "completed" if complete else "incomplete"
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    output = [
        {
            "id": message_id,
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content,
        }
    ]
    if tool_calls:
        output = [function_call_item(call, function_call_item_id(call)) for call in tool_calls]
    return {
        "id": id_,
        "object": "response",
        "created_at": created,
        "status": status if usage is not None else "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None if complete else {"reason": "max_output_tokens"},
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": model,
        "output": output if usage is not None else [],
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": request.get("store", True),
        "temperature": request.get("temperature", 1.0),
        "text": request.get("text") or {"format": {"type": "text"}},  # the format asked for
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools", []),
        "top_p": request.get("top_p", 1.0),
        "truncation": request.get("truncation", "disabled"),
        "usage": usage,
        "user": request.get("user"),
        "metadata": request.get("metadata") or {},
    }


def sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    """One server-sent event; chat streams have no `event:` line, Responses streams do."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {payload}\n\n".encode()
