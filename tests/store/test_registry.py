"""The registry is a cache: rebuilt from the folders whenever it is missing, corrupt or stale."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from baes.config.builder import DesignOverrides, build_design
from baes.experiment.create import create_experiment
from baes.experiment.registry import registry_for
from baes.store.atomic import file_lock
from baes.store.errors import LockTimeoutError


def _create(root: Path, name: str, runs: int = 3) -> None:
    design = build_design(
        None,
        DesignOverrides(
            name=name,
            model="sim-small",
            frameworks=["reference", "aider"],
            scenario="hello",
            runs=runs,
        ),
        "test",
    )
    create_experiment(root, design)


def test_entries_hold_what_list_shows(tmp_path: Path):
    _create(tmp_path, "alpha", runs=4)
    [entry] = registry_for(tmp_path).view().entries
    assert entry.name == "alpha" and entry.path == "alpha"
    assert entry.status == "created" and entry.model == "sim-small"
    assert entry.frameworks == ["reference", "aider"]
    assert (entry.runs_completed, entry.runs_target) == (0, 8)
    assert entry.config_hash == (tmp_path / "alpha/.meta/config.hash").read_text().strip()
    assert entry.created_at.endswith("Z") and entry.updated_at


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong-shape", "deleted"])
def test_a_damaged_registry_is_rebuilt_with_every_experiment(tmp_path: Path, damage: str):
    for name in ("alpha", "beta", "gamma"):
        _create(tmp_path, name)
    registry_file = tmp_path / ".registry.json"
    good = registry_file.read_text()
    if damage == "garbage":
        registry_file.write_bytes(b"\x00\xff not json")
    elif damage == "truncated":
        registry_file.write_text(good[: len(good) // 2])
    elif damage == "wrong-shape":
        registry_file.write_text("[1, 2, 3]")
    else:
        registry_file.unlink()
    view = registry_for(tmp_path).view()
    assert view.rebuilt and view.problems
    assert [e.name for e in view.entries] == ["alpha", "beta", "gamma"]
    assert json.loads(registry_file.read_text())["experiments"].keys() == {"alpha", "beta", "gamma"}
    assert not registry_for(tmp_path).view().rebuilt  # the rebuilt file is healthy


def test_stale_registry_notices_copied_in_and_deleted_experiments(tmp_path: Path):
    _create(tmp_path, "alpha")
    _create(tmp_path, "beta")
    shutil.copytree(tmp_path / "alpha", tmp_path / "alpha-copy")  # e.g. rsync'ed from elsewhere
    shutil.rmtree(tmp_path / "beta")
    view = registry_for(tmp_path).view()
    assert (
        view.rebuilt
        and "not indexed: alpha-copy" in view.problems[0]
        and "folder gone: beta" in view.problems[0]
    )
    assert [e.name for e in view.entries] == ["alpha", "alpha-copy"]


def test_a_broken_experiment_folder_is_listed_not_fatal(tmp_path: Path):
    _create(tmp_path, "alpha")
    _create(tmp_path, "beta")
    (tmp_path / "beta/config.yaml").write_text("model: [unclosed\n")
    entries = {e.name: e for e in registry_for(tmp_path).rebuild()}
    assert entries["alpha"].status == "created"
    assert entries["beta"].status == "broken" and "malformed YAML" in entries["beta"].problem


def test_concurrent_refreshes_lose_no_entry(tmp_path: Path):
    names = [f"exp-{i}" for i in range(6)]
    for name in names:
        _create(tmp_path, name)
    (tmp_path / ".registry.json").unlink()
    registry = registry_for(tmp_path)
    threads = [threading.Thread(target=registry.refresh, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert json.loads((tmp_path / ".registry.json").read_text())["experiments"].keys() == set(names)


def test_lock_timeout_says_who_to_wait_for(tmp_path: Path):
    target = tmp_path / ".registry.json"
    with file_lock(target):
        with pytest.raises(LockTimeoutError) as caught:
            # flock locks are per open file description, so a second lock in-process contends.
            with file_lock(target, timeout_s=0.2):
                pass
    assert "timed out after 0.2 s waiting for the lock on" in caught.value.message
    assert "BAES_LOCK_TIMEOUT" in caught.value.hint
    assert caught.value.exit_code == 1
