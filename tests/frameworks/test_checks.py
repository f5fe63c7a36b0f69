"""The shipped checks, proven both ways: each passes on a correct hand-written workspace and
fails, for the reason it tests, on a broken one. Plus how run_check runs a check."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from baes.frameworks.checks import run_check
from tests.frameworks.conftest import FIXTURES, scenario_steps

HELLO = scenario_steps("hello")
CRUD = scenario_steps("academic-crud")

GREET = 'def greet(name):\n    return f"Hello, {name}!"\n'
FAREWELL = 'def farewell(name):\n    return f"Goodbye, {name}!"\n'


def check(step: dict, workspace: Path):
    log = workspace.parent / "logs" / f"{step['id']}.check.log"
    result = run_check(step["check"], workspace, log, 60)
    return result, log.read_text()


@pytest.mark.parametrize(
    ("index", "correct", "broken", "reason"),
    [
        (0, GREET, GREET.replace("!", "."), "greet('Ada') returned 'Hello, Ada.'"),
        (1, GREET + "\n\n" + FAREWELL, GREET, "cannot import name 'farewell'"),
    ],
    ids=["greet", "farewell"],
)
def test_hello_checks_pass_on_a_correct_module_and_fail_on_a_broken_one(
    workspace, index, correct, broken, reason
):
    (workspace / "greeting.py").write_text(correct)
    passed, log = check(HELLO[index], workspace)
    assert passed.passed and passed.exit_code == 0, log
    (workspace / "greeting.py").write_text(broken)
    failed, log = check(HELLO[index], workspace)
    assert not failed.passed and failed.exit_code == 1
    assert reason in log


def fixture_app(step_number: int) -> str:
    return (FIXTURES / f"academic_crud_step{step_number}" / "main.py").read_text()


@pytest.fixture(scope="module")
def crud_history(tmp_path_factory):
    """Every academic-crud check run in order on the hand-written app of its step, as a run would.

    Returns the results and, for each step, a copy of the workspace as it was just before that
    step's check (the SQLite file holds what the earlier checks wrote).
    """
    workspace = tmp_path_factory.mktemp("crud") / "workspace"
    workspace.mkdir()
    results, before = [], []
    for number, step in enumerate(CRUD, start=1):
        snapshot = workspace.parent / f"before-{number}"
        shutil.copytree(workspace, snapshot)
        before.append(snapshot)
        (workspace / "main.py").write_text(fixture_app(number))
        results.append(check(step, workspace))
    return results, before


def test_every_academic_crud_check_passes_on_the_hand_written_app(crud_history):
    results, _ = crud_history
    for step, (result, log) in zip(CRUD, results, strict=True):
        assert result.passed, f"check of step {step['id']} failed:\n{log}"


# Each defect breaks exactly what one step asked for; the check must notice, and say so.
DEFECTS = {
    "student": (
        'app.post(path, status_code=201, operation_id=f"create_{table}")',
        'app.post(path, status_code=200, operation_id=f"create_{table}")',
        "POST /students -> 200",
    ),
    "student-email": (
        "class Student(BaseModel):\n    name: str\n    email: str\n",
        "class Student(BaseModel):\n    name: str\n",
        "students have no email field",
    ),
    "course": (
        "class Course(BaseModel):\n    name: str\n    level: str\n",
        'class Course(BaseModel):\n    name: str\n    level: str = "any"\n',
        "missing level accepted",
    ),
    "student-course": (
        '@app.post("/students/{student_id}/courses/{course_id}", status_code=201)',
        '@app.post("/students/{student_id}/courses/{course_id}")',
        "enrol -> 200",
    ),
    "teacher": (
        "class Teacher(BaseModel):\n    name: str\n    email: str\n",
        'class Teacher(BaseModel):\n    name: str\n    email: str = ""\n',
        "missing email accepted",
    ),
    "course-teacher": (
        "    validate=existing_teacher,\n",
        "",
        "unknown teacher accepted",
    ),
}


@pytest.mark.parametrize("number", range(1, len(CRUD) + 1), ids=[s["id"] for s in CRUD])
def test_each_academic_crud_check_fails_on_a_broken_app(crud_history, tmp_path, number):
    _, before = crud_history
    step = CRUD[number - 1]
    correct, broken, reason = DEFECTS[step["id"]]
    source = fixture_app(number)
    assert correct in source, "the defect no longer matches the fixture"
    workspace = tmp_path / "workspace"
    shutil.copytree(before[number - 1], workspace)
    (workspace / "main.py").write_text(source.replace(correct, broken))
    result, log = check(step, workspace)
    assert not result.passed and result.exit_code == 1
    assert reason in log, log


def test_python_in_a_check_is_the_interpreter_running_baes(workspace, tmp_path):
    log = tmp_path / "check.log"
    result = run_check('python -c "import sys; print(sys.prefix)"', workspace, log, 30)
    assert result.passed
    assert log.read_text().splitlines()[0] == sys.prefix


def test_a_check_sees_no_credentials_but_the_extra_variables(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-key-never-shown")
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-never-shown")
    log = tmp_path / "check.log"
    result = run_check("env", workspace, log, 30, {"BAES_STEP_ID": "greet"})
    assert result.passed
    output = log.read_text()
    assert "never-shown" not in output
    assert "BAES_STEP_ID=greet" in output


def test_a_check_that_runs_too_long_is_stopped_and_fails(workspace, tmp_path):
    log = tmp_path / "check.log"
    result = run_check("echo started; sleep 30", workspace, log, 0.5)
    assert not result.passed and result.timed_out and result.exit_code is None
    assert result.duration_s < 5
    assert "started" in log.read_text() and "timed out" in log.read_text()


def test_the_log_is_replaced_by_the_latest_run(workspace, tmp_path):
    log = tmp_path / "check.log"
    run_check("echo first", workspace, log, 30)
    run_check("echo second; exit 4", workspace, log, 30)
    text = log.read_text()
    assert "first" not in text and "second" in text and "exited with 4" in text
