"""Where everything of an experiment lives (docs/architecture.md, "On-disk contracts"), and name validation."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from baes.store.errors import InvalidNameError

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
DEFAULT_ROOT = Path("experiments")
ROOT_ENV_VAR = "BAES_ROOT"
REGISTRY_FILE = ".registry.json"
# Inside each run folder (ExperimentPaths.run_dir): the run record and the proxy's usage ledger.
RUN_RECORD_FILE = "run.json"
LEDGER_FILE = "usage.jsonl"


def validate_name(name: str, what: str = "experiment name") -> str:
    """Return `name` if it is a safe folder name; raise InvalidNameError saying what is allowed."""
    if not NAME_RE.fullmatch(name) or name in {".", ".."}:
        shown = repr(name) if name else "an empty name"
        raise InvalidNameError(
            f"invalid {what} {shown}: use 1-64 characters of a-z, 0-9, '.', '_' or '-', "
            "starting with a letter or digit (no '/', no leading dot, no upper case)"
        )
    return name


def resolve_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The experiments root: the given path, else $BAES_ROOT, else ./experiments."""
    if root is not None and str(root) != "":
        return Path(root)
    from_env = os.environ.get(ROOT_ENV_VAR)
    return Path(from_env) if from_env else DEFAULT_ROOT


@dataclass(frozen=True)
class ExperimentPaths:
    """The layout of one experiment folder."""

    root: Path
    name: str
    # While `baes new` builds an experiment it lives in a temporary folder under the root.
    staging_dir: Path | None = None

    def __post_init__(self) -> None:
        validate_name(self.name)

    @property
    def dir(self) -> Path:
        return self.staging_dir if self.staging_dir is not None else self.root / self.name

    @property
    def config(self) -> Path:
        return self.dir / "config.yaml"

    @property
    def readme(self) -> Path:
        return self.dir / "README.md"

    @property
    def meta_dir(self) -> Path:
        return self.dir / ".meta"

    @property
    def config_hash(self) -> Path:
        return self.meta_dir / "config.hash"

    @property
    def experiment_meta(self) -> Path:
        """Creation facts that the registry is rebuilt from (created_at, baes version)."""
        return self.meta_dir / "experiment.json"

    @property
    def run_progress(self) -> Path:
        """What the last `baes run` decided per framework (stopped, why); a cache for `baes list`."""
        return self.meta_dir / "run-progress.json"

    @property
    def run_lock(self) -> Path:
        return self.meta_dir / "run.lock"

    @property
    def runs_dir(self) -> Path:
        return self.dir / "runs"

    @property
    def manifest(self) -> Path:
        return self.runs_dir / "manifest.json"

    @property
    def analysis_dir(self) -> Path:
        return self.dir / "analysis"

    def run_dir(self, framework: str, run_id: str) -> Path:
        return (
            self.runs_dir
            / validate_name(framework, "framework name")
            / validate_name(run_id, "run id")
        )
