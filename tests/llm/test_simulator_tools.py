"""Tool calling against the simulator with the official openai SDK over loopback: chat (plain
and streamed), tool_choice, tool results read back, the Responses API's function calls."""

from __future__ import annotations

import json
import subprocess

import openai
import pytest

from baes.simulator import SimulatorOptions, count_tokens, start_simulator
from baes.simulator.answers.tool_agent import CHECKS_PASSED

GREET = (
    "Create a Python module `greeting.py` with a function `greet(name)` that returns the string "
    '`Hello, <name>!`; for example `greet("Ada")` returns `"Hello, Ada!"`.'
)
BASH = {
    "type": "function",
    "function": {
        "name": "bash",
        "description": "Run a bash command.",
        "parameters": {
            "type": "object",
            "properties": {"command": {"type": "string"}},
            "required": ["command"],
            "additionalProperties": False,
        },
    },
}
WRITE = {
    "type": "function",
    "function": {
        "name": "write_file",
        "description": "Write a file.",
        "parameters": {
            "type": "object",
            "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
            "required": ["path", "content"],
        },
    },
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather of a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1},
            },
            "required": ["city", "unit", "days"],
            "additionalProperties": False,
        },
    },
}


@pytest.fixture(scope="module")
def sim():
    with start_simulator(SimulatorOptions(seed=5)) as running:
        yield running


@pytest.fixture
def client(sim):
    return openai.OpenAI(base_url=sim.base_url, api_key="sk-test-tools")


def _bash(command: str, cwd) -> str:
    done = subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True)
    return done.stdout + done.stderr + f"[exit status {done.returncode}]"


def test_a_bash_tool_agent_loop_writes_and_checks_the_code(client, tmp_path):
    messages = [{"role": "user", "content": GREET}]
    commands = []
    for _ in range(10):
        reply = client.chat.completions.create(
            model="sim-large", messages=messages, tools=[BASH], seed=1
        )
        choice = reply.choices[0]
        messages.append(choice.message.model_dump(exclude_none=True))
        if not choice.message.tool_calls:
            assert choice.finish_reason == "stop"
            break
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        for call in choice.message.tool_calls:
            assert call.type == "function" and call.function.name == "bash"
            assert call.id.startswith("call_")
            command = json.loads(call.function.arguments)["command"]
            commands.append(command)
            result = _bash(command, tmp_path)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    else:
        pytest.fail("the simulator never finished")
    assert "they pass" in messages[-1]["content"]
    assert any("cat > greeting.py" in c for c in commands)
    assert any(CHECKS_PASSED in c and "from greeting import greet" in c for c in commands)
    namespace: dict = {}
    exec((tmp_path / "greeting.py").read_text(), namespace)
    assert namespace["greet"]("Ada") == "Hello, Ada!"


def test_a_failing_check_makes_the_agent_rewrite_the_files(client):
    """The check's output lacks the success line: the next call writes the files again."""
    messages = [{"role": "user", "content": GREET}]
    outputs = ["", "[exit status 0]", "AssertionError\n[exit status 1]"]
    kinds = []
    for output in outputs + ["[exit status 0]"]:
        reply = client.chat.completions.create(model="sim-small", messages=messages, tools=[BASH])
        message = reply.choices[0].message
        command = json.loads(message.tool_calls[0].function.arguments)["command"]
        kinds.append(
            "write"
            if command.startswith("cat >")
            else "check"
            if CHECKS_PASSED in command
            else "list"
        )
        messages.append(message.model_dump(exclude_none=True))
        messages.append(
            {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": output}
        )
    assert kinds == ["list", "write", "check", "write"]


def test_write_tools_are_called_with_path_and_content(client):
    reply = client.chat.completions.create(
        model="sim-small", messages=[{"role": "user", "content": GREET}], tools=[WRITE]
    )
    (call,) = reply.choices[0].message.tool_calls
    arguments = json.loads(call.function.arguments)
    assert call.function.name == "write_file" and arguments["path"] == "greeting.py"
    assert "def greet(name)" in arguments["content"]
    messages = [
        {"role": "user", "content": GREET},
        reply.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "written"},
    ]
    final = client.chat.completions.create(model="sim-small", messages=messages, tools=[WRITE])
    assert final.choices[0].message.tool_calls is None
    assert "greeting.py" in final.choices[0].message.content


def test_completion_tokens_count_the_calls_names_and_arguments(client, sim):
    reply = client.chat.completions.create(
        model="sim-small", messages=[{"role": "user", "content": GREET}], tools=[WRITE]
    )
    (call,) = reply.choices[0].message.tool_calls
    expected = count_tokens(call.function.name) + count_tokens(call.function.arguments)
    assert reply.usage.completion_tokens == expected
    assert sim.simulator.calls[-1].output_tokens == expected


def test_streamed_tool_calls_arrive_as_openai_deltas(client):
    stream = client.chat.completions.create(
        model="sim-large", messages=[{"role": "user", "content": GREET}], tools=[WRITE], stream=True
    )
    chunks = list(stream)
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant"
    first = deltas[1].tool_calls[0]
    assert first.index == 0 and first.id.startswith("call_") and first.type == "function"
    assert first.function.name == "write_file" and first.function.arguments == ""
    pieces = [d.tool_calls[0] for d in deltas[2:] if d.tool_calls]
    assert len(pieces) > 1 and all(p.id is None and p.function.name is None for p in pieces)
    arguments = json.loads("".join(p.function.arguments for p in pieces))
    assert "def greet(name)" in arguments["content"]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    # The SDK's own accumulation gives the same call.
    with client.chat.completions.stream(
        model="sim-large", messages=[{"role": "user", "content": GREET}], tools=[WRITE]
    ) as again:
        final = again.get_final_completion()
    assert json.loads(final.choices[0].message.tool_calls[0].function.arguments) == arguments


def test_tool_choice_none_answers_in_text(client):
    reply = client.chat.completions.create(
        model="sim-small",
        messages=[{"role": "user", "content": GREET}],
        tools=[BASH],
        tool_choice="none",
    )
    assert reply.choices[0].message.tool_calls is None
    assert "greeting.py" in reply.choices[0].message.content


def test_a_question_gets_prose_unless_a_tool_is_required(client):
    question = [{"role": "user", "content": "What is the capital of France?"}]
    auto = client.chat.completions.create(model="sim-small", messages=question, tools=[WEATHER])
    assert auto.choices[0].message.tool_calls is None and auto.choices[0].message.content
    required = client.chat.completions.create(
        model="sim-small", messages=question, tools=[WEATHER], tool_choice="required"
    )
    (call,) = required.choices[0].message.tool_calls
    assert call.function.name == "get_weather"
    # Arguments generated from the schema: every property, the enum's value, the minimum.
    assert json.loads(call.function.arguments) == {"city": "ok", "unit": "celsius", "days": 1}


def test_a_named_tool_choice_is_the_tool_called(client):
    reply = client.chat.completions.create(
        model="sim-small",
        messages=[{"role": "user", "content": GREET}],
        tools=[BASH, WRITE],
        tool_choice={"type": "function", "function": {"name": "write_file"}},
    )
    assert [c.function.name for c in reply.choices[0].message.tool_calls] == ["write_file"]


def test_a_tool_choice_naming_an_unknown_function_is_a_400(client):
    with pytest.raises(openai.BadRequestError) as error:
        client.chat.completions.create(
            model="sim-small",
            messages=[{"role": "user", "content": GREET}],
            tools=[BASH],
            tool_choice={"type": "function", "function": {"name": "nope"}},
        )
    assert error.value.body["param"] == "tool_choice"


RESPONSES_BASH = {
    "type": "function",
    "name": "bash",
    "description": "Run a bash command.",
    "parameters": BASH["function"]["parameters"],
}


def test_responses_api_function_calls_and_outputs(client, tmp_path):
    items: list = [{"role": "user", "content": GREET}]
    for _ in range(10):
        response = client.responses.create(model="sim-large", input=items, tools=[RESPONSES_BASH])
        calls = [o for o in response.output if o.type == "function_call"]
        if not calls:
            break
        for call in calls:
            assert call.id.startswith("fc_") and call.call_id.startswith("call_")
            items.append(
                {
                    "type": "function_call",
                    "call_id": call.call_id,
                    "name": call.name,
                    "arguments": call.arguments,
                }
            )
            command = json.loads(call.arguments)["command"]
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": call.call_id,
                    "output": _bash(command, tmp_path),
                }
            )
    else:
        pytest.fail("the simulator never finished")
    assert "they pass" in response.output_text
    assert "def greet(name)" in (tmp_path / "greeting.py").read_text()


def test_responses_api_streams_function_call_events(client):
    events = list(
        client.responses.create(model="sim-small", input=GREET, tools=[RESPONSES_BASH], stream=True)
    )
    kinds = [e.type for e in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert "response.function_call_arguments.delta" in kinds
    assert kinds[-3:] == [
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert deltas == done.arguments and "command" in json.loads(deltas)
    final = events[-1].response
    assert final.output[0].type == "function_call" and final.output[0].arguments == deltas


def test_without_parallel_tool_calls_one_shell_call_writes_every_file(client, tmp_path):
    prompt = (
        "Create `a.py` with a function `one()` that returns `1`, and `b.py` with a function "
        "`two()` that returns `2`."
    )
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "tool_calls": []}]
    listing = (
        client.chat.completions.create(
            model="sim-small", messages=messages[:1], tools=[BASH], parallel_tool_calls=False
        )
        .choices[0]
        .message
    )
    messages = [
        messages[0],
        listing.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": listing.tool_calls[0].id, "content": ""},
    ]
    reply = client.chat.completions.create(
        model="sim-small", messages=messages, tools=[BASH], parallel_tool_calls=False
    )
    (call,) = reply.choices[0].message.tool_calls
    assert "[exit status 0]" in _bash(json.loads(call.function.arguments)["command"], tmp_path)
    assert "def one()" in (tmp_path / "a.py").read_text()
    assert "def two()" in (tmp_path / "b.py").read_text()


def test_a_code_request_with_no_fitting_tool_is_answered_as_without_tools(client):
    reply = client.chat.completions.create(
        model="sim-small", messages=[{"role": "user", "content": GREET}], tools=[WEATHER]
    )
    message = reply.choices[0].message
    assert message.tool_calls is None and reply.choices[0].finish_reason == "stop"
    assert "def greet(name)" in message.content


def test_required_with_nothing_left_to_do_calls_a_finish_tool_with_the_summary(client):
    finish = {
        "type": "function",
        "function": {
            "name": "finish",
            "parameters": {
                "type": "object",
                "properties": {"message": {"type": "string"}},
                "required": ["message"],
            },
        },
    }
    first = (
        client.chat.completions.create(
            model="sim-small",
            messages=[{"role": "user", "content": GREET}],
            tools=[WRITE, finish],
            tool_choice="required",
        )
        .choices[0]
        .message
    )
    assert [c.function.name for c in first.tool_calls] == ["write_file"]
    messages = [
        {"role": "user", "content": GREET},
        first.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "ok"},
    ]
    done = (
        client.chat.completions.create(
            model="sim-small", messages=messages, tools=[WRITE, finish], tool_choice="required"
        )
        .choices[0]
        .message
    )
    (call,) = done.tool_calls
    assert call.function.name == "finish"
    assert "greeting.py" in json.loads(call.function.arguments)["message"]


def test_max_tokens_cuts_the_arguments_of_a_tool_call(client):
    reply = client.chat.completions.create(
        model="sim-small",
        messages=[{"role": "user", "content": GREET}],
        tools=[WRITE],
        max_tokens=10,
    )
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 10
    (call,) = reply.choices[0].message.tool_calls
    with pytest.raises(json.JSONDecodeError):
        json.loads(call.function.arguments)


def test_a_shell_tool_taking_argv_gets_bash_lc(client, tmp_path):
    codex_shell = {
        "type": "function",
        "function": {
            "name": "shell",
            "description": "Runs a shell command and returns its output.",
            "parameters": {
                "type": "object",
                "properties": {
                    "command": {"type": "array", "items": {"type": "string"}},
                    "workdir": {"type": "string"},
                    "timeout_ms": {"type": "number"},
                },
                "required": ["command"],
            },
        },
    }
    messages = [{"role": "user", "content": GREET}]
    for _ in range(2):
        message = (
            client.chat.completions.create(
                model="sim-small", messages=messages, tools=[codex_shell]
            )
            .choices[0]
            .message
        )
        (call,) = message.tool_calls
        argv = json.loads(call.function.arguments)["command"]
        assert argv[:2] == ["bash", "-lc"] and len(argv) == 3
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True)
        messages += [
            message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": done.stdout},
        ]
    assert "def greet(name)" in (tmp_path / "greeting.py").read_text()


def test_an_editor_tool_is_called_with_its_create_command(client):
    editor = {
        "type": "function",
        "function": {
            "name": "str_replace_based_edit_tool",
            "description": "View, create and edit files.",
            "parameters": {
                "type": "object",
                "properties": {
                    "command": {"type": "string", "enum": ["view", "create", "str_replace"]},
                    "path": {"type": "string"},
                    "file_text": {"type": "string"},
                },
                "required": ["command", "path"],
            },
        },
    }
    reply = client.chat.completions.create(
        model="sim-small", messages=[{"role": "user", "content": GREET}], tools=[editor]
    )
    (call,) = reply.choices[0].message.tool_calls
    arguments = json.loads(call.function.arguments)
    assert arguments["command"] == "create" and arguments["path"] == "greeting.py"
    assert "def greet(name)" in arguments["file_text"]


def test_allowed_tools_limits_the_tools_used(client):
    reply = client.chat.completions.create(
        model="sim-small",
        messages=[{"role": "user", "content": GREET}],
        tools=[BASH, WRITE],
        tool_choice={
            "type": "allowed_tools",
            "allowed_tools": {
                "mode": "auto",
                "tools": [{"type": "function", "function": {"name": "write_file"}}],
            },
        },
    )
    assert [c.function.name for c in reply.choices[0].message.tool_calls] == ["write_file"]
