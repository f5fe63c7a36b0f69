"""The demo's designs: the built-in agent's three presets on each simulator model.

Two experiments that differ only in the model, so `baes compare` has something to say. Their
names get a numeric suffix when taken, unless the caller replaces them (`baes demo --force`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from baes.config.builder import DesignOverrides, build_design
from baes.config.models import ExperimentConfig
from baes.experiment.registry import registry_for
from baes.store.paths import ExperimentPaths

DEMO_MODELS = ("sim-small", "sim-large")
DEMO_FRAMEWORKS = ["reference", "reference-plan", "reference-repair"]
DEMO_RUNS = 5
# Enough resamples for stable demo CIs, few enough to keep the demo well under a minute.
DEMO_BOOTSTRAP_SAMPLES = 2000


def _free_name(root: Path, base: str, replace: bool) -> str:
    paths = ExperimentPaths(root, base)
    if replace and paths.dir.exists():
        shutil.rmtree(paths.dir)
        registry_for(root).remove(base)
    if not paths.dir.exists():
        return base
    suffix = 2
    while ExperimentPaths(root, f"{base}-{suffix}").dir.exists():
        suffix += 1
    return f"{base}-{suffix}"


def demo_designs(root: Path, replace: bool) -> list[ExperimentConfig]:
    """The demo's two designs, named so that they do not clash with what exists under `root`."""
    designs = []
    for model in DEMO_MODELS:
        name = _free_name(root, f"demo-{model}", replace)
        base = {"analysis": {"bootstrap_samples": DEMO_BOOTSTRAP_SAMPLES}}
        designs.append(
            build_design(
                base,
                DesignOverrides(
                    name=name,
                    description=f"baes demo: the built-in reference agent's three modes on the simulator's {model}",
                    model=model,
                    frameworks=DEMO_FRAMEWORKS,
                    scenario="hello",
                    runs=DEMO_RUNS,
                ),
                "baes demo",
            )
        )
    return designs
