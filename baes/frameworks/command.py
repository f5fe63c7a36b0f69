"""The command adapter: any command-line framework, one shell command per scenario step.

The step template's placeholders are substituted shell-quoted (shlex.quote), every one of them:
a prompt with quotes, `$(…)` or newlines reaches the command as one intact argument, and paths
with spaces stay one word (`{env}/bin/tool` still works, the shell joins the quoted prefix and
the rest). Values of the config's `env` are substituted raw: they are not parsed by a shell.
"""

from __future__ import annotations

import re
import shlex
import signal
import sys
from collections.abc import Collection
from pathlib import Path

from baes.config.models import CommandFrameworkConfig
from baes.frameworks.contract import SetupProgress, StepContext, StepOutcome
from baes.frameworks.environments import built_from, ensure_environment
from baes.frameworks.process_env import inherited_environ
from baes.frameworks.processes import last_output_line, run_process
from baes.frameworks.sources import resolve_source

# "bash: line 1: aider: command not found" (bash) or "/bin/sh: 1: aider: not found" (dash).
_NOT_FOUND = re.compile(r"([^\s:]+): (?:command )?not found\s*$")
_PIN = re.compile(r"(?<![\w.-])([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([\w.!+-]+)")


class CommandAdapter:
    """A framework run as a shell command per step, after a setup cached once per machine."""

    def __init__(
        self, name: str, config: CommandFrameworkConfig, withheld_env: Collection[str] = ()
    ):
        self.name = name
        self.config = config
        # The design's key variables: never passed to setup or steps, whatever their names.
        self._withheld_env = frozenset(withheld_env)
        self._env_dir: Path | None = None

    def prepare(self, cache_dir: Path, progress: SetupProgress | None = None) -> None:
        """Build (or reuse) the framework's cached environment; FrameworkSetupError on failure,
        FrameworkSourceError for an unusable BAES_SOURCE_<NAME>."""
        source = resolve_source(self.name, self.config)
        self._env_dir = ensure_environment(
            self.name, self.config.setup, cache_dir, progress, self._withheld_env, source
        )

    def source_record(self) -> dict[str, str] | None:
        """Where the environment's setup fetched the framework from (None: it fetches nothing).
        A cached environment keeps the source it was built from, whatever BAES_SOURCE_<NAME> now
        says: the pinned commit is the same, and the record says where it really came from."""
        if self._env_dir is None:
            raise RuntimeError(f"prepare() must run before source_record() ({self.name!r})")
        return built_from(self._env_dir)

    def versions(self) -> dict[str, str]:
        """`name==version` pins of setup's install commands, with the installed version when found."""
        # Only what setup installs: a pinned `pip download` (e.g. of data files) is no dependency.
        installs = " ".join(c for c in self.config.setup if re.search(r"\binstall\b", c))
        pins = dict(_PIN.findall(installs))
        if self._env_dir is not None:
            for name in pins:
                installed = installed_version(self._env_dir, name)
                if installed:
                    pins[name] = installed
        return pins

    def run_step(self, ctx: StepContext) -> StepOutcome:
        """Run the step command in the workspace; a non-zero exit fails the step."""
        if self._env_dir is None:
            raise RuntimeError(f"prepare() must run before run_step() (framework {self.name!r})")
        values = self._placeholder_values(ctx)
        command = self.config.step.format(**{k: shlex.quote(v) for k, v in values.items()})
        env = self._environment(ctx, values)
        stderr_log = ctx.log_dir / "stderr.log"
        try:
            result = run_process(
                command,
                ctx.workspace,
                env,
                ctx.log_dir / "stdout.log",
                stderr_log,
                ctx.deadline,
                ctx.cancel,
            )
        except OSError as exc:
            return StepOutcome.failure(
                "infrastructure", f"could not start the framework's command: {exc}"
            )
        if result.cancelled:
            return StepOutcome.failure("interrupted", "stopped by the user")
        if result.timed_out:
            return StepOutcome.failure(
                "timeout",
                "the framework did not finish before the step's time limit; its whole process "
                "group was stopped",
            )
        if result.exit_code == 0:
            return StepOutcome.success()
        return StepOutcome.failure(
            "framework", self._failure_message(result.exit_code, ctx, command)
        )

    def _placeholder_values(self, ctx: StepContext) -> dict[str, str]:
        """Every placeholder's value, unquoted; writes prompt.txt (and hitl.txt) on the way."""
        log_dir = ctx.log_dir.resolve()
        log_dir.mkdir(parents=True, exist_ok=True)
        prompt_file = log_dir / "prompt.txt"
        prompt_file.write_text(ctx.prompt, encoding="utf-8")
        hitl_file = ""
        if ctx.hitl_text:
            (log_dir / "hitl.txt").write_text(ctx.hitl_text, encoding="utf-8")
            hitl_file = str(log_dir / "hitl.txt")
        return {
            "prompt_file": str(prompt_file),
            "prompt": ctx.prompt,
            "workspace": str(ctx.workspace.resolve()),
            "model": ctx.model,
            "base_url": ctx.base_url,
            "api_key": ctx.api_key,
            "step_id": ctx.step_id,
            "step_index": str(ctx.step_index),
            "hitl_file": hitl_file,
            "env": str(self._env_dir),
            "python": sys.executable,
        }

    def _environment(self, ctx: StepContext, values: dict[str, str]) -> dict[str, str]:
        """The inherited allow-list (process_env), the proxy's URL and token, BAES_*, then the
        config's env."""
        env = inherited_environ(self._withheld_env)
        env.update(
            OPENAI_BASE_URL=ctx.base_url,
            OPENAI_API_BASE=ctx.base_url,
            OPENAI_API_KEY=ctx.api_key,
            BAES_STEP_ID=ctx.step_id,
            BAES_STEP_INDEX=str(ctx.step_index),
            BAES_WORKSPACE=values["workspace"],
            BAES_MODEL=ctx.model,
            BAES_PROMPT_FILE=values["prompt_file"],
            BAES_ENV=values["env"],
        )
        if values["hitl_file"]:
            env["BAES_HITL_FILE"] = values["hitl_file"]
        env.update({name: value.format(**values) for name, value in self.config.env.items()})
        return env

    def _failure_message(self, exit_code: int | None, ctx: StepContext, command: str) -> str:
        stderr_line = last_output_line(ctx.log_dir / "stderr.log")
        if exit_code == 127:
            match = _NOT_FOUND.search(stderr_line)
            missing = match.group(1) if match else (command.split() or ["?"])[0]
            return (
                f"command not found: {missing} (exit 127); is it installed? check framework "
                f"{self.name!r}'s setup and step command"
            )
        if exit_code is not None and exit_code < 0:
            try:
                how = f"was killed by signal {signal.Signals(-exit_code).name}"
            except ValueError:
                how = f"was killed by signal {-exit_code}"
        else:
            how = f"exited with {exit_code}"
        detail = stderr_line or last_output_line(ctx.log_dir / "stdout.log")
        if ctx.api_key:
            detail = detail.replace(ctx.api_key, "***")
        message = f"framework {self.name!r} {how}"
        return message + (f": {detail}" if detail else " and printed nothing; see stdout.log")


def installed_version(env_dir: Path, distribution: str) -> str | None:
    """The version of `distribution` installed in a virtual environment, from its dist-info."""
    wanted = _normalized(distribution)
    for info in env_dir.glob("lib/python*/site-packages/*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        if _normalized(name) == wanted and version:
            return version
    return None


def _normalized(distribution: str) -> str:
    # dist-info folder names use the PEP 503 normalized name with underscores.
    return re.sub(r"[-_.]+", "_", distribution).lower()
