"""What a request asks for: the prompts, the files already written, code or a plan, a repair."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from baes.file_blocks import (
    FILE_BLOCK_FORMAT,
    FileBlockError,
    parse_file_blocks,
    strip_file_blocks,
)
from baes.simulator.answers.documents import documents_to_carry_out
from baes.simulator.messages import Message

_FENCED = re.compile(r"^(`{3,})[^\n]*\n.*?^\1[ \t]*$", re.M | re.S)
# Phrases are matched in any case; exception names and pytest's FAILED only as written.
_REPAIR = re.compile(
    r"(?i:check(?:s)? failed|checks? (?:did not|didn't) pass|traceback \(most recent call last\)"
    r"|exit (?:code|status) [1-9]|tests? failed|\bfix (?:the|this|these) (?:code|error|bug|failure|failing))"
    r"|\b[A-Z]\w*Error\b|\bFAILED\b"
)
_PLAN = re.compile(
    r"\b(?:write|make|give|draft|create|produce|propose|outline|prepare|describe)\b"
    r"[^.?!\n]{0,40}\bplan\b|^\s*plan\b|\bplan (?:first|only)\b"
    r"|\b(?:do not|don't|no need to)\s+(?:write|implement|produce|output)\s+(?:any\s+)?code\b",
    re.I | re.M,
)
_CODE_WORDS = re.compile(
    r"\b(?:code|implement\w*|functions?|modules?|script|program|class|endpoints?|routes?|api|app"
    r"|application|bug|fix|refactor|files?|entity|entities|fields?|columns?|tables?|database"
    r"|crud|tests?)\b|`[\w./-]+\.py`",
    re.I,
)
_IMPERATIVE = re.compile(
    r"\b(?:add|create|build|implement|write|change|update|fix|make|remove|delete|rename|refactor"
    r"|extend|support|keep)\b",
    re.I,
)
# The format description's own example must not count as a file the project already has.
_FORMAT_EXAMPLE = parse_file_blocks(FILE_BLOCK_FORMAT)
# gpt-engineer shows files as one fenced block of "File: path" headers, each followed by the
# file's lines numbered from 1 ("3 def greet(name):"); an empty line ends a file.
_LISTING_HEADER = re.compile(r"^File: (?P<path>[\w./-]+)\s*$")
_NUMBERED_LINE = re.compile(r"^(?P<number>\d+) (?P<line>.*)$")
# A listing quoted as a whole, as ChatDev's phase prompts quote their code (`Codes: "{codes}"` in
# its CompanyConfig/Default/PhaseConfig.json): the opening quote is no part of the first path.
_QUOTED_PATH_LINE = re.compile(r"^[\"'](?=[\w./-]+\.\w+[ \t]*\n[ \t]*`{3,})", re.M)
# A task passed as the quoted argument of a backticked command, as spec-kit's specify template
# does (`scripts/create-new-feature.sh --json "{ARGS}"`): when the task has code spans of its
# own, the backticks pair up wrongly, and the command's first span holds a lone quote.
_QUOTED_ARGUMENT = re.compile(r'`(?P<command>[^`"\n]*)"(?P<argument>[^`"\n]*`[^\n]*)"`')
_FENCE_LINE = re.compile(r"^(?P<fence>`{3,})[\w+.#-]*$")


@dataclass(frozen=True)
class Conversation:
    """A request's conversation, read the way a coding model reads it.

    `prompts` are the user turns without fenced code, oldest first; `existing_files` are the
    files shown in user or assistant turns (the latest version of each wins).
    """

    prompts: tuple[str, ...]
    existing_files: dict[str, str]
    is_repair: bool
    asks_plan: bool

    @property
    def last_prompt(self) -> str:
        return self.prompts[-1] if self.prompts else ""


def strip_fenced_code(text: str) -> str:
    """The prose of a message, fenced blocks removed (file contents are not instructions)."""
    return _FENCED.sub("", text)


def _unglue_closing_fences(text: str) -> str:
    """Closing fences on lines of their own. aider closes a file that lacks a final newline
    right after its last line ("<!-- END -->````"); read as it is, that block would run on and
    swallow the files after it."""
    lines = text.split("\n")
    fence = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if fence is None:
            opening = _FENCE_LINE.match(stripped)
            fence = opening.group("fence") if opening else None
        elif stripped.startswith(fence) and set(stripped) == {"`"}:
            fence = None
        elif stripped.endswith(fence) and not stripped.endswith("`" + fence):
            lines[i] = line.rstrip()[: -len(fence)] + "\n" + fence
            fence = None
    return "\n".join(lines)


def _unquoted_arguments(text: str) -> str:
    """The text with a task quoted inside a backticked command set free as prose, so its own
    code spans (`greeting.py`, `greet(name)`) read as they were written."""
    return _QUOTED_ARGUMENT.sub(lambda m: f'{m["command"].rstrip()} "{m["argument"]}"', text)


def parse_numbered_listings(text: str) -> dict[str, str]:
    """Files shown the way gpt-engineer shows them: `File: path`, then numbered lines."""
    files: dict[str, str] = {}
    path: str | None = None
    lines: list[str] = []
    for raw in [*text.splitlines(), ""]:
        header = _LISTING_HEADER.match(raw)
        numbered = _NUMBERED_LINE.match(raw) if path is not None else None
        if numbered is not None and int(numbered.group("number")) == len(lines) + 1:
            lines.append(numbered.group("line"))
            continue
        if path is not None and lines and ".." not in path.split("/") and not path.startswith("/"):
            files[path] = "\n".join(lines)  # the last numbered line is "" for a final newline
        path, lines = (header.group("path"), []) if header else (None, [])
    return files


def read_conversation(messages: Sequence[Message]) -> Conversation:
    """Split a conversation into prompts and files, and tell repair and plan requests apart."""
    prompts: list[str] = []
    files: dict[str, str] = {}
    last_user_text = ""
    for message in messages:
        text = _unglue_closing_fences(_QUOTED_PATH_LINE.sub("", message.text))
        if message.role in ("user", "assistant", "tool"):
            try:
                blocks = parse_file_blocks(text)
            except FileBlockError:
                blocks = {}  # a model may have named an unsafe path; those files never existed
            blocks.update(parse_numbered_listings(text))
            for path, content in blocks.items():
                if _FORMAT_EXAMPLE.get(path) != content:
                    files[path] = content
        if message.role == "user":
            prompts.append(_unquoted_arguments(strip_fenced_code(text)))
            last_user_text = text
    # Only the latest turn decides: an old failure that was since fixed is not a repair request.
    # Files shown in it are not evidence (code mentions `KeyError`); a check's output is.
    is_repair = bool(_REPAIR.search(strip_file_blocks(last_user_text)))
    asks_plan = bool(prompts) and bool(_PLAN.search(prompts[-1])) and not is_repair
    if prompts:
        # "Implement every task of tasks.md": the document shown is part of the request.
        for path in documents_to_carry_out(prompts[-1], files):
            prompts[-1] += "\n\n" + _unquoted_arguments(strip_fenced_code(files[path]))
    return Conversation(tuple(prompts), files, is_repair, asks_plan)


def looks_like_code_request(conversation: Conversation) -> bool:
    """Whether the latest prompt is about code at all (else it gets a prose answer)."""
    prompt = conversation.last_prompt
    if conversation.is_repair or _CODE_WORDS.search(prompt):
        return True
    # With the project's files in view, an instruction is an instruction to change them.
    return bool(conversation.existing_files) and bool(_IMPERATIVE.search(prompt))
