"""The `tools` and `tool_choice` of a request: parsed, validated, and recognised by kind.

A tool is recognised from its JSON schema, its name and its description:

- a **shell** tool has one string parameter named like a command (`command`, `cmd`, `script`,
  `shell`, `bash`, `code`), or a shell-like name (`bash`, `shell`, `terminal`, `run_command`…)
  with a single string parameter;
- a **write** tool has a path-like string parameter (`path`, `file_path`, `filename`…) and a
  content-like one (`content`, `contents`, `file_text`, `text`, `code`…);
- a **finish** tool is named like `finish`, `done`, `submit`, `final_answer`…;
- anything else is **other**: the simulator calls it only when `tool_choice` requires it, with
  arguments generated from its schema (`arguments_from_schema`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from baes.simulator.messages import RequestFormatError

_COMMAND_PARAMS = {"command", "cmd", "script", "shell", "bash", "commands", "shell_command"}
_SHELL_NAME = re.compile(
    r"^(?:bash|sh|shell|terminal|run|exec|execute|run_?(?:shell|command|bash|terminal)"
    r"|execute_?(?:command|bash|shell)|shell_?exec\w*|run_?cmd)$",
    re.I,
)
_PATH_PARAMS = {"path", "file_path", "filepath", "filename", "file_name", "file", "target_file"}
_CONTENT_PARAMS = {"content", "contents", "file_text", "text", "code", "new_content", "data"}
_WRITE_MODES = ("create", "write", "overwrite", "write_file", "create_file")
_FINISH_NAME = re.compile(
    r"^(?:finish|done|submit|complete|task_?complete|final_?answer|attempt_?completion|end)$",
    re.I,
)


class ToolKind(Enum):
    SHELL = "shell"
    WRITE = "write"
    FINISH = "finish"
    OTHER = "other"


@dataclass(frozen=True)
class Tool:
    """A function tool the request offers. `params` names the parameters the kind uses:
    `command` for a shell tool, `path` and `content` for a write tool."""

    name: str
    description: str
    parameters: dict[str, Any]
    kind: ToolKind
    params: tuple[tuple[str, str], ...] = ()

    def param(self, role: str) -> str:
        return dict(self.params)[role]

    def shell_arguments(self, command: str) -> dict[str, Any]:
        """A shell tool's arguments running `command`: the string, or an argv (`bash -lc`) when
        the parameter is an array of strings (as Codex's `shell` tool has it)."""
        name = self.param("command")
        if dict(self.params).get("command_form") == "array":
            return {name: ["bash", "-lc", command]}
        return {name: command}

    def write_arguments(self, path: str, content: str) -> dict[str, Any]:
        """A write tool's arguments; an enum parameter offering "create" or "write" (an editor
        tool's sub-command) gets that value."""
        values: dict[str, Any] = {self.param("path"): path, self.param("content"): content}
        properties = self.parameters.get("properties") or {}
        for name, spec in properties.items():
            options = spec.get("enum") if isinstance(spec, dict) else None
            if isinstance(options, list):
                chosen = next((o for o in options if o in _WRITE_MODES), None)
                if chosen is not None:
                    values[name] = chosen
        return values

    def command_of(self, arguments: dict[str, Any]) -> str:
        """The shell command a call of this shell tool ran."""
        value = arguments.get(self.param("command"), "")
        if isinstance(value, list):
            return str(value[-1]) if value else ""
        return str(value)


@dataclass(frozen=True)
class ToolChoice:
    """`tool_choice`: mode "none", "auto" or "required"; `name` when one function is forced."""

    mode: str = "auto"
    name: str | None = None
    # `{"type": "allowed_tools", …}`: only these functions may be called.
    allowed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ToolRequest:
    """The function tools of a request and how the model must use them."""

    tools: tuple[Tool, ...]
    choice: ToolChoice
    # `parallel_tool_calls: false`: at most one call per answer.
    parallel: bool = True

    def of_kind(self, kind: ToolKind) -> Tool | None:
        return next((t for t in self.tools if t.kind is kind), None)

    def named(self, name: str) -> Tool:
        return next(t for t in self.tools if t.name == name)


def _string_properties(parameters: Mapping[str, Any]) -> dict[str, Any]:
    properties = parameters.get("properties")
    if not isinstance(properties, dict):
        return {}
    return {
        name: spec
        for name, spec in properties.items()
        if isinstance(spec, dict) and _allows_string(spec.get("type"))
    }


def _allows_string(kind: Any) -> bool:
    return kind == "string" or (isinstance(kind, list) and "string" in kind)


def classify_tool(name: str, description: str, parameters: Mapping[str, Any]) -> Tool:
    """A tool recognised by kind from its name and its parameters' schema."""
    strings = _string_properties(parameters)
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    properties = properties if isinstance(properties, dict) else {}
    lowered = {p.lower(): p for p in strings}
    plain = dict(parameters)
    shell_like = bool(_SHELL_NAME.match(name)) or "shell" in description.lower()
    command = next((lowered[p] for p in lowered if p in _COMMAND_PARAMS), None)
    if command is not None and (len(properties) == 1 or shell_like):
        return Tool(name, description, plain, ToolKind.SHELL, (("command", command),))
    argv = next(
        (p for p in properties if p.lower() in _COMMAND_PARAMS and _is_argv(properties[p])), None
    )
    if argv is not None and (len(properties) == 1 or shell_like):
        params = (("command", argv), ("command_form", "array"))
        return Tool(name, description, plain, ToolKind.SHELL, params)
    if _SHELL_NAME.match(name) and len(strings) == 1 and len(properties) == 1:
        return Tool(name, description, plain, ToolKind.SHELL, (("command", next(iter(strings))),))
    path = next((lowered[p] for p in lowered if p in _PATH_PARAMS), None)
    content = next(
        (lowered[p] for p in lowered if p in _CONTENT_PARAMS and lowered[p] != path), None
    )
    if path is not None and content is not None:
        return Tool(
            name, description, plain, ToolKind.WRITE, (("path", path), ("content", content))
        )
    if _FINISH_NAME.match(name):
        return Tool(name, description, plain, ToolKind.FINISH)
    return Tool(name, description, plain, ToolKind.OTHER)


def _is_argv(spec: Any) -> bool:
    """An array-of-strings parameter: a command given as argv."""
    if not isinstance(spec, dict) or spec.get("type") != "array":
        return False
    items = spec.get("items")
    return isinstance(items, dict) and _allows_string(items.get("type"))


def parse_tool_request(body: Mapping[str, Any], api: str) -> ToolRequest | None:
    """The function tools and tool choice of a chat (`api="chat"`) or Responses request.

    Returns None when the request offers no function tool (built-in tools of the Responses API,
    such as web_search, are not simulated and are ignored). Raises RequestFormatError for a
    malformed `tools` or a `tool_choice` that names a function the request does not offer.
    """
    raw = body.get("tools")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise RequestFormatError("Invalid type for 'tools': expected an array.", "tools")
    tools = []
    for index, item in enumerate(raw):
        spec = _function_spec(item, index, api)
        if spec is not None:
            tools.append(classify_tool(*spec))
    choice = _tool_choice(body.get("tool_choice"), api)
    if choice.allowed is not None:
        unknown = sorted(set(choice.allowed) - {t.name for t in tools})
        if unknown:
            raise RequestFormatError(
                f"Invalid value for 'tool_choice': no function named '{unknown[0]}' in 'tools'.",
                "tool_choice",
            )
        tools = [t for t in tools if t.name in choice.allowed]
    if choice.name is not None and all(t.name != choice.name for t in tools):
        raise RequestFormatError(
            f"Invalid value for 'tool_choice': no function named '{choice.name}' in 'tools'.",
            "tool_choice",
        )
    if not tools:
        if choice.mode == "required" or choice.name is not None:
            raise RequestFormatError(
                "Invalid value for 'tool_choice': it requires a tool, but 'tools' offers no "
                "function.",
                "tool_choice",
            )
        return None
    return ToolRequest(tuple(tools), choice, body.get("parallel_tool_calls") is not False)


def _function_spec(item: Any, index: int, api: str) -> tuple[str, str, dict[str, Any]] | None:
    param = f"tools[{index}]"
    if not isinstance(item, dict):
        raise RequestFormatError(f"Invalid type for '{param}': expected an object.", param)
    if item.get("type", "function") != "function":
        return None
    spec = item.get("function") if api == "chat" else item
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
        where = f"{param}.function.name" if api == "chat" else f"{param}.name"
        raise RequestFormatError(f"Missing required parameter: '{where}'.", where)
    parameters = spec.get("parameters") or {"type": "object", "properties": {}}
    if not isinstance(parameters, dict):
        raise RequestFormatError(
            f"Invalid type for '{param}' parameters: expected a JSON schema object.", param
        )
    description = description if isinstance(description := spec.get("description"), str) else ""
    return spec["name"], description, parameters


def _tool_choice(raw: Any, api: str) -> ToolChoice:
    if raw is None:
        return ToolChoice()
    if raw in ("none", "auto", "required"):
        return ToolChoice(raw)
    if isinstance(raw, dict) and raw.get("type") == "function":
        function = raw.get("function") if api == "chat" else raw
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str) and name:
            return ToolChoice("required", name)
    if isinstance(raw, dict) and raw.get("type") in ("none", "auto", "required"):
        return ToolChoice(raw["type"])
    if isinstance(raw, dict) and raw.get("type") == "allowed_tools":
        spec = raw.get("allowed_tools") if api == "chat" else raw
        if isinstance(spec, dict) and spec.get("mode") in ("auto", "required"):
            names = []
            for tool in spec.get("tools") or []:
                function = (
                    tool.get("function") if api == "chat" and isinstance(tool, dict) else tool
                )
                if isinstance(function, dict) and isinstance(function.get("name"), str):
                    names.append(function["name"])
            return ToolChoice(spec["mode"], allowed=tuple(names))
    raise RequestFormatError(
        "Invalid value for 'tool_choice': expected 'none', 'auto', 'required', a function or "
        "allowed_tools.",
        "tool_choice",
    )


def arguments_from_schema(schema: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """JSON arguments that validate against a function's parameter schema: every property
    (strict mode requires them all), a hint by property name where one fits, else the schema's
    enum, const or default, else the smallest value its type and bounds allow."""
    return json.dumps(_value(schema, hints, ""), ensure_ascii=False)


def _value(schema: Mapping[str, Any], hints: Mapping[str, Any], name: str) -> Any:
    if name in hints and _fits(hints[name], schema):
        return hints[name]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options and isinstance(options[0], dict):
            return _value(options[0], hints, name)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = _kind(schema)
    if kind == "object":
        properties = schema.get("properties") or {}
        return {
            key: _value(sub if isinstance(sub, dict) else {}, hints, key)
            for key, sub in properties.items()
        }
    if "default" in schema:
        return schema["default"]
    if kind == "string":
        text = "ok"
        minimum = schema.get("minLength")
        return text.ljust(minimum, "k") if isinstance(minimum, int) else text
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = low + 1 if "exclusiveMinimum" in schema and "minimum" not in schema else low
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    if kind == "array":
        items = items if isinstance(items := schema.get("items"), dict) else {}
        count = schema.get("minItems", 0)
        return [_value(items, hints, name) for _ in range(count if isinstance(count, int) else 0)]
    return None


def _kind(schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and isinstance(schema.get("properties"), dict):
        kind = "object"
    return kind


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def _fits(value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether a hint is a valid value for the schema (its enum, its type)."""
    if isinstance(schema.get("enum"), list):
        return value in schema["enum"]
    if any(key in schema for key in ("anyOf", "oneOf", "allOf", "const")):
        return False
    kind = _kind(schema)
    if kind is None:
        return True
    types = _PYTHON_TYPES.get(kind, ())
    if isinstance(value, bool) and kind != "boolean":
        return False
    return isinstance(value, types)
