"""The scenario and framework presets shipped as package data.

Listing presets only lists files, so tab completion stays fast; loading one validates it.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from baes.errors import InputError


class UnknownPresetError(InputError):
    """A scenario or framework preset name that baes does not ship."""


def _preset_dir(kind: str) -> Traversable:
    return resources.files("baes.config").joinpath("presets", kind)


def _names(kind: str) -> list[str]:
    return sorted(
        item.name[: -len(".yaml")]
        for item in _preset_dir(kind).iterdir()
        if item.name.endswith(".yaml")
    )


def scenario_names() -> list[str]:
    """Names of the shipped scenarios."""
    return _names("scenarios")


def framework_names() -> list[str]:
    """Names of the shipped framework presets."""
    return _names("frameworks")


def _load_preset(kind: str, name: str, valid: list[str]) -> Any:
    from baes.config.yaml_io import load_yaml_text

    if name not in valid:
        what = "scenario" if kind == "scenarios" else "framework"
        raise UnknownPresetError(
            f"unknown {what} preset {name!r}; valid: {', '.join(valid)}",
            hint="a scenario may also be given as the path of a YAML file"
            if what == "scenario"
            else None,
        )
    text = _preset_dir(kind).joinpath(f"{name}.yaml").read_text("utf-8")
    return load_yaml_text(text, f"<{kind} preset {name}>")


def scenario_document(name_or_path: str) -> Any:
    """A scenario as a YAML document: a shipped preset by name, or a file by path."""
    looks_like_path = name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path
    if looks_like_path or (name_or_path not in scenario_names() and Path(name_or_path).is_file()):
        from baes.config.yaml_io import load_yaml_file

        return load_yaml_file(Path(name_or_path))
    return _load_preset("scenarios", name_or_path, scenario_names())


def framework_document(name: str) -> Any:
    """A framework preset as a YAML document (adapter and its options)."""
    return _load_preset("frameworks", name, framework_names())


def preset_notices(frameworks: dict[str, Any], scenario_name: str) -> list[str]:
    """The known mismatches (presets/notices.yaml) between the shipped presets a design uses
    unchanged, by their own names, and the shipped scenario of `scenario_name`."""
    from baes.config.yaml_io import load_yaml_text

    path = resources.files("baes.config").joinpath("presets", "notices.yaml")
    notices = load_yaml_text(path.read_text("utf-8"), "<preset notices>") or {}
    found = []
    for name, by_scenario in notices.items():
        message = by_scenario.get(scenario_name)
        if message is None or name not in frameworks:
            continue
        if is_unchanged_preset(frameworks[name], name):
            found.append(" ".join(str(message).split()))
    return found


def is_unchanged_preset(config: Any, name: str) -> bool:
    """Whether a design's framework config is the shipped preset `name`, unchanged."""
    from pydantic import TypeAdapter

    from baes.config.models import FrameworkConfig

    return bool(config == TypeAdapter(FrameworkConfig).validate_python(framework_document(name)))
