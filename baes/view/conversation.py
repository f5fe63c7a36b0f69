"""A run's transcript as a conversation to read: per call, only what is new.

A chat client re-sends the whole conversation with every call; showing it each time would bury
the new turns. Each call shows the messages that follow the longest prefix it shares with the
previous call of the same step, and says how many earlier ones it leaves out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from baes.records.transcript import TranscriptLine, TranscriptResponse


@dataclass
class Turn:
    """One message to show: who, its text (markdown), and its tool calls (pretty JSON)."""

    role: str
    text: str | None
    tool_calls: list[dict[str, str]] = field(default_factory=list)
    name: str | None = None  # the tool a `tool` message answers, or a function name


@dataclass
class CallView:
    """One call of the transcript, ready for the run page (without the full request, which
    repeats the whole conversation: the page shows what is new, and a cached page stays small)."""

    step: str
    call: int
    endpoint: str
    truncated: bool
    response: TranscriptResponse
    skipped: int  # earlier messages not repeated
    asked: list[Turn]
    answered: list[Turn]
    parameters: dict[str, Any]


def _text_of(content: Any) -> str | None:
    if content is None:
        return None
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: text, images, input_text, output_text
        parts = []
        for part in content:
            if isinstance(part, dict):
                text = part.get("text")
                parts.append(text if isinstance(text, str) else f"[{part.get('type', 'part')}]")
            else:
                parts.append(str(part))
        return "\n\n".join(parts)
    return json.dumps(content, ensure_ascii=False, indent=2)


def _pretty(arguments: Any) -> str:
    if isinstance(arguments, str):
        try:
            return json.dumps(json.loads(arguments), ensure_ascii=False, indent=2)
        except ValueError:
            return arguments
    return json.dumps(arguments, ensure_ascii=False, indent=2)


def _tool_calls(raw: Any) -> list[dict[str, str]]:
    calls = []
    for call in raw if isinstance(raw, list) else []:
        if not isinstance(call, dict):
            continue
        function = call["function"] if isinstance(call.get("function"), dict) else call
        calls.append(
            {
                "id": str(call.get("id") or call.get("call_id") or ""),
                "name": str(function.get("name") or "?"),
                "arguments": _pretty(function.get("arguments", "")),
            }
        )
    return calls


def _turn(message: Any) -> Turn:
    if not isinstance(message, dict):
        return Turn("input", _text_of(message))
    kind = message.get("type")
    if kind == "function_call":  # Responses API input item
        return Turn("assistant", None, _tool_calls([message]))
    if kind == "function_call_output":
        return Turn("tool", _text_of(message.get("output")), name=str(message.get("call_id", "")))
    return Turn(
        str(message.get("role") or kind or "message"),
        _text_of(message.get("content")),
        _tool_calls(message.get("tool_calls")),
        name=message.get("name") or message.get("tool_call_id"),
    )


def _request_messages(request: Any) -> list[Any]:
    if not isinstance(request, dict):
        return []
    if isinstance(request.get("messages"), list):
        return request["messages"]
    items: list[Any] = []
    if isinstance(request.get("instructions"), str):
        items.append({"role": "system", "content": request["instructions"]})
    value = request.get("input", request.get("prompt"))
    if isinstance(value, list):
        items.extend(value)
    elif value is not None:
        items.append({"role": "user", "content": value})
    return items


def _answer_turns(body: Any) -> list[Turn]:
    if not isinstance(body, dict):
        return []
    turns = []
    for choice in body.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        if isinstance(choice.get("message"), dict):
            turns.append(_turn(choice["message"]))
        elif "text" in choice:
            turns.append(Turn("assistant", _text_of(choice.get("text"))))
    for item in body.get("output") or []:
        if isinstance(item, dict):
            if item.get("type") == "message":
                turns.append(Turn(str(item.get("role") or "assistant"), _text_of(item["content"])))
            elif item.get("type") == "function_call":
                turns.append(Turn("assistant", None, _tool_calls([item])))
            elif item.get("type") == "reasoning":
                turns.append(Turn("reasoning", _text_of(item.get("summary"))))
    if not turns and isinstance(body.get("output_text"), str):
        turns.append(Turn("assistant", body["output_text"]))
    if isinstance(body.get("error"), dict):
        turns.append(Turn("error", _text_of(body["error"].get("message") or body["error"])))
    return turns


_SHOWN_PARAMETERS = (
    "model",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "seed",
    "stream",
    "tool_choice",
    "response_format",
    "reasoning",
)


def conversation(lines: list[TranscriptLine]) -> list[CallView]:
    """Every call with its new messages, its answer and its main parameters."""
    views = []
    # Per step: the last request's messages (raw) and its answer (as turns). A call usually
    # repeats the former verbatim (compared as dicts, in C: cheap even for long conversations),
    # then the answer as an assistant message in its own wording (compared as turns).
    previous: dict[str, tuple[list[Any], list[Turn]]] = {}
    for line in lines:
        messages = _request_messages(line.request)
        before, answered_before = previous.get(line.step, ([], []))
        shared = len(before) if messages[: len(before)] == before else 0
        if not shared:
            while shared < min(len(before), len(messages)) and messages[shared] == before[shared]:
                shared += 1
        asked = [_turn(m) for m in messages[shared:]]
        if shared == len(before):
            repeated = 0
            while (
                repeated < min(len(answered_before), len(asked))
                and asked[repeated] == answered_before[repeated]
            ):
                repeated += 1
            shared += repeated
            asked = asked[repeated:]
        answered = _answer_turns(line.response.body) or (
            [Turn("answer", line.response.text)] if line.response.text else []
        )
        previous[line.step] = (messages, answered)
        request = line.request if isinstance(line.request, dict) else {}
        parameters = {k: request[k] for k in _SHOWN_PARAMETERS if k in request}
        if isinstance(request.get("tools"), list):
            names = [
                str((t.get("function") or t).get("name", "?"))
                for t in request["tools"]
                if isinstance(t, dict)
            ]
            parameters["tools"] = ", ".join(names)
        views.append(
            CallView(
                line.step,
                line.call,
                line.endpoint,
                line.truncated,
                line.response,
                shared,
                asked,
                answered,
                parameters,
            )
        )
    return views
