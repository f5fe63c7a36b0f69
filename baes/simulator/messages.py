"""Requests' conversations in one plain form, whatever API shape they came in."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class RequestFormatError(ValueError):
    """The request body does not have the shape the OpenAI API requires."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class ToolCall:
    """A function call a model made (or makes): its id, the function's name, JSON arguments."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Message:
    """One conversation turn reduced to its role and its text, plus the tool calls an
    assistant turn made and the call a tool turn answers."""

    role: str
    text: str
    name: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


def _content_text(content: Any, param: str) -> str:
    """Text of a message content: a string, or a list of parts whose text parts are joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, dict) and isinstance(part.get("refusal"), str):
                texts.append(part["refusal"])
        return "\n".join(texts)
    raise RequestFormatError(f"Invalid type for '{param}': expected a string or an array.", param)


def chat_messages(raw: Any) -> list[Message]:
    """The messages of a chat completions request."""
    if not isinstance(raw, list) or not raw:
        raise RequestFormatError("'messages' must be a non-empty array.", "messages")
    messages = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("role"), str):
            raise RequestFormatError(
                f"Invalid value for 'messages[{index}]': expected an object with a 'role'.",
                f"messages[{index}]",
            )
        text = _content_text(item.get("content"), f"messages[{index}].content")
        # Tool calls are part of what the model saw; keep them so they count as prompt text.
        if item.get("tool_calls"):
            text += json.dumps(item["tool_calls"], sort_keys=True)
        name = item.get("name") if isinstance(item.get("name"), str) else None
        call_id = item.get("tool_call_id") if isinstance(item.get("tool_call_id"), str) else None
        calls = _chat_tool_calls(item.get("tool_calls"), index)
        messages.append(Message(item["role"], text, name, calls, call_id))
    return messages


def _chat_tool_calls(raw: Any, index: int) -> tuple[ToolCall, ...]:
    """The `tool_calls` of a chat assistant message."""
    if raw is None:
        return ()
    param = f"messages[{index}].tool_calls"
    if not isinstance(raw, list):
        raise RequestFormatError(f"Invalid type for '{param}': expected an array.", param)
    calls = []
    for position, call in enumerate(raw):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise RequestFormatError(
                f"Invalid value for '{param}[{position}]': expected a function call object.",
                f"{param}[{position}]",
            )
        arguments = function.get("arguments")
        calls.append(
            ToolCall(
                str(call.get("id", "")),
                function["name"],
                arguments if isinstance(arguments, str) else json.dumps(arguments),
            )
        )
    return tuple(calls)


def responses_messages(raw_input: Any, instructions: Any) -> list[Message]:
    """The conversation of a Responses API request: instructions, then the input items."""
    messages: list[Message] = []
    if isinstance(instructions, str) and instructions:
        messages.append(Message("developer", instructions))
    if isinstance(raw_input, str):
        messages.append(Message("user", raw_input))
    elif isinstance(raw_input, list):
        for index, item in enumerate(raw_input):
            for message in _responses_item(item, index):
                previous = messages[-1] if messages else None
                if message.tool_calls and previous is not None and previous.tool_calls:
                    # Consecutive function calls are one model turn, as in a chat message.
                    message = Message(
                        "assistant",
                        previous.text + message.text,
                        tool_calls=previous.tool_calls + message.tool_calls,
                    )
                    messages.pop()
                messages.append(message)
    else:
        raise RequestFormatError("'input' must be a string or an array of input items.", "input")
    if not messages:
        raise RequestFormatError("'input' must not be empty.", "input")
    return messages


def _responses_item(item: Any, index: int) -> Iterable[Message]:
    if isinstance(item, str):
        return [Message("user", item)]
    if not isinstance(item, dict):
        raise RequestFormatError(f"Invalid input item at index {index}.", f"input[{index}]")
    kind = item.get("type", "message")
    if kind == "message" or "role" in item:
        role = item.get("role", "user")
        return [Message(str(role), _content_text(item.get("content"), f"input[{index}].content"))]
    if kind == "function_call_output":
        output = item.get("output", "")
        text = output if isinstance(output, str) else _content_text(output, f"input[{index}]")
        call_id = item.get("call_id") if isinstance(item.get("call_id"), str) else None
        return [Message("tool", text, tool_call_id=call_id)]
    if kind == "function_call":
        if not isinstance(item.get("name"), str):
            raise RequestFormatError(
                f"Invalid input item at index {index}: a function_call needs a 'name'.",
                f"input[{index}].name",
            )
        arguments = item.get("arguments", "")
        call = ToolCall(
            str(item.get("call_id", "")),
            item["name"],
            arguments if isinstance(arguments, str) else json.dumps(arguments),
        )
        return [Message("assistant", json.dumps(item, sort_keys=True), tool_calls=(call,))]
    # Other items (function calls, reasoning) are context the model saw; keep them as text.
    return [Message("assistant", json.dumps(item, sort_keys=True))]


def canonical_messages(messages: Iterable[Message]) -> str:
    """A stable text form of a conversation, the input of every deterministic choice."""
    return json.dumps([[m.role, m.name, m.text] for m in messages], ensure_ascii=False)
