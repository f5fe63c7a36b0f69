"""A check's status: passed, failed (a verdict on the framework) or error (the harness could not
run it), each with real processes; plus where a step's requirements are taken from."""

from __future__ import annotations

import threading

import pytest

from baes.config.models import StepConfig
from baes.frameworks.check_envs import (
    CheckEnvironment,
    check_environment_for,
    prepare_check_environments,
    unmet_requirements,
)
from baes.frameworks.checks import run_check


@pytest.fixture
def log(tmp_path):
    return tmp_path / "logs" / "check.log"


def test_exit_0_passes_and_another_exit_fails(workspace, log):
    assert run_check("true", workspace, log, 30).status == "passed"
    failed = run_check("exit 3", workspace, log, 30)
    assert failed.status == "failed" and failed.exit_code == 3 and failed.error_reason is None


def test_a_check_that_hangs_is_a_failure_of_the_framework(workspace, log):
    result = run_check("sleep 30", workspace, log, 0.3)
    assert result.status == "failed" and result.timed_out and result.error_reason is None


def test_a_command_that_does_not_exist_is_an_error(workspace, log):
    result = run_check("baes-no-such-command-xyz --flag", workspace, log, 30)
    assert result.status == "error" and result.exit_code == 127 and not result.passed
    assert result.error_reason.startswith("the check's command was not found (exit 127)")
    assert "baes-no-such-command-xyz" in result.error_reason  # bash's own line
    assert "check error" in log.read_text()


def test_a_program_outside_the_workspace_that_is_not_executable_is_an_error(
    workspace, tmp_path, log
):
    tool = tmp_path / "tool.sh"
    tool.write_text("echo hi\n")  # no exec bit
    result = run_check(str(tool), workspace, log, 30)
    assert result.status == "error" and result.exit_code == 126
    assert "not executable (exit 126)" in result.error_reason


@pytest.mark.parametrize(
    ("written", "code"), [(False, 127), (True, 126)], ids=["missing", "no-exec-bit"]
)
def test_a_workspace_program_the_framework_did_not_provide_is_a_failure(
    workspace, log, written, code
):
    # The check runs a script the framework was asked to write: its absence (127) or a missing
    # exec bit (126) is the framework's doing, not the harness's.
    if written:
        (workspace / "run.sh").write_text("echo hi\n")
    result = run_check("./run.sh", workspace, log, 30)
    assert result.status == "failed" and result.exit_code == code
    assert result.error_reason is None
    absolute = run_check(f"{workspace}/scripts/missing.sh", workspace, log, 30)
    assert absolute.status == "failed" and absolute.exit_code == 127


@pytest.mark.parametrize(
    ("command", "name"),
    [("kill -KILL $$", "SIGKILL"), ("bash -c 'kill -SEGV $$'; exit $?", "SIGSEGV")],
    ids=["the-check-itself", "a-process-it-ran"],
)
def test_a_check_killed_by_a_signal_is_an_error(workspace, log, command, name):
    result = run_check(command, workspace, log, 30)
    assert result.status == "error" and not result.timed_out
    assert "killed by signal" in result.error_reason and name in result.error_reason


def test_a_check_stopped_by_ctrl_c_is_an_error_not_a_failure(workspace, log):
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    try:
        result = run_check("sleep 30", workspace, log, 30, cancel=cancel)
    finally:
        timer.cancel()
    assert result.status == "error" and result.exit_code is None and not result.timed_out
    assert "interrupted" in result.error_reason


def test_a_check_whose_environment_is_unavailable_is_not_started(workspace, log):
    environment = CheckEnvironment(("nope",), None, "pip could not install nope")
    result = run_check("touch started", workspace, log, 30, environment=environment)
    assert result.status == "error" and result.exit_code is None
    assert result.error_reason == "check environment unavailable: pip could not install nope"
    assert not (workspace / "started").exists()
    assert "check not run" in log.read_text()


def test_requirements_are_judged_against_what_baes_python_has_installed():
    assert unmet_requirements(["httpx", "pydantic>=2"]) == []
    assert unmet_requirements(["httpx<0.1", "baes-no-such-distribution-xyz"]) == [
        "httpx<0.1",
        "baes-no-such-distribution-xyz",
    ]
    # Not for this platform: not needed at all.
    assert unmet_requirements(["baes-no-such-distribution-xyz; python_version < '3'"]) == []
    # Extras are not verified in place, so they always need a built environment.
    assert unmet_requirements(["httpx[http2]"]) == ["httpx[http2]"]


def test_without_building_a_step_lacking_a_requirement_gets_an_error_not_baes_python(tmp_path):
    steps = [
        StepConfig(id="a", prompt="p", check="true", check_requires=["httpx"]),
        StepConfig(id="b", prompt="p", check="true", check_requires=["baes-nope-xyz"]),
        StepConfig(id="c", prompt="p", check="true"),
        StepConfig(id="d", prompt="p"),
    ]
    checks = prepare_check_environments(steps, tmp_path / "cache", build=False)
    assert checks.for_step("a").error is None and checks.for_step("a").bin_dir is None
    assert "baes-nope-xyz not installed in baes's Python" in checks.for_step("b").error
    assert checks.for_step("c").error is None
    [problem] = checks.problems()
    assert problem.startswith("the checks of step(s) b cannot run")
    assert not (tmp_path / "cache").exists()


def test_a_cache_folder_that_cannot_be_written_is_an_unavailable_environment(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    environment = check_environment_for(["baes-nope-xyz"], blocker / "cache")
    assert environment.bin_dir is None
    assert environment.error.startswith("could not build a check environment in ")


def test_a_check_in_baes_python_names_the_versions_it_gets(tmp_path):
    import sys

    import fastapi
    import httpx

    from baes.frameworks.check_envs import check_environment_for

    environment = check_environment_for(["httpx>=0.27", "fastapi>=0.110"], tmp_path)
    assert environment.bin_dir is None and environment.error is None
    assert environment.description == (
        f"baes's own Python ({sys.executable}) with fastapi {fastapi.__version__}, "
        f"httpx {httpx.__version__}"
    )
