"""How the simulator acts when a request offers tools: a small, deterministic coding agent.

Every call is answered from the conversation alone (the simulator keeps no state between calls):
the turns after the latest user message say how far the work has come.

With a shell tool: (1) list the workspace's files with their contents, printed as file blocks
the simulator reads back; (2) write the files with heredocs (one call per file), or with the
write tool when there is one; (3) run the checks it can infer from the prompt (compile the
Python files, import the CRUD module, call each function with the prompt's examples), ending in
`echo` of CHECKS_PASSED; (4) when the check output lacks that line, rewrite the files as a
repair (up to MAX_REPAIRS times) and check again; (5) finish with a plain message saying what it
wrote and whether the checks pass. With only a write tool: write, then finish.

Requests that ask for no code (a question, a summary) are answered in prose, without tools,
unless `tool_choice` requires a call: then a finish tool is called with the answer, else the
first tool offered, with arguments generated from its schema.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from baes.simulator.answers.conversation import read_conversation
from baes.simulator.answers.defects import Defect
from baes.simulator.answers.python_spec import function_specs
from baes.simulator.determinism import short_hash
from baes.simulator.messages import Message, ToolCall
from baes.simulator.tool_calls import (
    Tool,
    ToolKind,
    ToolRequest,
    arguments_from_schema,
)

CHECKS_PASSED = "baes-sim: all checks passed"
MAX_REPAIRS = 1
# What the first call runs: every workspace file (no dot-files, caches, databases, large files)
# printed as a file block, so the next call sees the project as the simulator's parser reads it.
LIST_FILES_COMMAND = (
    "find . -type f ! -path '*/.*' ! -path '*/__pycache__/*' ! -name '*.db' ! -name '*.pyc' "
    "-size -200k | sort | while read -r f; do "
    'printf \'%s\\n````\\n\' "${f#./}"; cat "$f"; '
    '[ -z "$(tail -c1 "$f")" ] || echo; '
    "printf '````\\n'; done"
)
# A write_command: `cat > path <<'MARKER'`, the content, the marker alone on a line.
_HEREDOC = re.compile(
    r"cat > '?(?P<path>[^'\s]+)'? <<'(?P<marker>\w+)'\n(?P<body>.*?\n)(?P=marker)$", re.S | re.M
)


def turns_since_user(messages: Sequence[Message]) -> list[Message]:
    """The messages after the latest user message (the agent's work on it so far)."""
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    return list(messages[last_user + 1 :])


def call_id(seed_parts: tuple[object, ...], index: int) -> str:
    return "call_" + short_hash("tool-call", *seed_parts, index, length=24)


def write_command(path: str, content: str) -> str:
    """A shell command that writes `content` to `path` (folders created) with a heredoc."""
    marker = "BAES_EOF"
    while marker in content:
        marker += "_"
    body = content if content.endswith("\n") else content + "\n"
    folder = path.rsplit("/", 1)[0] if "/" in path else ""
    mkdir = f"mkdir -p {shlex.quote(folder)} && " if folder else ""
    return f"{mkdir}cat > {shlex.quote(path)} <<'{marker}'\n{body}{marker}"


def check_command(files: dict[str, str], prompts: Sequence[str]) -> str:
    """The checks the prompts and files allow: syntax, import, examples; then CHECKS_PASSED."""
    # No bytecode in the workspace: imports with PYTHONDONTWRITEBYTECODE, syntax with ast.
    commands = ["export PYTHONDONTWRITEBYTECODE=1"]
    python_files = [p for p in files if p.endswith(".py")]
    if python_files:
        parse = "import ast, sys; [ast.parse(open(p).read(), p) for p in sys.argv[1:]]"
        quoted = " ".join(shlex.quote(p) for p in python_files)
        commands.append(f"python -c {shlex.quote(parse)} {quoted}")
    for spec in function_specs(prompts).values():
        if spec.module is None or spec.module not in files:
            continue
        module = spec.module.removesuffix(".py").replace("/", ".")
        for args, value in spec.examples:
            call = f"{spec.name}({', '.join(repr(a) for a in args)})"
            script = f"from {module} import {spec.name}; got = {call}; "
            script += f"assert got == {value!r}, {call + ' returned '!r} + repr(got)"
            commands.append("python -c " + shlex.quote(script))
    for path, content in files.items():
        if path.endswith(".py") and "FastAPI(" in content:
            module = path.removesuffix(".py").replace("/", ".")
            commands.append("python -c " + shlex.quote(f"import {module}"))
    commands.append(f"echo {shlex.quote(CHECKS_PASSED)}")
    return " && ".join(commands)


def written_files(turns: Sequence[Message], tooling: ToolRequest) -> dict[str, str]:
    """The files the agent's earlier calls wrote (path -> content; a later write wins)."""
    files: dict[str, str] = {}
    for message in turns:
        for call in message.tool_calls:
            try:
                arguments = json.loads(call.arguments)
            except json.JSONDecodeError:
                continue
            tool = next((t for t in tooling.tools if t.name == call.name), None)
            if tool is None or not isinstance(arguments, dict):
                continue
            if tool.kind is ToolKind.WRITE:
                path = arguments.get(tool.param("path"))
                if isinstance(path, str) and path:
                    files[path] = str(arguments.get(tool.param("content"), ""))
            elif tool.kind is ToolKind.SHELL:
                command = tool.command_of(arguments)
                for match in _HEREDOC.finditer(command):
                    files[match.group("path")] = match.group("body")
    return files


def write_calls(
    files: dict[str, str], tooling: ToolRequest, seed_parts: tuple[object, ...]
) -> tuple[ToolCall, ...]:
    """One call per file: the write tool when there is one, else a heredoc through the shell.
    With `parallel_tool_calls: false` and a shell tool, one shell call writes them all (with
    only a write tool, one call per file is still made: a documented limit)."""
    writer = tooling.of_kind(ToolKind.WRITE)
    shell = tooling.of_kind(ToolKind.SHELL)
    if shell is not None and not tooling.parallel:
        # One call allowed: every file in one command.
        writes = [write_command(path, content) for path, content in files.items()]
        command = "\n".join(["set -e", *writes])
        return (_call(shell, shell.shell_arguments(command), seed_parts, 0),)
    calls = []
    for index, (path, content) in enumerate(files.items()):
        if writer is not None:
            arguments = writer.write_arguments(path, content)
            calls.append(_call(writer, arguments, seed_parts, index))
        elif shell is not None:
            arguments = shell.shell_arguments(write_command(path, content))
            calls.append(_call(shell, arguments, seed_parts, index))
    return tuple(calls)


def _call(
    tool: Tool, values: Mapping[str, object], seed_parts: tuple[object, ...], index: int
) -> ToolCall:
    """A call of `tool`: the values given, the schema's other properties generated."""
    return ToolCall(
        call_id(seed_parts, index), tool.name, arguments_from_schema(tool.parameters, values)
    )


def forced_call(
    tooling: ToolRequest, final_text: str, seed_parts: tuple[object, ...]
) -> tuple[ToolCall, ...]:
    """The call `tool_choice` requires when the agent has nothing left to do: the named
    function, else a finish tool, else the first tool offered."""
    if tooling.choice.name is not None:
        tool = tooling.named(tooling.choice.name)
    else:
        tool = tooling.of_kind(ToolKind.FINISH) or tooling.tools[0]
    hints = {name: final_text for name in ("message", "result", "summary", "answer", "text")}
    if tool.kind is ToolKind.SHELL:
        hints.update(tool.shell_arguments("echo " + shlex.quote(final_text)))
    return (_call(tool, hints, seed_parts, 0),)


def usable(tooling: ToolRequest) -> ToolRequest:
    """The tools the agent may use: only the named one when `tool_choice` names a function."""
    if tooling.choice.name is None:
        return tooling
    return replace(tooling, tools=(tooling.named(tooling.choice.name),))


def checks_passed(turns: Sequence[Message]) -> bool:
    """Whether the latest tool results (after the last assistant turn) report CHECKS_PASSED."""
    results: list[str] = []
    for message in reversed(turns):
        if message.role != "tool":
            break
        results.append(message.text)
    return any(CHECKS_PASSED in text for text in results)


def plan_step(messages: Sequence[Message]) -> tuple[int, list[Message]]:
    """How many tool-calling turns the agent made since the latest user message, and those
    turns (with the tool results between them)."""
    turns = turns_since_user(messages)
    return sum(1 for m in turns if m.role == "assistant" and m.tool_calls), turns


@dataclass(frozen=True)
class AgentTurn:
    """The agent's answer to one call: tool calls, or a final text; the files and defect of
    the code it writes in this turn."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    files: dict[str, str] = field(default_factory=dict)
    defect: Defect | None = None


# Writes the code the conversation asks for (repair=True after a failed check): the files and
# any injected defect, or None when the conversation asks for no code.
CodeWriter = Callable[[bool], "tuple[dict[str, str], Defect | None] | None"]


def agent_turn(
    messages: Sequence[Message],
    tooling: ToolRequest,
    wants_code: bool,
    write: CodeWriter,
    prose: Callable[[], str],
    seed_parts: tuple[object, ...],
) -> AgentTurn | None:
    """The next move of the agent, or None to answer as without tools (prose; tool_choice
    "auto"). `wants_code` is False when the request asks for a summary, a question's answer…"""
    tools = usable(tooling)
    required = tooling.choice.mode == "required"
    shell, writer = tools.of_kind(ToolKind.SHELL), tools.of_kind(ToolKind.WRITE)
    if not wants_code or (shell is None and writer is None):
        return AgentTurn("", forced_call(tooling, prose(), seed_parts)) if required else None
    done, turns = plan_step(messages)
    explore = 1 if shell is not None else 0
    if shell is not None and done < explore:
        listing = shell.shell_arguments(LIST_FILES_COMMAND)
        return AgentTurn("", (_call(shell, listing, seed_parts, 0),))
    stage = done - explore  # 0: write, 1: check, 2: verdict (repair write), 3: check, …
    repair = stage > 0
    if stage % 2 == 1 and shell is not None:
        files = written_files(turns, tooling)
        prompts = read_conversation(messages).prompts
        command = shell.shell_arguments(check_command(files, prompts))
        return AgentTurn("", (_call(shell, command, seed_parts, 0),))
    passed = checks_passed(turns) if shell is not None else None
    last_round = stage >= 2 * (MAX_REPAIRS + 1) or shell is None
    if stage == 0 or (not passed and not last_round):
        code = write(repair)
        if code is None:
            if stage == 0:
                return (
                    AgentTurn("", forced_call(tooling, prose(), seed_parts)) if required else None
                )
        else:
            files, defect = code
            return AgentTurn("", write_calls(files, tools, seed_parts), files, defect)
    text = final_text(list(written_files(turns, tooling)), passed)
    return AgentTurn("", forced_call(tooling, text, seed_parts)) if required else AgentTurn(text)


def final_text(paths: Sequence[str], passed: bool | None) -> str:
    """The closing message: what was written, and what the checks said."""
    wrote = ", ".join(f"`{p}`" for p in paths) if paths else "no files"
    if passed is None:
        return f"Done. I wrote {wrote}."
    if passed:
        return f"Done. I wrote {wrote} and ran the checks; they pass."
    return f"I wrote {wrote}, but the checks still fail; see the last command's output."
