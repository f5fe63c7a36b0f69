"""Markdown documents a prompt asks the model to write (a task list, a spec), and documents the
latest prompt asks the model to carry out ("Implement every task of tasks.md").

Spec-driven frameworks split a step into phases that hand work on through files: spec-kit's
tasks template ends with "Create FEATURE_DIR/tasks.md with: … Numbered tasks (T001, T002, etc.)
… Clear file paths for each task", and the next phase is told to implement those tasks. The
simulator writes such a document with its work items in words it reads back exactly (the
function's signature, file and literal result), so the phase that implements it writes the code
the original task asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from baes.simulator.answers.python_spec import FunctionSpec

# "Create FEATURE_DIR/tasks.md with:", "Write `docs/spec.md`": a Markdown file to write.
_DOCUMENT_REQUEST = re.compile(
    r"\b(?:create|write)\s+(?:the\s+|a\s+)?`?(?P<path>/?(?:[\w.-]+/)*[\w.-]+\.md)\b", re.I
)
# An ALL_CAPS path segment is a placeholder the framework's script would have filled in.
_PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]*$")
# "Implement every task of tasks.md", "follow `docs/plan.md`", "execute the tasks in tasks.md"
_CARRY_OUT = re.compile(
    r"\b(?:implement|execute|complete|carry out|follow|do)\b[^.\n]{0,40}?"
    r"`?(?P<path>(?:[\w.-]+/)*[\w.-]+\.(?:md|txt))\b",
    re.I,
)


def requested_document(prompt: str) -> str | None:
    """The Markdown file the prompt asks to create, placeholder folders dropped; None if none."""
    match = _DOCUMENT_REQUEST.search(prompt)
    if match is None:
        return None
    parts = [p for p in PurePosixPath(match["path"].lstrip("/")).parts if p != "."]
    if ".." in parts:
        return None
    kept = [p for p in parts[:-1] if not _PLACEHOLDER.match(p)] + parts[-1:]
    return "/".join(kept)


def documents_to_carry_out(prompt: str, files: Mapping[str, str]) -> list[str]:
    """The shown Markdown and text files the prompt asks to carry out, by path: the path as
    written, else the one shown file whose path ends with it."""
    paths = []
    for match in _CARRY_OUT.finditer(prompt):
        named = match["path"].lstrip("/")
        found = [named] if named in files else [p for p in files if p.endswith("/" + named)]
        if len(found) == 1 and found[0] not in paths:
            paths.append(found[0])
    return paths


def task_document(path: str, functions: Iterable[FunctionSpec], work_items: Iterable[str]) -> str:
    """The document's work: a numbered checklist in a task list (a name with "task"), else one
    bullet per item. A function's item names its signature, file, result and examples. It holds
    no instructions of the prompt, which its reader would obey again."""
    specs = list(functions)
    stem = PurePosixPath(path).stem
    checklist = "task" in stem.lower()
    items = [function_item(spec, checklist) for spec in specs]
    described = {spec.name for spec in specs}
    items += [item for item in work_items if not any(f"`{n}(" in item for n in described)]
    lines = [f"# {stem.replace('-', ' ').replace('_', ' ').capitalize()}", ""]
    if checklist:
        lines += [f"- [ ] T{number:03d} {item}" for number, item in enumerate(items, start=1)]
    else:
        lines += [f"- {item}" for item in items]
    return "\n".join(lines) + "\n"


def function_item(spec: FunctionSpec, imperative: bool) -> str:
    """One function's work in words the simulator reads back exactly: "Write `greet(name)` in
    `greeting.py` that returns the string `Hello, <name>!`; for example …" (imperative), or
    "`greet(name)` in `greeting.py` returns the string …"."""
    signature = f"`{spec.name}({', '.join(spec.params)})`"
    where = f" in `{spec.module}`" if spec.module else ""
    if spec.template is not None:
        result = f"returns the string `{spec.template}`"
    elif spec.expression is not None:
        result = f"returns `{spec.expression}`"
    else:
        result = ""
    examples = "".join(
        f"; for example `{spec.name}({', '.join(repr(a) for a in args)})` returns `{value!r}`"
        for args, value in spec.examples
    )
    if imperative:
        return f"Write {signature}{where}{' that ' + result if result else ''}{examples}."
    return f"{signature}{where}{' ' + result if result else ''}{examples}."
