"""Pricing a ledger: the one cost formula, unreported usage counted and never priced as zero."""

from __future__ import annotations

import pytest

from baes.config.models import ModelPrice
from baes.config.pricing import cost_usd
from baes.llm.ledger_cost import MissingPriceError, entry_cost_usd, ledger_cost
from tests.llm.test_ledger import entry

PRICES = {
    "exp": ModelPrice(input=1.0, cached_input=0.1, output=4.0),
    "other": ModelPrice(input=10.0, output=40.0),
}


def test_each_call_is_priced_by_the_model_that_served_it():
    calls = [
        entry(model_served="exp", input_tokens=1000, cached_tokens=400, output_tokens=100),
        entry(model_served="other", input_tokens=1000, cached_tokens=400, output_tokens=100),
    ]
    cost = ledger_cost(calls, PRICES, "exp")
    expected = cost_usd(PRICES["exp"], 1000, 400, 100) + cost_usd(PRICES["other"], 1000, 400, 100)
    assert cost.cost_usd == pytest.approx(expected)
    assert (cost.priced_calls, cost.unpriced_calls, cost.fallback_priced_calls) == (2, 0, 0)
    assert cost.complete


def test_an_unpriced_serving_model_falls_back_to_the_experiment_model_and_is_counted():
    calls = [entry(model_served="exp-2026-01-01"), entry(model_served=None)]
    cost = ledger_cost(calls, PRICES, "exp")
    assert cost.fallback_priced_calls == 2
    assert cost.cost_usd == pytest.approx(2 * cost_usd(PRICES["exp"], 120, 100, 30))


def test_calls_without_usage_are_counted_as_unpriced_never_as_zero():
    no_usage = dict(
        usage_reported=False,
        input_tokens=None,
        output_tokens=None,
        cached_tokens=None,
        reasoning_tokens=None,
    )
    calls = [
        entry(model_served="exp"),
        entry(status_code=200, **no_usage),  # answered, tokens unknown: the worrying kind
        entry(status_code=429, error="budget_exceeded: ...", **no_usage),
        entry(endpoint="/v1/models", status_code=200, **no_usage),  # never billed
    ]
    cost = ledger_cost(calls, PRICES, "exp")
    assert (cost.priced_calls, cost.unpriced_calls, cost.unpriced_ok_calls) == (1, 3, 1)
    assert not cost.complete
    assert cost.cost_usd == pytest.approx(cost_usd(PRICES["exp"], 120, 100, 30))


def test_unreported_details_price_as_no_cache_hits_and_no_output():
    embedding = entry(model_served="exp", input_tokens=50, cached_tokens=None, output_tokens=None)
    assert entry_cost_usd(embedding, PRICES, "exp") == pytest.approx(50 * 1.0 / 1e6)


def test_inconsistent_usage_is_unpriced_rather_than_guessed():
    broken = entry(model_served="exp", input_tokens=10, cached_tokens=20)
    assert entry_cost_usd(broken, PRICES, "exp") is None
    assert ledger_cost([broken], PRICES, "exp").unpriced_ok_calls == 1


def test_a_call_no_price_covers_is_a_typed_error():
    with pytest.raises(MissingPriceError) as missing:
        ledger_cost([entry(model_served="unknown")], PRICES, "also-unknown")
    assert "exp" in missing.value.hint
