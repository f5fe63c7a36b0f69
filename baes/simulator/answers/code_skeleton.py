"""Code that follows a skeleton the prompt quotes: a CRUD module for one entity, written the way
the prompt shows it.

Some frameworks do not leave the shape of the code to the model: their prompt quotes an example
module with placeholders ("EXAMPLE ROUTER STRUCTURE", a class whose body is a comment, a function
whose body is `# Implementation here`), complete helpers to use as they are (a database
connection pattern), an error-handling pattern to put around every database operation, and rules
("Must use: router = APIRouter(...)", "DELETE endpoint MUST return Response(...)", "every function
MUST have docstrings"). A real model follows them, and a framework may check that it did (BAEs'
TechLead reviews the code against exactly those rules). So does the simulator:

- the skeleton's imports, module-level statements (`logger = ...`, `router = APIRouter(...)`) and
  complete functions are kept verbatim; a "Must use: `name = ...`" rule replaces the statement of
  the same name;
- its classes are filled with the entity's attributes (bulleted `name: type` lines, or
  `{'name': ..., 'type': ...}` items); models the rules name (`StudentUpdate`) are added; `id`
  stays out of every model but the one the skeleton gives it to; "Optional" rules make every
  attribute `Optional[...] = None`;
- one endpoint per CRUD operation on the skeleton's decorator object and base path, named with
  the skeleton's function name pattern (`create_student`, `list_student`, ...), the skeleton's
  decorator arguments for its operation, a DELETE that returns what the rules say it returns;
- every database operation runs inside the quoted error-handling pattern (its placeholder comment
  replaced by the operation), on the connection the quoted context-manager helper yields;
- docstrings (with `Args:` and `Returns:` when the rules ask for those sections) and return type
  hints when the rules ask for them.

Only the latest user turn's skeleton and rules count: it is the request, and where it contradicts
standing instructions (a system prompt with another prefix or a non-context-manager helper), the
request wins, as it does for a real model. Standing instructions' code is used only when the
request quotes none.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from baes.file_blocks import FileBlockError, parse_file_blocks
from baes.simulator.answers.defects import Defect
from baes.simulator.answers.naming import plural, snake
from baes.simulator.determinism import seeded_random

_FENCE = re.compile(
    r"^(?P<fence>`{3,})(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S
)
_HTTP_METHODS = ("get", "post", "put", "patch", "delete")
_DEF = re.compile(r"^(?:async\s+)?def\s+(?P<name>\w+)\s*\(")
_CLASS = re.compile(r"^class\s+(?P<name>\w+)\s*(?:\((?P<bases>[^)]*)\))?\s*:")
_ASSIGN = re.compile(r"^(?P<name>[A-Za-z_]\w*)\s*=\s*\S")
_FIELD_LINE = re.compile(r"^\s+(?P<name>[A-Za-z_]\w*)\s*:\s*(?P<type>[^=#]+?)\s*(?:=.*)?$")
_PLACEHOLDER = re.compile(r"#\s*(?:.*\bhere\b|\.\.\.|todo\b|implementation\b|your code\b)", re.I)
_ENTITY = re.compile(r"\b(?:for|of)\s+(?:the|an?)\s+(?P<name>[A-Z]\w*)\s+entity\b")
_ATTRIBUTE_LINE = re.compile(
    r"^\s*[-*]\s*(?:(?P<literal>\{.*\})|`?(?P<name>[A-Za-z_]\w*)`?\s*:\s*`?(?P<type>[A-Za-z_][\w\[\], ]*?)`?)\s*$"
)
_MUST_USE = re.compile(
    r"\b(?:must use|use exactly|start with)\s*:\s*`?(?P<stmt>[A-Za-z_]\w*\s*=\s*[^`\n]+?)`?\s*$",
    re.I | re.M,
)
_MUST_RETURN = re.compile(
    r"\b(?P<method>POST|GET|PUT|PATCH|DELETE)\b[^\n]*?\breturns?\s+`?(?P<expr>\w+\([^\n`]*\))`?",
    re.I,
)
_DECORATOR_RULE = re.compile(
    r"\b(?P<method>POST|GET|PUT|PATCH|DELETE)\b[^\n]*?\b(?:use|with)\s+`?(?P<kw>status_code\s*=\s*[\w.]+)`?"
    r"[^\n]*\bdecorator\b",
    re.I,
)
_TRAILING_COMMENT = re.compile(r"\s+#[^\"']*$")
_OPTIONAL_RULE = re.compile(r"\bOptional\[|\b(?:all|every)\b[^.\n]{0,60}\boptional\b", re.I)
_DOCSTRING_RULE = re.compile(r"\bdocstrings?\b", re.I)
_SECTIONS_RULE = re.compile(r"\bArgs:?\s+and\s+Returns:?", re.I)
_TYPE_HINT_RULE = re.compile(r"\btype hints?\b", re.I)
# "no Optional fields", "without docstrings": a rule against the thing, not for it.
_NEGATION = re.compile(r"\b(?:no|not|never|without|omit|skip|avoid)\b|n't\b", re.I)
_PY_TYPES = {
    "str": "str", "string": "str", "text": "str", "int": "int", "integer": "int",
    "float": "float", "number": "float", "decimal": "float", "bool": "bool", "boolean": "bool",
}  # fmt: skip
_SQL_TYPES = {"str": "TEXT", "int": "INTEGER", "float": "REAL", "bool": "INTEGER"}
# Operations of a CRUD resource: (key, HTTP method, on an item, function name prefix).
_OPERATIONS = (
    ("create", "post", False, "create"),
    ("list", "get", False, "list"),
    ("get", "get", True, "get"),
    ("update", "put", True, "update"),
    ("delete", "delete", True, "delete"),
)
SKELETON_DEFECTS = ("create_status", "delete_status", "missing_get_one", "missing_404")


@dataclass
class _Route:
    obj: str
    method: str
    path: str
    kwargs: list[str]  # the decorator's keyword arguments, verbatim
    function: str


@dataclass(frozen=True)
class _Helper:
    decorator: str  # the first one, "" when none
    source: str  # verbatim, decorators included


@dataclass
class Skeleton:
    """What the prompt's quoted code fixes: imports, statements, helpers, models, routes, the
    error-handling pattern."""

    imports: list[str] = field(default_factory=list)
    statements: dict[str, str] = field(default_factory=dict)  # by the assigned name
    helpers: dict[str, _Helper] = field(default_factory=dict)  # complete functions, by name
    classes: dict[str, list[str]] = field(default_factory=dict)  # name -> explicit field lines
    class_bases: dict[str, str] = field(default_factory=dict)
    routes: list[_Route] = field(default_factory=list)
    error_pattern: list[str] = field(default_factory=list)  # try/except lines, "{ops}" marks
    placeholders: int = 0  # bodies left to fill: a comment-only class or route, a "# ... here"

    @property
    def is_skeleton(self) -> bool:
        """Whether there is anything to fill in: quoted complete code is an example to reuse,
        not a request to follow a structure."""
        return self.placeholders > 0


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str  # a Python type: str, int, float, bool


@dataclass(frozen=True)
class SkeletonCode:
    """The module a skeleton-following answer writes, with its summary and any defect."""

    path: str
    source: str
    summary: list[str]
    defect: Defect | None


def quoted_python_blocks(text: str) -> list[str]:
    """Fenced Python blocks that are quoted examples, not files (a file block has a path line)."""
    try:
        files = set(parse_file_blocks(text).values())
    except FileBlockError:  # an unsafe path line: those blocks are no files either way
        files = set()
    blocks = []
    for match in _FENCE.finditer(text):
        body = match.group("body")
        lang = match.group("lang").lower()
        if lang not in ("", "python", "py") or body in files:
            continue
        blocks.append(body)
    return blocks


def read_skeleton(blocks: Sequence[str]) -> Skeleton:
    """The quoted blocks read line by line (a skeleton is seldom valid Python: a class whose
    body is only a comment)."""
    skeleton = Skeleton()
    for block in blocks:
        _read_block(skeleton, block.expandtabs(4).splitlines())
    return skeleton


def _read_block(skeleton: Skeleton, lines: list[str]) -> None:
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith((" ", "#")):
            i += 1
            continue
        end = i + 1
        while end < len(lines) and (not lines[end].strip() or lines[end].startswith((" ", "#"))):
            end += 1
        if line.startswith("@"):  # decorators, then the def or class they decorate
            head = i
            while end < len(lines) and lines[end].startswith("@"):
                end += 1
            if end < len(lines):
                end += 1
                while end < len(lines) and (
                    not lines[end].strip() or lines[end].startswith((" ", "#"))
                ):
                    end += 1
            _read_definition(skeleton, lines[head:end])
        elif line.startswith(("def ", "async def ", "class ")):
            _read_definition(skeleton, lines[i:end])
        elif line.startswith(("import ", "from ")):
            if line not in skeleton.imports:
                skeleton.imports.append(line)
        elif line.startswith("try:"):
            skeleton.error_pattern = _error_pattern(lines[i:end], lines[end:])
            skeleton.placeholders += any(_PLACEHOLDER.search(x) for x in lines[i:])
            end = len(lines)
        elif match := _ASSIGN.match(line):
            skeleton.statements[match.group("name")] = line.rstrip()
        i = end


def _error_pattern(head: list[str], rest: list[str]) -> list[str]:
    """The try/except block with its placeholder comment marked `{ops}` (else one is added at
    the top of the try body)."""
    block = [*head]
    for line in rest:  # except/finally clauses continue the block
        if line.strip() and not line.startswith((" ", "except", "finally", "else", "#")):
            break
        block.append(line)
    while block and not block[-1].strip():
        block.pop()
    marked = [("{ops}" if _PLACEHOLDER.search(line) else line) for line in block]
    if "{ops}" not in marked:
        marked.insert(1, "{ops}")
    # The pattern's own comments ("# MANDATORY - ...") explain the pattern; the code needs none.
    return [
        line if line == "{ops}" else _TRAILING_COMMENT.sub("", line).rstrip() for line in marked
    ]


def _body_lines(lines: list[str]) -> list[str]:
    """The code of a definition's body: comments, blank lines and a docstring left out."""
    body = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    if body and body[0][:3] in ('"""', "'''"):
        quote = body[0][:3]
        end = next((k for k, b in enumerate(body) if quote in (b[3:] if k == 0 else b)), 0)
        body = body[end + 1 :]
    return body


def _read_definition(skeleton: Skeleton, lines: list[str]) -> None:
    decorators = [line.strip() for line in lines if line.startswith("@")]
    header_at = next(
        (k for k, line in enumerate(lines) if line.startswith(("def ", "async def ", "class "))),
        None,
    )
    if header_at is None:
        return
    header = lines[header_at]
    body = lines[header_at + 1 :]
    code = [b for b in _body_lines(body) if b not in ("pass", "...")]
    if cls := _CLASS.match(header):
        fields = [b.strip() for b in body if _FIELD_LINE.match(b) and not b.strip().startswith("#")]
        skeleton.classes[cls.group("name")] = fields
        skeleton.class_bases[cls.group("name")] = cls.group("bases") or ""
        skeleton.placeholders += any(b.strip().startswith("#") for b in body)
        return
    func = _DEF.match(header.strip())
    if func is None:
        return
    route = next((r for d in decorators if (r := _route(d, func.group("name")))), None)
    if route is not None and not code:
        skeleton.routes.append(route)
        skeleton.placeholders += 1
        return
    if _body_lines(body):
        source = "\n".join(lines).rstrip()
        skeleton.helpers[func.group("name")] = _Helper(decorators[0] if decorators else "", source)


def _route(decorator: str, function: str) -> _Route | None:
    """`@router.post("/", status_code=201)` read as a route, else None."""
    try:
        [statement] = ast.parse(decorator.removeprefix("@")).body
    except (SyntaxError, ValueError):
        return None
    call = statement.value if isinstance(statement, ast.Expr) else None
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.attr in _HTTP_METHODS
        and call.args
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, str)
    ):
        return None
    keywords = [ast.unparse(k) for k in call.keywords]
    return _Route(call.func.value.id, call.func.attr, call.args[0].value, keywords, function)


def read_attributes(text: str) -> list[Attribute]:
    """The first bulleted list of attributes: `- name: str` or `- {'name': 'name', 'type': 'str'}`."""
    found: list[Attribute] = []
    for line in text.splitlines():
        match = _ATTRIBUTE_LINE.match(line)
        attribute = _attribute(match) if match else None
        if attribute is None:
            if found:
                break
            continue
        if all(a.name != attribute.name for a in found):
            found.append(attribute)
    return found


def _attribute(match: re.Match[str]) -> Attribute | None:
    if literal := match.group("literal"):
        try:
            value = ast.literal_eval(literal)
        except (ValueError, SyntaxError):
            return None
        if not isinstance(value, dict) or not isinstance(value.get("name"), str):
            return None
        name, type_name = value["name"], str(value.get("type", "str"))
    else:
        name, type_name = match.group("name"), match.group("type")
    py_type = _PY_TYPES.get(re.sub(r"^Optional\[(.*)\]$", r"\1", type_name.strip()).lower())
    if py_type is None or not name.isidentifier():
        return None
    return Attribute(name, py_type)


@dataclass(frozen=True)
class _Rules:
    optional: bool
    docstrings: bool
    sections: bool
    return_hints: bool
    statements: dict[str, str]
    returns: dict[str, str]  # HTTP method -> the expression its endpoint returns
    decorator_kwargs: dict[str, str]  # HTTP method -> a keyword its decorator must carry
    models: list[str]


def _read_rules(prose: str, entity: str) -> _Rules:
    statements = {}
    for match in _MUST_USE.finditer(prose):
        stmt = match.group("stmt").strip()
        name = stmt.split("=", 1)[0].strip()
        try:
            [node] = ast.parse(stmt).body
        except (SyntaxError, ValueError):
            continue
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call | ast.Constant):
            statements[name] = stmt
    returns = {m.group("method").lower(): m.group("expr") for m in _MUST_RETURN.finditer(prose)}
    kwargs = {m.group("method").lower(): m.group("kw") for m in _DECORATOR_RULE.finditer(prose)}
    models = list(
        dict.fromkeys(re.findall(rf"\b{entity}(?:Create|Update|Response|Base|In|Out)\b", prose))
    )
    return _Rules(
        optional=_asks_for(_OPTIONAL_RULE, prose),
        docstrings=_asks_for(_DOCSTRING_RULE, prose),
        sections=_asks_for(_SECTIONS_RULE, prose),
        return_hints=_asks_for(_TYPE_HINT_RULE, prose),
        statements=statements,
        returns=returns,
        decorator_kwargs=kwargs,
        models=models,
    )


def _asks_for(rule: re.Pattern[str], prose: str) -> bool:
    """Whether a line of the prompt asks for what `rule` names (not a line that forbids it: a
    negation in the match or the few words before it)."""
    for line in prose.splitlines():
        for match in rule.finditer(line):
            if not _NEGATION.search(line[max(0, match.start() - 25) : match.end()]):
                return True
    return False


def skeleton_entity(prose: str, skeleton: Skeleton) -> str | None:
    """The entity the request is about: "for the Student entity", else the skeleton's models'
    common stem (`StudentCreate`, `StudentResponse`)."""
    if match := _ENTITY.search(prose):
        return match.group("name")
    stems = {re.sub(r"(Create|Update|Response|Base|In|Out)$", "", c) for c in skeleton.classes}
    stems.discard("")
    return stems.pop() if len(stems) == 1 else None


def write_skeleton_code(
    latest_user_text: str,
    instructions: str,
    prose: str,
    defect_rate: float,
    seed_parts: tuple[object, ...],
) -> SkeletonCode | None:
    """The module the request's skeleton asks for, or None when it quotes none or names no
    entity. `prose` is the request without its fenced code; `instructions` the system turns."""
    skeleton = read_skeleton(quoted_python_blocks(latest_user_text))
    if not skeleton.is_skeleton:
        return None
    entity = skeleton_entity(prose, skeleton)
    if entity is None:
        return None
    if not skeleton.helpers:  # the request quotes no helper: the standing instructions' ones
        standing = read_skeleton(quoted_python_blocks(instructions))
        skeleton.helpers = standing.helpers
        skeleton.imports += [i for i in standing.imports if i not in skeleton.imports]
    rules = _read_rules(prose, entity)
    skeleton.statements.update(rules.statements)  # "Must use: router = ..." wins
    attributes = read_attributes(prose)
    defect = None
    if seeded_random("defect?", *seed_parts).random() < defect_rate:
        kind = seeded_random("defect-kind", *seed_parts).choice(SKELETON_DEFECTS)
        defect = Defect(kind, entity)
    source = _Module(skeleton, rules, entity, attributes, defect).render()
    table = plural(snake(entity))
    summary = [f"the {entity} CRUD endpoints under `{_base_path(skeleton, table)}`"]
    return SkeletonCode(f"{table}_routes.py", source, summary, defect)


def _base_path(skeleton: Skeleton, table: str) -> str:
    prefix = ""
    router = _router_statement(skeleton)
    if router and (m := re.search(r"prefix\s*=\s*[\"']([^\"']*)[\"']", router)):
        prefix = m.group(1)
    base = skeleton.routes[0].path if skeleton.routes else f"/{table}"
    return (prefix.rstrip("/") + "/" + base.lstrip("/")) if prefix else base


# Names the generated code may use, by the module that provides them ("sqlite3": the module).
_IMPORTABLE = {
    "fastapi": ("APIRouter", "HTTPException", "Response", "status"),
    "pydantic": ("BaseModel",),
    "typing": ("Any", "Dict", "List", "Optional"),
    "contextlib": ("closing", "contextmanager"),
    "sqlite3": ("sqlite3",),
}


def _uses(body: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}\b(?!\s*=)", body) is not None


def _imports(lines: list[str], name: str) -> bool:
    return any(
        re.match(rf"(?:import\s+{name}\b|from\s+[\w.]+\s+import\s+.*\b{name}\b)", line)
        for line in lines
    )


def _router_statement(skeleton: Skeleton) -> str | None:
    obj = skeleton.routes[0].obj if skeleton.routes else "router"
    return skeleton.statements.get(obj)


class _Module:
    """Writes the module; one method per section."""

    def __init__(
        self,
        skeleton: Skeleton,
        rules: _Rules,
        entity: str,
        attributes: list[Attribute],
        defect: Defect | None,
    ):
        self.skeleton = skeleton
        self.rules = rules
        self.entity = entity
        self.var = snake(entity)
        self.table = plural(self.var)
        self.attributes = [a for a in attributes if a.name != "id"]
        self.defect = defect
        self.lines: list[str] = []

    def has_defect(self, kind: str) -> bool:
        return self.defect is not None and self.defect.kind == kind

    def emit(self, text: str = "") -> None:
        self.lines.extend(text.split("\n"))

    def render(self) -> str:
        self.statements()
        for helper in self.skeleton.helpers.values():
            self.emit(f"\n\n{helper.source}")
        self.init_table()
        self.models()
        self.routes()
        body = "\n".join(self.lines).strip("\n")
        return "\n".join(self.imports(body)) + "\n\n" + body + "\n"

    # --- sections -------------------------------------------------------------------------

    def imports(self, body: str) -> list[str]:
        """The skeleton's imports, plus those of names the body uses that it does not import."""
        lines = list(self.skeleton.imports)
        for module, names in _IMPORTABLE.items():
            missing = [n for n in names if _uses(body, n) and not _imports(lines, n)]
            if not missing:
                continue
            prefix = f"from {module} import "
            if module == "sqlite3":
                lines.append("import sqlite3")
            elif existing := next((x for x in lines if x.startswith(prefix)), None):
                lines[lines.index(existing)] = existing + ", " + ", ".join(missing)
            else:
                lines.append(prefix + ", ".join(missing))
        return lines

    def statements(self) -> None:
        for statement in self.skeleton.statements.values():
            self.emit(statement)

    def connection(self) -> str:
        """How a function gets a connection: the quoted context-manager helper, else sqlite3."""
        for name, helper in self.skeleton.helpers.items():
            if "contextmanager" in helper.decorator:
                return f"with {name}() as db:"
        for name, helper in self.skeleton.helpers.items():
            if "sqlite3.connect(" in helper.source and "return " in helper.source:
                return f"with closing({name}()) as db:"  # a helper that returns a connection
        return f'with closing(sqlite3.connect("{self.table}.db")) as db:'

    def docstring(self, indent: str, summary: str, args: dict[str, str], returns: str) -> None:
        if not self.rules.docstrings:
            return
        if not self.rules.sections:
            self.emit(f'{indent}"""{summary}"""')
            return
        self.emit(f'{indent}"""{summary}\n')
        if args:
            self.emit(f"{indent}Args:")
            for name, text in args.items():
                self.emit(f"{indent}    {name}: {text}")
            self.emit("")
        self.emit(f"{indent}Returns:\n{indent}    {returns}\n{indent}" + '"""')

    def guarded(self, indent: str, ops: list[str]) -> None:
        """The database operations inside the quoted error-handling pattern, on a connection."""
        connect = self.connection()
        self.emit(f"{indent}{connect}")
        inner = indent + "    "
        if not any("row_factory" in h.source for h in self.skeleton.helpers.values()):
            self.emit(f"{inner}db.row_factory = sqlite3.Row")  # rows become dicts below
        if not self.skeleton.error_pattern:  # no pattern quoted: the operations, committed
            for op in [*ops, "db.commit()"]:
                self.emit(f"{inner}{op}")
            return
        for line in self.skeleton.error_pattern:
            if line == "{ops}":
                for op in ops:
                    self.emit(f"{inner}    {op}")
            else:
                self.emit(f"{inner}{line}")

    def init_table(self) -> None:
        columns = ", ".join(
            ["id INTEGER PRIMARY KEY AUTOINCREMENT"]
            + [f"{a.name} {_SQL_TYPES[a.type]}" for a in self.attributes]
        )
        self.emit("\n")
        hint = " -> None" if self.rules.return_hints else ""
        self.emit(f"def init_{self.table}_table(){hint}:")
        self.docstring(
            "    ", f"Create the {self.table} table if it does not exist yet.", {}, "None"
        )
        self.guarded("    ", [f'db.execute("CREATE TABLE IF NOT EXISTS {self.table} ({columns})")'])
        self.emit(f"\n\ninit_{self.table}_table()")

    def model_names(self) -> list[str]:
        names = list(self.skeleton.classes)
        for name in self.rules.models:
            if name not in names:
                names.append(name)
        if not any(n.endswith(("Create", "In", "Base")) for n in names):  # request bodies
            names += [f"{self.entity}Create", f"{self.entity}Update"]
        order = {"Base": 0, "Create": 1, "In": 1, "Update": 2, "Response": 3, "Out": 3}
        return sorted(names, key=lambda n: order.get(n.removeprefix(self.entity), 4))

    def model_name(self, *suffixes: str) -> str | None:
        names = self.model_names()
        return next((f"{self.entity}{s}" for s in suffixes if f"{self.entity}{s}" in names), None)

    def models(self) -> None:
        for name in self.model_names():
            explicit = self.skeleton.classes.get(name, [])
            bases = self.skeleton.class_bases.get(name) or "BaseModel"
            self.emit(f"\n\nclass {name}({bases}):")
            if self.rules.docstrings:
                self.emit(f'    """{self.entity} fields: {name}."""')
            named = {line.split(":", 1)[0].strip() for line in explicit}
            for line in explicit:
                self.emit(f"    {line}")
            for attribute in self.attributes:
                if attribute.name in named:
                    continue
                optional = self.rules.optional or name.endswith("Update")
                kind = f"Optional[{attribute.type}] = None" if optional else attribute.type
                self.emit(f"    {attribute.name}: {kind}")
            if not explicit and not self.attributes:
                self.emit("    pass")

    def route_pattern(self, method: str, on_item: bool) -> _Route:
        routes = self.skeleton.routes
        quoted = next(
            (r for r in routes if r.method == method and ("{" in r.path) == on_item), None
        )
        if quoted is not None:
            return quoted
        base = routes[0] if routes else _Route("router", "get", f"/{self.table}", [], "")
        path = base.path if "{" not in base.path else base.path.rsplit("/", 1)[0] or "/"
        if on_item:
            path = path.rstrip("/") + "/{id}"
        return _Route(base.obj, method, path, [], "")

    def function_name(self, prefix: str) -> str:
        for route in self.skeleton.routes:
            if route.function.startswith(f"{prefix}_"):
                return route.function
        return f"{prefix}_{self.var}"

    def decorator(self, key: str, method: str, route: _Route) -> str:
        response = self.model_name("Response", "Out")
        kwargs = list(route.kwargs)
        if not kwargs and response and key != "delete":
            kwargs = [
                f"response_model=List[{response}]"
                if key == "list"
                else f"response_model={response}"
            ]
        rule = self.rules.decorator_kwargs.get(method)
        if rule and not any(k.startswith("status_code") for k in kwargs):
            kwargs.append(rule)
        if key == "delete":
            returned = self.rules.returns.get("delete", "")
            if m := re.search(r"status_code\s*=\s*([\w.]+)", returned):
                if not any(k.startswith("status_code") for k in kwargs):
                    kwargs.append(f"status_code={m.group(1)}")
            elif not any(k.startswith("status_code") for k in kwargs):
                kwargs.append("status_code=204")
        if self.has_defect("create_status") and key == "create":
            kwargs = [k for k in kwargs if not k.startswith("status_code")]
        if self.has_defect("delete_status") and key == "delete":
            kwargs = [k for k in kwargs if not k.startswith("status_code")]
        args = ", ".join([f'"{route.path}"', *kwargs])
        return f"@{route.obj}.{method}({args})"

    def routes(self) -> None:
        for key, method, on_item, prefix in _OPERATIONS:
            if key == "get" and self.has_defect("missing_get_one"):
                continue
            route = self.route_pattern(method, on_item)
            self.emit("\n")
            self.emit(self.decorator(key, method, route))
            self.endpoint(key, self.function_name(prefix))

    def endpoint(self, key: str, name: str) -> None:
        create = self.model_name("Create", "In", "Base")
        update = self.model_name("Update", "Create", "In", "Base")
        params = {"create": f"data: {create}", "update": f"id: int, data: {update}"}.get(
            key, "id: int" if key in ("get", "delete") else ""
        )
        returns = {"list": "List[Dict[str, Any]]", "delete": "Response"}.get(key, "Dict[str, Any]")
        if key == "delete" and "Response" not in self.rules.returns.get("delete", "Response"):
            returns = "None"
        hint = f" -> {returns}" if self.rules.return_hints else ""
        self.emit(f"def {name}({params}){hint}:")
        table = self.table
        args = {"id": f"The id of the {self.var}."} if "id: int" in params else {}
        if key in ("create", "update"):
            args["data"] = f"The {self.var}'s fields."
        summaries = {
            "create": (f"Create a {self.var}.", f"The created {self.var} with its id."),
            "list": (f"List every {self.var}.", f"All {table}."),
            "get": (f"Get one {self.var} by id.", f"The {self.var}."),
            "update": (f"Update a {self.var}.", f"The updated {self.var}."),
            "delete": (f"Delete a {self.var}.", "An empty 204 response."),
        }
        summary, result = summaries[key]
        self.docstring("    ", summary, args, result)
        self.guarded("    ", self.operations(key))
        self.emit(f"    return {self.result_expression(key)}")

    def not_found(self) -> str:
        if self.has_defect("missing_404"):
            return "pass"
        return f'raise HTTPException(status_code=404, detail="{self.entity} not found")'

    def operations(self, key: str) -> list[str]:
        table, names = self.table, [a.name for a in self.attributes]
        select = f'"SELECT * FROM {table} WHERE id = ?"'
        if key == "create":
            if names:
                placeholders = ", ".join("?" for _ in names)
                values = (
                    "".join(f"data.{n}," for n in names)
                    if len(names) == 1
                    else ", ".join(f"data.{n}" for n in names)
                )
                insert = f'"INSERT INTO {table} ({", ".join(names)}) VALUES ({placeholders})", ({values})'
            else:
                insert = f'"INSERT INTO {table} DEFAULT VALUES"'
            return [
                f"cursor = db.execute({insert})",
                f"row = db.execute({select}, (cursor.lastrowid,)).fetchone()",
                "result = dict(row)",
            ]
        if key == "list":
            return [f'result = [dict(row) for row in db.execute("SELECT * FROM {table}")]']
        if key == "get":
            return [
                f"row = db.execute({select}, (id,)).fetchone()",
                "if row is None:",
                f"    {self.not_found()}",
                "result = dict(row)",
            ]
        if key == "update":
            lines = [
                f"if db.execute({select}, (id,)).fetchone() is None:",
                f"    {self.not_found()}",
                "for column, value in data.model_dump(exclude_unset=True).items():",
                f'    db.execute(f"UPDATE {table} SET {{column}} = ? WHERE id = ?", (value, id))',
                f"row = db.execute({select}, (id,)).fetchone()",
                "result = dict(row)",
            ]
            return lines
        return [
            f'cursor = db.execute("DELETE FROM {table} WHERE id = ?", (id,))',
            "if cursor.rowcount == 0:",
            f"    {self.not_found()}",
        ]

    def result_expression(self, key: str) -> str:
        if key != "delete":
            return "result"
        if self.has_defect("delete_status"):
            return '{"deleted": id}'
        return self.rules.returns.get("delete", "Response(status_code=204)")


_BARE_CODE = re.compile(
    r"\b(?:no|without)\s+(?:any\s+)?markdown\b|\bno\s+code\s+(?:fences|blocks)\b", re.I
)


def wants_bare_code(instructions: str) -> bool:
    """Whether the prompt asks for the code alone ("ONLY the complete Python code, no markdown,
    no explanations"): then the answer is the module's text, unfenced."""
    return bool(_BARE_CODE.search(instructions))
