"""What the calls of a ledger cost, priced with the experiment's price table.

A call is priced by the model that served it; when the provider named a model the table does not
price (a dated snapshot such as `gpt-4o-2024-08-06`, or none at all) the experiment's model is
used and the call is counted in `fallback_priced_calls`. Calls whose usage was not reported are
never priced as zero: they are left out of `cost_usd` and counted in `unpriced_calls`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from baes.config.models import ModelPrice
from baes.config.pricing import cost_usd
from baes.errors import InputError
from baes.llm.ledger import LedgerEntry


class MissingPriceError(InputError):
    """Neither the serving model nor the experiment's model has a price."""


@dataclass(frozen=True)
class LedgerCost:
    """Cost of a set of ledger entries and how much of it is known."""

    cost_usd: float  # sum over priced calls only
    priced_calls: int
    unpriced_calls: int  # usage unreported (or inconsistent): left out of cost_usd
    unpriced_ok_calls: int  # of those, 2xx answers of token-billed endpoints: probably billed
    fallback_priced_calls: int  # priced at the experiment model (serving model not in the table)

    @property
    def complete(self) -> bool:
        """True when no successful call is missing from `cost_usd`."""
        return self.unpriced_ok_calls == 0


# Endpoints whose successful answers consume tokens, so a missing usage there is a gap in the cost
# (a model listing without usage is not).
BILLED_ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/embeddings")


def price_for(
    model_served: str | None, prices: Mapping[str, ModelPrice], experiment_model: str | None
) -> tuple[ModelPrice, bool]:
    """The price of a call and whether it fell back to the experiment's model."""
    if model_served is not None and model_served in prices:
        return prices[model_served], False
    if experiment_model is not None and experiment_model in prices:
        return prices[experiment_model], True
    priced = ", ".join(sorted(prices)) or "none"
    raise MissingPriceError(
        f"no price for model {model_served!r} nor for the experiment model {experiment_model!r}",
        hint=f"add it to the design's `pricing` block (priced: {priced})",
    )


def entry_cost_usd(
    entry: LedgerEntry, prices: Mapping[str, ModelPrice], experiment_model: str | None
) -> float | None:
    """Cost of one call in USD, or None when its usage is unreported or inconsistent."""
    if not entry.usage_reported or entry.input_tokens is None:
        return None
    if entry.cached_tokens is not None and entry.cached_tokens > entry.input_tokens:
        return None  # a provider bug; pricing it would mean guessing which number is wrong
    price, _ = price_for(entry.model_served, prices, experiment_model)
    # A provider that reports no cache details is priced as having no cache hits (an upper
    # bound), and an endpoint without output tokens (embeddings) as having none.
    return cost_usd(price, entry.input_tokens, entry.cached_tokens or 0, entry.output_tokens or 0)


def ledger_cost(
    entries: Iterable[LedgerEntry], prices: Mapping[str, ModelPrice], experiment_model: str | None
) -> LedgerCost:
    """Price every entry with `cost_usd`; unreported usage is counted, never priced as zero."""
    total = 0.0
    priced = unpriced = unpriced_ok = fallback = 0
    for entry in entries:
        cost = entry_cost_usd(entry, prices, experiment_model)
        if cost is None:
            unpriced += 1
            if 200 <= entry.status_code < 300 and entry.endpoint in BILLED_ENDPOINTS:
                unpriced_ok += 1
            continue
        priced += 1
        total += cost
        if price_for(entry.model_served, prices, experiment_model)[1]:
            fallback += 1
    return LedgerCost(total, priced, unpriced, unpriced_ok, fallback)
