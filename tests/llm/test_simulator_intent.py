"""Requests that are not code requests get short prose in the form asked for: aider's summary
and commit-message calls, classifications, questions. The instructions count, not only the user
turns."""

from __future__ import annotations

import openai
import pytest

from baes.simulator import SimulatorOptions, parse_file_blocks, start_simulator
from tests.frameworks.conftest import scenario_steps

# aider 0.86.2's prompts.summarize and prompts.commit_system, verbatim (the parts that matter).
AIDER_SUMMARIZE = """*Briefly* summarize this partial conversation about programming.
Include less detail about older parts and more detail about the most recent messages.
Start a new paragraph every time the topic changes!

This is only part of a longer conversation so *DO NOT* conclude the summary with language like "Finally, ...". Because the conversation continues after the summary.
The summary *MUST* include the function names, libraries, packages that are being discussed.
The summary *MUST* include the filenames that are being referenced by the assistant inside the ```...``` fenced code blocks!
The summaries *MUST NOT* include ```...``` fenced code blocks!

Phrase the summary with the USER in first person, telling the ASSISTANT about the conversation.
Write *as* the user.
The user should refer to the assistant as *you*.
Start the summary with "I asked you...".
"""
AIDER_COMMIT = """You are an expert software engineer that generates concise, \
one-line Git commit messages based on the provided diffs.
Review the provided context and diffs which are about to be committed to a git repo.
Generate a one-line commit message for those changes.
The commit message should be structured as follows: <type>: <description>
Reply only with the one-line commit message, without any additional text, explanations, or line breaks.
"""


@pytest.fixture(scope="module")
def client():
    with start_simulator(SimulatorOptions(seed=4)) as running:
        yield openai.OpenAI(base_url=running.base_url, api_key="sk-test-intent")


def _ask(client, messages, model="sim-large"):
    reply = client.chat.completions.create(model=model, messages=messages)
    return reply.choices[0].message.content


@pytest.mark.parametrize("model", ["sim-small", "sim-large"])
def test_aiders_summary_call_gets_a_first_person_summary_not_code(client, model):
    first = scenario_steps("academic-crud")[0]["prompt"]
    code = _ask(client, [{"role": "user", "content": first}], model)
    assert "main.py" in parse_file_blocks(code)
    # aider sends the conversation as one transcript under its summarize instructions.
    transcript = f"# USER\n{first}\n# ASSISTANT\n{code}"
    answer = _ask(
        client,
        [{"role": "system", "content": AIDER_SUMMARIZE}, {"role": "user", "content": transcript}],
        model,
    )
    assert "```" not in answer and not parse_file_blocks(answer)
    assert answer.startswith("I asked you to build a web API for an academic management system")
    assert "`main.py`" in answer and "`create_student`" in answer
    assert len(answer) < len(code) / 4


def test_a_summary_asked_in_the_user_turn_is_prose_too(client):
    messages = [
        {"role": "user", "content": "Add a function `twice(x)` in `calc.py` that returns `2 * x`."},
        {
            "role": "assistant",
            "content": "calc.py\n```python\ndef twice(x):\n    return 2 * x\n```",
        },
        {"role": "user", "content": "Briefly summarize this conversation."},
    ]
    answer = _ask(client, messages)
    assert "```" not in answer
    assert "twice" in answer and "`calc.py`" in answer


def test_aiders_commit_message_call_gets_one_line(client):
    diff = (
        "diff --git a/greeting.py b/greeting.py\n--- a/greeting.py\n+++ b/greeting.py\n"
        "@@ -1,2 +1,6 @@\n def greet(name):\n     return f'Hello, {name}!'\n+\n+\n"
        "+def farewell(name):\n+    return f'Goodbye, {name}!'\n"
    )
    answer = _ask(
        client, [{"role": "system", "content": AIDER_COMMIT}, {"role": "user", "content": diff}]
    )
    assert answer == "feat: add farewell to greeting.py"


def test_a_classification_answers_with_one_of_the_labels(client):
    prompt = (
        "Classify this issue as one of: bug, feature, question.\n\n"
        "The app crashes with a KeyError when the list is empty."
    )
    assert _ask(client, [{"role": "user", "content": prompt}]) == "bug"
    other = "Classify the request as one of `bug`, `feature` or `question`: please add dark mode."
    assert _ask(client, [{"role": "user", "content": other}]) in {"bug", "feature", "question"}


def test_a_question_about_the_code_is_answered_in_prose(client):
    shown = "greeting.py\n```python\ndef greet(name):\n    return f'Hello, {name}!'\n```"
    answer = _ask(client, [{"role": "user", "content": f"{shown}\n\nWhat does this module do?"}])
    assert "```" not in answer and "`greeting.py`" in answer and "`greet`" in answer


def test_code_requests_still_get_code(client):
    answer = _ask(client, [{"role": "user", "content": scenario_steps("hello")[0]["prompt"]}])
    assert "def greet(name)" in parse_file_blocks(answer)["greeting.py"]


def test_instructions_that_mention_summaries_or_commit_messages_in_passing_still_get_code(client):
    system = (
        "You are a coding assistant. After the code, summarize this change in one sentence and "
        "write a commit message for it. Categorize each file as one of: source, test."
    )
    answer = _ask(
        client,
        [
            {"role": "system", "content": system},
            {"role": "user", "content": scenario_steps("hello")[0]["prompt"]},
        ],
    )
    assert "def greet(name)" in parse_file_blocks(answer)["greeting.py"]
