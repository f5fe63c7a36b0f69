"""The scheduler never stops early: every framework that wants a run gets one (issue 10, item 4)."""

from __future__ import annotations

import json
import random

import pytest

from baes.engine.schedule import Interleaver, block_order


@pytest.mark.parametrize("count", [2, 3, 4, 5])
def test_next_never_returns_none_while_a_framework_wants_a_run(count):
    frameworks = [f"f{i}" for i in range(count)]
    for seed in range(150):
        interleaver = Interleaver(frameworks, seed)
        chooser = random.Random(seed)
        for _ in range(4 * count):
            # Any subset may want a run, at any position in any block.
            wanting = {f for f in frameworks if chooser.random() < 0.4}
            chosen = interleaver.next(wanting.__contains__)
            if wanting:
                assert chosen in wanting, (seed, interleaver.block, interleaver.position)
            else:
                assert chosen is None


def test_a_lone_framework_is_found_at_every_block_boundary():
    # The original defect: only one framework wants runs and its turn in the next block comes
    # after the slot where the previous scan stopped.
    frameworks = ["a", "b", "c"]
    for seed in range(50):
        for wanted in frameworks:
            interleaver = Interleaver(frameworks, seed)
            for _ in range(12):
                assert interleaver.next(wanted.__eq__) == wanted


def test_blocks_stay_counterbalanced_when_every_framework_wants_runs():
    frameworks = ["a", "b", "c", "d"]
    interleaver = Interleaver(frameworks, seed=9)
    drawn = [interleaver.next(lambda f: True) for _ in range(4 * 5)]
    assert drawn == [f for block in range(5) for f in block_order(frameworks, 9, block)]


def _new(cli, *args):
    result = cli("new", *args, "-y")
    assert result.exit_code == 0, result.stderr


def test_second_run_gives_every_framework_its_runs_after_a_single_framework_run(cli, root):
    # The exact reproduction from the issue: reference-plan was left at 2/6 with exit 0.
    _new(
        cli,
        "s1",
        "--model",
        "sim-small",
        "--frameworks",
        "reference,reference-plan",
        "--scenario",
        "hello",
        "--runs",
        "6",
        "--min-runs",
        "6",
        "--provider",
        "sim",
    )
    first = cli("run", "s1", "-f", "reference", "--json")
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout)["frameworks"]["reference"]["completed"] == 6
    second = cli("run", "s1", "--json")
    assert second.exit_code == 0, second.stderr
    frameworks = json.loads(second.stdout)["frameworks"]
    assert {name: f["completed"] for name, f in frameworks.items()} == {
        "reference": 6,
        "reference-plan": 6,
    }
    assert {f["outcome"] for f in frameworks.values()} == {"runs_max"}
    plan_runs = list((root / "s1/runs/reference-plan").glob("*/run.json"))
    assert len(plan_runs) == 6


def test_with_parallel_jobs_every_framework_reaches_its_target(cli, root):
    _new(
        cli,
        "s2",
        "--model",
        "sim-small",
        "--frameworks",
        "reference,reference-plan,reference-repair",
        "--scenario",
        "hello",
        "--runs",
        "4",
        "--min-runs",
        "4",
        "--provider",
        "sim",
    )
    assert cli("run", "s2", "-f", "reference-plan", "--json").exit_code == 0
    result = cli("run", "s2", "--jobs", "3", "--json")
    assert result.exit_code == 0, result.stderr
    frameworks = json.loads(result.stdout)["frameworks"]
    assert {f["completed"] for f in frameworks.values()} == {4}
