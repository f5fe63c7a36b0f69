"""JSON asked for between markers (issue 17): a prompt that quotes its format example as
`[CONTENT]{json}[/CONTENT]` and asks for output "wrapped inside [CONTENT][/CONTENT]", never
saying "JSON", gets the markers around JSON of the example's shape, through the official
openai SDK over loopback."""

from __future__ import annotations

import json
import re

import openai
import pytest

from baes.simulator import SimulatorOptions, start_simulator

# Written after MetaGPT's ActionNode prompts (geekan/MetaGPT @ df9bc185,
# metagpt/actions/action_node.py:39-56): a context, the format example between markers with a
# sample project's files, the nodes, and the constraint.
DESIGN_PROMPT = """
## context
### Original Requirements
Create a Python module `greeting.py` with a function `greet(name)` that returns the string
`Hello, <name>!`.

-----

## format example
[CONTENT]
{
    "Implementation approach": "We will use Flask to build the web app.",
    "File list": [
        "main.py",
        "game.py"
    ],
    "Logic Analysis": [
        [
            "game.py",
            "Contains Game class and its move logic"
        ],
        [
            "main.py",
            "Contains the main function, from game import Game"
        ]
    ],
    "Task list": [
        "game.py",
        "main.py"
    ],
    "Required packages": [
        "flask==1.1.2",
        "bcrypt==3.2.0"
    ],
    "Priority": "P0",
    "Anything UNCLEAR": ""
}
[/CONTENT]

## nodes: "<node>: <type>  # <instruction>"
- Implementation approach: <class 'str'>  # Analyze the difficult points of the requirements.
- File list: typing.List[str]  # Only need relative paths.
- Logic Analysis: typing.List[typing.List[str]]  # Files and what each one holds.
- Task list: typing.List[str]  # Files in dependency order.
- Required packages: typing.List[str]  # Packages the project needs.
- Priority: <class 'str'>  # P0, P1 or P2.
- Anything UNCLEAR: <class 'str'>  # Mention unclear project aspects.

## constraint
Language: Please use the same language as Human INPUT.
Format: output wrapped inside [CONTENT][/CONTENT] like format example, nothing else.

## action
Follow instructions of nodes, generate output and make sure it follows the format example.
"""
WRAPPED = re.compile(r"\A\[CONTENT\]\n(?P<json>.*)\n\[/CONTENT\]\Z", re.S)


@pytest.fixture(scope="module")
def sim():
    with start_simulator(SimulatorOptions(seed=5)) as running:
        yield running


@pytest.fixture
def client(sim):
    return openai.OpenAI(base_url=sim.base_url, api_key="sk-tagged-json", max_retries=0)


def _ask(client, content: str, seed: int | None = None) -> str:
    extra = {"seed": seed} if seed is not None else {}
    reply = client.chat.completions.create(
        model="sim-small",
        messages=[
            {"role": "system", "content": "You are an Architect, named Bob."},
            {"role": "user", "content": content},
        ],
        **extra,
    )
    return reply.choices[0].message.content


REQUEST = (
    "Create a Python module `greeting.py` with a function `greet(name)` that returns the string "
    "`Hello, <name>!`."
)


def test_a_format_example_between_markers_gets_json_of_its_shape_between_them(client):
    answer = _ask(client, DESIGN_PROMPT)
    wrapped = WRAPPED.match(answer)
    assert wrapped, answer
    value = json.loads(wrapped["json"])
    assert list(value) == [
        "Implementation approach",
        "File list",
        "Logic Analysis",
        "Task list",
        "Required packages",
        "Priority",
        "Anything UNCLEAR",
    ]
    # The sample project's prose restates this request; its tokens and empty values are kept.
    assert value["Implementation approach"] == REQUEST
    assert value["Priority"] == "P0" and value["Anything UNCLEAR"] == ""
    # The example's files stand for the project's: the one the request names replaces them,
    # and the record about the second sample file goes.
    assert value["File list"] == value["Task list"] == ["greeting.py"]
    assert value["Logic Analysis"] == [["greeting.py", REQUEST]]
    assert value["Required packages"] == []  # the sample's pins are not this project's
    assert "Flask" not in answer and "Game" not in answer


def test_an_earlier_answer_quoted_in_the_context_carries_the_request_on(client):
    # The next role's prompt quotes the previous answer (JSON on one line) as its context.
    earlier = json.dumps({"Language": "en_us", "Original Requirements": REQUEST + ' "Ada"'})
    prompt = DESIGN_PROMPT.replace(
        "### Original Requirements\n" + REQUEST.replace(" `Hello", "\n`Hello") + "\n",
        "### Legacy document\n" + earlier + "\n",
    )
    assert earlier in prompt
    value = json.loads(WRAPPED.match(_ask(client, prompt))["json"])
    assert value["Implementation approach"] == REQUEST + ' "Ada"'
    assert value["File list"] == ["greeting.py"]


def test_the_answer_depends_on_the_prompt_alone(client):
    assert _ask(client, DESIGN_PROMPT, seed=3) == _ask(client, DESIGN_PROMPT, seed=4)


def test_angle_bracket_markers_and_no_named_files(client):
    prompt = (
        "Build a command-line tool that counts words.\n\n"
        "Example of the answer:\n<plan>\n"
        '{"steps": ["parse the arguments", "count them"], "entry": "cli.py"}\n</plan>\n\n'
        "Enclose your answer in <plan></plan> tags."
    )
    answer = _ask(client, prompt)
    match = re.fullmatch(r"<plan>\n(?P<json>.*)\n</plan>", answer, re.S)
    assert match, answer
    assert json.loads(match["json"]) == {
        "steps": ["Build a command-line tool that counts words."],
        "entry": "cli.py",  # no file named outside the example: the example's is kept
    }


def test_a_marker_without_a_request_to_wrap_is_not_a_json_request(client):
    # The markers quote data here; nothing asks for output between them.
    prompt = (
        'Here is the log of the last run:\n[CONTENT]\n{"status": "failed"}\n[/CONTENT]\n\n'
        "Write a Python function `retry(times)` in retry.py that reruns a callable."
    )
    assert not _ask(client, prompt).startswith("[CONTENT]")
