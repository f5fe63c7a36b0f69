"""The presets shipped as package data are valid, and unknown names list the valid ones."""

from __future__ import annotations

import pytest

from baes.config.builder import DesignOverrides, build_design
from baes.config.models import ModelPrice
from baes.config.presets import UnknownPresetError, framework_names, scenario_names
from baes.config.pricing import cost_usd, shipped_price, shipped_price_table


def test_shipped_scenarios_and_frameworks():
    assert {"hello", "academic-crud"} <= set(scenario_names())
    assert {"reference", "reference-plan", "reference-repair", "aider", "gpt-engineer"} <= set(
        framework_names()
    )


@pytest.mark.parametrize("scenario", scenario_names())
def test_every_scenario_preset_builds_a_valid_design(scenario):
    config = build_design(
        None,
        DesignOverrides(
            name="x", model="sim-small", frameworks=framework_names(), scenario=scenario
        ),
        "test",
    )
    assert all(step.check for step in config.scenario.steps), "every shipped step is checked"


def test_academic_crud_has_the_six_steps_of_the_original_study():
    config = build_design(
        None,
        DesignOverrides(
            name="x", model="sim-small", frameworks=["reference"], scenario="academic-crud"
        ),
        "test",
    )
    assert [s.id for s in config.scenario.steps] == [
        "student",
        "student-email",
        "course",
        "student-course",
        "teacher",
        "course-teacher",
    ]
    assert all("TestClient" in s.check for s in config.scenario.steps)


def test_unknown_presets_list_the_valid_ones():
    with pytest.raises(UnknownPresetError) as caught:
        build_design(
            None,
            DesignOverrides(name="x", model="sim-small", frameworks=["chat-dev"], scenario="hello"),
            "test",
        )
    assert "unknown framework preset 'chat-dev'" in caught.value.message
    assert "reference-repair" in caught.value.message
    with pytest.raises(UnknownPresetError, match="valid: academic-crud, hello"):
        build_design(
            None,
            DesignOverrides(name="x", model="sim-small", frameworks=["reference"], scenario="helo"),
            "test",
        )


def test_price_table_dates_real_prices_and_labels_simulator_prices_fictional():
    blocks = {block.provider: block for block in shipped_price_table()}
    assert blocks["openai"].prices_as_of and not blocks["openai"].fictional
    assert blocks["sim"].fictional and "FICTIONAL" in blocks["sim"].source
    assert {"sim-small", "sim-large"} <= set(blocks["sim"].models)
    assert "gpt-4.1-mini" in blocks["openai"].models


def test_cost_prices_cached_input_at_its_own_rate():
    price = ModelPrice(input=2.0, cached_input=0.5, output=8.0)
    # 1,000 uncached + 3,000 cached input tokens, 500 output tokens, by hand:
    expected = (1000 * 2.0 + 3000 * 0.5 + 500 * 8.0) / 1e6
    assert cost_usd(
        price, input_tokens=4000, cached_tokens=3000, output_tokens=500
    ) == pytest.approx(expected)
    no_discount = ModelPrice(input=2.0, output=8.0)
    assert cost_usd(no_discount, 4000, 3000, 0) == pytest.approx(4000 * 2.0 / 1e6)
    with pytest.raises(ValueError):
        cost_usd(price, input_tokens=10, cached_tokens=11, output_tokens=0)
    assert shipped_price("sim-large").output == 12.0


def test_new_warns_when_a_preset_is_known_to_fail_the_scenarios_checks(cli, root):
    # The original study's command: BAEs on the default scenario, academic-crud, whose checks
    # import main.py at the workspace root, which BAEs never writes (docs/frameworks.md).
    made = cli("new", "seed", "--model", "gpt-4o", "--frameworks", "baes", "--runs", "10")
    assert made.exit_code == 0, made.stderr
    [warning] = [line for line in made.stderr.splitlines() if line.startswith("warning:")]
    assert "academic-crud's checks import main.py" in warning
    # Another scenario, or the preset changed in the design: no such warning.
    other = cli("new", "hello", "--model", "gpt-4o", "--frameworks", "baes", "--scenario", "hello")
    assert other.exit_code == 0 and "warning:" not in other.stderr
    quiet = cli("new", "reference", "--model", "gpt-4o", "--frameworks", "reference")
    assert quiet.exit_code == 0 and "warning:" not in quiet.stderr


def test_every_preset_notice_names_a_shipped_preset_and_scenario():
    from importlib import resources

    from baes.config.yaml_io import load_yaml_text

    path = resources.files("baes.config").joinpath("presets", "notices.yaml")
    notices = load_yaml_text(path.read_text("utf-8"), "notices")
    for preset, by_scenario in notices.items():
        assert preset in framework_names()
        assert set(by_scenario) <= set(scenario_names())
