"""Running a step's check: a shell command in the workspace; exit 0 is a pass.

A failing check is a measurement, not an error, so nothing here raises for one: the result says
how it went and check.log holds what it printed (stdout and stderr interleaved, as a user would
see them in a terminal), followed by one line saying how it ended.

A check the harness could not run is neither a pass nor a failure but an `error`: its declared
requirements are missing (see check_envs.py), its command was not found or not executable
(exit 126/127; unless it is a path in the workspace, which the framework was to write), it was
killed by a signal baes did not send, or Ctrl-C stopped it. A check that
runs past its time limit is a failure: the framework's code hung.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Collection, Mapping
from pathlib import Path

from baes.frameworks.check_envs import CheckEnvironment
from baes.frameworks.contract import CheckResult, CheckStatus
from baes.frameworks.process_env import inherited_environ, with_python_first
from baes.frameworks.processes import ProcessResult, last_output_line, run_process

# Exit codes of a shell whose command could not be run: found but not executable, not found.
COMMAND_NOT_RUN_CODES = (126, 127)
# bash's own line for such a command: "bash: line 1: ./run.sh: No such file or directory".
_NOT_RUN_LINE = re.compile(
    r"(?:^|: )(?P<name>[^:]+): (?:command not found|No such file or directory|Permission denied)$"
)


def check_environment(
    extra: Mapping[str, str] | None = None, withheld_env: Collection[str] = ()
) -> dict[str, str]:
    """The environment of a check: the inherited allow-list minus `withheld_env` (the design's
    key variables; see process_env), baes's Python first on PATH, plus `extra`."""
    env = with_python_first(inherited_environ(withheld_env))
    # Bytecode caches would end up in the archived workspace as if the framework wrote them.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def run_check(
    command: str,
    workspace: Path,
    log_path: Path,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    cancel: threading.Event | None = None,
    withheld_env: Collection[str] = (),
    environment: CheckEnvironment | None = None,
) -> CheckResult:
    """Run a check `command` in `workspace`, output to `log_path`, stopped after `timeout_s`.

    `env` holds extra variables on top of check_environment(), which never passes the
    variables named in `withheld_env` (the design's keys). `environment` is where the check's
    requirements are (None: baes's own Python); when it could not be prepared the check is not
    started and the result is an error. The log is replaced, not appended to, so after a repair
    round it shows the latest check.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_bytes(b"")
    if environment is not None and environment.error is not None:
        return _not_run(log_path, f"check environment unavailable: {environment.error}")
    process_env = check_environment(env, withheld_env)
    if environment is not None and environment.bin_dir is not None:
        process_env = _with_virtualenv(process_env, environment.bin_dir)
    try:
        result = run_process(
            command,
            cwd=workspace,
            env=process_env,
            stdout_path=log_path,
            stderr_path=None,
            deadline=time.monotonic() + timeout_s,
            cancel=cancel,
        )
    except OSError as exc:
        return _not_run(log_path, f"the check could not be started: {exc}")
    status, reason = _verdict(result, log_path, workspace)
    if result.timed_out:
        ending = f"timed out after {timeout_s:g} s; its process group was stopped"
    elif result.cancelled:
        ending = "interrupted"
    else:
        ending = f"exited with {result.exit_code} after {result.duration_s:.2f} s"
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"\n[baes] check {ending}\n")
        if reason is not None:
            log.write(f"[baes] check error (not counted for or against the framework): {reason}\n")
    return CheckResult(
        status=status,
        exit_code=result.exit_code,
        duration_s=result.duration_s,
        timed_out=result.timed_out,
        error_reason=reason,
    )


def _verdict(
    result: ProcessResult, log_path: Path, workspace: Path
) -> tuple[CheckStatus, str | None]:
    """passed, failed, or error with its one-line reason."""
    if result.cancelled:
        return "error", "interrupted by the user before the check finished"
    if result.timed_out:
        return "failed", None  # the generated code hung: the framework's doing
    code = result.exit_code
    if code == 0:
        return "passed", None
    if code in COMMAND_NOT_RUN_CODES:
        last = last_output_line(log_path)
        if _names_a_workspace_file(last, workspace):
            return "failed", None  # a program the framework was to write is missing or unusable
        what = "not executable" if code == 126 else "not found"
        return "error", f"the check's command was {what} (exit {code})" + (
            f": {last}" if last else ""
        )
    signum = _signal_of(code)
    if signum is not None:
        return "error", f"the check was killed by signal {signum} ({_signal_name(signum)})"
    return "failed", None


def _names_a_workspace_file(shell_line: str, workspace: Path) -> bool:
    """Whether the shell's complaint is about a path in the workspace (`./run.sh`), which the
    framework was to write, rather than about a program the harness should provide."""
    match = _NOT_RUN_LINE.search(shell_line)
    if match is None or "/" not in match["name"]:
        return False
    path = Path(match["name"])
    if not path.is_absolute():
        return True  # relative to the check's working directory: the workspace
    return path.resolve().is_relative_to(workspace.resolve())


def _signal_of(code: int | None) -> int | None:
    # A negative code is the signal that ended the shell; 128+N is how the shell reports a
    # command it ran that signal N ended.
    if code is None:
        return None
    if code < 0:
        return -code
    if 128 < code < 128 + signal.NSIG:
        return code - 128
    return None


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return "unknown signal"


def _not_run(log_path: Path, reason: str) -> CheckResult:
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"[baes] check not run (not counted for or against the framework): {reason}\n")
    return CheckResult(status="error", exit_code=None, duration_s=0.0, error_reason=reason)


def _with_virtualenv(env: Mapping[str, str], bin_dir: Path) -> dict[str, str]:
    """`env` with a virtual environment's scripts folder first on PATH, as `activate` does."""
    result = dict(env)
    rest = [p for p in result.get("PATH", os.defpath).split(os.pathsep) if p and p != str(bin_dir)]
    result["PATH"] = os.pathsep.join([str(bin_dir), *rest])
    result["VIRTUAL_ENV"] = str(bin_dir.parent)
    result.pop("PYTHONHOME", None)
    return result
