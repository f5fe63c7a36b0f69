"""A code request that quotes a skeleton gets code that follows it (issue 17 item 3): the
skeleton's imports, statements and helpers, its models filled with the entity's attributes, the
rules stated in the prompt, the error-handling pattern around every database operation. BAEs
(gesad-lab/baes_demo @ 1285967) asks for its API this way (baes/swea_agents/backend_swea.py:
189-311) and its TechLead rejects code that breaks those rules
(baes/standards/backend_standards.py:193-466), so before this the simulator's whole-app answer
was rejected until BAEs gave up. The prompt below is written for this test in that shape."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
import textwrap

import openai
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from baes.simulator import SimulatorOptions, generate_answer, start_simulator
from baes.simulator.answers.code_skeleton import SKELETON_DEFECTS
from baes.simulator.messages import Message

# Standing instructions that the request contradicts: another prefix, a plain connection helper.
SYSTEM = textwrap.dedent("""\
    You write FastAPI routes for the Course entity.
    - Start with: router = APIRouter(prefix="/api", tags=["Courses"])
    Use this connection helper:
    ```python
    def get_db_connection():
        conn = sqlite3.connect("courses.db")
        return conn
    ```
    Return ONLY the complete Python code, no markdown, no explanations.
""")

REQUEST = textwrap.dedent('''\
    Write FastAPI router code for the Course entity with exactly these attributes:
    - title: str
    - {'name': 'credits', 'type': 'int'}
    - {'name': 'id', 'type': 'int'}

    Rules:
    - Must use: router = APIRouter(prefix="/api/courses", tags=["Courses"])
    - Every attribute must be declared as Optional[<type>] = None in the models.
    - CourseUpdate: the attributes as optional fields, never the id.
    - The POST endpoint must use status_code=status.HTTP_201_CREATED in its decorator.
    - The DELETE endpoint must return Response(status_code=status.HTTP_204_NO_CONTENT)
    - Every function needs a docstring with Args: and Returns: sections and a return type hint.

    Wrap every database operation in this pattern:
    ```python
    try:
        # the database work goes here
        db.commit()
    except HTTPException:
        raise
    except Exception as e:
        db.rollback()
        logger.error(f"Database error: {e}")
        raise HTTPException(status_code=500, detail="Internal server error")
    ```

    Connect with this helper, unchanged:
    ```python
    from contextlib import contextmanager
    import sqlite3

    @contextmanager
    def get_db_connection():
        """One connection per request, always closed."""
        conn = sqlite3.connect("academic.db")
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        finally:
            conn.close()
    ```

    Follow this structure:
    ```python
    from fastapi import APIRouter, HTTPException, status, Response
    from pydantic import BaseModel
    import logging

    logger = logging.getLogger(__name__)

    router = APIRouter(prefix="/api/courses", tags=["Courses"])

    class CourseCreate(BaseModel):
        # only the attributes above

    class CourseResponse(BaseModel):
        id: int
        # only the attributes above

    @router.post("/", response_model=CourseResponse, status_code=status.HTTP_201_CREATED)
    def create_course(data: CourseCreate) -> dict:
        # Implementation here
    ```
''')
ENDPOINTS = ("create_course", "list_course", "get_course", "update_course", "delete_course")


@pytest.fixture(scope="module")
def client():
    with start_simulator(SimulatorOptions(seed=3)) as sim:
        yield openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)


def _ask(client: openai.OpenAI, system: str | None = SYSTEM) -> tuple[str, str | None]:
    messages = [{"role": "user", "content": REQUEST}]
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    raw = client.chat.completions.with_raw_response.create(model="sim-large", messages=messages)
    return raw.parse().choices[0].message.content, raw.headers.get("x-simulator-defect")


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _decorator(function: ast.FunctionDef) -> str:
    return ast.unparse(function.decorator_list[0]) if function.decorator_list else ""


def _class_fields(tree: ast.Module) -> dict[str, dict[str, str]]:
    return {
        n.name: {
            f.target.id: ast.unparse(f.annotation)
            for f in n.body
            if isinstance(f, ast.AnnAssign) and isinstance(f.target, ast.Name)
        }
        for n in tree.body
        if isinstance(n, ast.ClassDef)
    }


def _violations(source: str) -> set[str]:
    """The prompt's rules this code breaks (an empty set when it follows all of them)."""
    tree = ast.parse(source)
    functions = _functions(tree)
    broken = set()
    if not all(name in functions for name in ENDPOINTS):
        broken.add("missing_endpoint")
    post = functions.get("create_course")
    if post is None or "status_code=status.HTTP_201_CREATED" not in _decorator(post):
        broken.add("post_status")
    delete = functions.get("delete_course")
    if delete is None or "return Response(status_code=status.HTTP_204_NO_CONTENT)" not in (
        ast.unparse(delete)
    ):
        broken.add("delete_return")
    if "raise HTTPException(status_code=404" not in source:
        broken.add("no_404")
    return broken


def test_the_answer_follows_the_quoted_skeleton_and_the_stated_rules(client):
    text, defect = _ask(client)
    assert defect is None
    assert "```" not in text  # "ONLY the complete Python code, no markdown"
    tree = ast.parse(text)
    assert _violations(text) == set()
    statements = {ast.unparse(n) for n in tree.body if isinstance(n, ast.Assign)}
    # The request's own router wins over the standing instructions' prefix.
    assert "router = APIRouter(prefix='/api/courses', tags=['Courses'])" in statements
    assert "logger = logging.getLogger(__name__)" in statements
    functions = _functions(tree)
    # The request's helper, verbatim, decorated; not the system prompt's plain one.
    helper = functions["get_db_connection"]
    assert _decorator(helper) == "contextmanager" and "yield conn" in ast.unparse(helper)
    for name in ENDPOINTS:
        assert _decorator(functions[name]).startswith("router."), name
    assert _decorator(functions["create_course"]) == (
        "router.post('/', response_model=CourseResponse, status_code=status.HTTP_201_CREATED)"
    )
    assert _decorator(functions["get_course"]).startswith("router.get('/{id}'")
    assert "status_code=status.HTTP_204_NO_CONTENT" in _decorator(functions["delete_course"])
    for function in functions.values():
        if function is helper:
            continue  # quoted "unchanged": kept verbatim
        doc = ast.get_docstring(function) or ""
        assert "Returns:" in doc and function.returns is not None, function.name
        if function.args.args:
            assert "Args:" in doc, function.name
    # Every database operation sits in the quoted pattern: rollback and logging in its except.
    for name in ENDPOINTS:
        [handler] = [n for n in ast.walk(functions[name]) if isinstance(n, ast.Try)]
        caught = [ast.unparse(h) for h in handler.handlers]
        assert caught[0].startswith("except HTTPException:\n    raise"), name
        assert "db.rollback()" in caught[1] and "logger.error(" in caught[1], name
    fields = _class_fields(tree)
    optional = {"title": "Optional[str]", "credits": "Optional[int]"}
    assert fields["CourseCreate"] == optional and fields["CourseUpdate"] == optional
    assert fields["CourseResponse"] == {"id": "int", **optional}


def test_the_module_it_writes_serves_the_crud_endpoints(client, tmp_path, monkeypatch):
    text, _ = _ask(client)
    monkeypatch.chdir(tmp_path)  # the helper's database file lands here
    path = tmp_path / "course_routes.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("course_routes_under_test", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    app = FastAPI()
    app.include_router(module.router)
    http = TestClient(app)
    created = http.post("/api/courses/", json={"title": "Logic", "credits": 6})
    assert created.status_code == 201
    course = created.json()
    assert course == {"id": course["id"], "title": "Logic", "credits": 6}
    assert http.get("/api/courses/").json() == [course]
    assert http.get(f"/api/courses/{course['id']}").json() == course
    assert http.get("/api/courses/999").status_code == 404
    updated = http.put(f"/api/courses/{course['id']}", json={"credits": 9})
    assert updated.json() == {**course, "credits": 9}
    assert http.put("/api/courses/999", json={"credits": 1}).status_code == 404
    assert http.delete(f"/api/courses/{course['id']}").status_code == 204
    assert http.delete(f"/api/courses/{course['id']}").status_code == 404
    assert http.post("/api/courses/", json={"credits": "many"}).status_code == 422


def test_without_a_no_markdown_rule_the_code_comes_fenced_after_a_lead_in(client):
    text, _ = _ask(client, system=None)
    assert text.index("```python\n") > 0
    source = text.split("```python\n", 1)[1].split("```", 1)[0]
    assert _violations(source) == set()


def test_an_injected_defect_breaks_the_rule_it_names_and_only_that_one():
    messages = [Message("system", SYSTEM), Message("user", REQUEST)]
    expected = {
        "create_status": {"post_status"},
        "delete_status": {"delete_return"},
        "missing_get_one": {"missing_endpoint"},
        "missing_404": {"no_404"},
    }
    assert set(expected) == set(SKELETON_DEFECTS)
    seen = set()
    for seed in range(40):
        answer = generate_answer(messages, "sim-small", seed)
        assert answer.text == generate_answer(messages, "sim-small", seed).text  # deterministic
        kind = answer.defect.kind if answer.defect else None
        assert _violations(answer.text) == expected.get(kind, set()), (seed, kind)
        seen.add(kind)
    assert None in seen and len(seen) >= 3  # defect-free answers and several kinds of defect


def test_a_request_that_shows_complete_files_is_not_a_skeleton():
    # The project's own files (path line, complete code) are no template: the whole-app answer.
    files = "main.py\n```python\ndef greet(name):\n    pass\n```\n"
    prompt = f"{files}\nAdd a Student entity with the required string field `name`."
    answer = generate_answer([Message("user", prompt)], "sim-large", 1)
    assert "app = FastAPI(" in answer.text and "APIRouter" not in answer.text


def _load(path, monkeypatch):
    spec = importlib.util.spec_from_file_location(f"under_test_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_without_a_quoted_helper_the_standing_instructions_helper_is_used(tmp_path, monkeypatch):
    helper_block = REQUEST.index("Connect with this helper")
    request = REQUEST[:helper_block] + REQUEST[REQUEST.index("Follow this structure") :]
    answer = generate_answer([Message("system", SYSTEM), Message("user", request)], "sim-large", 2)
    tree = ast.parse(answer.text)
    helper = _functions(tree)["get_db_connection"]
    assert not helper.decorator_list and "courses.db" in ast.unparse(helper)
    # It returns a connection, so every use closes it.
    assert "with closing(get_db_connection()) as db:" in answer.text
    assert "from contextlib import closing" in answer.text
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "courses_plain.py"
    path.write_text(answer.text)
    app = FastAPI()
    app.include_router(_load(path, monkeypatch).router)
    http = TestClient(app)
    created = http.post("/api/courses/", json={"title": "Logic"})
    assert created.status_code == 201 and created.json()["title"] == "Logic"
    assert (tmp_path / "courses.db").is_file()


def test_complete_code_quoted_as_an_example_is_no_skeleton():
    # Nothing to fill in: an example model to reuse, not a structure with placeholders.
    prompt = (
        "Add a Course entity with the required string field `name` to `main.py`, using a model "
        "like this one:\n```python\nclass Course(BaseModel):\n    name: str\n```\n"
    )
    answer = generate_answer([Message("user", prompt)], "sim-large", 1)
    assert "app = FastAPI(" in answer.text and "APIRouter" not in answer.text


def test_names_the_code_uses_are_imported_when_the_skeleton_does_not(tmp_path, monkeypatch):
    request = REQUEST.replace(
        "from fastapi import APIRouter, HTTPException, status, Response\n", ""
    )
    request = request.replace("from pydantic import BaseModel\n", "")
    answer = generate_answer([Message("system", SYSTEM), Message("user", request)], "sim-large", 2)
    assert "from fastapi import APIRouter, HTTPException, Response, status" in answer.text
    assert "from pydantic import BaseModel" in answer.text
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "courses_imports.py"
    path.write_text(answer.text)
    app = FastAPI()
    app.include_router(_load(path, monkeypatch).router)
    created = TestClient(app).post("/api/courses/", json={"title": "Logic"})
    assert created.status_code == 201
    assert TestClient(app).delete(f"/api/courses/{created.json()['id']}").status_code == 204


def test_an_agent_with_a_write_tool_writes_the_skeleton_following_module(client):
    write = {
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
    reply = client.chat.completions.create(
        model="sim-large", messages=[{"role": "user", "content": REQUEST}], tools=[write]
    )
    [call] = reply.choices[0].message.tool_calls
    arguments = json.loads(call.function.arguments)
    assert arguments["path"] == "courses_routes.py"
    assert _violations(arguments["content"]) == set()
    assert 'router = APIRouter(prefix="/api/courses"' in arguments["content"]


def test_a_route_skeleton_without_models_gets_request_models(tmp_path, monkeypatch):
    request = textwrap.dedent("""\
        Write the routes for the Book entity with these attributes:
        - title: str
        - pages: int

        ```python
        from fastapi import APIRouter
        router = APIRouter(prefix="/books")

        @router.get("/")
        def list_book():
            # Implementation here
        ```
    """)
    answer = generate_answer([Message("user", request)], "sim-small", 0)
    source = answer.text.split("```python\n", 1)[1].split("```", 1)[0]
    fields = _class_fields(ast.parse(source))
    assert fields["BookCreate"] == {"title": "str", "pages": "int"}
    assert fields["BookUpdate"] == {"title": "Optional[str]", "pages": "Optional[int]"}
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "books.py"
    path.write_text(source)
    app = FastAPI()
    app.include_router(_load(path, monkeypatch).router)
    http = TestClient(app)
    book = http.post("/books/", json={"title": "Dune", "pages": 412}).json()
    assert http.put(f"/books/{book['id']}", json={"pages": 500}).json()["pages"] == 500
    assert http.post("/books/", json={"title": "No pages"}).status_code == 422


def test_rules_that_forbid_docstrings_hints_or_optional_fields_are_not_read_as_asking(tmp_path):
    request = (
        REQUEST.replace(
            "- Every attribute must be declared as Optional[<type>] = None in the models.\n",
            "- Make all fields required (no Optional fields).\n",
        )
        .replace("CourseUpdate: the attributes as optional fields, never the id.\n", "")
        .replace(
            "- Every function needs a docstring with Args: and Returns: sections and a return "
            "type hint.\n",
            "- Keep it short: no docstrings, and skip type hints.\n",
        )
    )
    assert request.count("no Optional") == 1 and "no docstrings" in request
    answer = generate_answer([Message("system", SYSTEM), Message("user", request)], "sim-large", 4)
    tree = ast.parse(answer.text)
    helper = _functions(tree)["get_db_connection"]
    for function in _functions(tree).values():
        if function is not helper:  # the quoted helper keeps its own docstring
            assert ast.get_docstring(function) is None and function.returns is None, function.name
    fields = _class_fields(tree)
    assert fields["CourseCreate"] == {"title": "str", "credits": "int"}
