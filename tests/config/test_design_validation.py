"""The design model: defaults, and errors that name the field and say what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from baes.config.builder import DesignOverrides, build_design
from baes.config.models import ExperimentConfig
from baes.config.yaml_io import ConfigError, load_design, load_yaml_text, validate_design

MINIMAL = """\
name: minimal
model: sim-small
frameworks:
  reference: {adapter: builtin}
scenario:
  name: tiny
  steps:
    - id: one
      prompt: Write hello.py
pricing:
  sim-small: {input: 0.5, cached_input: 0.05, output: 2.0}
"""


def _validate(text: str) -> ExperimentConfig:
    return validate_design(load_yaml_text(text, "design.yaml"), "design.yaml")


def test_minimal_design_gets_defaults_for_everything_else():
    config = _validate(MINIMAL)
    assert config.provider.kind == "sim"
    assert config.provider.model_policy == "rewrite"
    assert config.runs.min == 5 and config.runs.max == 20
    assert config.analysis.p_adjust == "holm" and config.analysis.ci_method == "bootstrap-t"
    assert config.stopping_rule.enabled and config.stopping_rule.confidence == 0.95
    assert config.limits.max_consecutive_failures == 3
    assert config.runs_target == 20


def test_unknown_key_is_named_with_its_line_and_the_allowed_keys():
    text = MINIMAL + "limits:\n  step_timeout: 10\n"
    with pytest.raises(ConfigError) as caught:
        _validate(text)
    message = caught.value.message
    assert "design.yaml:13:" in message
    assert "unknown key 'step_timeout' in limits" in message
    assert "step_timeout_s" in message and "max_cost_usd" in message


def test_unknown_key_inside_a_framework_names_the_framework_not_the_adapter_tag():
    text = MINIMAL.replace(
        "reference: {adapter: builtin}", "reference: {adapter: builtin, moed: plan}"
    )
    with pytest.raises(ConfigError) as caught:
        _validate(text)
    assert "unknown key 'moed' in frameworks.reference (allowed: adapter, mode, repair_rounds)" in (
        caught.value.message
    )


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        (
            "model: sim-small",
            "model: sim-small\nprovider: {kind: azure}",
            "provider.kind: Input should be 'sim' or 'openai'",
        ),
        (
            "model: sim-small",
            "model: sim-small\nruns: {min: 9, max: 3}",
            "runs: min (9) must not exceed max (3)",
        ),
        ("model: sim-small", "model: sim-small\nanalysis: {p_adjust: fdr}", "analysis.p_adjust"),
        (
            "model: sim-small",
            "model: sim-small\nstopping_rule: {metrics: [TOKENS]}",
            "stopping_rule.metrics.0",
        ),
        (
            "model: sim-small",
            "model: sim-small\nprovider: {api_key_env: sk-abc123}",
            "provider.api_key_env",
        ),
        ("      prompt: Write hello.py", "      prompt: ''", "scenario.steps.0.prompt"),
        ("    - id: one", "    - id: One Two", "scenario.steps.0.id"),
        (
            "  reference: {adapter: builtin}",
            "  Bad/Name: {adapter: builtin}",
            "frameworks.Bad/Name",
        ),
        (
            "model: sim-small",
            "model: sim-small\nlimits: {step_timeout_s: -1}",
            "limits.step_timeout_s",
        ),
        (
            "model: sim-small",
            "model: sim-small\nanalysis: {primary_contrast: [reference, aider]}",
            "analysis.primary_contrast names 'aider', which is not a framework of this design",
        ),
        (
            "model: sim-small",
            "model: sim-small\nanalysis: {primary_contrast: [reference, reference]}",
            "analysis.primary_contrast: must name two different frameworks",
        ),
        (
            "model: sim-small",
            "model: sim-small\nanalysis: {primary_contrast: [reference]}",
            "analysis.primary_contrast",
        ),
        (
            "model: sim-small",
            "model: sim-small\nstopping_rule: {max_half_width_abs: 0.25}",
            "stopping_rule.max_half_width_abs",
        ),
    ],
)
def test_invalid_values_name_the_field_path(replace, by, expected):
    with pytest.raises(ConfigError) as caught:
        _validate(MINIMAL.replace(replace, by))
    assert expected in caught.value.message
    assert caught.value.exit_code == 2


def test_missing_required_key_is_named():
    text = MINIMAL.replace("model: sim-small\n", "")
    with pytest.raises(ConfigError) as caught:
        _validate(text)
    assert "model: required but missing" in caught.value.message


def test_model_without_a_price_is_refused_with_what_to_add():
    text = MINIMAL.replace("model: sim-small", "model: my-local-llama")
    with pytest.raises(ConfigError) as caught:
        _validate(text)
    assert "model 'my-local-llama' has no price" in caught.value.message
    assert "pricing.my-local-llama" in caught.value.message


def test_duplicate_step_ids_are_refused():
    text = MINIMAL + ""
    text = text.replace(
        "      prompt: Write hello.py\n",
        "      prompt: Write hello.py\n    - id: one\n      prompt: again\n",
    )
    with pytest.raises(ConfigError, match="step id 'one' appears more than once"):
        _validate(text)


def test_command_framework_placeholders_are_checked():
    text = MINIMAL.replace(
        "reference: {adapter: builtin}", "tool: {adapter: command, step: 'tool --msg {promt_file}'}"
    )
    with pytest.raises(ConfigError) as caught:
        _validate(text)
    assert "unknown placeholder(s) promt_file" in caught.value.message
    assert "prompt_file" in caught.value.message


def test_malformed_yaml_reports_file_and_line(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nmodel: [sim-small\nframeworks: {}\n")
    with pytest.raises(ConfigError) as caught:
        load_design(path)
    assert f"{path}:3:" in caught.value.message or f"{path}:4:" in caught.value.message
    assert "malformed YAML" in caught.value.message


def test_builder_fills_the_shipped_price_and_infers_the_provider():
    config = build_design(
        None,
        DesignOverrides(name="x", model="gpt-4.1-mini", frameworks=["reference"], scenario="hello"),
        "flags",
    )
    assert config.provider.kind == "openai"
    assert config.pricing["gpt-4.1-mini"].input == 0.40
    sim = build_design(
        None,
        DesignOverrides(name="y", model="sim-large", frameworks=["reference"], scenario="hello"),
        "flags",
    )
    assert sim.provider.kind == "sim"


def test_builder_runs_below_default_minimum_mean_exactly_that_many():
    config = build_design(
        None,
        DesignOverrides(
            name="x", model="sim-small", frameworks=["reference"], scenario="hello", runs=3
        ),
        "flags",
    )
    assert (config.runs.min, config.runs.max) == (3, 3)


def test_json_schema_lists_every_top_level_field():
    schema = ExperimentConfig.model_json_schema()
    assert set(schema["properties"]) == set(ExperimentConfig.model_fields)
    assert schema["additionalProperties"] is False
