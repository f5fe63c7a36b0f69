"""The academic-crud checks in a check environment baes builds from the package index (network,
tens of seconds): what a user who installed baes without its `test` extra gets."""

from __future__ import annotations

import shutil

import pytest

from baes.frameworks.check_envs import check_environment_for
from baes.frameworks.checks import run_check
from tests.frameworks.conftest import FIXTURES, scenario_steps


@pytest.mark.slow
def test_the_academic_crud_checks_pass_in_a_built_environment(tmp_path):
    steps = scenario_steps("academic-crud")
    notices: list[str] = []
    # `build` regardless of what baes's own Python has: ask for the requirements plus one baes
    # lacks (it is not installed with baes), as after a plain `pip install baes`.
    requirements = [*steps[0]["check_requires"], "six"]
    environment = check_environment_for(requirements, tmp_path / "cache", notify=notices.append)
    assert environment.error is None, environment.error
    assert environment.bin_dir is not None and notices
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    for number, step in enumerate(steps, start=1):
        shutil.copy(FIXTURES / f"academic_crud_step{number}" / "main.py", workspace / "main.py")
        log = tmp_path / f"{number}.check.log"
        result = run_check(step["check"], workspace, log, 120, environment=environment)
        assert result.status == "passed", log.read_text()
    # Built once: asking again takes the cached environment and builds nothing.
    again: list[str] = []
    assert check_environment_for(requirements, tmp_path / "cache", notify=again.append) == (
        environment
    )
    assert again == []
