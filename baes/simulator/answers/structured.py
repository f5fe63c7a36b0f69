"""Structured output: `response_format` json_object and json_schema answers.

A real model under `json_schema` with `strict: true` can only emit JSON that validates against
the schema; the simulator does the same by building an instance of the schema, deterministically
from the seed and the conversation: every required property, enums and consts, nested objects
and arrays (minItems/maxItems), numeric bounds, string lengths and common formats, local `$ref`
(`#/$defs/…`, `#/definitions/…`), `anyOf`/`oneOf` (first branch that is not `null`), `allOf`
(merged). Strings are drawn from the conversation: a `summary`-like property gets the prose
answer, a `code`-like one the code the simulator would have written, `path`-like the file it
would have written, names and titles words of the request.

What it cannot build is refused with a clear error, never answered with JSON that does not
validate: a `pattern` none of its candidate strings match, a `$ref` outside the schema, `not`.
"""

from __future__ import annotations

import json
import math
import random
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from baes.simulator.answers.codegen import Answer
from baes.simulator.answers.conversation import read_conversation
from baes.simulator.answers.sentences import split_sentences
from baes.simulator.determinism import seeded_random
from baes.simulator.messages import Message, canonical_messages

# Recursive schemas stop growing here: arrays get their minimum, anyOf its non-recursive branch.
MAX_DEPTH = 8
DEFAULT_ARRAY_ITEMS = 2
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,}")
_SUMMARY_NAMES = re.compile(
    r"summary|description|message|answer|explanation|reason|rationale|comment|text|response"
    r"|thought|analysis|note|feedback|plan|step|instruction|question",
    re.I,
)
_CODE_NAMES = re.compile(r"code|source|content|body|patch|diff|snippet", re.I)
_PATH_NAMES = re.compile(r"path|file|filename|module", re.I)
_NAME_NAMES = re.compile(r"name|title|label|key|id\b|slug|topic|subject", re.I)


class StructuredOutputError(ValueError):
    """The response_format cannot be honoured; `param` is the request parameter at fault."""

    def __init__(self, message: str, param: str = "response_format"):
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class ResponseFormat:
    """What the request asked the answer to be: any JSON object, or an instance of `schema`
    (strict or not: the instance validates either way; strict mode's rules are checked when the
    request is read)."""

    kind: str  # "json_object" or "json_schema"
    schema: dict[str, Any] | None = None


def chat_response_format(body: dict[str, Any]) -> ResponseFormat | None:
    """The `response_format` of a chat or legacy completions request; None for plain text."""
    raw = body.get("response_format")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise StructuredOutputError("Invalid 'response_format': expected an object.")
    kind = raw.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return ResponseFormat("json_object")
    if kind == "json_schema":
        spec = raw.get("json_schema")
        if not isinstance(spec, dict):
            raise StructuredOutputError(
                "Missing required parameter: 'response_format.json_schema'.",
                "response_format.json_schema",
            )
        return _schema_format(spec, "response_format.json_schema")
    raise StructuredOutputError(
        f"Invalid value for 'response_format.type': {kind!r}; supported values are 'text', "
        "'json_object' and 'json_schema'.",
        "response_format.type",
    )


def responses_text_format(body: dict[str, Any]) -> ResponseFormat | None:
    """The `text.format` of a Responses API request; None for plain text."""
    text = body.get("text")
    raw = text.get("format") if isinstance(text, dict) else None
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise StructuredOutputError("Invalid 'text.format': expected an object.", "text.format")
    kind = raw.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return ResponseFormat("json_object")
    if kind == "json_schema":
        return _schema_format(raw, "text.format")
    raise StructuredOutputError(
        f"Invalid value for 'text.format.type': {kind!r}.", "text.format.type"
    )


def _schema_format(spec: dict[str, Any], param: str) -> ResponseFormat:
    name = spec.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
        raise StructuredOutputError(
            f"Invalid '{param}.name': expected 1 to 64 letters, digits, '_' or '-'.",
            f"{param}.name",
        )
    schema = spec.get("schema", {})
    if not isinstance(schema, dict):
        raise StructuredOutputError(f"Invalid '{param}.schema': expected an object.", param)
    if spec.get("strict") is True:
        _check_strict(schema, name, ())
    return ResponseFormat("json_schema", schema)


def _check_strict(schema: Any, name: str, context: tuple[str, ...]) -> None:
    """OpenAI's two strict-mode rules that schemas most often break, with its wording."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" or "properties" in schema:
            where = f"In context=({', '.join(repr(c) for c in context)})"
            if schema.get("additionalProperties") is not False:
                raise StructuredOutputError(
                    f"Invalid schema for response_format '{name}': {where}, "
                    "'additionalProperties' is required to be supplied and to be false."
                )
            properties = schema.get("properties") or {}
            missing = [p for p in properties if p not in (schema.get("required") or [])]
            if missing:
                raise StructuredOutputError(
                    f"Invalid schema for response_format '{name}': {where}, 'required' is "
                    f"required to be supplied and to be an array including every key in "
                    f"properties. Missing '{missing[0]}'."
                )
        for key, value in schema.items():
            if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
                for child, sub in value.items():
                    _check_strict(sub, name, (*context, key, child))
            elif key in ("items", "additionalProperties"):
                _check_strict(value, name, (*context, key))
            elif key in ("anyOf", "allOf", "prefixItems") and isinstance(value, list):
                for index, sub in enumerate(value):
                    _check_strict(sub, name, (*context, key, str(index)))


def require_json_word(messages: Sequence[Message], response_format: ResponseFormat | None) -> None:
    """OpenAI's rule for json_object: some message must contain the word "json" (any case)."""
    if response_format is None or response_format.kind != "json_object":
        return
    if not any("json" in message.text.lower() for message in messages):
        raise StructuredOutputError(
            "'messages' must contain the word 'json' in some form, to use 'response_format' of "
            "type 'json_object'.",
            "messages",
        )


def structured_answer(
    messages: Sequence[Message],
    model: str,
    seed: int,
    response_format: ResponseFormat,
    answer: Answer,
) -> str:
    """The JSON text a model answers with under `response_format`, deterministic in the seed;
    `answer` is what it would have said in prose or code, the source of the JSON's content."""
    rng = seeded_random(
        "structured",
        seed,
        model,
        canonical_messages(messages),
        json.dumps(response_format.schema, sort_keys=True),
    )
    topic = _topic_words(read_conversation(messages).last_prompt)
    writer = _InstanceWriter(rng, answer, topic, response_format.schema or {})
    if response_format.kind == "json_object":
        value = writer.free_object()
    else:
        value = writer.instance(response_format.schema or {}, "", 0)
    return json.dumps(value, ensure_ascii=False)


def _topic_words(prompt: str) -> list[str]:
    words = [w for w in _WORD.findall(prompt) if not w.isupper()]
    return list(dict.fromkeys(w.lower() for w in words))[:8] or ["result"]


class _InstanceWriter:
    """Builds one instance of a schema from the answer the simulator would have given."""

    def __init__(self, rng: random.Random, answer: Answer, topic: list[str], root: dict[str, Any]):
        self.rng = rng
        self.answer = answer
        self.topic = topic
        self.root = root
        prose = self._prose_of(answer)
        self.sentences = split_sentences(prose) or [prose or "Done."]

    @staticmethod
    def _prose_of(answer: Answer) -> str:
        if not answer.files:
            return answer.text.strip()
        first = answer.text.split("\n\n", 1)[0].strip()
        names = ", ".join(answer.files)
        return f"{first} The change writes {names}."

    def free_object(self) -> dict[str, Any]:
        """A json_object answer: the prose, and the files when the request asked for code."""
        value: dict[str, Any] = {"answer": " ".join(self.sentences)}
        if self.answer.files:
            value["files"] = [{"path": p, "content": c} for p, c in self.answer.files.items()]
        return value

    def instance(self, schema: Any, name: str, depth: int) -> Any:
        if schema is True or schema == {}:
            return self._string(name, {})
        if not isinstance(schema, dict):
            raise StructuredOutputError(f"Invalid schema at {name or 'the root'}: not an object.")
        if "$ref" in schema:
            return self.instance(self._resolve(schema["$ref"]), name, depth + 1)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            choices = schema["enum"]
            if not isinstance(choices, list) or not choices:
                raise StructuredOutputError(f"Invalid 'enum' at {name or 'the root'}.")
            return self.rng.choice(choices)
        if "not" in schema:
            raise StructuredOutputError("The baes simulator cannot generate JSON for 'not'.")
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                return self.instance(self._branch(schema[key], depth), name, depth + 1)
        if isinstance(schema.get("allOf"), list):
            merged = dict(schema)
            for part in merged.pop("allOf"):
                part = self._resolve(part["$ref"]) if "$ref" in part else part
                merged = _merge(merged, part)
            return self.instance(merged, name, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = (
                "object" if "properties" in schema else "array" if "items" in schema else "string"
            )
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, name, depth)
        if kind == "string":
            return self._string(name, schema)
        if kind in ("integer", "number"):
            return self._number(schema, kind == "integer")
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        raise StructuredOutputError(f"Unsupported type {kind!r} at {name or 'the root'}.")

    def _resolve(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise StructuredOutputError(
                f"The baes simulator resolves only local $ref ('#/$defs/...'), not {ref!r}."
            )
        node: Any = self.root
        for part in ref.lstrip("#").split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise StructuredOutputError(f"The $ref {ref!r} points at nothing in the schema.")
            node = node[part]
        return node

    def _branch(self, branches: list[Any], depth: int) -> Any:
        def is_null(branch: Any) -> bool:
            return isinstance(branch, dict) and branch.get("type") == "null"

        if depth >= MAX_DEPTH:  # deep in a recursive schema: end it where the schema allows
            for branch in branches:
                if is_null(branch) or (isinstance(branch, dict) and "$ref" not in branch):
                    return branch
        return next((b for b in branches if not is_null(b)), branches[0])

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        value = {}
        for key, sub in properties.items():
            if depth >= MAX_DEPTH and key not in required:
                continue
            value[key] = self.instance(sub, key, depth + 1)
        return value

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        items = schema.get("items", {})
        prefix = schema.get("prefixItems") or []
        files_shape = self._file_item_keys(items)
        if files_shape and self.answer.files:
            wanted = len(self.answer.files)
        else:
            wanted = low if depth >= MAX_DEPTH else max(low, DEFAULT_ARRAY_ITEMS)
        if high is not None:
            wanted = min(wanted, int(high))
        wanted = max(wanted, low, len(prefix) if high is None else min(len(prefix), int(high)))
        values: list[Any] = []
        for index in range(wanted):
            if index < len(prefix):
                values.append(self.instance(prefix[index], name, depth + 1))
            elif files_shape and index < len(self.answer.files):
                values.append(self._file_item(items, files_shape, index, depth))
            else:
                values.append(self.instance(items, f"{name}[{index}]", depth + 1))
        if schema.get("uniqueItems"):
            values = self._make_unique(values, items, name, depth, low)
        return values

    def _make_unique(
        self, values: list[Any], items: Any, name: str, depth: int, low: int
    ) -> list[Any]:
        unique: list[Any] = []
        seen: set[str] = set()
        attempts = 0
        for value in values:
            while json.dumps(value, sort_keys=True) in seen and attempts < 50:
                attempts += 1
                value = self.instance(items, f"{name}[{len(unique)}#{attempts}]", depth + 1)
            key = json.dumps(value, sort_keys=True)
            if key not in seen:
                seen.add(key)
                unique.append(value)
        if len(unique) < low:
            raise StructuredOutputError(
                f"The baes simulator could not find {low} distinct items for {name!r}."
            )
        return unique

    def _file_item_keys(self, items: Any) -> tuple[str, str] | None:
        """(path key, content key) when array items look like files: a path and a code field."""
        if isinstance(items, dict) and "$ref" in items:
            items = self._resolve(items["$ref"])
        if not isinstance(items, dict) or not isinstance(items.get("properties"), dict):
            return None
        keys = list(items["properties"])
        path = next((k for k in keys if _PATH_NAMES.search(k)), None)
        code = next((k for k in keys if _CODE_NAMES.search(k) and k != path), None)
        return (path, code) if path and code else None

    def _file_item(
        self, items: dict[str, Any], keys: tuple[str, str], index: int, depth: int
    ) -> Any:
        if "$ref" in items:
            items = self._resolve(items["$ref"])
        path, content = list(self.answer.files.items())[index]
        value = self._object(items, depth + 1)
        if items["properties"][keys[0]].get("type", "string") == "string":
            value[keys[0]] = path
        if items["properties"][keys[1]].get("type", "string") == "string":
            value[keys[1]] = content
        return value

    def _string(self, name: str, schema: dict[str, Any]) -> str:
        text = self._format_string(schema.get("format"), name) or self._named_string(name)
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        while len(text) < low:
            text += " " + " ".join(self.topic)
        if high is not None and len(text) > int(high):
            text = text[: int(high)]
        pattern = schema.get("pattern")
        if pattern is not None:
            text = self._matching(pattern, [text, *self.topic, name, "a", "1", "A1"], name)
        return text

    def _matching(self, pattern: str, candidates: list[str], name: str) -> str:
        for candidate in candidates:
            if re.search(pattern, candidate):
                return candidate
        raise StructuredOutputError(
            f"The baes simulator cannot generate a string matching the pattern {pattern!r} "
            f"for {name or 'the root'!r} (see docs/simulator.md, structured output)."
        )

    def _format_string(self, fmt: Any, name: str) -> str | None:
        """A value of a string `format` (None when the schema names no format we know)."""
        if fmt in ("date-time", "date"):
            day = f"2026-06-{1 + self.rng.randrange(28):02d}"
            return f"{day}T10:00:00Z" if fmt == "date-time" else day
        if fmt == "uuid":
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        return (
            {
                "time": "10:00:00Z",
                "email": f"{self.topic[0]}@example.com",
                "uri": f"https://example.com/{self.topic[0]}",
                "hostname": "example.com",
                "ipv4": "192.0.2.1",
                "ipv6": "2001:db8::1",
            }.get(fmt)
            if isinstance(fmt, str)
            else None
        )

    def _named_string(self, name: str) -> str:
        base = name.split("[", 1)[0]
        if _PATH_NAMES.search(base) and self.answer.files:
            return next(iter(self.answer.files))
        if _CODE_NAMES.search(base) and self.answer.files:
            return next(iter(self.answer.files.values()))
        if _SUMMARY_NAMES.search(base) or not base:
            return self.rng.choice(self.sentences)
        if _NAME_NAMES.search(base):
            return "_".join(self.rng.sample(self.topic, k=min(2, len(self.topic))))
        return self.rng.choice(self.topic)

    def _number(self, schema: dict[str, Any], integer: bool) -> int | float:
        """A seeded number within every bound of the schema."""
        nudge = 1 if integer else 1e-6
        lows = [schema["minimum"]] if "minimum" in schema else []
        highs = [schema["maximum"]] if "maximum" in schema else []
        if "exclusiveMinimum" in schema:
            lows.append(schema["exclusiveMinimum"] + nudge)
        if "exclusiveMaximum" in schema:
            highs.append(schema["exclusiveMaximum"] - nudge)
        low = max(lows) if lows else min(0, min(highs) - 10) if highs else 0
        high = min(highs) if highs else low + 10
        step = schema.get("multipleOf")
        if integer or step:
            unit = step or 1
            first, last = math.ceil(low / unit), math.floor(high / unit)
            if first > last:
                raise StructuredOutputError("The numeric bounds of the schema admit no value.")
            value = self.rng.randint(first, last) * unit
            return int(value) if integer else value
        if low > high:
            raise StructuredOutputError("The numeric bounds of the schema admit no value.")
        return low + (high - low) * self.rng.random()


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **{k: v for k, v in extra.items() if k not in ("properties", "required")}}
    merged["properties"] = {**(base.get("properties") or {}), **(extra.get("properties") or {})}
    merged["required"] = list(
        dict.fromkeys([*(base.get("required") or []), *(extra.get("required") or [])])
    )
    if not merged["properties"]:
        merged.pop("properties")
        if not merged["required"]:
            merged.pop("required")
    return merged
