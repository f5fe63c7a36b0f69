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
class Message:
    """One conversation turn reduced to its role and its text."""

    role: str
    text: str
    name: str | None = None


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
        messages.append(Message(role=item["role"], text=text, name=name))
    return messages


def responses_messages(raw_input: Any, instructions: Any) -> list[Message]:
    """The conversation of a Responses API request: instructions, then the input items."""
    messages: list[Message] = []
    if isinstance(instructions, str) and instructions:
        messages.append(Message("developer", instructions))
    if isinstance(raw_input, str):
        messages.append(Message("user", raw_input))
    elif isinstance(raw_input, list):
        for index, item in enumerate(raw_input):
            messages.extend(_responses_item(item, index))
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
        return [Message("tool", str(item.get("output", "")))]
    # Other items (function calls, reasoning) are context the model saw; keep them as text.
    return [Message("assistant", json.dumps(item, sort_keys=True))]


def canonical_messages(messages: Iterable[Message]) -> str:
    """A stable text form of a conversation, the input of every deterministic choice."""
    return json.dumps([[m.role, m.name, m.text] for m in messages], ensure_ascii=False)
