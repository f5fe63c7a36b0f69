"""Answers that are not code: conversation summaries, commit messages, labels, explanations.

Each reads what the conversation shows (requests, file names, function and table names) and
answers in a few sentences, never with fenced code.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from baes.file_blocks import FileBlockError, parse_file_blocks
from baes.simulator.answers.intent import Request
from baes.simulator.answers.prose import chat_text
from baes.simulator.answers.sentences import split_sentences
from baes.simulator.messages import Message

_FENCED = re.compile(r"^(`{3,})[^\n]*\n.*?^\1[ \t]*$", re.M | re.S)
# aider's summary requests are a transcript: "# USER\n…\n# ASSISTANT\n…".
_TRANSCRIPT_TURN = re.compile(r"^# (USER|ASSISTANT)\s*$", re.M)
_DEF = re.compile(r"^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.M)
_TABLE = re.compile(r"CREATE TABLE(?: IF NOT EXISTS)?\s+\"?(\w+)", re.I)
_DIFF_FILE = re.compile(r"^\+\+\+ (?:b/)?(\S+)", re.M)
_ADDED_DEF = re.compile(r"^\+\s*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.M)
_WORD = re.compile(r"[a-z]{3,}")
_FAILURE_WORDS = {"crash", "crashes", "error", "fails", "failing", "broken", "exception", "bug"}


def _files_in(texts: Sequence[str]) -> dict[str, str]:
    files: dict[str, str] = {}
    for text in texts:
        try:
            files.update(parse_file_blocks(text))
        except FileBlockError:
            continue  # an unsafe path is not a file of the project
    return files


def _first_sentence(text: str, limit: int = 160) -> str:
    prose = " ".join(_FENCED.sub("", text).split())
    sentence = next(iter(split_sentences(prose)), "").rstrip(".;:")
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def _describe_files(files: dict[str, str]) -> str:
    """ "`greeting.py` (functions `greet`, `farewell`)" for each file, joined."""
    parts = []
    for path, content in files.items():
        defs = list(dict.fromkeys(_DEF.findall(content)))
        tables = list(dict.fromkeys(_TABLE.findall(content)))
        details = []
        if defs:
            details.append("functions " + ", ".join(f"`{d}`" for d in defs[:8]))
        if tables:
            details.append("tables " + ", ".join(f"`{t}`" for t in tables))
        parts.append(f"`{path}`" + (f" ({'; '.join(details)})" if details else ""))
    return "; ".join(parts)


def _user_requests(messages: Sequence[Message]) -> list[str]:
    """The user requests a summary covers: the transcript's USER turns, else the user turns."""
    users = [m.text for m in messages if m.role == "user"]
    transcript = users[-1] if users else ""
    pieces = _TRANSCRIPT_TURN.split(transcript)
    if len(pieces) > 1:
        return [pieces[i + 1] for i in range(1, len(pieces) - 1, 2) if pieces[i] == "USER"]
    return users[:-1] or users


def summary_text(messages: Sequence[Message]) -> str:
    """A short first-person summary of a conversation ("I asked you…"), without code blocks."""
    requests = [s for s in (_first_sentence(r) for r in _user_requests(messages)) if s]
    files = _files_in([m.text for m in messages if m.role in ("user", "assistant", "tool")])
    paragraphs = []
    if requests:
        asks = [f"I asked you to {_lower_first(requests[0])}."]
        asks += [f"Then I asked you to {_lower_first(r)}." for r in requests[1:]]
        paragraphs.append(" ".join(asks))
    else:
        paragraphs.append("I asked you about the code of this project.")
    if files:
        paragraphs.append(f"You wrote {_describe_files(files)}.")
    return "\n\n".join(paragraphs)


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def commit_message(messages: Sequence[Message]) -> str:
    """A one-line conventional commit message (at most 72 characters) for the diffs shown."""
    text = "\n".join(m.text for m in messages if m.role == "user")
    paths = [p for p in dict.fromkeys(_DIFF_FILE.findall(text)) if p != "/dev/null"]
    defs = list(dict.fromkeys(_ADDED_DEF.findall(text)))
    where = f" to {paths[0]}" if len(paths) == 1 else ""
    if defs:
        message = f"feat: add {', '.join(defs[:3])}{where}"
    elif paths:
        message = f"chore: update {', '.join(paths[:3])}"
    else:
        message = "chore: update project files"
    return message if len(message) <= 72 else message[:72].rstrip(" ,")


def classification_text(request: Request, rng: random.Random) -> str:
    """One of the labels offered: the one the text names most, else a seeded choice."""
    words = _WORD.findall(request.last_user.lower())
    scores = {}
    for label in request.labels:
        name = label.lower()
        score = sum(1 for w in words if w == name or (w.startswith(name) and len(name) > 3))
        if name == "bug":
            score += sum(1 for w in words if w in _FAILURE_WORDS)
        scores[label] = score
    best = max(scores.values())
    if best > 0:
        return next(label for label, score in scores.items() if score == best)
    return rng.choice(request.labels)


def question_text(
    messages: Sequence[Message], request: Request, rng: random.Random, verbose: bool
) -> str:
    """Prose for a question: what the files shown contain, then general advice."""
    files = _files_in([m.text for m in messages if m.role in ("user", "assistant", "tool")])
    answer = chat_text(rng, verbose, request.last_user)
    if files:
        answer = f"The project has {_describe_files(files)}. " + answer
    return answer
