"""JSON asked for between markers: a format example wrapped in `[TAG] … [/TAG]` (or
`<tag> … </tag>`) and an instruction to wrap the output the same way.

Some frameworks never say "JSON": they quote a format example between two markers and ask for
"output wrapped inside [CONTENT][/CONTENT] like format example". A real model answers with the
markers around JSON of the example's shape, about its own project rather than the example's
sample one; so does the simulator, reading the prompt with its format example left out:

- the example's prose (any string with a space: a sample goal, a diagram) becomes the request
  restated: the first line of the prompt that opens with an imperative ("Create a module ..."),
  with the rest of its paragraph, else the first JSON string the prompt quotes that does (an
  earlier answer in the context, so a chain of such prompts carries the request along);
- file names (`main.py`, `game.js`) stand for the project's files: they become the code files
  the rest of the prompt names, in order; a sample file beyond those goes, with any list that
  is a record about it (`["game.py", "Contains Game class"]`); with no file named, the
  example's stay;
- pinned packages (`flask==1.1.2`) the prompt does not name go: they are the sample's;
- tokens (`P0`, `Python`), numbers, booleans and empty strings stay as the example has them;
  a list repeating an item keeps it once.

The answer depends on the prompt alone (the same for every seed): nothing in it is drawn.

Reference for the shape: MetaGPT (geekan/MetaGPT @ df9bc185) metagpt/actions/action_node.py
:41-70 (TAG = "CONTENT"; SIMPLE_TEMPLATE's "## format example" with [CONTENT]{json}[/CONTENT];
FORMAT_CONSTRAINT "Format: output wrapped inside [CONTENT][/CONTENT] like format example,
nothing else."), parsed back by metagpt/utils/repair_llm_raw_output.py:301-302 (the JSON
between the markers). Its FILE_LIST node asks for "a main.py or app.py" in prose, so such a
design names main.py too, as a model's would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from baes.simulator.messages import Message

_INSTRUCTION_ROLES = ("system", "developer")
# "[CONTENT]" or "<json>": a marker's opening form; its closing form adds the slash.
_MARKER = r"(?:\[(?P<{n}b>[A-Za-z_][\w-]*)\]|<(?P<{n}a>[A-Za-z_][\w-]*)>)"
# "output wrapped inside [CONTENT][/CONTENT]", "enclose your answer in <json></json> tags",
# "put the JSON between [RESULT] and [/RESULT]".
_WRAP_ASK = re.compile(
    r"\b(?:wrap\w*|enclos\w*|inside|within|between|surround\w*)\b[^.\n\[<]{0,40}"
    + _MARKER.format(n="o")
    + r"\s*(?:and\s+)?(?:\[/(?P=ob)\]|</(?P=oa)>)",
    re.I,
)
_IMPERATIVE = re.compile(
    r"(?:create|build|write|add|implement|make|develop|design|generate|extend|update|modify"
    r"|change|fix|refactor|remove|rename)\s+\S",
    re.I,
)
_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_PINNED_PACKAGE = re.compile(r"[A-Za-z][\w.\[\]-]*\s*(?:==|>=|<=|~=|>|<)\s*[\w.*]+")
# A code file's name or relative path: `greeting.py`, `src/app.ts` (not `notes.txt`).
_CODE_FILE = re.compile(
    r"(?<![\w./-])[\w./-]*\w\."
    r"(?:py|pyi|js|jsx|ts|tsx|mjs|html|css|scss|vue|java|kt|go|rs|rb|php|c|cc|cpp|h|hpp|cs|swift"
    r"|sql|sh)(?![\w-])"
)


@dataclass(frozen=True)
class TaggedJsonRequest:
    """The markers the answer is wrapped in and the JSON shape between them."""

    opening: str
    closing: str
    example: Any
    example_text: str  # the whole quoted example, markers included, to read values without it


def requested_tagged_json(messages: Sequence[Message]) -> TaggedJsonRequest | None:
    """The marker-wrapped JSON the conversation asks for (instructions or the latest user
    turn), or None when it asks for none."""
    users = [m.text for m in messages if m.role == "user"]
    texts = (
        users[-1] if users else "",
        *(m.text for m in messages if m.role in _INSTRUCTION_ROLES),
    )
    for text in texts:
        for ask in _WRAP_ASK.finditer(text):
            tag = ask["ob"] or ask["oa"]
            opening, closing = (f"[{tag}]", f"[/{tag}]") if ask["ob"] else (f"<{tag}>", f"</{tag}>")
            found = _last_wrapped_json(texts, opening, closing)
            if found is not None:
                example, example_text = found
                return TaggedJsonRequest(opening, closing, example, example_text)
    return None


def tagged_json_answer(messages: Sequence[Message], request: TaggedJsonRequest) -> str:
    """The JSON between the markers. It depends on the prompt alone: the same for every seed."""
    outside = "\n".join(
        m.text.replace(request.example_text, "")
        for m in messages
        if m.role in (*_INSTRUCTION_ROLES, "user")
    )
    files = list(dict.fromkeys(m.group() for m in _CODE_FILE.finditer(outside)))
    example = _with_files(request.example, files) if files else request.example
    value = _Filler(_request_in(outside), outside).fill(example)
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return f"{request.opening}\n{text}\n{request.closing}"


def _request_in(text: str) -> str | None:
    """The request the prompt is about: the first line that opens with an imperative ("Create
    a module ..."), with the rest of its paragraph; else the first JSON string the prompt quotes
    that does (an earlier answer restating it)."""
    for match in re.finditer(r"^[ \t]*(?P<line>[^\n]+)", text, re.M):
        if _IMPERATIVE.match(match["line"]):
            paragraph = text[match.start("line") :].split("\n\n", 1)[0]
            return " ".join(paragraph.split())
    for match in _JSON_STRING.finditer(text):
        try:
            value = json.loads(match.group())
        except json.JSONDecodeError:
            continue
        if _IMPERATIVE.match(value):
            return " ".join(value.split())
    return None


@dataclass(frozen=True)
class _Filler:
    """Fills an example's shape as a model restating the request would."""

    request: str | None
    outside: str  # the prompt without its example

    def fill(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self.fill(item) for key, item in value.items()}
        if isinstance(value, list):
            items = [self.fill(item) for item in value if not self._sample_package(item)]
            unique = []
            for item in items:
                if item not in unique:
                    unique.append(item)
            return unique
        if isinstance(value, str) and self.request and re.search(r"\s", value.strip()):
            return self.request  # the sample project's prose (or diagram): this request's
        return value  # a token ("P0", "Python"), a file already renamed, a number, ""

    def _sample_package(self, item: Any) -> bool:
        """A pinned package of the sample project ("flask==1.1.2") the prompt does not name."""
        if not isinstance(item, str) or not _PINNED_PACKAGE.fullmatch(item.strip()):
            return False
        name = re.split(r"[=<>~!]", item, maxsplit=1)[0].strip()
        return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", self.outside, re.I) is None


def _last_wrapped_json(texts: Sequence[str], opening: str, closing: str) -> tuple[Any, str] | None:
    """The last JSON object or array quoted between the markers, and its text with them."""
    block = re.compile(re.escape(opening) + r"\s*(?P<body>[\[{].*?)\s*" + re.escape(closing), re.S)
    found = None
    for text in texts:
        for match in block.finditer(text):
            try:
                value = json.loads(match["body"])
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict | list) and value:
                found = (value, match.group())
    return found


def _with_files(example: Any, files: list[str]) -> Any:
    """The example with its file names replaced by `files` (the i-th distinct example file by
    the i-th file). An example file beyond `files` leaves a list of files, and a list that is
    a record about it (`["game.py", "Contains the Game class"]`) is left out."""
    mapping: dict[str, str | None] = {}

    def rename(name: str) -> str | None:
        if name not in mapping:
            mapping[name] = files[len(mapping)] if len(mapping) < len(files) else None
        return mapping[name]

    def walk(value: Any) -> Any:
        if isinstance(value, str) and _CODE_FILE.fullmatch(value):
            return rename(value)
        if isinstance(value, dict):
            renamed = {key: walk(item) for key, item in value.items()}
            return {  # a key keeps a value: the last file for a name, nothing for a record
                key: (files[-1] if isinstance(value[key], str) else []) if item is None else item
                for key, item in renamed.items()
            }
        if isinstance(value, list):
            items = [walk(item) for item in value]
            names = [isinstance(v, str) and bool(_CODE_FILE.fullmatch(v)) for v in value]
            if any(names) and not all(names) and None in items:
                return None  # a record about a file the project does not have
            return [item for item in items if item is not None]
        return value

    walked = walk(example)
    return example if walked is None else walked
