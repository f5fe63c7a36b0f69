"""JSON asked for in the prompt's words, without `response_format` (issue 13 item 2, issue 17):
the simulator answers with JSON of the shape the prompt shows, through the official openai SDK
over loopback."""

from __future__ import annotations

import json

import openai
import pytest

from baes.simulator import SimulatorOptions, start_simulator

# The shape BAEs asks for when it classifies a request (gesad-lab/baes_demo @ 1285967,
# baes/llm/openai_client.py:207-231): placeholders, not values.
CLASSIFY = """You classify requests.

User Request: "Add a Course entity with the required string fields `name` and `level`."

Respond only with JSON. Do not use markdown code blocks.

EXPECTED JSON STRUCTURE:
{
  "detected_entity": "string",
  "confidence": 0.0,
  "reasoning": "string",
  "action_intent": "create|update|delete|list|relationship|unknown",
  "relationship_analysis": {
    "is_relationship_request": true,
    "entities_mentioned": ["list of strings"],
    "secondary_entity": "string"
  }
}
"""
ENTITIES = (
    "Return a JSON list of entities for a student management system with students and courses."
)
PLAIN = "Which database should the student registry use, and why?"


@pytest.fixture(scope="module")
def sim():
    with start_simulator(SimulatorOptions(seed=11)) as running:
        yield running


@pytest.fixture
def client(sim):
    return openai.OpenAI(base_url=sim.base_url, api_key="sk-prompt-json", max_retries=0)


def _ask(client, content: str, system: str | None = None, seed: int | None = None) -> str:
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": content})
    extra = {"seed": seed} if seed is not None else {}
    reply = client.chat.completions.create(model="sim-small", messages=messages, **extra)
    return reply.choices[0].message.content


def test_a_quoted_json_example_gets_json_with_its_keys_and_values_from_the_request(client):
    text = _ask(client, CLASSIFY)
    value = json.loads(text)  # the JSON alone: no prose, no fence (the prompt forbids it)
    assert list(value) == [
        "detected_entity",
        "confidence",
        "reasoning",
        "action_intent",
        "relationship_analysis",
    ]
    assert value["detected_entity"] == "course"
    assert 0 <= value["confidence"] <= 1
    assert value["action_intent"] == "create"
    analysis = value["relationship_analysis"]
    assert analysis["is_relationship_request"] is False
    assert analysis["entities_mentioned"] == ["course"]
    assert analysis["secondary_entity"] is None
    assert "course" in value["reasoning"]


def test_the_answer_is_deterministic_for_the_seed(client):
    assert _ask(client, CLASSIFY, seed=3) == _ask(client, CLASSIFY, seed=3)


def test_a_json_list_of_entities_names_the_entities_of_the_prompt(client):
    value = json.loads(_ask(client, ENTITIES))
    assert isinstance(value, list)
    assert [item["name"] for item in value] == ["student", "course"]


def test_keys_named_in_prose_make_the_object(client):
    text = _ask(
        client,
        "We keep a library of books and authors. Reply with a JSON object with the keys "
        "`entities`, `operations` and `reasoning`.",
    )
    value = json.loads(text)
    assert list(value) == ["entities", "operations", "reasoning"]
    assert value["entities"] == ["book", "author"]
    assert value["operations"] == ["create", "read", "update", "delete"]


def test_a_fenced_json_example_gets_a_fenced_answer(client):
    system = 'Answer with JSON only, like this:\n```json\n{"title": "...", "tags": ["..."]}\n```'
    text = _ask(client, "Summarise the student registry's design.", system=system)
    assert text.startswith("```json\n") and text.endswith("\n```")
    value = json.loads(text.removeprefix("```json\n").removesuffix("\n```"))
    assert set(value) == {"title", "tags"}


def test_a_quoted_json_schema_gets_an_instance_of_it(client):
    schema = {
        "type": "object",
        "properties": {"entity": {"type": "string"}, "count": {"type": "integer", "minimum": 1}},
        "required": ["entity", "count"],
    }
    text = _ask(client, "Describe the course entity. Respond with JSON matching this schema:\n"
                + json.dumps(schema))  # fmt: skip
    value = json.loads(text)
    assert isinstance(value["entity"], str) and value["count"] >= 1


def test_without_a_json_request_the_answer_is_prose(client):
    assert not _ask(client, PLAIN).lstrip().startswith(("{", "["))


def test_a_code_request_that_mentions_json_endpoints_still_gets_code(client):
    text = _ask(
        client,
        "Create `api.py` with a function `status()` that returns a JSON string with the key "
        "`ok` set to true.",
    )
    assert "def status(" in text


def test_a_template_that_is_not_json_is_read_leniently(client):
    # As BAEs quotes it in baes/core/entity_recognizer.py:77-92 (@ 1285967): bare placeholders.
    prompt = """User Request: "Add a relationship between Course and Teacher: a course has at most
one teacher."

Return a JSON response with:
{
    "detected_entity": "string (single noun, lowercase, singular)",
    "confidence": 0.0-1.0,
    "action_intent": "create|update|delete|list|relationship|unknown",
    "is_relationship_request": true/false,
    "entities_mentioned": ["entity1", "entity2"],
    "secondary_entity": "entity being referenced",
}"""
    value = json.loads(_ask(client, prompt))
    assert value["detected_entity"] == "course"
    assert 0 <= value["confidence"] <= 1
    assert value["action_intent"] == "relationship"
    assert value["is_relationship_request"] is True
    assert value["entities_mentioned"] == ["course", "teacher"]
    assert value["secondary_entity"] == "teacher"


def test_a_quoted_schema_the_simulator_cannot_build_gets_a_json_object_not_an_error(client):
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^Z{9}$"}}}
    text = _ask(
        client, "Name a course. Respond with JSON matching this schema:\n" + json.dumps(schema)
    )
    assert isinstance(json.loads(text), dict)


@pytest.mark.parametrize(
    ("request_text", "key", "options", "expected"),
    [
        # The request spells an alternative with hyphens, the template with underscores.
        (
            "Add a many-to-many relationship between Student and Course.",
            "relationship_type",
            "one_to_one|one_to_many|many_to_many|foreign_key",
            "many_to_many",
        ),
        # The alternatives name the action with other words.
        ("Create a Student entity.", "evolution_type", "removal|addition|modification", "addition"),
        (
            "Remove the Teacher entity.",
            "evolution_type",
            "addition|modification|removal",
            "removal",
        ),
        (
            "Add an email field to Student.",
            "operation_type",
            "create|modify|delete",
            "modify",
        ),
    ],
)
def test_a_quoted_choice_follows_the_request(client, request_text, key, options, expected):
    prompt = (
        f'User Request: "{request_text}"\n\nRespond only with JSON.\n\n'
        f'EXPECTED JSON STRUCTURE:\n{{\n  "{key}": "{options}",\n  "reasoning": "string"\n}}\n'
    )
    for seed in range(5):  # not a lucky draw: the same for every seed
        assert json.loads(_ask(client, prompt, seed=seed))[key] == expected


RULED = """Interpret the request for the entity handler.

Request: "{request}"

Rules:
1. For "add [field] to [entity]" patterns, always use operation_type="evolve"
2. For "add [entity1] to [entity2]" patterns, always use operation_type="relationship"

Respond only with JSON.

EXPECTED JSON STRUCTURE:
{{
  "operation_type": "create|evolve|remove|modify|relationship",
  "entity": "string"
}}
"""


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("Add a required string field `email` to Student.", "evolve"),
        ("Add Course to Student.", "relationship"),
        # No rule's pattern: the request's own operation, as without rules.
        ("Create a Teacher entity with a `name`.", "create"),
    ],
)
def test_a_value_the_prompt_states_for_the_request_pattern_is_used(client, request_text, expected):
    prompt = RULED.format(request=request_text)
    for seed in range(5):
        assert json.loads(_ask(client, prompt, seed=seed))["operation_type"] == expected
