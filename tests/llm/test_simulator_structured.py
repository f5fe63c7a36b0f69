"""Structured output on the simulator (issue 13, item 5): `json_object` answers are JSON objects,
`json_schema` answers validate against the schema (strict included), checked with the
`jsonschema` package, through the official openai SDK over loopback."""

from __future__ import annotations

import json
from typing import Literal

import jsonschema
import openai
import pytest
from pydantic import BaseModel, Field

from baes.simulator import SimulatorOptions, start_simulator

CODE = "Create `calc.py` with a function `add(a, b)` that returns the sum of `a` and `b`."
QUESTION = "Which database should the student registry use, and why?"


@pytest.fixture(scope="module")
def sim():
    with start_simulator(SimulatorOptions(seed=4)) as running:
        yield running


@pytest.fixture
def client(sim):
    return openai.OpenAI(base_url=sim.base_url, api_key="sk-structured", max_retries=0)


def _chat(client, content: str, response_format: dict, model: str = "sim-large", **kwargs):
    return client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": content}],
        response_format=response_format,
        **kwargs,
    )


@pytest.mark.parametrize("prompt", [CODE, QUESTION])
def test_json_object_answers_are_json_objects_about_the_request(client, prompt):
    reply = _chat(client, prompt + " Answer in JSON.", {"type": "json_object"})
    value = json.loads(reply.choices[0].message.content)
    assert isinstance(value, dict) and value["answer"]
    if prompt == CODE:  # a code request carries the code it would have written
        [file] = value["files"]
        assert file["path"] == "calc.py" and "def add(a, b)" in file["content"]
    assert reply.usage.completion_tokens > 0


def test_json_object_needs_the_word_json_in_the_messages_as_on_openai(client):
    with pytest.raises(openai.BadRequestError) as caught:
        _chat(client, QUESTION, {"type": "json_object"})
    assert "must contain the word 'json'" in caught.value.message
    response = client.responses.create(
        model="sim-small",
        instructions="Reply with a json object.",
        input=QUESTION,
        text={"format": {"type": "json_object"}},
    )
    assert isinstance(json.loads(response.output_text), dict)
    assert response.text.format.type == "json_object"  # the format asked for is echoed


# A strict schema with what real agents send: nested objects, arrays with bounds, enums, $defs
# and $ref, nullable fields, numbers with bounds, string formats.
STRICT_SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "status": {"type": "string", "enum": ["done", "blocked", "needs_review"]},
        "files": {"type": "array", "items": {"$ref": "#/$defs/file"}, "minItems": 1},
        "steps": {
            "type": "array",
            "items": {"$ref": "#/$defs/step"},
            "minItems": 2,
            "maxItems": 4,
        },
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "attempts": {"type": "integer", "minimum": 1, "maximum": 3},
        "reviewer": {"anyOf": [{"type": "string", "format": "email"}, {"type": "null"}]},
        "due": {"type": "string", "format": "date"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 0},
    },
    "required": [
        "summary",
        "status",
        "files",
        "steps",
        "confidence",
        "attempts",
        "reviewer",
        "due",
        "tags",
    ],
    "additionalProperties": False,
    "$defs": {
        "file": {
            "type": "object",
            "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
            "required": ["path", "content"],
            "additionalProperties": False,
        },
        "step": {
            "type": "object",
            "properties": {
                "title": {"type": "string", "minLength": 3, "maxLength": 40},
                "done": {"type": "boolean"},
                "kind": {"const": "task"},
            },
            "required": ["title", "done", "kind"],
            "additionalProperties": False,
        },
    },
}


@pytest.mark.parametrize("model", ["sim-small", "sim-large"])
@pytest.mark.parametrize("seed", [None, 1, 2])
def test_strict_json_schema_answers_validate(client, model, seed):
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "report", "schema": STRICT_SCHEMA, "strict": True},
    }
    extra = {} if seed is None else {"seed": seed}
    reply = _chat(client, CODE, response_format, model=model, **extra)
    value = json.loads(reply.choices[0].message.content)
    jsonschema.validate(value, STRICT_SCHEMA, format_checker=jsonschema.FormatChecker())
    assert value["files"][0]["path"] == "calc.py" and "def add" in value["files"][0]["content"]
    again = _chat(client, CODE, response_format, model=model, **extra)
    assert again.choices[0].message.content == reply.choices[0].message.content  # deterministic


class Item(BaseModel):
    name: str
    quantity: int = Field(ge=1, le=9)
    kind: Literal["book", "pen"]


class Order(BaseModel):
    customer: str
    items: list[Item]
    note: str | None
    shipping: Literal["standard", "express"]


def test_the_sdks_parse_helpers_get_their_pydantic_models(client):
    parsed = client.chat.completions.parse(
        model="sim-small",
        messages=[{"role": "user", "content": "Order two books for Ada."}],
        response_format=Order,
    )
    order = parsed.choices[0].message.parsed
    assert isinstance(order, Order) and order.items
    response = client.responses.parse(model="sim-large", input="Order a pen.", text_format=Order)
    assert isinstance(response.output_parsed, Order)
    jsonschema.validate(json.loads(response.output_text), Order.model_json_schema())


def test_a_recursive_schema_ends(client):
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#"}},
        },
        "required": ["name", "children"],
        "additionalProperties": False,
    }
    format_ = {"type": "json_schema", "json_schema": {"name": "tree", "schema": schema}}
    value = json.loads(_chat(client, QUESTION, format_).choices[0].message.content)
    jsonschema.validate(value, schema)


def test_strict_mode_refuses_what_openai_refuses(client):
    loose = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    partial = {**loose, "properties": {**loose["properties"], "b": {"type": "string"}}}
    partial["additionalProperties"] = False
    for schema, words in ((loose, "additionalProperties"), (partial, "Missing 'b'")):
        with pytest.raises(openai.BadRequestError) as caught:
            _chat(
                client,
                QUESTION,
                {
                    "type": "json_schema",
                    "json_schema": {"name": "x", "schema": schema, "strict": True},
                },
            )
        assert words in caught.value.message
    # Not strict: the same schema is accepted and honoured.
    format_ = {"type": "json_schema", "json_schema": {"name": "x", "schema": loose}}
    jsonschema.validate(
        json.loads(_chat(client, QUESTION, format_).choices[0].message.content), loose
    )


def test_a_pattern_the_simulator_cannot_meet_is_a_clear_400_not_invalid_json(client):
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[0-9]{6}$"}}}
    with pytest.raises(openai.BadRequestError) as caught:
        _chat(
            client,
            QUESTION,
            {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
        )
    assert "pattern" in caught.value.message
    assert caught.value.param == "response_format"


VARIED_SCHEMAS = {
    "bounds": {
        "type": "object",
        "properties": {
            "score": {"type": "number", "exclusiveMinimum": 5, "exclusiveMaximum": 6},
            "negative": {"type": "integer", "maximum": -3},
            "even": {"type": "integer", "multipleOf": 2, "minimum": 11, "maximum": 15},
            "half": {"type": "number", "multipleOf": 0.5, "minimum": 1, "maximum": 2},
        },
        "required": ["score", "negative", "even", "half"],
    },
    "strings": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "when": {"type": "string", "format": "date-time"},
            "short": {"type": "string", "minLength": 30, "maxLength": 35},
            "site": {"type": "string", "format": "uri"},
        },
        "required": ["id", "when", "short", "site"],
    },
    "arrays": {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "items": {"type": "boolean"},
        "minItems": 3,
    },
    "unique": {
        "type": "array",
        "items": {"enum": ["a", "b", "c", "d"]},
        "uniqueItems": True,
        "minItems": 3,
    },
    "composed": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": ["integer", "null"]}}, "required": ["b"]},
        ]
    },
    "definitions": {
        "definitions": {"leaf": {"type": "array", "items": {"type": "array", "items": {}}}},
        "$ref": "#/definitions/leaf",
    },
}


@pytest.mark.parametrize("name", sorted(VARIED_SCHEMAS))
def test_varied_schemas_get_valid_instances(client, name):
    schema = VARIED_SCHEMAS[name]
    format_ = {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}
    for seed in range(4):
        content = _chat(client, QUESTION, format_, seed=seed).choices[0].message.content
        jsonschema.validate(json.loads(content), schema, format_checker=jsonschema.FormatChecker())
