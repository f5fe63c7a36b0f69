"""Running a step's check: a shell command in the workspace; exit 0 is a pass.

A failing check is a measurement, not an error, so nothing here raises for one: the result says
how it went and check.log holds what it printed (stdout and stderr interleaved, as a user would
see them in a terminal), followed by one line saying how it ended.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Mapping
from pathlib import Path

from baes.frameworks.contract import CheckResult
from baes.frameworks.process_env import inherited_environ, with_python_first
from baes.frameworks.processes import run_process


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
) -> CheckResult:
    """Run a check `command` in `workspace`, output to `log_path`, stopped after `timeout_s`.

    `env` holds extra variables on top of check_environment(), which never passes the
    variables named in `withheld_env` (the design's keys). The log is replaced, not
    appended to, so after a repair round it shows the latest check.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_bytes(b"")
    result = run_process(
        command,
        cwd=workspace,
        env=check_environment(env, withheld_env),
        stdout_path=log_path,
        stderr_path=None,
        deadline=time.monotonic() + timeout_s,
        cancel=cancel,
    )
    if result.timed_out:
        ending = f"timed out after {timeout_s:g} s; its process group was stopped"
    elif result.cancelled:
        ending = "interrupted"
    else:
        ending = f"exited with {result.exit_code} after {result.duration_s:.2f} s"
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"\n[baes] check {ending}\n")
    return CheckResult(
        passed=result.exit_code == 0,
        exit_code=result.exit_code,
        duration_s=result.duration_s,
        timed_out=result.timed_out,
    )
