"""The cached, isolated environment a command framework's setup installs into, once per machine.

The cache key is the hash of everything that decides what setup produces: its commands and the
Python they run with. Not the `{source}` they fetch from (frameworks/sources.py): setup pins the
commit it checks out, so a mirror yields the same environment as the upstream; the marker file
records the source an environment was built from. The environment
is built in place, at its final path, because virtual environments record their absolute path
(in scripts' shebangs and pyvenv.cfg) and break when moved; completeness is marked instead by a
file written after the last setup command succeeded.
A folder without the marker is a build that died half-way and is wiped before building again.
A lock file keeps two processes (or threads) from building the same environment at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import sys
import time
from collections.abc import Collection
from pathlib import Path

from baes.frameworks.contract import FrameworkSetupError, SetupProgress
from baes.frameworks.process_env import inherited_environ
from baes.frameworks.processes import last_output_line, run_process
from baes.frameworks.sources import FrameworkSource
from baes.store.atomic import file_lock
from baes.store.errors import LockTimeoutError

COMPLETE_MARKER = ".baes-complete"
SETUP_TIMEOUT_S = 3600.0  # installing a framework with its dependencies can take minutes
LOCK_TIMEOUT_S = SETUP_TIMEOUT_S + 60  # a waiting process outlasts the builder it waits for


def environment_key(setup: list[str]) -> str:
    """The first 16 hex digits of the sha256 of the setup spec (commands + interpreter)."""
    spec = {"setup": setup, "python": sys.executable, "version": sys.version.split()[0]}
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()[:16]


def default_cache_dir() -> Path:
    """Where command frameworks' environments are cached: $BAES_CACHE_DIR or ~/.cache/baes."""
    explicit = os.environ.get("BAES_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "baes"


def environments_dir(cache_dir: Path) -> Path:
    """Where command frameworks' environments live under baes's cache folder."""
    return cache_dir / "envs"


def setup_log_path(env_dir: Path) -> Path:
    """The setup's output, next to (not inside) the environment so a failed build keeps it."""
    return env_dir.with_name(env_dir.name + ".setup.log")


def is_complete(env_dir: Path) -> bool:
    """Whether the environment's setup finished successfully."""
    return (env_dir / COMPLETE_MARKER).is_file()


def ensure_environment(
    framework: str,
    setup: list[str],
    cache_dir: Path,
    progress: SetupProgress | None = None,
    withheld_env: Collection[str] = (),
    source: FrameworkSource | None = None,
) -> Path:
    """The environment for `setup`, built now unless a complete one is cached; its path.

    Setup commands run in the environment folder with `{env}` (that folder), `{python}` (the
    interpreter running baes) and `{source}` (where to fetch the framework from) substituted,
    shell-quoted, with the inherited allow-list of
    variables minus `withheld_env` (process_env). FrameworkSetupError if one fails.
    `progress` is told what is happening (waiting for another build, each command) as it starts.
    """
    env_dir = environments_dir(cache_dir) / environment_key(setup)
    if is_complete(env_dir):
        return env_dir
    report = progress or (lambda activity: None)
    try:
        report("locking the environment cache (another baes may be building it)")
        with file_lock(env_dir, timeout_s=LOCK_TIMEOUT_S):
            if not is_complete(env_dir):  # another process may have built it while we waited
                _build(framework, setup, env_dir, report, withheld_env, source)
    except LockTimeoutError as exc:
        raise FrameworkSetupError(
            f"timed out waiting for another process to finish the setup of framework "
            f"{framework!r} in {env_dir}",
            hint=f"if no baes process is running, delete {env_dir} and try again",
        ) from exc
    return env_dir


def _build(
    framework: str,
    setup: list[str],
    env_dir: Path,
    progress: SetupProgress,
    withheld_env: Collection[str],
    source: FrameworkSource | None,
) -> None:
    if env_dir.exists():
        shutil.rmtree(env_dir)
    env_dir.mkdir(parents=True)
    log_path = setup_log_path(env_dir)
    log_path.write_bytes(b"")
    values = {"env": shlex.quote(str(env_dir)), "python": shlex.quote(sys.executable)}
    shown = dict(values)  # what the log shows: URL credentials masked
    if source is not None:
        values["source"] = shlex.quote(source.location)
        shown["source"] = shlex.quote(source.record()["location"])
    env = inherited_environ(withheld_env)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    for number, template in enumerate(setup, start=1):
        command = template.format(**values)
        progress(f"command {number}/{len(setup)}: {template}")
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"[baes] $ {template.format(**shown)}\n")
        result = run_process(
            command, env_dir, env, log_path, None, time.monotonic() + SETUP_TIMEOUT_S
        )
        if result.exit_code != 0:
            ending = (
                f"did not finish within {SETUP_TIMEOUT_S:g} s"
                if result.timed_out
                else f"exited with {result.exit_code}"
            )
            last = last_output_line(log_path)
            raise FrameworkSetupError(
                f"setup of framework {framework!r} failed: command {number} of {len(setup)} "
                f"({template}) {ending}" + (f": {last}" if last else ""),
                hint=f"the full output is in {log_path}",
            )
    built = {"setup": setup, "source": source.record() if source else None}
    (env_dir / COMPLETE_MARKER).write_text(json.dumps(built) + "\n", encoding="utf-8")


def built_from(env_dir: Path) -> dict[str, str] | None:
    """The source a complete environment was built from ({location, origin}), from its marker;
    None when setup fetched nothing."""
    try:
        marker = json.loads((env_dir / COMPLETE_MARKER).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise FrameworkSetupError(f"cannot read {env_dir / COMPLETE_MARKER}: {exc}") from exc
    return marker.get("source") if isinstance(marker, dict) else None
