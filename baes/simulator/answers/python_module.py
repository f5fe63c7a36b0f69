"""Writing the Python functions a prompt asks for, and merging them into an existing module."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping

from baes.simulator.answers.python_spec import FunctionSpec

_PLACEHOLDER = re.compile(r"<(\w+)>|\{(\w+)\}")


def _string_literal(text: str) -> str:
    # JSON string syntax is valid Python string syntax and always double-quoted.
    return json.dumps(text, ensure_ascii=False)


def _template_expression(template: str, params: tuple[str, ...]) -> str:
    """A Python expression building the template, `<param>` replaced by the parameter."""
    parts: list[str] = []
    has_placeholder = False
    last = 0
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(1) or match.group(2)
        if name not in params:
            continue
        parts.append(template[last : match.start()].replace("{", "{{").replace("}", "}}"))
        parts.append("{" + name + "}")
        has_placeholder = True
        last = match.end()
    parts.append(template[last:].replace("{", "{{").replace("}", "}}"))
    if not has_placeholder:
        return _string_literal(template)
    return "f" + _string_literal("".join(parts))


def _docstring(text: str) -> str:
    """A docstring line that stays valid whatever characters the prompt used."""
    return '    """' + text.replace("\\", "\\\\").replace('"', '\\"') + '"""'


def _template_from_examples(spec: FunctionSpec) -> str | None:
    """A `<param>` template every example agrees on, when the result embeds a string argument."""
    templates = set()
    for args, value in spec.examples:
        if not isinstance(value, str) or len(args) != len(spec.params):
            return None
        template = value
        for param, arg in zip(spec.params, args, strict=True):
            if isinstance(arg, str) and arg and arg in template:
                template = template.replace(arg, f"<{param}>")
        templates.add(template)
    return templates.pop() if len(templates) == 1 else None


def _wrong_template(template: str) -> str:
    """A plausible slip: the final punctuation lost, or a stray period added."""
    if template and not template[-1].isalnum() and template[-1] != ">":
        return template[:-1]
    return template + "."


def function_source(spec: FunctionSpec, verbose: bool, wrong_result: bool = False) -> str:
    """Source of one function; `wrong_result` makes it return something the prompt did not ask."""
    template = spec.template if spec.template is not None else _template_from_examples(spec)
    lines = [f"def {spec.name}({', '.join(spec.params)}):"]
    if verbose:
        if template is not None:
            lines.append(_docstring(f"Return the string `{template}`."))
        elif spec.expression is not None:
            lines.append(_docstring(f"Return `{spec.expression}`."))
        else:
            lines.append(_docstring(f"{spec.name.replace('_', ' ').capitalize()}."))
    if template is not None:
        if wrong_result:
            template = _wrong_template(template)
        lines.append(f"    return {_template_expression(template, spec.params)}")
    elif spec.expression is not None:
        lines.append("    return None" if wrong_result else f"    return {spec.expression}")
    elif spec.examples and not wrong_result:
        known = {repr(args): value for args, value in spec.examples}
        table = ", ".join(f"{key}: {value!r}" for key, value in known.items())
        key = f"({spec.params[0]},)" if len(spec.params) == 1 else f"({', '.join(spec.params)})"
        lines += [
            f"    known = {{{table}}}",
            f"    if {key} in known:",
            f"        return known[{key}]",
            f"    raise NotImplementedError({_string_literal(spec.name + ' for these arguments')})",
        ]
    else:
        lines.append(f"    raise NotImplementedError({_string_literal(spec.name)})")
    return "\n".join(lines) + "\n"


def implements(source: str | None, spec: FunctionSpec) -> bool:
    """Whether `source` defines the function exactly as this module writes it for `spec`
    (docstrings aside): a function the prompts say nothing new about is already done."""
    if not source or not spec.knows_result:
        return False
    wanted = _function_node(function_source(spec, verbose=False), spec.name)
    found = _function_node(source, spec.name)
    return wanted is not None and found is not None and _shape(found) == _shape(wanted)


def _function_node(source: str, name: str) -> ast.FunctionDef | None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    return next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)


def _shape(node: ast.FunctionDef) -> str:
    """The function's parameters and body, without its docstring."""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return ast.dump(node.args) + "".join(ast.dump(statement) for statement in body)


def merge_functions(
    existing: str | None, functions: Mapping[str, str], docstring: str | None
) -> str:
    """The module with each function added or replaced in place; other code is kept as it is.

    An existing module that does not parse is rewritten from the functions alone.
    """
    tree = None
    if existing:
        try:
            tree = ast.parse(existing)
        except SyntaxError:
            tree = None
    if tree is None:
        header = f'"""{docstring}"""\n' if docstring else ""
        body = "\n\n".join(functions.values())
        return f"{header}\n\n{body}" if header else body
    lines = existing.splitlines(keepends=True) if existing else []
    defined = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    replacements = []
    appended = []
    for name, source in functions.items():
        node = defined.get(name)
        if node is None:
            appended.append(source)
            continue
        start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
        replacements.append((start, node.end_lineno or node.lineno, source))
    # Replace from the bottom up so earlier line numbers stay valid.
    for start, end, source in sorted(replacements, reverse=True):
        lines[start:end] = [source]
    text = "".join(lines).rstrip("\n") + "\n"
    for source in appended:
        text += "\n\n" + source
    return text
