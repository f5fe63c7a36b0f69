"""One-line answers in a form the prompt states: "reply with only one line, which starts with
<INFO>, followed by our final product modality, e.g. "<INFO> PowerPoint"", "return only one line
using the format: "<INFO> *" where "*" represents a programming language", "If the codes are
perfect …, return only one line like "<INFO> Finished"".

Multi-agent frameworks end a discussion this way (ChatDev's phases stop when a reply carries
the marker); a model that answers with anything else keeps the discussion going to its turn
limit. The value is read from the request: a programming language the conversation names, else
the offered option ("Label: what it is") that shares most words with the task, else the form's
own example.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from baes.simulator.messages import Message

# The instruction and the quoted form (with an optional "where * represents …" after it).
_ONE_LINE = re.compile(
    r"(?P<condition>\bif\b[^.\n]{0,120}?,\s*)?"
    r"\b(?:reply|replying|respond|responding|return|returning|answer|answering)\b"
    r"[^\n]{0,30}?\bonly one line\b(?P<how>[^\n]{0,200}?)"
    r"(?:e\.g\.,?|like|format:|such as)\s*\"(?P<form>[^\"\n]{1,60})\""
    r"(?:\s*where\s*[\"'*]+\s*represents\s+(?P<kind>[^.\n]{1,60}))?",
    re.I,
)
# "in the format: "*" where '*' represents a programming language"
_FORMAT_ONLY = re.compile(
    r"\bin the format:?\s*\"(?P<form>[^\"\n]*\*[^\"\n]*)\"\s*where\s*[\"'*]+\s*represents\s+"
    r"(?P<kind>[^.\n\"]{1,60})",
    re.I,
)
_MARKER = re.compile(r"^(?:<\w+>|\[\w+\]|[A-Z_]{2,}:?)$")
_OPTION = re.compile(r"^[ \t]*(?P<label>[A-Z][\w ]{0,30}?):[ \t]+(?P<what>\S.*)$", re.M)
_WORD = re.compile(r"[a-z][a-z0-9+#]+")
_LANGUAGES = (
    "Python",
    "JavaScript",
    "TypeScript",
    "Java",
    "C++",
    "C#",
    "Go",
    "Rust",
    "Ruby",
    "PHP",
    "Kotlin",
    "Swift",
)
# A file the task names says which language it is written in.
_EXTENSIONS = {"py": "python", "js": "javascript", "ts": "typescript", "java": "java", "rb": "ruby"}
# "our final product modality" says nothing about the answer: these words carry no meaning.
_FILLER = {"the", "our", "a", "an", "final", "of", "to", "and", "with", "via", "can", "etc"}


@dataclass(frozen=True)
class OneLine:
    """The line a prompt asks for; `conditional` when it asks for it only "if" something holds
    (the one condition the simulator can judge: the code shown already does what was asked)."""

    line: str
    conditional: bool


def one_line_request(messages: Sequence[Message]) -> OneLine | None:
    """The one line the latest user turn asks for, or None when it asks for none."""
    users = [m.text for m in messages if m.role == "user"]
    if not users:
        return None
    latest = users[-1]
    match = _ONE_LINE.search(latest) or _FORMAT_ONLY.search(latest)
    if match is None:
        return None
    conditional = bool(match.groupdict().get("condition"))
    form = match["form"].strip()
    if "*" in form:
        line = form.replace("*", _value(match["kind"] or "", messages, latest), 1).strip()
        return OneLine(line, conditional)
    # "starts with <INFO>, followed by our final product modality, e.g. "<INFO> PowerPoint"":
    # the example's words after the marker stand for what "followed by" names.
    followed = re.search(r"\bfollowed by\b(?P<kind>[^,\n]*)", match.groupdict().get("how") or "")
    first, _, example = form.partition(" ")
    if followed and _MARKER.match(first) and example:
        return OneLine(
            f"{first} {_value(followed['kind'], messages, latest, example)}", conditional
        )
    return OneLine(form, conditional)  # a fixed line ("<INFO> Finished")


def _value(kind: str, messages: Sequence[Message], latest: str, example: str = "") -> str:
    """What fills the form: a programming language, an offered option, or the example."""
    if re.search(r"\blanguage\b", kind, re.I):
        # The task's own words first: a role's description may list languages too.
        for text in (_task_text(messages), latest, "\n".join(m.text for m in messages)):
            named = [
                (m.start(), lang)
                for lang in _LANGUAGES
                for m in re.finditer(rf"(?<![\w+#]){re.escape(lang)}(?![\w+#])", text)
            ]
            if named:
                return min(named)[1]
        return example or "Python"
    options = [(m["label"].strip(), m["what"]) for m in _OPTION.finditer(latest)]
    task_text = _task_text(messages).lower()
    task = set(_WORD.findall(task_text)) - _FILLER
    task |= {
        _EXTENSIONS[ext] for ext in re.findall(r"\w\.(\w+)\b", task_text) if ext in _EXTENSIONS
    }
    scored = [
        (len(task & (set(_WORD.findall(what.lower())) - _FILLER)), -i, label)
        for i, (label, what) in enumerate(options)
    ]
    best = max(scored, default=None)
    if best is not None and best[0] > 0:
        return best[2]
    return example or (options[0][0] if options else "Done")


def _task_text(messages: Sequence[Message]) -> str:
    """The task as the instructions state it ("…task: …"), else the first user turn."""
    for message in messages:
        if message.role in ("system", "developer"):
            found = re.search(r"\btask\b\s*:\s*(?P<task>[^\n]+)", message.text, re.I)
            if found:
                return found["task"]
    users = [m.text for m in messages if m.role == "user"]
    return users[0] if users else ""
