"""JSON asked for in the prompt's words, without `response_format`.

Many frameworks ask for JSON in prose ("Respond only with JSON", "Return a JSON object with the
keys ...") and show an example or a schema of the answer. A real model follows the example's
shape; so does the simulator: the keys (and nesting) come from the last example the prompt
quotes near its JSON request, the values from the conversation (entity names, their fields, the
operation asked for, a sentence of reasoning), deterministically for the seed. A quoted JSON
Schema (an object with `type`/`properties`) gets an instance of the schema (structured.py).
Without an example, keys named in prose ("with the keys `a`, `b` and `c`") or, for a JSON list
of entities, one object per entity the request names.

The answer is the JSON alone, or fenced in ```json when the prompt shows a fenced JSON example
and does not forbid code blocks.

Reference for the shapes: BAEs (gesad-lab/baes_demo @ 1285967) asks by prompt only:
baes/llm/openai_client.py:207-231 appends "You MUST respond with valid JSON only ... EXPECTED JSON
STRUCTURE:" and a json.dumps of a template whose values are placeholders ("string", 0.0,
"create|update|delete|list|relationship|unknown", true, ["list of strings"]); :233-265 and
:267-291 parse the answer (a fenced block is unwrapped, text around braces cut). The entity
classification (baes/core/entity_recognizer.py:27-31, :134-151) quotes the user's request as
`User Request: "..."`, the subject the values are read from here.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from baes.simulator.answers.codegen import Answer
from baes.simulator.answers.crud_spec import crud_spec
from baes.simulator.answers.naming import singular
from baes.simulator.answers.sentences import split_sentences
from baes.simulator.answers.structured import (
    ResponseFormat,
    StructuredOutputError,
    structured_answer,
)
from baes.simulator.determinism import seeded_random
from baes.simulator.messages import Message, canonical_messages

_INSTRUCTION_ROLES = ("system", "developer")
# Directed at the model: "Respond with JSON", "You must return valid JSON only", "Your response
# must be a JSON object", "Return a JSON response with:". "Build an endpoint that returns JSON"
# (a code request) matches none: the verb there is not the sentence's imperative.
_ASKS_JSON = re.compile(
    r"(?:^|[.!:;\n]\s*|\b(?:you|please)\s+(?:must\s+|should\s+|will\s+|need\s+to\s+)?(?:only\s+)?)"
    r"(?:respond|reply|answer|return|output|provide|give|produce|format\s+your\s+\w+)\b"
    r"[^.\n]{0,60}?\bjson\b"
    r"|\b(?:respond|reply|answer)\w*\s+(?:only\s+)?(?:in|as|with|using)\s+(?:valid\s+|a\s+|an\s+|only\s+|strict\s+)*json\b"
    r"|\b(?:your|the)\s+(?:response|reply|answer|output)\s+(?:must|should|will|has\s+to)\s+be\b"
    r"[^.\n]{0,30}\bjson\b"
    r"|\bjson\s+only\b|\bonly\s+(?:valid\s+)?json\b",
    re.I | re.M,
)
# An example is the answer's when it follows words like these closely.
_EXAMPLE_CUE = re.compile(r"json|format|structure|schema|example|shape|template|like this", re.I)
_CUE_WINDOW = 600
_NO_FENCE = re.compile(
    r"\b(?:do\s+not|don't|never|without|no)\s+(?:use\s+|include\s+|wrap\w*\s+(?:it\s+)?in\s+)?"
    r"(?:any\s+)?(?:markdown|code\s*blocks?|fences?|```)",
    re.I,
)
_FENCED_JSON = re.compile(r"```json\s*\n", re.I)
_KEYS_IN_PROSE = re.compile(
    r"\b(?:keys?|fields?|properties)\b\s*:?\s*"
    r"(?P<keys>[`'\"]?[A-Za-z_]\w*[`'\"]?(?:\s*(?:,|\band\b|,\s*and\b)\s*[`'\"]?[A-Za-z_]\w*[`'\"]?)+)",
    re.I,
)
_LIST_OF = re.compile(r"\bjson\s+(?:list|array)\s+of\s+(?P<what>\w+)", re.I)
_LABELLED_SUBJECT = re.compile(
    r"\b(?:request|input|query|requirement|task|description|prompt|message)\b[^:\n\"]{0,30}:\s*"
    r"\"(?P<text>[^\"\n]{3,})\"",
    re.I,
)
_ENTITY_LIST = re.compile(
    r"\b(?:with|manage|managing|manages|tracks?|tracking|stores?|storing|handles?|of)\s+"
    r"(?P<list>[a-z]+(?:\s*,\s*[a-z]+)*(?:\s*,?\s*and\s+[a-z]+)?)",
    re.I,
)
_MANAGEMENT = re.compile(r"\b(?P<noun>[a-z]+)\s+(?:management|tracking|registration)\b", re.I)
_BETWEEN = re.compile(
    r"\b(?:relationship|relation|association|link)\s+between\s+(?:the\s+)?(?P<a>[A-Za-z]+)\s+"
    r"and\s+(?:the\s+)?(?P<b>[A-Za-z]+)",
    re.I,
)
_VERB_OBJECT = re.compile(
    r"\b(?:create|add|build|make|manage|register|delete|remove|update|list)\s+"
    r"(?:an?\s+|the\s+|new\s+|some\s+|all\s+)*(?P<noun>[a-z]{3,})\b",
    re.I,
)
_NOT_ENTITIES = {
    "data", "crud", "endpoints", "fields", "field", "sqlite", "fastapi", "api", "status",
    "details", "this", "these", "those", "things", "items", "users", "requests", "json", "entities", "entity",
}  # fmt: skip
_ACTIONS = {
    "relationship": r"relationship|relation|associate|link\w*|enrol\w*|assign\w*",
    "delete": r"delete|remove|drop|destroy",
    "update": r"update|modify|change|edit|rename|extend|add\s+(?:an?\s+)?(?:\w+\s+){0,3}(?:field|attribute|column)",
    "list": r"list|show|display|view|get|fetch|find|search",
    "create": r"create|build|add|make|new|generate|implement|develop|design",
}
# Other words an alternative may use for each action ("evolution_type": "addition|removal").
_ACTION_WORDS = {
    "create": {"add", "addition", "creation", "new", "insert", "build"},
    "update": {"modify", "modification", "change", "edit", "alter", "extend", "extension"},
    "delete": {"remove", "removal", "deletion", "drop"},
    "list": {"read", "get", "query", "retrieve", "view", "search"},
    "relationship": {"relation", "link", "association", "associate"},
}
_POSITIVE_VERDICT = re.compile(r"valid|success|ok|approved|pass|compatible|complete|ready|correct")
_PLACEHOLDER = re.compile(
    r"^(?:|\.\.\.|…|string|str|text|value|any|<[^>]*>|\[[^\]]*\]|string\s*\(.*\)|.*\s.*)$", re.I
)
_SUMMARY_KEYS = re.compile(
    r"reason|explanation|summary|description|rationale|analysis|comment|note|message|thought"
    r"|justification|feedback|details|answer",
    re.I,
)


_BARE_KEY = re.compile(r"[A-Za-z_][\w-]*")
_BARE_VALUE = re.compile(r"[^,}\]\n]+")


class _Placeholder(str):
    """A bare token of an example that is no JSON value: `0.0-1.0`, `true/false`, `...`."""


@dataclass(frozen=True)
class JsonRequest:
    """What shape the prompt asked for: an example (or schema), keys, or a list of entities."""

    example: Any = None
    keys: tuple[str, ...] = ()
    list_of: str | None = None
    fenced: bool = False


def requested_json(messages: Sequence[Message]) -> JsonRequest | None:
    """The JSON the conversation asks for in its words (instructions or the latest user turn),
    or None when it asks for none."""
    users = [m.text for m in messages if m.role == "user"]
    last_user = users[-1] if users else ""
    instructions = "\n\n".join(m.text for m in messages if m.role in _INSTRUCTION_ROLES)
    asked = [t for t in (last_user, instructions) if _ASKS_JSON.search(t)]
    if not asked:
        return None
    texts = (last_user, instructions)
    fenced = any(_FENCED_JSON.search(t) for t in texts) and not any(
        _NO_FENCE.search(t) for t in texts
    )
    for text in texts:
        example = _last_example(text)
        if example is not None:
            return JsonRequest(example=example, fenced=fenced)
    for text in asked:
        if keys := _keys_in_prose(text):
            return JsonRequest(keys=keys, fenced=fenced)
    for text in asked:
        if listed := _LIST_OF.search(text):
            return JsonRequest(list_of=listed.group("what").lower(), fenced=fenced)
    return JsonRequest(fenced=fenced)


def prompt_json_answer(
    messages: Sequence[Message], model: str, seed: int, request: JsonRequest, fallback: Answer
) -> str:
    """The JSON text answering a prompt-requested JSON, deterministic in the seed; `fallback`
    (what the simulator would have said otherwise) fills a shapeless JSON request."""
    text = _json_text(messages, model, seed, request, fallback)
    return f"```json\n{text}\n```" if request.fenced else text


def _json_text(
    messages: Sequence[Message], model: str, seed: int, request: JsonRequest, fallback: Answer
) -> str:
    if isinstance(request.example, dict) and _is_json_schema(request.example):
        schema_format = ResponseFormat("json_schema", request.example)
        try:
            return structured_answer(messages, model, seed, schema_format, fallback)
        except StructuredOutputError:
            # A schema quoted in prose binds nothing: answer as to a request for any JSON
            # object rather than refuse a request that set no response_format.
            return structured_answer(messages, model, seed, ResponseFormat("json_object"), fallback)
    if request.example is None and not request.keys and request.list_of is None:
        return structured_answer(messages, model, seed, ResponseFormat("json_object"), fallback)
    rng = seeded_random("prompt-json", seed, model, canonical_messages(messages))
    context = _Context.read(messages, rng)
    if request.example is not None:
        value = context.fill(request.example, "")
    elif request.keys:
        value = {key: context.fill(_template_for(key), key) for key in request.keys}
    else:
        value = context.entity_objects()
    return json.dumps(value, ensure_ascii=False, indent=2)


# -- reading the example ------------------------------------------------------------------------


def _last_example(text: str) -> Any:
    """The last object or array in `text` that follows an example cue, parsed leniently."""
    found = None
    position = 0
    while True:
        start = _next_opening(text, position)
        if start < 0:
            return found
        try:
            value, end = _Lenient(text, start).parse()
        except ValueError:
            position = start + 1
            continue
        cued = _EXAMPLE_CUE.search(text, max(0, start - _CUE_WINDOW), start) is not None
        if cued and _is_shape(value):
            found = value
        position = end


def _next_opening(text: str, position: int) -> int:
    candidates = [i for i in (text.find("{", position), text.find("[", position)) if i >= 0]
    return min(candidates) if candidates else -1


def _is_shape(value: Any) -> bool:
    if isinstance(value, dict):
        return bool(value)
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict) and bool(value[0])


def _is_json_schema(value: dict[str, Any]) -> bool:
    return isinstance(value.get("properties"), dict) and value.get("type") in ("object", None)


class _Lenient:
    """A forgiving JSON reader for examples in prose: bare keys, single quotes, trailing commas,
    `//` comments, and bare tokens (`0.0-1.0`, `true/false`, `...`) kept as placeholders."""

    def __init__(self, text: str, start: int):
        self.text = text
        self.i = start

    def parse(self) -> tuple[Any, int]:
        value = self._value()
        return value, self.i

    def _skip(self) -> None:
        while self.i < len(self.text):
            if self.text[self.i].isspace():
                self.i += 1
            elif self.text.startswith("//", self.i):
                newline = self.text.find("\n", self.i)
                self.i = len(self.text) if newline < 0 else newline
            else:
                return

    def _peek(self) -> str:
        self._skip()
        if self.i >= len(self.text):
            raise ValueError("end of text")
        return self.text[self.i]

    def _value(self) -> Any:
        char = self._peek()
        if char == "{":
            return self._object()
        if char == "[":
            return self._array()
        if char in "\"'":
            return self._string()
        return self._bare()

    def _object(self) -> dict[str, Any]:
        self.i += 1
        value: dict[str, Any] = {}
        while True:
            char = self._peek()
            if char == "}":
                self.i += 1
                return value
            key = self._string() if char in "\"'" else self._identifier()
            if self._peek() != ":":
                raise ValueError("no colon")
            self.i += 1
            value[key] = self._value()
            if self._peek() == ",":
                self.i += 1

    def _array(self) -> list[Any]:
        self.i += 1
        values: list[Any] = []
        while True:
            if self._peek() == "]":
                self.i += 1
                return values
            item = self._value()
            if not (isinstance(item, _Placeholder) and item.strip(".… ") == ""):
                values.append(item)
            if self._peek() == ",":
                self.i += 1

    def _string(self) -> str:
        quote = self.text[self.i]
        end = self.i + 1
        while end < len(self.text) and self.text[end] != quote:
            end += 2 if self.text[end] == "\\" else 1
        if end >= len(self.text) or "\n" in self.text[self.i : end]:
            raise ValueError("unterminated string")
        raw = self.text[self.i : end + 1]
        self.i = end + 1
        try:
            return json.loads(raw if quote == '"' else '"' + raw[1:-1].replace('"', '\\"') + '"')
        except json.JSONDecodeError as error:
            raise ValueError("bad string") from error

    def _identifier(self) -> str:
        match = _BARE_KEY.match(self.text, self.i)
        if match is None:
            raise ValueError("no key")
        self.i = match.end()
        return match.group()

    def _bare(self) -> Any:
        match = _BARE_VALUE.match(self.text, self.i)
        if match is None:
            raise ValueError("no value")
        token = match.group().strip()
        self.i = match.end()
        if token in ("true", "false", "null"):
            return json.loads(token)
        try:
            return json.loads(token)
        except json.JSONDecodeError:
            if not token or len(token) > 60:
                raise ValueError("not a value") from None
            return _Placeholder(token)


def _template_for(key: str) -> Any:
    """What a key named in prose holds: a list when its name is a plural ("entities")."""
    last = re.split(r"[_\W]|(?<=[a-z])(?=[A-Z])", key)[-1].lower()
    plural = last.endswith("s") and not last.endswith(("ss", "us", "is"))
    return [] if plural else _Placeholder("")


def _keys_in_prose(text: str) -> tuple[str, ...]:
    match = _KEYS_IN_PROSE.search(text)
    if match is None:
        return ()
    return tuple(dict.fromkeys(re.findall(r"[A-Za-z_]\w*", re.sub(r"\band\b", " ", match["keys"]))))


# -- filling it from the conversation -----------------------------------------------------------


@dataclass
class _Entity:
    name: str
    fields: list[str] = field(default_factory=list)


@dataclass
class _Context:
    """What the values are drawn from: the request's subject, its entities and operation."""

    subject: str
    entities: list[_Entity]
    action: str
    rng: random.Random
    focus: _Entity | None = None
    # Values the prompt's own rules give for this request ("for 'add [field] to [entity]'
    # patterns, always use operation_type="evolve""), by key.
    stated: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, messages: Sequence[Message], rng: random.Random) -> _Context:
        users = [m.text for m in messages if m.role == "user"]
        last_user = users[-1] if users else ""
        labelled = _LABELLED_SUBJECT.search(last_user)
        subject = labelled.group("text") if labelled else _without_examples(last_user)
        entities = _entities_in(subject)
        instructions = "\n\n".join(m.text for m in messages if m.role in _INSTRUCTION_ROLES)
        stated = _stated_values(f"{instructions}\n\n{last_user}", subject, entities)
        focus = entities[0] if entities else None
        return cls(subject, entities, _action_in(subject), rng, focus, stated)

    def entity_objects(self) -> list[Any]:
        if not self.entities:  # "a JSON list of colours": words of the request
            return _topic_words(self.subject)
        return [
            {"name": e.name, "attributes": e.fields or ["id", "name"], "operations": _CRUD}
            for e in self.entities
        ]

    def fill(self, template: Any, key: str) -> Any:
        if isinstance(template, dict):
            return {k: self.fill(v, k) for k, v in template.items()}
        if isinstance(template, list):
            return self._list(template, key)
        if isinstance(template, bool) or (
            isinstance(template, str)
            and template.lower() in ("true/false", "true|false", "boolean")
        ):
            return self._boolean(key)
        if isinstance(template, int | float):
            return self._number(template, key)
        if isinstance(template, str):
            return self._string(template, key)
        return self._string(_Placeholder(""), key) if _names_known(key) else None

    def _list(self, template: list[Any], key: str) -> list[Any]:
        words = _key_words(key)
        item = template[0] if template else _Placeholder("")
        if isinstance(item, dict):
            if "entit" in key.lower() or len(self.entities) > 1 and _names_entities(item):
                return [self._with_focus(entity).fill(item, key) for entity in self.entities]
            return [self.fill(item, key)]
        if words & {"attribute", "attributes", "field", "fields", "column", "columns", "property"}:
            if words & {"removed", "deleted", "dropped"} and self.action != "delete":
                return []
            if words & {"modified", "changed", "renamed"} and self.action != "update":
                return []
            return list(self.focus.fields) if self.focus else []
        if words & {"operation", "operations", "actions", "endpoints", "methods"}:
            return list(_CRUD)
        if "entit" in key.lower() or words & {"models", "resources", "tables", "mentioned"}:
            return [e.name for e in self.entities]
        if all(isinstance(t, str) and _PLACEHOLDER.match(t) for t in template):
            return _topic_words(self.subject)[: max(2, len(template))]
        return [self.fill(t, key) for t in template]

    def _with_focus(self, entity: _Entity) -> _Context:
        return _Context(self.subject, self.entities, self.action, self.rng, entity, self.stated)

    def _boolean(self, key: str) -> bool:
        words = _key_words(key) - {"is", "has", "should", "needs", "need", "request", "can"}
        if any(_POSITIVE_VERDICT.fullmatch(w) or w.startswith("valid") for w in words):
            return True
        if words & {"relationship", "relation", "relational"}:
            return self.action == "relationship"
        if words & {"exists", "exist", "existing", "already", "evolution"}:
            return self.action != "create"  # a request to create names what is not there yet
        subject = self.subject.lower()
        return any(re.search(rf"\b{re.escape(w[:6])}", subject) for w in words if len(w) > 3)

    def _number(self, template: float, key: str) -> float | int:
        if isinstance(template, float) or re.search(r"confiden|score|probab|certain", key, re.I):
            return round(self.rng.uniform(0.85, 0.97), 2)
        return template if template > 0 else self.rng.randint(1, 5)

    def _string(self, template: str, key: str) -> Any:
        if key in self.stated:
            return self.stated[key]
        options = [o.strip() for o in re.split(r"\s*\|\s*", template)]
        if len(options) > 1 and all(re.fullmatch(r"[\w-]+", o) for o in options):
            return self._option(options)
        if isinstance(template, _Placeholder):
            if range_ := re.fullmatch(r"(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)", template):
                low, high = float(range_[1]), float(range_[2])
                return round(low + (high - low) * self.rng.uniform(0.85, 0.97), 2)
        if not _PLACEHOLDER.match(template) and not isinstance(template, _Placeholder):
            return template  # a concrete value in the example ("pending"): models copy those
        return self._named(key, template)

    def _named(self, key: str, template: str) -> Any:
        words = _key_words(key)
        lowered = key.lower()
        if words & {"secondary", "related", "referenced", "other", "target", "child"}:
            others = [e.name for e in self.entities if e is not self.focus]
            return others[0] if others and self.action == "relationship" else None
        if "entit" in lowered or words & {"primary", "model", "resource", "table", "class"}:
            return self.focus.name if self.focus else "unknown"
        if "language" in lowered:
            return "English"
        if words & {"action", "intent", "operation", "verb"}:
            return self.action
        if words & {"type", "kind"}:
            return "string"
        if _SUMMARY_KEYS.search(lowered):
            return self._reasoning()
        if words & {"name", "title", "label"}:
            return self.focus.name if self.focus else _topic(self.subject)
        if words & {"direction"}:
            return f"from {self.action} request" if self.action == "relationship" else None
        return _topic(self.subject) if template in ("", "string", "str") else self._reasoning()

    def _option(self, options: list[str]) -> str:
        """One of the quoted alternatives ("create|update|delete"), as the request reads: the
        request's action itself, an alternative the request spells out ("many-to-many" for
        `many_to_many`), a word for the action ("removal" for delete), else the one whose first
        letters the request uses, else a seeded pick."""
        normal = [_option_words(o) for o in options]
        action = _option_words(self.action)
        if action in normal:
            return options[normal.index(action)]
        subject = f" {_option_words(self.subject)} "
        spelled = [o for o, n in zip(options, normal, strict=True) if f" {n} " in subject]
        if spelled:
            return max(spelled, key=len)  # "many_to_many" rather than "many"
        for option, words in zip(options, normal, strict=True):
            if words in _ACTION_WORDS.get(self.action, ()):
                return option
        subject = self.subject.lower()
        for option in options:
            if re.search(rf"\b{re.escape(option.lower()[:5])}", subject):
                return option
        usable = [o for o in options if o.lower() not in ("unknown", "none", "other")]
        return self.rng.choice(usable or options)

    def _reasoning(self) -> str:
        sentence = next(iter(split_sentences(" ".join(self.subject.split()))), self.subject)
        names = ", ".join(e.name for e in self.entities) or "the system"
        return (
            f"The request asks to {self.action} {names}: "
            f"{sentence.rstrip('.')[:200]}. The primary entity is "
            f"{self.focus.name if self.focus else 'unclear'}."
        )


_CRUD = ["create", "read", "update", "delete"]


def _names_entities(item: dict[str, Any]) -> bool:
    return any(_key_words(k) & {"name", "entity"} for k in item)


def _names_known(key: str) -> bool:
    return bool(_key_words(key) & {"name", "entity", "reasoning", "action"})


def _key_words(key: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", key)
    return {w.lower() for w in re.split(r"[^A-Za-z]+", spaced) if w}


def _without_examples(text: str) -> str:
    """A user turn without the example it quotes: the request itself."""
    cut = _ASKS_JSON.search(text)
    head = text[: cut.start()] if cut and cut.start() > 20 else text
    return head.strip() or text


# A rule a prompt states for a shape of request: `For "add [field] to [entity]" patterns, always
# use operation_type="evolve"`.
_PATTERN_RULE = re.compile(
    r"\bfor\s+[\"“'](?P<pattern>[^\"”'\n]+)[\"”']\s+(?:patterns?|requests?)\b[^\n]*?\buse\s+"
    r"[`\"']?(?P<key>\w+)[`\"']?\s*[=:]\s*[\"'`](?P<value>[^\"'`\n]+)[\"'`]",
    re.I,
)
_PATTERN_SLOT = re.compile(r"\[(\w+)\]")
_ATTRIBUTE_WORDS = re.compile(r"\b(?:field|attribute|column|property)s?\b", re.I)


def _stated_values(prompt: str, subject: str, entities: list[_Entity]) -> dict[str, str]:
    """Per key, the value of the first rule in `prompt` whose request pattern the request's
    opening sentence has (its slots filled as their names say: an [entity] slot holds an entity
    the request names and no field, a [field] slot a field rather than just an entity)."""
    opening = next(iter(split_sentences(" ".join(subject.split()))), subject)
    stated: dict[str, str] = {}
    for rule in _PATTERN_RULE.finditer(prompt):
        key = rule["key"]
        if key not in stated and _has_pattern(opening, rule["pattern"], entities):
            stated[key] = rule["value"].strip()
    return stated


def _has_pattern(sentence: str, pattern: str, entities: list[_Entity]) -> bool:
    parts = _PATTERN_SLOT.split(pattern.strip())  # literal, slot, literal, slot, ...
    slots = parts[1::2]
    pieces = []
    for index, part in enumerate(parts):
        if index % 2:  # a slot: some words; the last one takes the rest of the sentence
            pieces.append(r"\s*(.+)" if index == len(parts) - 2 and not parts[-1] else r"\s*(.+?)")
        elif part.strip():
            pieces.append(r"\s*" + r"\s+".join(map(re.escape, part.split())) + r"\b")
    match = re.match("".join(pieces), sentence.strip(), re.I)
    if match is None:
        return False
    # The entities the request names, and its capitalised nouns ("to Student") past the verb.
    names = {e.name.lower() for e in entities}
    names |= {
        m[0].lower().removesuffix("s")
        for m in re.finditer(r"\b[A-Z][a-z]+", sentence.strip())
        if m.start() > 0
    }
    for slot, text in zip(slots, match.groups(), strict=True):
        names_entity = bool(
            {w.lower().removesuffix("s") for w in re.findall(r"[A-Za-z]+", text)} & names
        )
        names_attribute = bool(_ATTRIBUTE_WORDS.search(text))
        if "entit" in slot.lower() and (not names_entity or names_attribute):
            return False
        if _ATTRIBUTE_WORDS.fullmatch(slot) and names_entity and not names_attribute:
            return False  # "add Course to Student" names no field
    return True


def _option_words(text: str) -> str:
    """Lower-case words joined by single spaces, so "many-to-many" and `many_to_many` compare
    equal."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _action_in(subject: str) -> str:
    """The operation the request opens with (its first verb; on a tie, the more specific);
    a request that mentions a relationship is about one."""
    if re.search(rf"\b(?:{_ACTIONS['relationship']})\b", subject, re.I):
        return "relationship"
    found = []
    for rank, (action, words) in enumerate(_ACTIONS.items()):
        if match := re.search(rf"\b(?:{words})\b", subject, re.I):
            found.append((match.start(), rank, action))
    return min(found)[2] if found else "create"


def _entities_in(subject: str) -> list[_Entity]:
    """The entities a request names: declared ones ("a Student entity with ... `name`"), else
    nouns it lists ("with students and courses"), else what a "... management" system manages."""
    spec = crud_spec([subject], {})
    found = (
        [_Entity(e.name.lower(), [f.name for f in e.fields]) for e in spec.entities.values()]
        if spec
        else []
    )
    for match in _BETWEEN.finditer(subject):  # "a relationship between Course and Teacher"
        for word in (match["a"], match["b"]):
            if singular(word.lower()) not in {e.name for e in found}:
                found.append(_Entity(singular(word.lower()), ["id", "name"]))
    if found:
        return found
    names: list[str] = []
    for match in _ENTITY_LIST.finditer(subject):
        words = re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", match["list"])
        plurals = [w.lower() for w in words if w.lower().endswith("s") and len(w) > 3]
        names += [singular(w) for w in plurals if w.lower() not in _NOT_ENTITIES]
    if not names:
        names = [m["noun"].lower() for m in _MANAGEMENT.finditer(subject)]
        names = [singular(n) for n in names if n not in _NOT_ENTITIES]
    if not names:  # "Create a teacher with a name": the object of the request's verb
        objects = [m["noun"].lower() for m in _VERB_OBJECT.finditer(subject)]
        names = [singular(n) for n in objects if n not in _NOT_ENTITIES | _STOP_WORDS]
    return [_Entity(name, ["id", "name"]) for name in dict.fromkeys(names)]


def _topic_words(subject: str) -> list[str]:
    words = [w.lower() for w in re.findall(r"[A-Za-z]{4,}", subject)]
    return [w for w in dict.fromkeys(words) if w not in _STOP_WORDS] or ["result"]


def _topic(subject: str) -> str:
    return "_".join(_topic_words(subject)[:2])


_STOP_WORDS = {
    "build", "with", "that", "this", "from", "into", "when", "them", "their", "they", "web",
    "required", "optional", "string", "integer", "field", "system", "application", "app", "many",
}  # fmt: skip
