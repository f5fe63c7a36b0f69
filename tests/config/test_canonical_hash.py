"""The design hash: blind to formatting, order, comments and non-design fields; sensitive to the plan."""

from __future__ import annotations

import copy

import pytest

from baes.config.builder import DesignOverrides, build_design
from baes.config.canonical import canonical_json, design_hash
from baes.config.yaml_io import dump_design, load_yaml_text, to_plain, validate_design

DESIGN = """\
name: exp-a
description: first try
model: sim-small
frameworks:
  reference: {adapter: builtin}
  tool:
    adapter: command
    step: "tool --message-file {prompt_file}"
    env: {TOOL_MODE: fast}
scenario:
  name: tiny
  steps:
    - id: one
      prompt: Write hello.py
      check: python hello.py
pricing:
  sim-small: {input: 0.5, cached_input: 0.05, output: 2.0}
analysis: {alpha: 0.05}
"""

# The same design: other key order, flow vs block style, comments, explicit defaults, int for float.
SAME_DESIGN_REFORMATTED = """\
# a comment that must not matter
analysis:
  alpha: 5.0e-2
pricing:
  sim-small:
    output: 2
    cached_input: 0.050
    input: .5
scenario:
  steps:
  - prompt: "Write hello.py"
    id: one
    check: 'python hello.py'
  name: tiny
frameworks:
  tool: {env: {TOOL_MODE: fast}, step: "tool --message-file {prompt_file}", adapter: command, setup: []}
  reference:
    mode: single          # the default, spelled out
    adapter: builtin
model: sim-small
runs: {min: 5, max: 20}
name: exp-b               # name and description are not part of the design
description: something else entirely
provider: {api_key_env: MY_OTHER_KEY_VAR}
"""


def _load(text: str):
    return validate_design(load_yaml_text(text, "d.yaml"), "d.yaml")


def _hash_with(change) -> str:
    document = to_plain(load_yaml_text(DESIGN, "d.yaml"))
    changed = copy.deepcopy(document)
    change(changed)
    return design_hash(validate_design(changed, "changed"))


def test_same_design_written_differently_hashes_the_same():
    assert design_hash(_load(DESIGN)) == design_hash(_load(SAME_DESIGN_REFORMATTED))


def test_hash_is_sha256_hex_of_the_canonical_json():
    import hashlib

    config = _load(DESIGN)
    assert design_hash(config) == hashlib.sha256(canonical_json(config).encode()).hexdigest()
    assert '"name"' not in canonical_json(config).split('"scenario"')[0]  # top-level name excluded


def test_dumped_design_reloads_to_the_same_hash():
    config = _load(DESIGN)
    assert design_hash(_load(dump_design(config, header="header"))) == design_hash(config)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda d: d["scenario"]["steps"][0].update(prompt="Write hello.py!"), id="prompt"
        ),
        pytest.param(lambda d: d["scenario"]["steps"][0].update(check="python -V"), id="check"),
        pytest.param(lambda d: d["scenario"].update(name="other"), id="scenario-name"),
        pytest.param(
            lambda d: d.update(
                model="sim-large", pricing={**d["pricing"], "sim-large": {"input": 3, "output": 12}}
            ),
            id="model",
        ),
        pytest.param(
            lambda d: d["frameworks"]["reference"].update(mode="plan"), id="framework-option"
        ),
        pytest.param(
            lambda d: d["frameworks"]["tool"]["env"].update(TOOL_MODE="slow"), id="framework-env"
        ),
        pytest.param(lambda d: d["frameworks"].pop("tool"), id="framework-removed"),
        pytest.param(lambda d: d["pricing"]["sim-small"].update(output=2.01), id="price"),
        pytest.param(lambda d: d["analysis"].update(p_adjust="bonferroni"), id="p-adjust"),
        pytest.param(lambda d: d["analysis"].update(alpha=0.01), id="alpha"),
        pytest.param(lambda d: d.update(seed=1), id="seed"),
        pytest.param(lambda d: d.update(runs={"min": 5, "max": 21}), id="runs"),
        pytest.param(lambda d: d.update(limits={"max_cost_usd": 10}), id="budget"),
        pytest.param(lambda d: d.update(sampling={"temperature": 0.2}), id="sampling"),
        pytest.param(
            lambda d: d.update(provider={"kind": "openai", "base_url": "http://h:1/v1"}),
            id="endpoint",
        ),
        pytest.param(
            lambda d: d.update(stopping_rule={"max_half_width_pct": 5}), id="stopping-rule"
        ),
        pytest.param(
            lambda d: d.update(stopping_rule={"max_half_width_abs": 0.1}), id="stopping-abs"
        ),
        pytest.param(
            lambda d: d["analysis"].update(primary_contrast=["tool", "reference"]),
            id="primary-contrast",
        ),
    ],
)
def test_any_change_to_the_plan_changes_the_hash(change):
    assert _hash_with(change) != design_hash(_load(DESIGN))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d.update(name="renamed"), id="name"),
        pytest.param(lambda d: d.update(description="new words"), id="description"),
        pytest.param(
            lambda d: d.update(provider={"admin_key_env": "ADMIN"}), id="key-variable-names"
        ),
    ],
)
def test_name_description_and_secret_references_do_not_change_the_hash(change):
    assert _hash_with(change) == design_hash(_load(DESIGN))


def test_designs_built_from_presets_are_stable():
    overrides = DesignOverrides(
        name="a", model="sim-small", frameworks=["reference"], scenario="hello"
    )
    assert design_hash(build_design(None, overrides, "x")) == design_hash(
        build_design(None, overrides, "x")
    )


def test_the_new_analysis_fields_left_at_their_defaults_do_not_change_existing_hashes():
    # Designs created before stopping_rule.max_half_width_abs and analysis.primary_contrast
    # existed keep their hash: defaults are not part of the canonical form.
    canonical = canonical_json(_load(DESIGN))
    assert "max_half_width_abs" not in canonical and "primary_contrast" not in canonical
    explicit = _hash_with(
        lambda d: (
            d.update(stopping_rule={"max_half_width_abs": 0.05}),
            d["analysis"].update(primary_contrast=None),
        )
    )
    assert explicit == design_hash(_load(DESIGN))
