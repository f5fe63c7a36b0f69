"""`baes demo`'s naming when run again (the demo itself runs in tests/test_quickstart.py)."""

from __future__ import annotations

from pathlib import Path

from baes.experiment.create import create_experiment
from baes.experiment.demo import demo_designs


def test_demo_names_do_not_clash_unless_forced(tmp_path: Path):
    root = tmp_path / "experiments"
    for design in demo_designs(root, replace=False):
        create_experiment(root, design)
    again = [d.name for d in demo_designs(root, replace=False)]
    assert again == ["demo-sim-small-2", "demo-sim-large-2"]
    forced = [d.name for d in demo_designs(root, replace=True)]
    assert forced == ["demo-sim-small", "demo-sim-large"]
    assert not (root / "demo-sim-small").exists()  # replaced: the old folder is gone
