"""Where a scenario's checks run: baes's own Python, or a cached virtual environment built for them.

A step declares what its check imports with `check_requires` (pip requirement specifiers). When
baes's own interpreter already satisfies a step's requirements, the check runs with it and nothing
is installed. Otherwise baes builds a virtual environment with exactly those requirements, once per
machine, in baes's cache folder, with the same cached, locked, build-in-place machinery as a
command framework's setup (frameworks/environments.py); its `bin` folder then comes first on the
check's PATH.

Environments are prepared before the first run of a `baes run`, so a requirement that cannot be
installed is reported up front; a check whose environment could not be prepared is recorded as
`error` (the harness could not run it), never as a failure of the framework.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from baes.config.models import StepConfig
from baes.errors import WorkError
from baes.frameworks.contract import FrameworkSetupError
from baes.frameworks.environments import (
    ensure_environment,
    environment_key,
    environments_dir,
    is_complete,
    setup_log_path,
)
from baes.frameworks.processes import last_output_line

Requirements = tuple[str, ...]
Notify = Callable[[str], None]


@dataclass(frozen=True)
class CheckEnvironment:
    """The interpreter a set of check requirements runs with.

    `bin_dir` goes first on the check's PATH; None means baes's own interpreter (which
    checks.check_environment already puts first). `error` says why checks needing these
    requirements cannot run; such checks are recorded as `error` without being started.
    """

    requirements: Requirements
    bin_dir: Path | None
    error: str | None = None
    # (name, version) of each required distribution as installed where the checks run: a check's
    # verdict can depend on them (a FastAPI release changes TestClient), so run.json names them.
    installed: tuple[tuple[str, str], ...] = ()

    @property
    def description(self) -> str:
        """Where checks with these requirements run, and the versions they get, in words."""
        if self.error is not None:
            return f"unavailable: {self.error}"
        where = (
            f"baes's own Python ({sys.executable})"
            if self.bin_dir is None
            else f"virtual environment {self.bin_dir.parent}"
        )
        if not self.installed:
            return where
        return where + " with " + ", ".join(f"{name} {version}" for name, version in self.installed)


BAES_PYTHON = CheckEnvironment((), None)


def unmet_requirements(requirements: Iterable[str]) -> list[str]:
    """The requirements baes's own interpreter does not satisfy (not installed, wrong version, or
    with extras, which are not verified here and so always go to a built environment)."""
    from packaging.requirements import Requirement

    unmet = []
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue  # not needed on this platform
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            unmet.append(text)
            continue
        if requirement.extras or requirement.url:
            unmet.append(text)
        elif requirement.specifier and not requirement.specifier.contains(
            installed, prereleases=True
        ):
            unmet.append(text)
    return unmet


def _requirement_names(requirements: Iterable[str]) -> list[str]:
    from packaging.requirements import Requirement

    return sorted({Requirement(text).name for text in requirements})


def _installed_here(requirements: Requirements) -> tuple[tuple[str, str], ...]:
    """The installed version of each required distribution in baes's own interpreter."""
    found = []
    for name in _requirement_names(requirements):
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue  # a requirement whose marker excludes this platform
    return tuple(found)


# Run by a check environment's interpreter: the versions of the distributions named in argv.
_VERSIONS_PROGRAM = (
    "import json, sys\n"
    "from importlib import metadata\n"
    "found = {}\n"
    "for name in sys.argv[1:]:\n"
    "    try:\n"
    "        found[name] = metadata.version(name)\n"
    "    except metadata.PackageNotFoundError:\n"
    "        pass\n"
    "print(json.dumps(found))\n"
)


def _installed_in(bin_dir: Path, requirements: Requirements) -> tuple[tuple[str, str], ...]:
    """The installed version of each required distribution in a built environment."""
    names = _requirement_names(requirements)
    listed = subprocess.run(
        [str(bin_dir / "python"), "-c", _VERSIONS_PROGRAM, *names],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found: dict[str, str] = json.loads(listed.stdout)
    return tuple(sorted(found.items()))


def _bin_name() -> str:
    return "Scripts" if sys.platform == "win32" else "bin"


def build_commands(requirements: Requirements) -> list[str]:
    """The setup commands of a check environment: a fresh venv, then pip install of the
    requirements (templates for ensure_environment: `{env}` and `{python}` are substituted)."""
    # Braces in a requirement (a URL, say) must survive the template substitution.
    quoted = " ".join(shlex.quote(r).replace("{", "{{").replace("}", "}}") for r in requirements)
    return [
        "{python} -m venv {env}",
        f"{{env}}/{_bin_name()}/python -m pip install --no-input --disable-pip-version-check "
        f"{quoted}",
    ]


def check_environment_for(
    requirements: Sequence[str],
    cache_dir: Path | None,
    *,
    build: bool = True,
    notify: Notify | None = None,
) -> CheckEnvironment:
    """The environment for one step's requirements; built now (or taken from the cache) when baes's
    own interpreter does not satisfy them and `build` is set (`notify` hears of a build before it
    starts). Never raises for an environment that cannot be had: the result's `error` says why."""
    wanted: Requirements = tuple(sorted(set(requirements)))
    unmet = unmet_requirements(wanted)
    if not unmet:
        return CheckEnvironment(wanted, None, installed=_installed_here(wanted))
    if not build or cache_dir is None:
        return CheckEnvironment(
            wanted,
            None,
            f"{', '.join(unmet)} not installed in baes's Python and no check environment was "
            "prepared",
        )
    commands = build_commands(wanted)
    env_dir = environments_dir(cache_dir) / environment_key(commands)
    if notify is not None and not is_complete(env_dir):
        notify(
            f"building the check environment ({', '.join(wanted)}; not all in baes's Python) in "
            f"{env_dir}; once per machine"
        )
    try:
        env_dir = ensure_environment("check environment", commands, cache_dir)
    except FrameworkSetupError:
        log = setup_log_path(env_dir)
        last = last_output_line(log)
        return CheckEnvironment(
            wanted,
            None,
            f"could not build a check environment with {', '.join(wanted)}"
            + (f": {last}" if last else "")
            + f" (full output: {log})",
        )
    except (OSError, WorkError) as exc:  # the cache folder cannot be written or locked, say
        return CheckEnvironment(
            wanted, None, f"could not build a check environment in {env_dir}: {exc}"
        )
    bin_dir = env_dir / _bin_name()
    try:
        installed = _installed_in(bin_dir, wanted)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return CheckEnvironment(
            wanted, None, f"the check environment {env_dir} does not answer for its packages: {exc}"
        )
    return CheckEnvironment(wanted, bin_dir, installed=installed)


@dataclass(frozen=True)
class CheckEnvironments:
    """The check environment of every step of a scenario, by step id."""

    by_step: dict[str, CheckEnvironment]

    def for_step(self, step_id: str) -> CheckEnvironment:
        return self.by_step.get(step_id, BAES_PYTHON)

    def descriptions(self) -> dict[str, str]:
        """Per checked step, where its check runs (for run.json's `environment.checks`)."""
        return {step_id: env.description for step_id, env in self.by_step.items()}

    def problems(self) -> list[str]:
        """One line per distinct environment that cannot be had, naming the steps it affects."""
        steps_by_error: dict[str, list[str]] = {}
        for step_id, environment in self.by_step.items():
            if environment.error is not None:
                steps_by_error.setdefault(environment.error, []).append(step_id)
        return [
            f"the checks of step(s) {', '.join(steps)} cannot run and will be recorded as "
            f"error: {error}"
            for error, steps in steps_by_error.items()
        ]


def prepare_check_environments(
    steps: Sequence[StepConfig],
    cache_dir: Path | None,
    *,
    build: bool = True,
    notify: Notify | None = None,
) -> CheckEnvironments:
    """Each checked step's environment; each distinct set of requirements is prepared once."""
    prepared: dict[Requirements, CheckEnvironment] = {}
    by_step: dict[str, CheckEnvironment] = {}
    for step in steps:
        if step.check is None:
            continue
        key: Requirements = tuple(sorted(set(step.check_requires)))
        if key not in prepared:
            prepared[key] = check_environment_for(key, cache_dir, build=build, notify=notify)
        by_step[step.id] = prepared[key]
    return CheckEnvironments(by_step)
