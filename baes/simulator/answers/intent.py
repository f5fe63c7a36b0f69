"""What a request asks for, read from the instructions (system and developer messages) and the
latest user turn: a summary, a commit message, a classification, a question, or work on code.

Frameworks make many calls that are not code requests: aider asks for "*Briefly* summarize this
partial conversation" and for one-line commit messages; agents ask to classify or to answer a
question. Those get short prose in the form asked for, never file blocks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from baes.simulator.answers.conversation import looks_like_code_request, read_conversation
from baes.simulator.messages import Message

INSTRUCTION_ROLES = ("system", "developer")

_FENCED = re.compile(r"^(`{3,})[^\n]*\n.*?^\1[ \t]*$", re.M | re.S)
_SUMMARY = re.compile(
    r"\b(?:summari[sz]e|sum up|recap)\b[^.\n]{0,60}?"
    r"\b(?:conversation|chat|discussion|transcript|messages|exchange|the above|the following)\b"
    r"|\b(?:write|give|produce|make)\b[^.\n]{0,30}\bsummary of\b",
    re.I,
)
_COMMIT = re.compile(
    r"\b(?:write|generate\w*|suggest|create|give|propose|compose)\b[^.\n]{0,60}\bcommit messages?\b",
    re.I,
)
_CLASSIFY = re.compile(r"\b(?:classify|categori[sz]e)\b", re.I)
# A commit-message request is the whole task only when it says so or shows the diff to describe;
# "write the code, then a commit message" is a code request.
_COMMIT_ONLY = re.compile(
    r"\b(?:reply|respond|answer|output)\b[^.\n]{0,20}\bonly\b|\bone-line\b|\bonly the commit message\b",
    re.I,
)
_DIFF = re.compile(r"^(?:diff --git |--- \S|\+\+\+ \S|@@ )", re.M)
# "one of: bug, feature, question" / "one of `bug`, `feature` or `question`"
_LABELS = re.compile(r"\bone of\b\s*:?\s*(?P<labels>[^.\n]+)", re.I)
_PATH_LINE = re.compile(r"^[\w./-]+\.\w+$")
_QUESTION_START = re.compile(
    r"^\s*(?:what|why|how|which|who|when|where|explain)\b",
    re.I,
)


class Intent(Enum):
    """The kind of answer a request wants."""

    CODE = "code"  # code, a plan or prose: decided by conversation.py's reading of the prompt
    SUMMARY = "summary"
    COMMIT_MESSAGE = "commit_message"
    CLASSIFICATION = "classification"
    QUESTION = "question"


@dataclass(frozen=True)
class Request:
    """The instructions and the latest user turn of a conversation, fenced code removed."""

    instructions: str
    last_user: str
    labels: tuple[str, ...] = ()


def instructions_text(messages: Sequence[Message]) -> str:
    """The system and developer messages, joined (file contents and examples included)."""
    return "\n\n".join(m.text for m in messages if m.role in INSTRUCTION_ROLES)


def read_intent(messages: Sequence[Message]) -> tuple[Intent, Request]:
    """The intent of a request, with the texts it was read from."""
    instructions = _FENCED.sub("", instructions_text(messages))
    users = [m.text for m in messages if m.role == "user"]
    last_user = _FENCED.sub("", users[-1]) if users else ""
    asked = instructions + "\n" + last_user
    request = Request(instructions, last_user)
    if _SUMMARY.search(instructions) or _SUMMARY.search(_head(last_user)):
        return Intent.SUMMARY, request
    if _COMMIT.search(asked) and (
        _COMMIT_ONLY.search(asked) or _DIFF.search(users[-1] if users else "")
    ):
        return Intent.COMMIT_MESSAGE, request
    # Asked in the latest turn, or in the instructions of a turn that asks for no code.
    where = last_user if _CLASSIFY.search(last_user) else instructions
    if _CLASSIFY.search(where) and (
        where is last_user or not looks_like_code_request(read_conversation(messages))
    ):
        labels = _labels(where)
        if labels:
            return Intent.CLASSIFICATION, Request(instructions, last_user, labels)
    if _is_question(last_user):
        return Intent.QUESTION, request
    return Intent.CODE, request


def _head(text: str) -> str:
    """The first lines of a turn: where a request to summarise what follows is made."""
    return "\n".join(text.strip().splitlines()[:3])


def _labels(text: str) -> tuple[str, ...]:
    match = _LABELS.search(text)
    if match is None:
        return ()
    raw = match.group("labels")
    quoted = re.findall(r"[`'\"]([^`'\"]+)[`'\"]", raw)
    parts = quoted or re.split(r",\s*|\s+or\s+|/", raw)
    labels = [p.strip(" .:;") for p in parts if p.strip(" .:;")]
    return tuple(label for label in labels if len(label.split()) <= 3)


def _is_question(text: str) -> bool:
    """A turn that only asks: what remains once the files' path lines are set aside opens
    with a question word and ends with '?'. ("Can you add `f(x)`?" is an instruction, so it
    stays a code request.)"""
    lines = [line for line in text.strip().splitlines() if not _PATH_LINE.match(line.strip())]
    stripped = "\n".join(lines).strip()
    return bool(stripped) and stripped.endswith("?") and bool(_QUESTION_START.match(stripped))
