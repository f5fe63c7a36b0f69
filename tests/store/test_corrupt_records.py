"""Damaged or left-over files in a real experiment: every command that reads them answers with one
clear line and an exit code (2 bad input, 0 with a warning when it recovers), never a traceback,
and changes none of the records it refuses (issue 10, "No tracebacks, ever")."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Cli

DESIGN = (
    "name: exp\nmodel: sim-small\nframeworks:\n"
    "  a: {adapter: command, step: 'touch out.txt'}\n"
    "  b: {adapter: command, step: 'touch out.txt'}\n"
    "scenario:\n  name: custom\n  steps:\n"
    "    - id: one\n      prompt: go\n      check: test -f out.txt\n"
    "runs: {min: 2, max: 2}\nanalysis: {bootstrap_samples: 200}\n"
)
OLD = time.time() - 3600  # an hour ago: what a command killed long before leaves


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An experiments root holding `exp`, created and run (2 frameworks × 2 runs) by the CLI."""
    folder = tmp_path_factory.mktemp("template")
    root = folder / "experiments"
    design = folder / "exp.yaml"
    design.write_text(DESIGN)
    cli = Cli()
    assert cli("new", "--config", design, "--root", root).exit_code == 0
    result = cli("run", "exp", "-q", "--root", root)
    assert result.exit_code == 0, result.stderr
    return root


@pytest.fixture
def exp(template: Path, root: Path) -> Path:
    """A fresh copy of the template's experiment under this test's root."""
    shutil.copytree(template, root)
    return root / "exp"


def _run_dirs(exp: Path, framework: str = "a") -> list[Path]:
    return sorted(p for p in (exp / "runs" / framework).iterdir() if p.is_dir())


def _records(exp: Path) -> dict[str, bytes]:
    """The files no reading command may change: the design, its hash and the run records."""
    files = [exp / "config.yaml", exp / ".meta/config.hash", *exp.glob("runs/*/*/run.json")]
    runs = exp / "runs"
    files += [runs] if runs.is_file() else [p for p in runs.iterdir() if p.name != "manifest.json"]
    return {str(p.relative_to(exp)): p.read_bytes() for p in files if p.is_file()}


def _edit_json(path: Path, edit: Callable[[dict], object]) -> None:
    value = json.loads(path.read_text())
    edit(value)
    path.write_text(json.dumps(value))


def _one_error_line(stderr: str, expected: str) -> None:
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert expected in errors[0], stderr


# -- the damages --------------------------------------------------------------------------------


def registry_entry(value: object) -> Callable[[Path], None]:
    def damage(exp: Path) -> None:
        _edit_json(exp.parent / ".registry.json", lambda r: r["experiments"].update(exp=value))

    return damage


def manifest_entry(value: object) -> Callable[[Path], None]:
    def damage(exp: Path) -> None:
        def edit(manifest: dict) -> None:
            manifest["runs"][_run_dirs(exp)[0].name] = value

        _edit_json(exp / "runs/manifest.json", edit)

    return damage


def run_json(edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def damage(exp: Path) -> None:
        path = _run_dirs(exp)[0] / "run.json"
        record = json.loads(path.read_text())
        path.write_text(json.dumps(edit(record)))

    return damage


def copied_run(exp: Path) -> None:
    """A run folder copied under another id: its record still names the original run."""
    original = _run_dirs(exp)[0]
    shutil.copytree(original, original.with_name("20990101-000000-000000-0000000000"))


def framework_folder_is_a_file(exp: Path) -> None:
    shutil.rmtree(exp / "runs/a")
    (exp / "runs/a").write_text("not a folder\n")


def runs_folder_is_a_file(exp: Path) -> None:
    shutil.rmtree(exp / "runs")
    (exp / "runs").write_text("not a folder\n")


def run_progress(value: object) -> Callable[[Path], None]:
    def damage(exp: Path) -> None:
        # One run fewer than the target, so the status is read from run-progress.json.
        dropped = _run_dirs(exp, "b")[0]
        shutil.rmtree(dropped)
        _edit_json(exp / "runs/manifest.json", lambda m: m["runs"].pop(dropped.name))
        (exp / ".meta/run-progress.json").write_text(json.dumps(value))

    return damage


def config_hash(data: bytes) -> Callable[[Path], None]:
    def damage(exp: Path) -> None:
        (exp / ".meta/config.hash").write_bytes(data)

    return damage


def truncated_hash(exp: Path) -> None:
    path = exp / ".meta/config.hash"
    path.write_text(path.read_text()[:20] + "\n")


def alias_bomb(exp: Path) -> None:
    # 9 nested levels of 9 aliases: 81 aliases, 9**9 values once expanded.
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = exp / "config.yaml"
    path.write_text(path.read_text() + "\n".join(lines) + "\n")


def many_aliases(exp: Path) -> None:
    path = exp / "config.yaml"
    path.write_text(
        path.read_text().replace("seed: 0", "seed: &s 0") + f"x: [{', '.join(['*s'] * 150)}]\n"
    )


@dataclass(frozen=True)
class Case:
    damage: Callable[[Path], None]
    # per command: (exit code, text in the one error line, or in a warning when the exit is 0)
    expect: dict[str, tuple[int, str | None]]


READS = ("list", "show", "dry-run", "analyze", "reconcile")
DAMAGED = "restore the run.json"
CASES = {
    "registry entry is a string": Case(
        registry_entry("oops"), {"list": (0, "the entry of 'exp' is malformed (a str")}
    ),
    "registry entry is a list": Case(
        registry_entry([1, 2]), {"list": (0, "the entry of 'exp' is malformed (a list")}
    ),
    "registry entry lacks keys": Case(
        registry_entry({"name": "exp"}), {"list": (0, "the entry of 'exp' is malformed (no ")}
    ),
    "registry entry of wrong types": Case(
        registry_entry(
            {
                "name": "exp",
                "path": "exp",
                "status": "completed",
                "model": None,
                "frameworks": "a",
                "runs_completed": "4",
                "runs_target": 4,
                "created_at": None,
                "updated_at": "x",
                "config_hash": None,
            }
        ),
        {"list": (0, "the entry of 'exp' is malformed ('frameworks' is str")},
    ),
    "manifest entry is a string": Case(
        manifest_entry("completed"),
        {"show": (0, "Input should be an object, not 'completed'"), "dry-run": (0, None)},
    ),
    "manifest entry lacks status": Case(
        manifest_entry({"framework": "a"}),
        {"show": (0, ".status: Field required"), "dry-run": (0, None)},
    ),
    "run.json is []": Case(
        run_json(lambda r: []),
        {
            "show": (0, "not a run record (a JSON list, not an object)"),
            "dry-run": (2, "not a run record (a JSON list, not an object)"),
            "run": (2, "not a run record (a JSON list, not an object)"),
            "analyze": (0, "not a run record"),
            "reconcile": (0, "not a run record"),
        },
    ),
    "run.json has an unknown status": Case(
        run_json(lambda r: {**r, "status": "done"}),
        {
            "show": (
                0,
                "Input should be 'running', 'completed', 'failed' or 'interrupted', not 'done'",
            ),
            "dry-run": (
                2,
                "Input should be 'running', 'completed', 'failed' or 'interrupted', not 'done'",
            ),
            "run": (
                2,
                "Input should be 'running', 'completed', 'failed' or 'interrupted', not 'done'",
            ),
            "analyze": (
                0,
                "Input should be 'running', 'completed', 'failed' or 'interrupted', not 'done'",
            ),
            "reconcile": (
                0,
                "Input should be 'running', 'completed', 'failed' or 'interrupted', not 'done'",
            ),
        },
    ),
    "run.json names another run": Case(
        run_json(lambda r: {**r, "run_id": "20990101-000000-000000-ffffffffff"}),
        {
            "show": (0, "is not its folder's name"),
            "dry-run": (2, "is not its folder's name"),
            "run": (2, "is not its folder's name"),
            "analyze": (0, "is not its folder's name"),
            "reconcile": (0, "is not its folder's name"),
        },
    ),
    "run folder copied under another id": Case(
        copied_run,
        {
            "show": (0, "is not its folder's name"),
            "run": (2, "is not its folder's name"),
            "analyze": (0, "is not its folder's name"),
            "reconcile": (0, "is not its folder's name"),
        },
    ),
    "run-progress.json is []": Case(
        run_progress([]),
        {"list": (0, None), "show": (0, None), "dry-run": (0, None), "run": (0, None)},
    ),
    "run-progress.json states are strings": Case(
        run_progress({"budget_exhausted": False, "frameworks": {"a": "x", "b": ["y"]}}),
        {"list": (0, None), "show": (0, None), "dry-run": (0, None), "run": (0, None)},
    ),
    "config.hash is not UTF-8": Case(
        config_hash(b"\xff\xfe\x00garbage\n"),
        {
            "list": (0, '"status": "broken"'),
            "show": (0, ".meta/config.hash is damaged: not a design hash (not UTF-8"),
            "dry-run": (2, ".meta/config.hash is damaged: not a design hash (not UTF-8"),
            "run": (2, ".meta/config.hash is damaged"),
            "analyze": (2, ".meta/config.hash is damaged"),
        },
    ),
    "config.hash is truncated": Case(
        truncated_hash,
        {
            "list": (0, '"status": "broken"'),
            "show": (0, ".meta/config.hash is damaged: a design hash is 64 hex digits, found 20"),
            "dry-run": (2, ".meta/config.hash is damaged: a design hash is 64 hex digits"),
            "analyze": (2, ".meta/config.hash is damaged"),
        },
    ),
    "runs/<framework> is a file": Case(
        framework_folder_is_a_file,
        {
            "show": (0, "runs/a is not a folder"),
            "dry-run": (2, "runs/a"),
            "run": (2, "runs/a is not a folder"),
            "analyze": (0, None),
            "reconcile": (0, None),
        },
    ),
    "runs is a file": Case(
        runs_folder_is_a_file,
        {
            "list": (0, None),
            "show": (0, "cannot be read as the folder of runs"),
            "run": (2, "cannot be read as the folder of runs"),
            "analyze": (1, "no completed run"),
            "reconcile": (0, None),
        },
    ),
    "config.yaml is an alias bomb": Case(
        alias_bomb,
        {
            "list": (0, '"status": "broken"'),
            "show": (0, "YAML aliases expand the design to more than"),
            "dry-run": (2, "YAML aliases expand the design to more than"),
            "analyze": (2, "YAML aliases expand the design to more than"),
        },
    ),
    "config.yaml has too many aliases": Case(
        many_aliases,
        {
            "show": (0, "more than 100 YAML aliases"),
            "dry-run": (2, "more than 100 YAML aliases"),
        },
    ),
}
COMMANDS = {
    "list": ["list", "--json"],
    "show": ["show", "exp"],
    "dry-run": ["run", "exp", "--dry-run"],
    "run": ["run", "exp", "-q"],
    "analyze": ["analyze", "exp", "--no-figures"],
    "reconcile": ["reconcile", "exp", "--list"],
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_damaged_files_get_one_clear_line_and_stay_as_they_are(cli, exp, case):
    spec = CASES[case]
    spec.damage(exp)
    for command, (code, text) in spec.expect.items():
        before = _records(exp)
        result = cli(*COMMANDS[command])  # catch_exceptions=False: a traceback fails the test
        assert result.exit_code == code, f"{command}: {result.stdout}{result.stderr}"
        assert "Traceback" not in result.stdout + result.stderr
        if code:
            _one_error_line(result.stderr, text)
        elif text is not None:
            assert text in result.stderr + result.stdout, f"{command}: {result.stderr}"
        after = _records(exp)  # new runs may be added; nothing that was there changes
        assert {k: after.get(k) for k in before} == before, f"{command} changed a record"
    # Whatever was refused, nothing else is broken: every command still answers, no traceback.
    for command in READS:
        result = cli(*COMMANDS[command])
        assert result.exit_code in (0, 1, 2), f"{command}: {result.stderr}"


def test_a_run_record_that_is_not_its_folders_is_never_counted_twice(cli, exp):
    copied_run(exp)
    result = cli("analyze", "exp", "--no-figures", "--json")
    assert result.exit_code == 0, result.stderr
    assert "is not its folder's name; left out" in result.stderr
    assert json.loads(result.stdout)["n_runs"] == {"a": 2, "b": 2}
    shown = json.loads(cli("show", "exp", "--json").stdout)
    assert shown["runs"]["a"] == {"running": 0, "completed": 2, "failed": 0, "interrupted": 0}


def test_run_removes_what_killed_commands_left_and_counts_no_empty_run_folder(cli, exp, root):
    leftover_run = exp / "runs/a/20990101-000000-000000-0000000001"
    leftover_run.mkdir()
    (leftover_run / ".run.json.x1y2.tmp").write_text('{"run_id": ')  # killed mid-write
    empty_run = exp / "runs/b/20990101-000000-000000-0000000002"
    empty_run.mkdir()  # killed between mkdir and the first write
    temps = [
        exp / "runs/.manifest.json.abc.tmp",
        exp / ".meta/.run-progress.json.abc.tmp",
        _run_dirs(exp)[0] / ".run.json.abc.tmp",
        root / "..registry.json.abc.tmp",  # the temp name of .registry.json
    ]
    for temp in temps:
        temp.write_text("{")
        os.utime(temp, (OLD, OLD))
    fresh = exp / "runs/.manifest.json.new.tmp"  # a live writer's, a second old: kept
    fresh.write_text("{")

    # Readers count no run folder without run.json and change nothing.
    plan = json.loads(cli("run", "exp", "--dry-run", "--json").stdout)["frameworks"]
    assert [p["completed"] for p in plan] == [2, 2] and [p["remaining_max"] for p in plan] == [0, 0]
    shown = json.loads(cli("show", "exp", "--json").stdout)
    two_done = {"running": 0, "completed": 2, "failed": 0, "interrupted": 0}
    assert shown["runs"] == {"a": two_done, "b": two_done}
    assert leftover_run.exists() and empty_run.exists() and all(t.exists() for t in temps)

    # The next `baes run`, which owns the run folders, removes them.
    result = cli("run", "exp", "-q")
    assert result.exit_code == 0, result.stderr
    assert not leftover_run.exists() and not empty_run.exists()
    assert [t for t in temps if t.exists()] == []
    assert fresh.exists()
    assert len(list(exp.glob("runs/*/*/run.json"))) == 4


def test_run_refuses_a_run_folder_without_run_json_that_holds_something(cli, exp):
    stray = exp / "runs/a/20990101-000000-000000-0000000003"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine\n")
    shown = cli("show", "exp")
    assert shown.exit_code == 0 and "has no run.json; not counted" in shown.stderr
    result = cli("run", "exp", "-q")
    assert result.exit_code == 2
    _one_error_line(result.stderr, f"{stray} has no run.json; not counted")
    assert (stray / "notes.txt").read_text() == "mine\n"


def test_new_removes_staging_folders_of_killed_news_but_not_a_live_one(cli, root, tmp_path):
    root.mkdir()
    stale = root / ".new-exp.k1ll3d"
    (stale / ".meta").mkdir(parents=True)
    (stale / "config.yaml").write_text("name: exp\n")
    os.utime(stale, (OLD, OLD))
    live = root / ".new-other.l1v3"
    live.mkdir()
    design = tmp_path / "exp.yaml"
    design.write_text(DESIGN)
    assert cli("new", "--config", design).exit_code == 0
    assert not stale.exists() and live.exists()
    assert [e["name"] for e in json.loads(cli("list", "--json").stdout)] == ["exp"]
