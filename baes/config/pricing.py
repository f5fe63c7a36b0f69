"""The shipped price table and the one formula that turns tokens into US dollars."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from baes.config.models import ModelPrice
from baes.errors import InputError


@dataclass(frozen=True)
class PriceSource:
    """One block of the shipped table: where its prices come from and whether they are real."""

    provider: str
    source: str
    prices_as_of: str | None
    fictional: bool
    models: dict[str, ModelPrice]


@cache
def shipped_price_table() -> tuple[PriceSource, ...]:
    """The price table shipped with baes (presets/prices.yaml)."""
    from ruamel.yaml import YAML

    text = resources.files("baes.config").joinpath("presets/prices.yaml").read_text("utf-8")
    raw = YAML(typ="safe").load(text)
    return tuple(
        PriceSource(
            provider=provider,
            source=" ".join(str(block["source"]).split()),
            prices_as_of=block.get("prices_as_of"),
            fictional=bool(block["fictional"]),
            models={model: ModelPrice(**price) for model, price in block["models"].items()},
        )
        for provider, block in raw.items()
    )


def shipped_price(model: str) -> ModelPrice:
    """The shipped price of `model`; InputError listing the priced models when there is none."""
    for block in shipped_price_table():
        if model in block.models:
            return block.models[model]
    known = ", ".join(m for block in shipped_price_table() for m in block.models)
    raise InputError(
        f"no price known for model {model!r}",
        hint=f"give one in the design's `pricing` block (USD per 1M tokens) or use one of: {known}",
    )


def cost_usd(
    price: ModelPrice, input_tokens: float, cached_tokens: float, output_tokens: float
) -> float:
    """Cost of one call, a sum of calls or a mean per run (hence float counts).

    `input_tokens` includes `cached_tokens`, as OpenAI reports.
    """
    if cached_tokens > input_tokens:
        raise ValueError(f"cached_tokens ({cached_tokens}) exceeds input_tokens ({input_tokens})")
    cached_rate = price.input if price.cached_input is None else price.cached_input
    uncached = input_tokens - cached_tokens
    return (
        uncached * price.input + cached_tokens * cached_rate + output_tokens * price.output
    ) / 1e6
