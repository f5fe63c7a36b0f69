"""The data model a CRUD prompt series describes: entities, fields, relationships.

The spec is rebuilt on every request from two sources, so it survives frameworks that send
only the current files or only the prompt history: the SQL schema in the existing code
(CREATE TABLE / ALTER TABLE statements), then every prompt in order.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from baes.simulator.answers.naming import camel, plural, singular, snake
from baes.simulator.answers.sentences import backticked, split_sentences

FieldType = str  # "str" | "int" | "float" | "bool"

_TYPE_WORDS = {
    "integer": "int",
    "int": "int",
    "string": "str",
    "str": "str",
    "text": "str",
    "float": "float",
    "number": "float",
    "decimal": "float",
    "boolean": "bool",
    "bool": "bool",
    "date": "str",
    "datetime": "str",
}
_NAMES = r"`\w+`(?:\s*,\s*`\w+`)*(?:\s*,?\s*and\s+`\w+`)?"
_TYPED_FIELDS = re.compile(
    r"(?:(?P<req>optional|required|nullable|mandatory)\s+)?"
    rf"(?P<type>{'|'.join(_TYPE_WORDS)})\s+(?:(?:fields?|columns?|attributes?)\s+)?(?P<names>{_NAMES})",
    re.I,
)
_UNTYPED_FIELDS = re.compile(rf"\b(?:fields?|columns?|attributes?)\s+(?P<names>{_NAMES})", re.I)
_ENTITY = re.compile(
    r"\b(?:an?|the|new)\s+`?(?P<name>[A-Z][A-Za-z]*)`?\s+(?:entity|model|resource)\b"
)
_FIELD_TARGET = re.compile(r"\bto\s+(?:the\s+|each\s+|every\s+|all\s+)?`?(?P<name>[A-Za-z]\w*)`?")
_MANY_TO_MANY = re.compile(
    r"many[- ]to[- ]many\s+(?:relationship|relation|association|link)?\s*between\s+(?:the\s+)?"
    r"`?(?P<a>\w+)`?\s+and\s+(?:the\s+)?`?(?P<b>\w+)`?",
    re.I,
)
_HAS_ONE = re.compile(
    r"\b(?:an?|each|every|the)\s+(?P<a>\w+)\s+(?:has|have|gets)\s+(?:at most\s+|exactly\s+)?"
    r"(?:one|a single|an?)\s+(?P<b>\w+)|\b(?P<c>\w+)\s+belongs?\s+to\s+(?:an?|one|exactly one)\s+(?P<d>\w+)",
    re.I,
)
_HAS_MANY = re.compile(
    r"\b(?:an?|each|every|the)\s+(?P<a>\w+)\s+(?:has|have)\s+many\s+(?P<b>\w+)", re.I
)
_NESTED_LINK = re.compile(r"/(?P<a>\w+)/\{\w+\}/(?P<b>\w+)/\{\w+\}")
_OPTIONAL_HINT = re.compile(
    r"null by default|defaults? to null|may be null|can be null|nullable", re.I
)
_DATABASE = re.compile(r"(?P<q>[\"'`])(?P<path>[\w./-]+\.(?:db|sqlite3?))(?P=q)")
_TITLE_PROMPT = re.compile(
    r"\bAPI\s+for\s+(?:an?\s+|the\s+)?(?P<what>[\w -]+?)\s+(?:system|application|app|platform|service)\b",
    re.I,
)
_TITLE_CODE = re.compile(r"FastAPI\(\s*title\s*=\s*[\"'](?P<title>[^\"']+)[\"']")
_APP_NAME_PROMPT = re.compile(
    r"FastAPI\s+(?:instance|app|application)\s+as\s+`(?P<name>[A-Za-z_]\w*)`", re.I
)
_APP_NAME_CODE = re.compile(r"^(?P<name>[A-Za-z_]\w*)\s*=\s*FastAPI\(", re.M)
_CREATE_TABLE = re.compile(
    r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\"`\[]?(?P<table>\w+)[\"`\]]?\s*\(", re.I
)
_ALTER_ADD = re.compile(
    r"ALTER\s+TABLE\s+[\"`\[]?(?P<table>\w+)[\"`\]]?\s+ADD\s+(?:COLUMN\s+)?[\"`\[]?(?P<column>\w+)[\"`\]]?"
    r"(?P<ddl>[^\"'\n;]*)",
    re.I,
)
_REFERENCES = re.compile(r"REFERENCES\s+[\"`\[]?(?P<table>\w+)", re.I)
_WEB_APP_WORDS = re.compile(r"\b(?:application|app|api|fastapi)\b", re.I)


@dataclass
class Field:
    """A column of an entity besides its integer `id`; `references` names another entity."""

    name: str
    type: FieldType = "str"
    required: bool = True
    references: str | None = None


@dataclass
class Entity:
    """A table with an integer id and CRUD endpoints under `/<plural>`."""

    name: str
    fields: list[Field] = field(default_factory=list)

    @property
    def var(self) -> str:
        return snake(self.name)

    @property
    def table(self) -> str:
        return plural(self.var)

    def get_field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class Link:
    """A many-to-many relationship, stored in a table of (left_id, right_id) pairs."""

    left: str
    right: str


@dataclass(frozen=True)
class Change:
    """One thing the spec gained: an entity, a field of an entity, or a link (detail = right)."""

    kind: str  # "entity" | "field" | "link"
    entity: str
    detail: str | None = None


@dataclass
class CrudSpec:
    """Everything needed to write the application module."""

    entities: dict[str, Entity] = field(default_factory=dict)  # by snake-case name, in order
    links: list[Link] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    latest_changes: list[Change] = field(default_factory=list)  # those the latest prompt made
    module: str = "main.py"
    database: str = "app.db"
    app_name: str = "app"
    title: str = "CRUD API"

    def entity(self, word: str) -> Entity | None:
        """The entity a word names: `Student`, `student`, `students`."""
        key = snake(word)
        return self.entities.get(key) or self.entities.get(singular(key))

    def add_entity(self, name: str) -> Entity | None:
        if not _usable_name(snake(name)):
            return None
        existing = self.entity(name)
        if existing is not None:
            return existing
        entity = Entity(camel(singular(snake(name))))
        self.entities[entity.var] = entity
        self.changes.append(Change("entity", entity.name))
        return entity

    def add_field(self, entity: Entity, new: Field) -> None:
        if new.name == "id" or not _usable_name(new.name) or entity.get_field(new.name):
            return
        if new.references is None and new.name.endswith("_id"):
            target = self.entity(new.name[: -len("_id")])
            if target is not None and target is not entity:
                new.references, new.type = target.name, "int"
        entity.fields.append(new)
        self.changes.append(Change("field", entity.name, new.name))

    def add_link(self, a: Entity, b: Entity) -> None:
        if a is b or any({link.left, link.right} == {a.name, b.name} for link in self.links):
            return
        self.links.append(Link(a.name, b.name))
        self.changes.append(Change("link", a.name, b.name))


def _usable_name(name: str) -> bool:
    """A name that can be a Python identifier and an SQL column as it is."""
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")


def _names(text: str) -> list[str]:
    return re.findall(r"`(\w+)`", text)


def _sql_type(ddl: str) -> FieldType:
    upper = ddl.upper()
    if "INT" in upper:
        return "int"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL")):
        return "float"
    if "BOOL" in upper:
        return "bool"
    return "str"


def _table_body(code: str, open_paren: int) -> str:
    """Text between a CREATE TABLE's parentheses (they nest: REFERENCES t(id))."""
    depth = 0
    for index in range(open_paren, len(code)):
        if code[index] == "(":
            depth += 1
        elif code[index] == ")":
            depth -= 1
            if depth == 0:
                return code[open_paren + 1 : index]
    return code[open_paren + 1 :]


def _split_columns(body: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in body:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _read_code(spec: CrudSpec, code: str) -> None:
    """Entities and links from the SQL statements in an existing module."""
    tables: list[tuple[str, list[tuple[str, str]]]] = []
    for match in _CREATE_TABLE.finditer(code):
        columns = []
        foreign: dict[str, str] = {}
        for column in _split_columns(_table_body(code, match.end() - 1)):
            head = column.split()[0].upper()
            if head in ("PRIMARY", "UNIQUE", "CHECK", "CONSTRAINT", "FOREIGN"):
                fk = re.search(
                    r"FOREIGN\s+KEY\s*\(\s*(\w+)\s*\)\s*REFERENCES\s+(\w+)", column, re.I
                )
                if fk:
                    foreign[fk.group(1)] = fk.group(2)
                continue
            name, _, ddl = column.partition(" ")
            columns.append((name.strip('"`[]'), ddl))
        columns = [
            (n, d + (f" REFERENCES {foreign[n]}" if n in foreign else "")) for n, d in columns
        ]
        tables.append((match.group("table"), columns))
    for table, columns in tables:
        if any(name.lower() == "id" for name, _ in columns):
            entity = spec.add_entity(table)
            if entity is None:
                continue
            for name, ddl in columns:
                if name.lower() != "id":
                    spec.add_field(entity, _column_field(spec, name, ddl))
    for _, columns in tables:
        if any(name.lower() == "id" for name, _ in columns) or len(columns) != 2:
            continue
        ends = [spec.entity(_reference(ddl) or name.removesuffix("_id")) for name, ddl in columns]
        if ends[0] is not None and ends[1] is not None:
            spec.add_link(ends[0], ends[1])
    for match in _ALTER_ADD.finditer(code):
        entity = spec.entity(match.group("table"))
        if entity is not None:
            spec.add_field(entity, _column_field(spec, match.group("column"), match.group("ddl")))
    if database := _DATABASE.search(code):
        spec.database = database.group("path")
    if title := _TITLE_CODE.search(code):
        spec.title = title.group("title")
    if app_name := _APP_NAME_CODE.search(code):
        spec.app_name = app_name.group("name")


def _reference(ddl: str) -> str | None:
    match = _REFERENCES.search(ddl)
    return match.group("table") if match else None


def _column_field(spec: CrudSpec, name: str, ddl: str) -> Field:
    target = _reference(ddl)
    target_entity = spec.entity(target) if target else None
    return Field(
        name,
        _sql_type(ddl),
        required="NOT NULL" in ddl.upper(),
        references=target_entity.name if target_entity else None,
    )


def _fields_in(text: str, sentence: str) -> list[Field]:
    """Fields declared in a piece of a sentence, typed ("required string field `x`") or not."""
    optional_hint = bool(_OPTIONAL_HINT.search(sentence))
    fields: list[Field] = []
    for match in _TYPED_FIELDS.finditer(text):
        requirement = (match.group("req") or "").lower()
        required = requirement in ("required", "mandatory") or (
            not requirement and not optional_hint
        )
        for name in _names(match.group("names")):
            fields.append(Field(name, _TYPE_WORDS[match.group("type").lower()], required))
    typed = {f.name for f in fields}
    for match in _UNTYPED_FIELDS.finditer(text):
        fields += [
            Field(n, "str", not optional_hint) for n in _names(match["names"]) if n not in typed
        ]
    return fields


def _read_sentence(spec: CrudSpec, sentence: str) -> None:
    declarations = list(_ENTITY.finditer(sentence))
    for index, match in enumerate(declarations):
        entity = spec.add_entity(match.group("name"))
        end = declarations[index + 1].start() if index + 1 < len(declarations) else len(sentence)
        if entity is not None:
            for new in _fields_in(sentence[match.end() : end], sentence):
                spec.add_field(entity, new)
    if not declarations:
        fields = _fields_in(sentence, sentence)
        target = _field_target(spec, sentence) if fields else None
        if target is not None:
            for new in fields:
                spec.add_field(target, new)
    for match in _MANY_TO_MANY.finditer(sentence):
        a, b = spec.entity(match.group("a")), spec.entity(match.group("b"))
        if a and b:
            spec.add_link(a, b)
    for _, code in backticked(sentence):
        if nested := _NESTED_LINK.search(code):
            a, b = spec.entity(nested.group("a")), spec.entity(nested.group("b"))
            if a and b:
                spec.add_link(a, b)
    for match in _HAS_ONE.finditer(sentence):
        owner, target = spec.entity(match["a"] or match["c"]), spec.entity(match["b"] or match["d"])
        if owner and target and owner is not target:
            spec.add_field(owner, Field(f"{target.var}_id", "int", False, target.name))
    for match in _HAS_MANY.finditer(sentence):
        target, owner = spec.entity(match["a"]), spec.entity(match["b"])
        if owner and target and owner is not target and not _MANY_TO_MANY.search(sentence):
            spec.add_field(owner, Field(f"{target.var}_id", "int", False, target.name))


def _field_target(spec: CrudSpec, sentence: str) -> Entity | None:
    """The entity a field sentence adds to: "... to Student", else the first entity it names."""
    for match in _FIELD_TARGET.finditer(sentence):
        word = match.group("name")
        if entity := spec.entity(word):
            return entity
        if word[0].isupper() and word not in ("FastAPI", "SQLite"):
            return spec.add_entity(word)
    for word in re.findall(r"[A-Za-z]\w*", sentence):
        if entity := spec.entity(word):
            return entity
    return None


def _read_prompt(spec: CrudSpec, prompt: str) -> None:
    for sentence in split_sentences(prompt):
        _read_sentence(spec, sentence)
    if database := _DATABASE.search(prompt):
        spec.database = database.group("path")
    if title := _TITLE_PROMPT.search(prompt):
        spec.title = f"{title.group('what').strip().capitalize()} API"
    if app_name := _APP_NAME_PROMPT.search(prompt):
        spec.app_name = app_name.group("name")


def _module_from_prompts(prompts: Sequence[str]) -> str | None:
    """The .py file a prompt puts the application in ("Put the whole application in `main.py`")."""
    for prompt in prompts:
        for sentence in split_sentences(prompt):
            if not _WEB_APP_WORDS.search(sentence):
                continue
            for _, text in backticked(sentence):
                if re.fullmatch(r"[\w./-]+\.py", text):
                    return text
    return None


def crud_spec(prompts: Sequence[str], existing_files: dict[str, str]) -> CrudSpec | None:
    """The data model described by existing code plus all prompts, or None if there is none."""
    spec = CrudSpec()
    module = _module_from_prompts(prompts)
    if module is None:
        module = next(
            (p for p, c in existing_files.items() if "FastAPI(" in c and _CREATE_TABLE.search(c)),
            None,
        )
    spec.module = module or "main.py"
    if existing := existing_files.get(spec.module):
        _read_code(spec, existing)
    for prompt in prompts[:-1]:
        _read_prompt(spec, prompt)
    before = len(spec.changes)
    if prompts:
        _read_prompt(spec, prompts[-1])
    spec.latest_changes = spec.changes[before:]
    return spec if spec.entities else None
