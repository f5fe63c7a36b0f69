"""Writing the complete FastAPI + SQLite module for a CRUD spec, defects included on request."""

from __future__ import annotations

from baes.simulator.answers.crud_spec import CrudSpec, Entity, Field, Link
from baes.simulator.answers.defects import Defect
from baes.simulator.answers.naming import plural, snake

_PY_TYPES = {"str": "str", "int": "int", "float": "float", "bool": "bool"}
# SQL words a prompt may well use as field names; such columns are quoted in SQL.
_SQL_RESERVED = frozenset(
    "order group select from where table index by values default check references primary key "
    "limit join to in is not null and or as case when then else end create drop insert update "
    "delete set into unique union all distinct having offset exists between like transaction".split()
)


def _sql(name: str) -> str:
    return f"`{name}`" if name.lower() in _SQL_RESERVED else name


def _column_ddl(spec: CrudSpec, field: Field) -> str:
    """Column definition; required columns get a default so ALTER TABLE can add them to old rows."""
    sql_type = {"str": "TEXT", "int": "INTEGER", "float": "REAL", "bool": "BOOLEAN"}[field.type]
    default = {"str": "''", "int": "0", "float": "0", "bool": "0"}[field.type]
    ddl = f"{sql_type} NOT NULL DEFAULT {default}" if field.required else sql_type
    if field.references and (target := spec.entity(field.references)):
        ddl += f" REFERENCES {target.table}(id)"
    return ddl


def _link_table(spec: CrudSpec, link: Link) -> tuple[Entity, Entity, str]:
    left, right = spec.entity(link.left), spec.entity(link.right)
    assert left is not None and right is not None  # links are only made between known entities
    return left, right, f"{left.var}_{right.table}"


class _Writer:
    """Accumulates the module text; one method per section."""

    def __init__(self, spec: CrudSpec, verbose: bool, defect: Defect | None):
        self.spec = spec
        self.verbose = verbose
        self.defect = defect
        self.lines: list[str] = []
        self.paths: set[tuple[str, str]] = set()

    def has_defect(self, kind: str, target: str, detail: str | None = None) -> bool:
        d = self.defect
        return (
            d is not None
            and d.kind == kind
            and d.target == target
            and (detail is None or d.detail == detail)
        )

    def emit(self, text: str = "") -> None:
        self.lines.extend(text.split("\n"))

    def doc(self, indent: str, text: str) -> None:
        if self.verbose:
            self.emit(f'{indent}"""{text}"""')

    def route(self, method: str, path: str, status: int | None = None) -> None:
        self.paths.add((method, path))
        suffix = f", status_code={status}" if status is not None else ""
        self.emit(f'@{self.spec.app_name}.{method}("{path}"{suffix})')

    # --- sections -------------------------------------------------------------------------

    def header(self) -> None:
        spec = self.spec
        if self.verbose:
            self.emit(f'"""{spec.title}: FastAPI + SQLite, data kept in `{spec.database}`.\n')
            self.emit(
                "Tables are created when the module is imported; columns added by later versions"
            )
            self.emit('are added in place, so existing rows survive an upgrade.\n"""\n')
        self.emit("import sqlite3\nfrom contextlib import closing\n")
        self.emit(
            "from fastapi import FastAPI, HTTPException, Response\nfrom pydantic import BaseModel\n"
        )
        self.emit(f'DATABASE = "{spec.database}"\n')
        self.emit(f'{spec.app_name} = FastAPI(title="{spec.title}")\n')

    def schema(self) -> None:
        spec = self.spec
        self.emit("TABLES = {")
        for entity in spec.entities.values():
            columns = ["id INTEGER PRIMARY KEY AUTOINCREMENT"]
            columns += [f"{_sql(f.name)} {_column_ddl(spec, f)}" for f in entity.fields]
            self._table(entity.table, columns)
        for link in spec.links:
            left, right, table = _link_table(spec, link)
            self._table(
                table,
                [
                    f"{left.var}_id INTEGER NOT NULL REFERENCES {left.table}(id)",
                    f"{right.var}_id INTEGER NOT NULL REFERENCES {right.table}(id)",
                    f"PRIMARY KEY ({left.var}_id, {right.var}_id)",
                ],
            )
        self.emit("}\n")
        if self.verbose:
            self.emit(
                "# Every column a table must have. A database written by an earlier version lacks"
            )
            self.emit(
                "# some: they are added with ALTER TABLE so the rows already stored are kept."
            )
        self.emit("COLUMNS = {")
        for entity in spec.entities.values():
            self.emit(f'    "{entity.table}": {{')
            for f in entity.fields:
                self.emit(f'        "{f.name}": "{_column_ddl(spec, f)}",')
            self.emit("    },")
        self.emit("}\n\n")
        self.emit("def connect() -> sqlite3.Connection:")
        self.emit(
            "    conn = sqlite3.connect(DATABASE)\n    conn.row_factory = sqlite3.Row\n    return conn\n\n"
        )
        self.emit("def init_db() -> None:")
        self.doc("    ", "Create missing tables and add missing columns, keeping existing data.")
        self.emit("""    with closing(connect()) as conn:
        for ddl in TABLES.values():
            conn.execute(ddl)
        for table, columns in COLUMNS.items():
            present = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
            for column, ddl in columns.items():
                if column not in present:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN `{column}` {ddl}")
        conn.commit()


init_db()
""")

    def _table(self, table: str, columns: list[str]) -> None:
        body = ",\n".join(f"            {c}" for c in columns)
        self.emit(
            f'    "{table}": """\n        CREATE TABLE IF NOT EXISTS {table} (\n{body}\n        )""",'
        )

    def entity(self, entity: Entity) -> None:
        var, table, name = entity.var, entity.table, entity.name
        model = f"{name}In"
        self.emit(f"\nclass {model}(BaseModel):")
        if not entity.fields:
            self.emit("    pass")
        for f in entity.fields:
            py_type = _PY_TYPES[f.type]
            if not f.required:
                self.emit(f"    {f.name}: {py_type} | None = None")
            elif self.has_defect("field_not_required", name, f.name):
                default = '""' if f.type == "str" else "0"
                self.emit(f"    {f.name}: {py_type} = {default}")
            else:
                self.emit(f"    {f.name}: {py_type}")
        shown = [f for f in entity.fields if not self.has_defect("field_dropped", name, f.name)]
        items = ", ".join(['"id": row["id"]'] + [self._out_item(f) for f in shown])
        self.emit(f"\n\ndef {var}_out(row: sqlite3.Row) -> dict:\n    return {{{items}}}\n\n")
        self.emit(f"def find_{var}(conn: sqlite3.Connection, {var}_id: int) -> sqlite3.Row:")
        self.doc("    ", f"The {var} row, or a 404 response when there is none.")
        self.emit(
            f'    row = conn.execute("SELECT * FROM {table} WHERE id = ?", ({var}_id,)).fetchone()'
        )
        self.emit(
            f'    if row is None:\n        raise HTTPException(status_code=404, detail="{name} not found")'
        )
        self.emit("    return row\n\n")
        self._create(entity, model)
        self._list(entity)
        self._get(entity)
        self._update(entity, model)
        self._delete(entity)

    @staticmethod
    def _out_item(f: Field) -> str:
        if f.type == "bool":
            return f'"{f.name}": bool(row["{f.name}"]) if row["{f.name}"] is not None else None'
        return f'"{f.name}": row["{f.name}"]'

    def _check_references(self, entity: Entity, item: str) -> None:
        for f in entity.fields:
            target = self.spec.entity(f.references) if f.references else None
            if target is None or self.has_defect("reference_unchecked", entity.name, f.name):
                continue
            self.emit(
                f"        if {item}.{f.name} is not None:\n            find_{target.var}(conn, {item}.{f.name})"
            )

    def _values(self, entity: Entity, item: str) -> str:
        values = ", ".join(f"{item}.{f.name}" for f in entity.fields)
        return f"({values},)" if len(entity.fields) == 1 else f"({values})"

    def _create(self, entity: Entity, model: str) -> None:
        var, table = entity.var, entity.table
        status = None if self.has_defect("create_status", entity.name) else 201
        self.route("post", f"/{table}", status)
        self.emit(f"def create_{var}({var}: {model}) -> dict:")
        self.doc("    ", f"Create a {var}; the answer carries its new id.")
        self.emit("    with closing(connect()) as conn:")
        self._check_references(entity, var)
        if entity.fields:
            columns = ", ".join(_sql(f.name) for f in entity.fields)
            marks = ", ".join("?" for _ in entity.fields)
            self.emit(
                f'        cursor = conn.execute(\n            "INSERT INTO {table} ({columns}) VALUES ({marks})",'
            )
            self.emit(f"            {self._values(entity, var)},\n        )")
        else:
            self.emit(f'        cursor = conn.execute("INSERT INTO {table} DEFAULT VALUES")')
        self.emit(
            f"        conn.commit()\n        return {var}_out(find_{var}(conn, cursor.lastrowid))\n\n"
        )

    def _list(self, entity: Entity) -> None:
        var, table = entity.var, entity.table
        self.route("get", f"/{table}")
        self.emit(f"def list_{table}() -> list[dict]:\n    with closing(connect()) as conn:")
        self.emit(
            f'        return [{var}_out(row) for row in conn.execute("SELECT * FROM {table} ORDER BY id")]\n\n'
        )

    def _get(self, entity: Entity) -> None:
        var, table = entity.var, entity.table
        if self.has_defect("missing_get_one", entity.name):
            return
        self.route("get", f"/{table}/{{{var}_id}}")
        if self.has_defect("missing_404", entity.name):
            self.emit(
                f"def get_{var}({var}_id: int) -> dict | None:\n    with closing(connect()) as conn:"
            )
            self.emit(
                f'        row = conn.execute("SELECT * FROM {table} WHERE id = ?", ({var}_id,)).fetchone()'
            )
            self.emit(f"        return {var}_out(row) if row else None\n\n")
            return
        self.emit(f"def get_{var}({var}_id: int) -> dict:\n    with closing(connect()) as conn:")
        self.emit(f"        return {var}_out(find_{var}(conn, {var}_id))\n\n")

    def _update(self, entity: Entity, model: str) -> None:
        var, table = entity.var, entity.table
        self.route("put", f"/{table}/{{{var}_id}}")
        self.emit(f"def update_{var}({var}_id: int, {var}: {model}) -> dict:")
        self.doc("    ", f"Replace every field of a {var}.")
        self.emit(f"    with closing(connect()) as conn:\n        find_{var}(conn, {var}_id)")
        self._check_references(entity, var)
        if entity.fields:
            assignments = ", ".join(f"{_sql(f.name)} = ?" for f in entity.fields)
            values = ", ".join(f"{var}.{f.name}" for f in entity.fields)
            self.emit(
                f'        conn.execute(\n            "UPDATE {table} SET {assignments} WHERE id = ?",'
            )
            self.emit(f"            ({values}, {var}_id),\n        )\n        conn.commit()")
        self.emit(f"        return {var}_out(find_{var}(conn, {var}_id))\n\n")

    def _delete(self, entity: Entity) -> None:
        spec, var, table = self.spec, entity.var, entity.table
        broken = self.has_defect("delete_status", entity.name)
        self.route("delete", f"/{table}/{{{var}_id}}", None if broken else 204)
        self.emit(f"def delete_{var}({var}_id: int) -> {'dict' if broken else 'Response'}:")
        self.emit(f"    with closing(connect()) as conn:\n        find_{var}(conn, {var}_id)")
        if self.verbose and (
            spec.links or any(f.references for e in spec.entities.values() for f in e.fields)
        ):
            self.emit("        # Nothing may keep pointing at a deleted row.")
        for link in spec.links:
            left, right, link_table = _link_table(spec, link)
            for end in (left, right):
                if end is entity:
                    self.emit(
                        f'        conn.execute("DELETE FROM {link_table} WHERE {end.var}_id = ?", ({var}_id,))'
                    )
        for other in spec.entities.values():
            for f in other.fields:
                if f.references == entity.name and not f.required:
                    self.emit(
                        f'        conn.execute("UPDATE {other.table} SET {_sql(f.name)} = NULL WHERE {_sql(f.name)} = ?", ({var}_id,))'
                    )
        self.emit(
            f'        conn.execute("DELETE FROM {table} WHERE id = ?", ({var}_id,))\n        conn.commit()'
        )
        self.emit(
            '    return {"deleted": True}\n\n'
            if broken
            else "    return Response(status_code=204)\n\n"
        )

    def link(self, link: Link) -> None:
        left, right, table = _link_table(self.spec, link)
        lv, rv = left.var, right.var
        defect_args = (left.name, right.name)
        status = None if self.has_defect("link_status", *defect_args) else 201
        self.route("post", f"/{left.table}/{{{lv}_id}}/{right.table}/{{{rv}_id}}", status)
        self.emit(f"def add_{rv}_to_{lv}({lv}_id: int, {rv}_id: int) -> dict:")
        self.doc("    ", f"Link a {lv} and a {rv}; linking twice is harmless.")
        self.emit(f"    with closing(connect()) as conn:\n        find_{lv}(conn, {lv}_id)")
        if not self.has_defect("link_unchecked", *defect_args):
            self.emit(f"        find_{rv}(conn, {rv}_id)")
        self.emit(
            f'        conn.execute(\n            "INSERT OR IGNORE INTO {table} ({lv}_id, {rv}_id) VALUES (?, ?)",'
        )
        self.emit(f"            ({lv}_id, {rv}_id),\n        )\n        conn.commit()")
        self.emit(f'    return {{"{lv}_id": {lv}_id, "{rv}_id": {rv}_id}}\n\n')
        self._linked_listing(left, right, table)
        self._linked_listing(right, left, table)
        broken = self.has_defect("unlink_status", *defect_args)
        self.route(
            "delete",
            f"/{left.table}/{{{lv}_id}}/{right.table}/{{{rv}_id}}",
            None if broken else 204,
        )
        self.emit(
            f"def remove_{rv}_from_{lv}({lv}_id: int, {rv}_id: int) -> {'dict' if broken else 'Response'}:"
        )
        self.emit("    with closing(connect()) as conn:")
        if broken:
            self.emit(
                f'        conn.execute("SELECT 1 FROM {table} WHERE {lv}_id = ? AND {rv}_id = ?", ({lv}_id, {rv}_id))'
            )
            self.emit('    return {"removed": True}\n\n')
            return
        self.emit(
            f'        cursor = conn.execute(\n            "DELETE FROM {table} WHERE {lv}_id = ? AND {rv}_id = ?",'
        )
        self.emit(f"            ({lv}_id, {rv}_id),\n        )\n        conn.commit()")
        self.emit("    if cursor.rowcount == 0:")
        self.emit(
            f'        raise HTTPException(status_code=404, detail="{left.name} is not linked to that {rv}")'
        )
        self.emit("    return Response(status_code=204)\n\n")

    def _linked_listing(self, owner: Entity, other: Entity, table: str) -> None:
        path = f"/{owner.table}/{{{owner.var}_id}}/{other.table}"
        if ("get", path) in self.paths:
            return
        self.route("get", path)
        self.emit(f"def list_{owner.var}_{other.table}({owner.var}_id: int) -> list[dict]:")
        self.emit(
            f"    with closing(connect()) as conn:\n        find_{owner.var}(conn, {owner.var}_id)"
        )
        self.emit(
            f'        rows = conn.execute(\n            "SELECT {other.table}.* FROM {other.table} JOIN {table} "'
        )
        self.emit(
            f'            "ON {table}.{other.var}_id = {other.table}.id WHERE {table}.{owner.var}_id = ? "'
        )
        self.emit(
            f'            "ORDER BY {other.table}.id",\n            ({owner.var}_id,),\n        )'
        )
        self.emit(f"        return [{other.var}_out(row) for row in rows]\n\n")

    def reference_listing(self, entity: Entity, field: Field) -> None:
        target = self.spec.entity(field.references or "")
        if target is None or self.has_defect("reverse_listing_missing", entity.name, field.name):
            return
        path = f"/{target.table}/{{{target.var}_id}}/{entity.table}"
        if ("get", path) in self.paths:
            return
        self.route("get", path)
        self.emit(f"def list_{target.var}_{entity.table}({target.var}_id: int) -> list[dict]:")
        self.doc("    ", f"The {entity.table} whose `{field.name}` is this {target.var}.")
        self.emit(
            f"    with closing(connect()) as conn:\n        find_{target.var}(conn, {target.var}_id)"
        )
        self.emit(
            f'        rows = conn.execute(\n            "SELECT * FROM {entity.table} WHERE {_sql(field.name)} = ? ORDER BY id",'
        )
        self.emit(
            f"            ({target.var}_id,),\n        )\n        return [{entity.var}_out(row) for row in rows]\n\n"
        )


def render_crud_app(spec: CrudSpec, verbose: bool, defect: Defect | None = None) -> str:
    """The complete application module for the spec; `defect` breaks one behaviour on purpose."""
    writer = _Writer(spec, verbose, defect)
    writer.header()
    writer.schema()
    for entity in spec.entities.values():
        writer.entity(entity)
    for link in spec.links:
        writer.link(link)
    for entity in spec.entities.values():
        for field in entity.fields:
            if field.references:
                writer.reference_listing(entity, field)
    text = "\n".join(writer.lines)
    # Sections end with blank lines for spacing; normalise to PEP 8's two and one final newline.
    while "\n\n\n\n" in text:
        text = text.replace("\n\n\n\n", "\n\n\n")
    return text.rstrip("\n") + "\n"


def endpoint_summary(spec: CrudSpec) -> list[str]:
    """One line per resource, for the prose around a large model's answer."""
    lines = [
        f"`/{e.table}`: create, list, read, update and delete {plural(snake(e.name))}"
        for e in spec.entities.values()
    ]
    for link in spec.links:
        left, right, _ = _link_table(spec, link)
        lines.append(
            f"`/{left.table}/{{{left.var}_id}}/{right.table}/{{{right.var}_id}}`: "
            f"link and unlink {left.table} and {right.table}"
        )
    return lines
