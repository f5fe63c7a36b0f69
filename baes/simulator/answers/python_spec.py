"""Python functions a prompt asks for: name, parameters, module, and what they return."""

from __future__ import annotations

import ast
import builtins
import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from baes.simulator.answers.sentences import backticked, split_sentences

_SIGNATURE = re.compile(r"^(?P<name>[A-Za-z_]\w*)\((?P<args>[^()]*)\)$")
_PY_FILE = re.compile(r"^[\w./-]+\.py$")
_RETURNS_STRING = re.compile(
    r"returns?\s+(?:the\s+)?(?:string|text|message)\s+`(?P<value>[^`]*)`", re.I
)
_RETURNS_CODE = re.compile(r"returns?\s+`(?P<value>[^`]+)`", re.I)
_RETURNS_OPERATION = re.compile(
    r"returns?\s+(?:the\s+)?(?P<op>sum|product|difference|quotient|maximum|minimum|concatenation)"
    r"\s+of\s+`(?P<a>\w+)`\s+and\s+`(?P<b>\w+)`",
    re.I,
)
_RETURNS_UNARY = re.compile(
    r"returns?\s+(?:the\s+)?(?P<op>length|square|double|absolute value|upper-?case|lower-?case"
    r"|reverse)\s+(?:version\s+)?of\s+`(?P<a>\w+)`",
    re.I,
)
_BINARY = {
    "sum": "{a} + {b}",
    "product": "{a} * {b}",
    "difference": "{a} - {b}",
    "quotient": "{a} / {b}",
    "maximum": "max({a}, {b})",
    "minimum": "min({a}, {b})",
    "concatenation": "{a} + {b}",
}
_UNARY = {
    "length": "len({a})",
    "square": "{a} * {a}",
    "double": "2 * {a}",
    "absolute value": "abs({a})",
    "uppercase": "{a}.upper()",
    "upper-case": "{a}.upper()",
    "lowercase": "{a}.lower()",
    "lower-case": "{a}.lower()",
    "reverse": "{a}[::-1]",
}
_EXAMPLE = re.compile(
    r"`(?P<call>[A-Za-z_]\w*\([^`]*\))`\s+(?:returns?|gives|is|==|->)\s+`(?P<value>[^`]*)`"
)
_SAFE_NAMES = set(dir(builtins))


@dataclass
class FunctionSpec:
    """One function to write. `template` is a string with `<param>` placeholders, `expression`
    a Python expression over the parameters; examples are (args, value) pairs from the prompt."""

    name: str
    params: tuple[str, ...]
    module: str | None = None
    template: str | None = None
    expression: str | None = None
    examples: list[tuple[tuple[object, ...], object]] = field(default_factory=list)
    sentence: str = ""

    @property
    def knows_result(self) -> bool:
        """Whether the prompts say what the function returns."""
        return self.template is not None or self.expression is not None or bool(self.examples)


def _parse_params(args: str) -> tuple[str, ...] | None:
    """Parameter names of a `name(a, b)` signature, or None when it is a call with values."""
    names = [a.strip() for a in args.split(",") if a.strip()]
    if all(n.isidentifier() and not keyword.iskeyword(n) for n in names) and len(set(names)) == len(
        names
    ):
        return tuple(names)
    return None


def _parse_call(call: str) -> tuple[str, tuple[object, ...]] | None:
    """Name and literal arguments of an example call like `greet("Ada")`."""
    try:
        node = ast.parse(call, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.keywords:
        return None
    try:
        args = tuple(ast.literal_eval(a) for a in node.args)
    except ValueError:
        return None
    return node.func.id, args


def _literal(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _valid_expression(expr: str, params: tuple[str, ...]) -> bool:
    """A Python expression that only uses the parameters and builtins."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return False
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return names <= set(params) | _SAFE_NAMES


def _return_spec(spec: FunctionSpec, after: str) -> None:
    """Fill in what the function returns from the sentence text after its signature."""
    if match := _RETURNS_STRING.search(after):
        spec.template = match.group("value")
    elif match := _RETURNS_OPERATION.search(after):
        spec.expression = _BINARY[match.group("op").lower()].format(a=match["a"], b=match["b"])
    elif match := _RETURNS_UNARY.search(after):
        spec.expression = _UNARY[match.group("op").lower()].format(a=match["a"])
    elif (match := _RETURNS_CODE.search(after)) and _valid_expression(match["value"], spec.params):
        spec.expression = match.group("value")


def _nearest_module(sentence: str, position: int, prompt_modules: list[str]) -> str | None:
    """The .py file mentioned closest to a signature in its sentence, else the prompt's only one."""
    mentions = [
        (abs(pos - position), text) for pos, text in backticked(sentence) if _PY_FILE.match(text)
    ]
    if mentions:
        return min(mentions)[1]
    return prompt_modules[0] if len(set(prompt_modules)) == 1 else None


def function_specs(prompts: Iterable[str]) -> dict[str, FunctionSpec]:
    """Every function the prompts ask for, by name; a later prompt redefines an earlier one."""
    specs: dict[str, FunctionSpec] = {}
    for prompt in prompts:
        modules = [text for _, text in backticked(prompt) if _PY_FILE.match(text)]
        for sentence in split_sentences(prompt):
            signatures = []
            for position, text in backticked(sentence):
                match = _SIGNATURE.match(text)
                params = _parse_params(match.group("args")) if match else None
                if (
                    match is not None
                    and params is not None
                    and not keyword.iskeyword(match["name"])
                ):
                    signatures.append((position, match.group("name"), params))
            ends = [position for position, _, _ in signatures[1:]] + [len(sentence)]
            ends = ends[: len(signatures)]
            for (position, name, params), end in zip(signatures, ends, strict=True):
                spec = FunctionSpec(name, params, sentence=sentence)
                spec.module = _nearest_module(sentence, position, modules)
                # Only the words up to the next signature describe this function's result.
                _return_spec(spec, sentence[position:end])
                previous = specs.get(spec.name)
                if previous is not None:
                    # A later mention ("keep `greet(name)` working") refines, never erases.
                    spec.module = spec.module or previous.module
                    if not spec.knows_result:
                        spec.template, spec.expression = previous.template, previous.expression
                    spec.examples = previous.examples
                specs[spec.name] = spec
        for match in _EXAMPLE.finditer(prompt):
            call = _parse_call(match.group("call"))
            if call is not None and call[0] in specs:
                specs[call[0]].examples.append((call[1], _literal(match.group("value"))))
    return specs


def mentioned_modules(prompts: Iterable[str]) -> list[str]:
    """Python files named in the prompts, in order of first mention."""
    seen: dict[str, None] = {}
    for prompt in prompts:
        for _, text in backticked(prompt):
            if _PY_FILE.match(text):
                seen.setdefault(text, None)
    return list(seen)
