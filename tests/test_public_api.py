"""Each package's `__all__` names only what exists, and baes ships its type information."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import baes

PACKAGES = [
    "baes",
    "baes.analysis",
    "baes.config",
    "baes.engine",
    "baes.experiment",
    "baes.frameworks",
    "baes.llm",
    "baes.reconcile",
    "baes.store",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_name_in_all_exists(name):
    package = importlib.import_module(name)
    exported = package.__all__
    assert exported and len(exported) == len(set(exported))
    for member in exported:
        if not hasattr(package, member):
            importlib.import_module(f"{name}.{member}")  # a listed submodule


def test_the_package_is_marked_typed():
    assert (Path(baes.__file__).parent / "py.typed").is_file()
