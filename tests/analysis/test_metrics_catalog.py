"""The metric catalog: one definition per metric, measured from run records, never a fake zero."""

from __future__ import annotations

from pathlib import Path

import pytest

from baes.analysis.metrics import (
    CATALOG,
    METRICS,
    MetricContext,
    catalog_markdown,
    measure_run,
    resolve_metric_keys,
)
from baes.config.models import METRIC_KEYS, ModelPrice
from tests.analysis.run_records import make_design, run_record

DOCS = Path(__file__).resolve().parents[2] / "docs" / "analysis.md"
PRICES = {"sim-small": ModelPrice(input=0.5, cached_input=0.05, output=2.0)}


@pytest.fixture(scope="module")
def config():
    return make_design("catalog")


def test_catalog_keys_are_exactly_the_config_metric_keys():
    assert tuple(METRICS) == METRIC_KEYS
    assert len({spec.key for spec in CATALOG}) == len(CATALOG)


def test_every_metric_has_name_unit_direction_and_wording():
    for spec in CATALOG:
        assert spec.name and spec.unit and spec.description and spec.source
        assert spec.direction in ("lower", "higher", None)
        assert spec.verb and spec.less_words and spec.more_words


def test_docs_embed_the_catalog_table_verbatim():
    text = DOCS.read_text("utf-8")
    assert catalog_markdown() in text, "regenerate the table in docs/analysis.md from the catalog"
    for key in METRIC_KEYS:
        assert f"`{key}`" in text


def test_a_complete_run_is_measured_from_its_totals(config):
    record = run_record(
        config,
        "reference",
        1,
        input_tokens=12_000,
        cached_tokens=4_000,
        output_tokens=3_000,
        calls=7,
        llm_seconds=12.5,
        wall_seconds=40.0,
        checks_passed=1,
        checks_total=2,
    )
    measured = measure_run(record, MetricContext(PRICES))
    values = {key: m.value for key, m in measured.items()}
    assert values == {
        "TOK_IN": 12_000,
        "TOK_OUT": 3_000,
        "CACHED_TOKENS": 4_000,
        "API_CALLS": 7,
        # By hand: 8,000 uncached × 0.5 + 4,000 cached × 0.05 + 3,000 out × 2.0, per 1M tokens.
        "COST_USD": pytest.approx((8_000 * 0.5 + 4_000 * 0.05 + 3_000 * 2.0) / 1e6),
        "T_WALL_seconds": 40.0,
        "T_LLM_seconds": 12.5,
        "CHECK_PASS_RATE": 0.5,
    }
    assert all(m.reason is None for m in measured.values())


def test_unreported_usage_is_null_with_a_reason_never_zero(config):
    record = run_record(
        config, "reference", 2, input_tokens=None, output_tokens=None, cached_tokens=None
    )
    measured = measure_run(record, MetricContext(PRICES))
    for key in ("TOK_IN", "TOK_OUT", "CACHED_TOKENS", "COST_USD"):
        assert measured[key].value is None
        assert "not reported" in measured[key].reason
    assert measured["API_CALLS"].value == 2


def test_zero_checks_give_no_pass_rate_with_a_reason(config):
    record = run_record(config, "reference", 3, checks_passed=0, checks_total=0)
    measured = measure_run(record, MetricContext(PRICES))["CHECK_PASS_RATE"]
    assert measured.value is None and "no check ran" in measured.reason


def test_a_model_without_a_price_has_no_cost_with_a_reason(config):
    record = run_record(config, "reference", 4, model="gpt-unpriced")
    measured = measure_run(record, MetricContext(PRICES))["COST_USD"]
    assert measured.value is None
    assert "'gpt-unpriced'" in measured.reason and "no price" in measured.reason


def test_cached_input_without_its_own_price_costs_the_input_price(config):
    record = run_record(
        config, "reference", 5, input_tokens=1_000_000, cached_tokens=500_000, output_tokens=0
    )
    prices = {"sim-small": ModelPrice(input=1.0, cached_input=None, output=2.0)}
    assert measure_run(record, MetricContext(prices))["COST_USD"].value == pytest.approx(1.0)


def test_inconsistent_usage_is_not_priced(config):
    record = run_record(config, "reference", 6, input_tokens=10, cached_tokens=20)
    measured = measure_run(record, MetricContext(PRICES))["COST_USD"]
    assert measured.value is None and "inconsistent" in measured.reason


def test_wall_time_falls_back_to_the_timestamps(config):
    record = run_record(config, "reference", 7, wall_seconds=90.0)
    record["totals"]["wall_seconds"] = None
    assert measure_run(record, MetricContext(PRICES))["T_WALL_seconds"].value == 90.0


def test_metric_names_resolve_case_insensitively_in_catalog_order():
    assert resolve_metric_keys(["cost_usd", "TOK_IN"]) == ["TOK_IN", "COST_USD"]
    assert resolve_metric_keys(None) == list(METRIC_KEYS)
    with pytest.raises(KeyError, match="TOKENS"):
        resolve_metric_keys(["TOKENS"])
