"""Load an experiment from its folder and check that its design is still the frozen one."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baes.config.canonical import design_hash
from baes.config.models import ExperimentConfig
from baes.config.yaml_io import ConfigError, load_design
from baes.errors import InputError
from baes.redaction import key_env_names, remember_key_names
from baes.store.errors import ExperimentNotFoundError
from baes.store.paths import ExperimentPaths


class ConfigChangedError(InputError):
    """config.yaml no longer matches the hash stored when the experiment was created."""


class HashFileError(ConfigChangedError):
    """.meta/config.hash is damaged: the design cannot be checked against it."""


_HASH_RE = re.compile(r"[0-9a-f]{64}")


@dataclass
class Experiment:
    """An experiment folder as found on disk. `config` is None when config.yaml is unreadable."""

    paths: ExperimentPaths
    config: ExperimentConfig | None
    config_error: str | None
    stored_hash: str | None
    current_hash: str | None
    created_at: str | None
    hash_error: str | None = None  # .meta/config.hash exists but holds no hash

    @property
    def config_ok(self) -> bool:
        return (
            self.config is not None
            and self.stored_hash is not None
            and self.stored_hash == self.current_hash
        )

    def require_unchanged(self) -> ExperimentConfig:
        """The design, or ConfigChangedError/ConfigError when it is not the frozen one."""
        if self.config is None:
            raise ConfigError(f"experiment {self.paths.name!r}: {self.config_error}")
        if self.hash_error is not None:
            raise HashFileError(
                self.hash_error,
                hint=f"restore it from a backup or from the hash quoted in {self.paths.readme}; "
                f"config.yaml as it is now hashes to {self.current_hash}",
            )
        if self.stored_hash is None:
            raise ConfigChangedError(
                f"experiment {self.paths.name!r} has no stored hash ({self.paths.config_hash} is missing)",
                hint="the folder was not created by `baes new`; create it again with `baes new --config`",
            )
        current = self.current_hash
        assert current is not None  # computed whenever config.yaml is read
        if self.stored_hash != current:
            raise ConfigChangedError(
                f"{self.paths.config} was changed after the experiment was created "
                f"(hash {current[:12]}… ≠ frozen {self.stored_hash[:12]}…)",
                hint=f"undo the edit, or make a new experiment from it: "
                f"baes new NEW_NAME --from {self.paths.name}",
            )
        return self.config


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file's content; None when it is missing, unreadable or not an object."""
    try:
        value = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def inspect_experiment(root: Path, name: str) -> Experiment:
    """Read an experiment folder without judging it; see Experiment.config_ok."""
    paths = ExperimentPaths(root, name)
    if not paths.config.is_file():
        raise ExperimentNotFoundError(
            f"no experiment {name!r} under {root}", hint="`baes list` shows the experiments there"
        )
    config: ExperimentConfig | None
    try:
        config, error = load_design(paths.config), None
    except ConfigError as exc:
        config, error = None, exc.message
    stored, hash_error = read_stored_hash(paths.config_hash)
    meta = read_json(paths.experiment_meta) or {}
    created_at = meta.get("created_at")
    return Experiment(
        paths=paths,
        config=config,
        config_error=error,
        stored_hash=stored,
        current_hash=design_hash(config) if config else None,
        created_at=created_at if isinstance(created_at, str) else None,
        hash_error=hash_error,
    )


def read_stored_hash(path: Path) -> tuple[str | None, str | None]:
    """The frozen hash in `path` and None, or None and why the file holds no hash.

    A missing file is (None, None): `require_unchanged` says it is missing.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"{path}: cannot read the frozen design hash: {exc.strerror or exc}"
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None, f"{path} is damaged: not a design hash (not UTF-8 text)"
    if not _HASH_RE.fullmatch(text):
        shown = text if len(text) <= 20 else text[:20] + "…"
        return None, (
            f"{path} is damaged: a design hash is 64 hex digits, found {len(text)} "
            f"character(s) {shown!r}"
        )
    return text, None


def load_experiment(root: Path, name: str) -> tuple[Experiment, ExperimentConfig]:
    """The experiment and its design; raises when the design is not the frozen one (for run, analyze)."""
    experiment = inspect_experiment(root, name)
    design = experiment.require_unchanged()
    # Whatever the key variables are called, their values are redacted from all this process prints.
    remember_key_names(key_env_names(design))
    return experiment, design
