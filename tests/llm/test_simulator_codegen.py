"""Code answers are real: the shipped scenarios' checks pass on them, and injected defects fail."""

from __future__ import annotations

import shlex
import subprocess
import sys
from importlib import resources
from pathlib import Path

import openai
import pytest
from ruamel.yaml import YAML

from baes.simulator import (
    FILE_BLOCK_FORMAT,
    SimulatorOptions,
    UnsafeFilePathError,
    generate_answer,
    parse_file_blocks,
    render_file_blocks,
    start_simulator,
)
from baes.simulator.messages import Message

SYSTEM = "You are a careful software engineer.\n" + FILE_BLOCK_FORMAT
SEED_BUDGET = 40


def _scenario(name: str) -> list[dict]:
    path = resources.files("baes") / "config" / "presets" / "scenarios" / f"{name}.yaml"
    return YAML(typ="safe").load(path.read_text())["steps"]


def _messages(prompt: str, files: dict[str, str]) -> list[dict]:
    """What a whole-file framework sends: the instructions, the current files, the task."""
    shown = f"Current files:\n\n{render_file_blocks(files)}\n" if files else ""
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"{shown}Task:\n{prompt}"},
    ]


def _run_steps(
    client: openai.OpenAI, model: str, steps: list[dict]
) -> tuple[list[dict[str, str]], list[str | None]]:
    """Feed the steps cumulatively; returns the files after each step and each step's defect."""
    files: dict[str, str] = {}
    snapshots, defects = [], []
    for step in steps:
        raw = client.chat.completions.with_raw_response.create(
            model=model, messages=_messages(step["prompt"], files)
        )
        defects.append(raw.headers.get("x-simulator-defect"))
        files = {**files, **parse_file_blocks(raw.parse().choices[0].message.content)}
        snapshots.append(dict(files))
    return snapshots, defects


def _find_seed(
    model: str, steps: list[dict], want_defect: bool
) -> tuple[int, list[dict[str, str]], list]:
    """The first seed whose answers are all clean (or whose first answer is defective)."""
    for seed in range(SEED_BUDGET):
        with start_simulator(SimulatorOptions(seed=seed)) as sim:
            client = openai.OpenAI(base_url=sim.base_url, api_key="k")
            snapshots, defects = _run_steps(client, model, steps[:1] if want_defect else steps)
        if (defects[0] is not None) if want_defect else not any(defects):
            return seed, snapshots, defects
    raise AssertionError(f"no suitable seed among {SEED_BUDGET}")


def _check(step: dict, workspace: Path) -> subprocess.CompletedProcess[str]:
    """Run a scenario check in the workspace, with this interpreter as `python`."""
    command = step["check"].replace("python", shlex.quote(sys.executable), 1)
    return subprocess.run(
        command,
        shell=True,
        executable="/bin/bash",
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _write(files: dict[str, str], workspace: Path) -> None:
    for path, content in files.items():
        target = workspace / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)


def test_hello_answers_pass_the_hello_checks(tmp_path):
    steps = _scenario("hello")
    _, snapshots, _ = _find_seed("sim-large", steps, want_defect=False)
    for step, files in zip(steps, snapshots, strict=True):
        _write(files, tmp_path)
        result = _check(step, tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr


def test_academic_crud_six_cumulative_steps_pass_all_checks(tmp_path):
    steps = _scenario("academic-crud")
    _, snapshots, _ = _find_seed("sim-large", steps, want_defect=False)
    for step, files in zip(steps, snapshots, strict=True):
        assert set(files) == {"main.py"}
        _write(files, tmp_path)  # the SQLite file persists between steps, as in a real run
        result = _check(step, tmp_path)
        assert result.returncode == 0, f"step {step['id']}: {result.stdout}{result.stderr}"


def test_injected_defect_makes_the_check_fail(tmp_path):
    steps = _scenario("academic-crud")
    _, snapshots, defects = _find_seed("sim-small", steps, want_defect=True)
    assert defects[0].split(":")[0] in {
        "create_status",
        "delete_status",
        "missing_get_one",
        "missing_404",
        "field_not_required",
    }
    _write(snapshots[0], tmp_path)
    result = _check(steps[0], tmp_path)
    assert result.returncode != 0


def _defect_count(extra: list[Message], seeds: range) -> int:
    prompt = _scenario("academic-crud")[0]["prompt"]
    return sum(
        generate_answer([Message("user", prompt), *extra], "sim-small", seed).defect is not None
        for seed in seeds
    )


def test_repair_requests_carry_fewer_defects():
    seeds = range(300)
    fresh = _defect_count([], seeds)
    repair = _defect_count(
        [
            Message("assistant", "..."),
            Message(
                "user",
                "The check failed:\nTraceback (most recent call last):\nAssertionError: DELETE did not return 204",
            ),
        ],
        seeds,
    )
    assert 45 <= fresh <= 105  # sim-small: 25 % of 300
    assert repair < fresh / 2  # sim-small repairing: 5 %


def _clean_answer(messages: list[Message], model: str = "sim-large"):
    """The answer of the first seed that injects no defect (seeds are cheap in-process)."""
    for seed in range(SEED_BUDGET):
        answer = generate_answer(messages, model, seed)
        if answer.defect is None:
            return answer
    raise AssertionError("every seed injected a defect")


def test_history_alone_recovers_the_same_application_as_current_files():
    steps = _scenario("academic-crud")
    history: list[Message] = []
    files: dict[str, str] = {}
    for step in steps:
        history.append(Message("user", step["prompt"]))
        from_history = _clean_answer(history).files["main.py"]
        history.append(Message("assistant", "Done."))  # no code echoed: only the prompts remain
        shown = [
            Message("user", m["content"])
            for m in _messages(step["prompt"], files)
            if m["role"] == "user"
        ]
        files.update(_clean_answer(shown).files)
        assert from_history == files["main.py"], f"step {step['id']}"
    for table in ("students", "courses", "teachers", "student_courses"):
        assert f"CREATE TABLE IF NOT EXISTS {table}" in files["main.py"]


def test_other_crud_and_function_prompts_are_understood(tmp_path):
    prompt = (
        "Build a web API for a library system with FastAPI and SQLite in `app.py`. "
        "Add a Book entity with the required string fields `title` and `author` and an optional "
        "integer field `year`. Add an Author entity with a required string field `name`. "
        "Also write `slugify(title)` in `text_tools.py` that returns the lowercase of `title`."
    )
    answer = _clean_answer([Message("user", prompt)])
    assert set(answer.files) == {"app.py", "text_tools.py"}
    _write(answer.files, tmp_path)
    script = (
        "from fastapi.testclient import TestClient\nimport app, text_tools\nc = TestClient(app.app)\n"
        "r = c.post('/books', json={'title': 'Dune', 'author': 'Herbert'})\n"
        "assert r.status_code == 201 and r.json()['year'] is None, r.text\n"
        "assert c.post('/books', json={'title': 'Dune'}).status_code == 422\n"
        "assert c.post('/authors', json={'name': 'Le Guin'}).json()['name'] == 'Le Guin'\n"
        "assert text_tools.slugify('DuNe') == 'dune'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_plan_request_gets_a_numbered_plan_without_file_blocks():
    answer = generate_answer(
        [Message("user", "Make a plan for the student API. Do not write code yet.")], "sim-small", 0
    )
    assert answer.files == {} and parse_file_blocks(answer.text) == {}
    assert answer.text.splitlines()[2].startswith("1. ")


def test_file_blocks_round_trip_and_reject_paths_outside_the_workspace():
    files = {"pkg/a.py": "x = 1\n", "README.md": "```\nnested fence\n```\n"}
    text = "Some prose first.\n\n" + render_file_blocks(files) + "\nRun `python -m pkg`.\n"
    assert parse_file_blocks(text) == files
    assert parse_file_blocks("```bash\npython main.py\n```\n") == {}  # no path line: not a file
    assert parse_file_blocks(FILE_BLOCK_FORMAT) == {
        "pkg/example.py": "def example():\n    return 42\n"
    }
    with pytest.raises(UnsafeFilePathError):
        parse_file_blocks("../outside.py\n```python\nx = 1\n```\n")
