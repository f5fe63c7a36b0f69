"""The lifecycle commands through the real CLI on an experiment really run on the simulator:
`baes runs`, `baes rm`, `baes export`, `baes note`, `baes tag` and `baes list --tag`."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from baes.cli.app import app
from baes.engine.run_lock import RunLock
from baes.store.paths import ExperimentPaths
from tests.cli.test_startup import _heavy_modules_after

FRAMEWORKS = ["reference", "reference-plan"]


def _records(root: Path, name: str) -> dict[str, dict]:
    records = (json.loads(p.read_text()) for p in (root / name / "runs").glob("*/*/run.json"))
    return {r["run_id"]: r for r in records}


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> Path:
    """A root with experiment `exp` (2 frameworks × 2 runs done on the simulator) and `other`
    (created, not run); built once, copied by each test that changes it."""
    root = tmp_path_factory.mktemp("ran") / "experiments"
    runner = CliRunner()
    for name in ("exp", "other"):
        created = runner.invoke(
            app,
            ["new", name, "--model", "sim-small", "--frameworks", ",".join(FRAMEWORKS)]
            + ["--scenario", "hello", "--runs", "2", "--provider", "sim", "--root", str(root)],
            catch_exceptions=False,
        )
        assert created.exit_code == 0, created.output
    done = runner.invoke(app, ["run", "exp", "--root", str(root)], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert len(_records(root, "exp")) == 4
    return root


@pytest.fixture
def copy(ran: Path, root: Path) -> Path:
    """A copy of the run root as this test's BAES_ROOT."""
    shutil.copytree(ran, root, symlinks=True)
    return root


def _price(root: Path, name: str) -> dict[str, float]:
    return YAML(typ="safe").load((root / name / "config.yaml").read_text())["pricing"]["sim-small"]


def test_runs_lists_each_run_with_numbers_from_its_record(cli, copy):
    records = _records(copy, "exp")
    price = _price(copy, "exp")
    listed = json.loads(cli("runs", "exp", "--json").stdout)
    assert listed["experiment"] == "exp" and listed["problems"] == []
    rows = listed["runs"]
    assert [r["run_id"] for r in rows] == sorted(records)  # in the order they started
    for row in rows:
        record = records[row["run_id"]]
        totals = record["totals"]
        assert row["framework"] == record["framework"] and row["status"] == "completed"
        assert row["input_tokens"] == totals["input_tokens"] > 0
        assert row["output_tokens"] == totals["output_tokens"] > 0
        assert row["checks_passed"] == totals["checks_passed"] == row["checks_total"] == 2
        assert row["duration_s"] == totals["wall_seconds"]
        assert row["verification"] == "unverified"
        uncached = totals["input_tokens"] - totals["cached_tokens"]
        expected = (
            uncached * price["input"]
            + totals["cached_tokens"] * price["cached_input"]
            + totals["output_tokens"] * price["output"]
        ) / 1e6
        assert row["cost_usd"] == pytest.approx(expected, rel=1e-12)

    text = cli("runs", "exp")
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert lines[0].startswith("runs of exp") and lines[1].split()[:3] == [
        "run",
        "framework",
        "status",
    ]
    for row in rows:
        (line,) = [ln for ln in lines if ln.startswith(row["run_id"])]
        fields = line.split()
        assert fields[1:3] == [row["framework"], "completed"]
        assert f"{row['input_tokens']:,}/{row['output_tokens']:,}" in fields
        assert "2/2" in fields and fields[-1] == "unverified"
        assert f"${row['cost_usd']:.4f}" in fields

    only = json.loads(cli("runs", "exp", "--framework", "reference", "--json").stdout)["runs"]
    assert {r["framework"] for r in only} == {"reference"} and len(only) == 2
    none = cli("runs", "exp", "--status", "failed")
    assert none.exit_code == 0 and "no failed runs in exp" in none.stdout
    empty = json.loads(cli("runs", "other", "--json").stdout)
    assert empty["runs"] == []


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "exp", "--framework", "nope"],
        ["runs", "exp", "--status", "done"],
        ["export", "exp", "--format", "xml"],
        ["export", "exp", "--level", "call"],
        ["tag", "exp", "Not A Tag"],
        ["tag", "exp", "--remove", "never-added"],
        ["note", "exp", "   "],
        ["note", "exp", "bell \x07 here"],
        ["list", "--tag", "../x"],
    ],
)
def test_bad_options_exit_2_with_one_line(cli, copy, args):
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert not (copy / "exp" / ".meta" / "annotations.json").exists()


@pytest.mark.parametrize("command", ["runs", "rm", "export", "note", "tag", "show"])
@pytest.mark.parametrize("name", ["nope", "../x", "../experiments/exp", "Exp"])
def test_unknown_or_invalid_names_exit_2(cli, copy, command, name):
    extra = {"rm": ["--yes"], "note": ["text"], "tag": ["t"]}.get(command, [])
    result = cli(command, name, *extra)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert (copy / "exp" / "config.yaml").is_file()


def test_notes_and_tags_do_not_change_the_hash_and_show_in_list_and_show(cli, copy):
    hash_file = copy / "exp" / ".meta" / "config.hash"
    before = hash_file.read_text()
    assert json.loads(cli("tag", "exp", "pilot", "gpt-4", "--json").stdout) == {
        "experiment": "exp",
        "tags": ["gpt-4", "pilot"],
    }
    assert cli("tag", "exp", "pilot").stdout.strip() == "exp: gpt-4, pilot"  # kept once
    note = "first pilot [bold]not markup[/] <b>\nsecond line"
    assert cli("note", "exp", note).exit_code == 0
    assert cli("note", "exp", "another").stdout.startswith("noted on exp (2 note(s))")

    shown = json.loads(cli("show", "exp", "--json").stdout)
    assert shown["config_ok"] is True and shown["config_hash"] == before.strip()
    assert shown["status"] == "completed"
    assert shown["tags"] == ["gpt-4", "pilot"]
    assert [n["text"] for n in shown["notes"]] == [note, "another"]
    assert hash_file.read_text() == before
    text = cli("show", "exp").stdout
    assert "config matches its hash" in text and "tags        gpt-4, pilot" in text
    assert "first pilot [bold]not markup[/] <b>" in text and "            second line" in text

    listed = {e["name"]: e for e in json.loads(cli("list", "--json").stdout)}
    assert listed["exp"]["tags"] == ["gpt-4", "pilot"] and listed["other"]["tags"] == []
    table = cli("list").stdout.splitlines()
    assert table[1].split()[-1] == "tags"
    # `baes run` still accepts the design: nothing left to run, but no config-changed refusal.
    assert cli("run", "exp").exit_code == 0

    assert [e["name"] for e in json.loads(cli("list", "--tag", "pilot", "--json").stdout)] == [
        "exp"
    ]
    assert json.loads(cli("list", "--tag", "pilot", "--tag", "nope", "--json").stdout) == []
    assert "no experiments tagged nope" in cli("list", "--tag", "nope").stdout

    assert cli("tag", "exp", "--remove", "pilot", "renamed").stdout.strip() == (
        "exp: gpt-4, renamed"
    )
    assert cli("tag", "exp", "--remove", "gpt-4", "--remove", "renamed").exit_code == 0
    assert json.loads(cli("tag", "exp", "--json").stdout)["tags"] == []
    # No tag anywhere: no tags column.
    assert "tags" not in cli("list").stdout.splitlines()[1]
    stored = json.loads((copy / "exp" / ".meta" / "annotations.json").read_text())
    assert stored["schema_version"] == 1 and len(stored["notes"]) == 2


def test_a_damaged_annotations_file_is_named_not_overwritten(cli, copy):
    broken = copy / "exp" / ".meta" / "annotations.json"
    broken.write_text("{not json")
    result = cli("tag", "exp", "x")
    assert result.exit_code == 1 and "annotations.json is not a baes annotations file" in (
        result.stderr
    )
    assert broken.read_text() == "{not json"
    listed = cli("list", "--json")
    assert listed.exit_code == 0 and "annotations.json" in listed.stderr
    shown = cli("show", "exp", "--json")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["tags"] == []
    assert any("annotations.json" in p for p in json.loads(shown.stdout)["problems"])


def test_rm_asks_refuses_without_a_terminal_and_deletes_with_yes(cli, copy):
    refused = cli("rm", "exp")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) <= 2  # the error and its hint
    assert (copy / "exp" / "config.yaml").is_file()

    removed = cli("rm", "exp", "--yes", "--json")
    assert removed.exit_code == 0, removed.output
    assert json.loads(removed.stdout) == {
        "removed": "exp",
        "path": str((copy / "exp").absolute()),
        "runs": 4,
    }
    assert not (copy / "exp").exists()
    assert [p.name for p in copy.iterdir() if p.name.startswith(".rm-")] == []
    registry = json.loads((copy / ".registry.json").read_text())
    assert list(registry["experiments"]) == ["other"]
    listed = cli("list", "--json")
    assert [e["name"] for e in json.loads(listed.stdout)] == ["other"] and listed.stderr == ""
    text = cli("rm", "other", "--yes")
    assert text.stdout.startswith("removed experiment other (0 run(s))")
    assert cli("rm", "other", "--yes").exit_code == 2  # gone


def test_rm_refuses_while_a_run_holds_the_lock(cli, copy):
    lock = RunLock(ExperimentPaths(copy, "exp").run_lock, "exp").acquire()
    try:
        result = cli("rm", "exp", "--yes")
    finally:
        lock.release()
    assert result.exit_code == 1
    assert result.stderr.startswith("error: experiment 'exp' is already being run by process")
    assert len(result.stderr.strip().splitlines()) == 2  # the error and its hint
    assert len(_records(copy, "exp")) == 4 and (copy / "exp" / "config.yaml").is_file()
    assert cli("rm", "exp", "--yes").exit_code == 0  # released: removable


def test_rm_never_follows_a_symlink_out_of_the_root(cli, copy, tmp_path):
    outside = tmp_path / "elsewhere"
    shutil.move(copy / "other", outside)
    (copy / "other").symlink_to(outside, target_is_directory=True)
    result = cli("rm", "other", "--yes")
    assert result.exit_code == 2 and "symbolic link" in result.stderr
    assert (outside / "config.yaml").is_file()
    # A symlink inside an experiment is unlinked, its target kept.
    (copy / "exp" / "link-out").symlink_to(outside, target_is_directory=True)
    assert cli("rm", "exp", "--yes").exit_code == 0
    assert (outside / "config.yaml").is_file() and not (copy / "exp").exists()


def test_rm_asks_on_a_terminal(copy):
    def answer(text: str) -> subprocess.CompletedProcess[bytes]:
        controller, terminal = pty.openpty()
        os.write(controller, text.encode())
        try:
            return subprocess.run(
                [sys.executable, "-m", "baes", "rm", "exp"],
                stdin=terminal,
                capture_output=True,
                timeout=60,
                env={**os.environ, "BAES_ROOT": str(copy)},
            )
        finally:
            os.close(controller)
            os.close(terminal)

    kept = answer("n\n")
    assert kept.returncode == 2 and b"Delete experiment 'exp' and its 4 run(s)" in kept.stderr
    assert (copy / "exp" / "config.yaml").is_file()
    # End of input at the prompt (Ctrl-D): click aborts; one line, exit 1, nothing deleted.
    aborted = answer("\x04")
    assert aborted.returncode == 1, aborted.stderr
    assert aborted.stderr.decode().strip().splitlines()[-1] == "aborted"
    assert "Traceback" not in aborted.stderr.decode()
    assert (copy / "exp" / "config.yaml").is_file()
    # Ctrl-C at the prompt: exit 130 as everywhere in baes, nothing deleted.
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "baes", "rm", "exp"],
        stdin=terminal,
        stderr=subprocess.PIPE,
        env={**os.environ, "BAES_ROOT": str(copy)},
    )
    try:
        shown = b""
        while b"Delete experiment" not in shown:  # the prompt is up: baes waits for the answer
            chunk = process.stderr.read1(4096)
            assert chunk, "baes rm ended before asking"
            shown += chunk
        process.send_signal(signal.SIGINT)
        rest = process.communicate(timeout=60)[1]
    finally:
        os.close(controller)
        os.close(terminal)
    assert process.returncode == 130, shown + rest
    assert rest.decode().strip().splitlines()[-1] == "interrupted"
    assert (copy / "exp" / "config.yaml").is_file()
    gone = answer("y\n")
    assert gone.returncode == 0, gone.stderr
    assert not (copy / "exp").exists()


def test_export_gives_the_analysis_numbers_as_csv_and_jsonl(cli, copy, tmp_path):
    records = _records(copy, "exp")
    runs = {r["run_id"]: r for r in json.loads(cli("runs", "exp", "--json").stdout)["runs"]}
    result = cli("export", "exp")
    assert result.exit_code == 0 and result.stderr == ""
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert sorted(r["run_id"] for r in rows) == sorted(records)
    for row in rows:
        record = records[row["run_id"]]
        assert row["framework"] == record["framework"] and row["status"] == "completed"
        assert row["analysed"] == "true" and row["missing"] == ""
        assert float(row["TOK_IN"]) == record["totals"]["input_tokens"]
        assert float(row["API_CALLS"]) == record["totals"]["calls"]
        assert float(row["CHECK_PASS_RATE"]) == 1.0
        assert float(row["COST_USD"]) == pytest.approx(runs[row["run_id"]]["cost_usd"], rel=1e-12)

    as_jsonl = cli("export", "exp", "--format", "jsonl").stdout.splitlines()
    parsed = [json.loads(line) for line in as_jsonl]
    assert [p["run_id"] for p in parsed] == [r["run_id"] for r in rows]
    assert parsed[0]["TOK_IN"] == float(rows[0]["TOK_IN"]) and parsed[0]["missing"] is None

    # The same numbers as the analysis: the analysis's tidy data.csv, value for value.
    assert cli("analyze", "exp", "--no-figures").exit_code == 0
    tidy = list(csv.DictReader((copy / "exp" / "analysis" / "data.csv").open()))
    by_run = {p["run_id"]: p for p in parsed}
    assert tidy and all(float(t["value"]) == by_run[t["run"]][t["metric"]] for t in tidy)

    out = tmp_path / "steps.csv"
    written = cli("export", "exp", "--level", "step", "--out", out)
    assert written.exit_code == 0 and written.stdout == ""
    assert f"wrote 8 step row(s) of exp to {out}" in written.stderr
    steps = list(csv.DictReader(out.open()))
    assert len(steps) == 8 and {s["step_id"] for s in steps} == {"greet", "farewell"}
    for step in steps:
        recorded = next(s for s in records[step["run_id"]]["steps"] if s["id"] == step["step_id"])
        assert int(step["input_tokens"]) == recorded["usage"]["input_tokens"]
        assert step["check"] == "passed" and step["check_exit_code"] == "0"
    assert cli("export", "exp", "--out", tmp_path).exit_code == 2  # a folder
    described = cli("export", "exp", "--format", "jsonl", "--out", tmp_path / "r.jsonl", "--json")
    assert json.loads(described.stdout) == {
        "experiment": "exp",
        "path": str(tmp_path / "r.jsonl"),
        "format": "jsonl",
        "level": "run",
        "rows": 4,
        "problems": [],
    }
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 4
    assert cli("export", "exp", "--json").exit_code == 2  # the data is the output already


def test_export_refuses_an_edited_design(cli, copy):
    config = copy / "exp" / "config.yaml"
    config.write_text(config.read_text().replace("output: 2.0", "output: 9.0"))
    result = cli("export", "exp")
    assert result.exit_code == 2 and "hash" in result.stderr and result.stdout == ""


def test_export_to_a_closed_pipe_is_quiet(copy):
    reader = subprocess.Popen(
        f"{sys.executable} -m baes export exp --format jsonl --level step | head -c 10",
        shell=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "BAES_ROOT": str(copy)},
    )
    out, err = reader.communicate(timeout=60)
    assert len(out) == 10 and b"error" not in err


def test_names_complete_and_list_tag_stays_light(copy):
    env = {
        **os.environ,
        "BAES_ROOT": str(copy),
        "_BAES_COMPLETE": "complete_bash",
        "COMP_WORDS": "baes rm ot",
        "COMP_CWORD": "2",
    }
    completed = subprocess.run(
        [sys.executable, "-m", "baes"], capture_output=True, text=True, env=env, timeout=60
    )
    assert completed.stdout.split() == ["other"]
    assert _heavy_modules_after(["baes", "list", "--tag", "x"], {"BAES_ROOT": str(copy)}) == []


def test_a_failed_run_and_a_damaged_record_are_shown_not_hidden(cli, copy):
    from baes.experiment.load import inspect_experiment
    from tests.analysis.run_records import run_record, write_run

    experiment = inspect_experiment(copy, "exp")
    failed = run_record(
        experiment.config,
        "reference",
        99,
        status="failed",
        input_tokens=None,
        error={"kind": "step_failed", "message": "step greet exited 1\nTraceback: long"},
    )
    write_run(experiment.paths, failed)
    damaged = next((copy / "exp" / "runs" / "reference-plan").glob("*/run.json"))
    damaged.write_text("{broken")

    listed = json.loads(cli("runs", "exp", "--json").stdout)
    rows = {r["run_id"]: r for r in listed["runs"]}
    row = rows[failed["run_id"]]
    assert row["status"] == "failed" and row["error"].startswith("step_failed: step greet exited 1")
    assert row["input_tokens"] is None and row["cost_usd"] is None
    assert "input tokens not reported" in row["reasons"]["cost_usd"]
    assert row["reasons"]["tokens"] == "not recorded"
    broken = rows[damaged.parent.name]
    assert (
        broken["input_tokens"] is None
        and "not a run record (invalid JSON" in broken["reasons"]["record"]
    )
    assert any("not a run record (invalid JSON" in p for p in listed["problems"])

    text = cli("runs", "exp")
    assert f"{failed['run_id']}: step_failed: step greet exited 1" in text.stdout
    assert "Traceback" not in text.stdout  # the first line of the message only
    assert "not a run record (invalid JSON" in text.stderr
    assert json.loads(cli("runs", "exp", "--status", "failed", "--json").stdout)["runs"] == [row]

    export = cli("export", "exp")
    assert export.exit_code == 0 and "not a run record (invalid JSON" in " ".join(
        export.stderr.split()
    )
    exported = list(csv.DictReader(io.StringIO(export.stdout)))
    (failed_row,) = [r for r in exported if r["run_id"] == failed["run_id"]]
    assert failed_row["analysed"] == "false" and failed_row["error_kind"] == "step_failed"
    assert failed_row["TOK_IN"] == "" and failed_row["COST_USD"] == ""
    assert damaged.parent.name not in {r["run_id"] for r in exported}  # left out, as in analyze


def test_rm_deletes_even_when_the_registry_is_locked_and_says_so(cli, copy, monkeypatch):
    from baes.store.atomic import file_lock

    monkeypatch.setenv("BAES_LOCK_TIMEOUT", "0.2")
    with file_lock(copy / ".registry.json"):
        result = cli("rm", "exp", "--yes")
    assert result.exit_code == 1
    assert "experiment 'exp' is deleted, but its registry entry could not be removed" in (
        result.stderr
    )
    assert not (copy / "exp").exists()
    assert [p for p in copy.iterdir() if p.name.startswith(".rm-")] == []
    listed = cli("list", "--json")  # the registry heals itself from the folders
    assert [e["name"] for e in json.loads(listed.stdout)] == ["other"]
    assert "folder gone: exp" in listed.stderr
