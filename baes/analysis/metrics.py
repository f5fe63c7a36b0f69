"""The metric catalog: every metric defined once, with how it is measured from a run record.

The report, `compare`, the stopping rule and docs/analysis.md all read this catalog. A metric
that cannot be measured for a run (usage not reported, no checks run, no price for the model) is
a `Measurement` with value None and the reason; it is never a zero.

This module imports nothing heavy: the engine's stopping rule and the CLI may read it cheaply.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from baes.clock import parse_utc
from baes.config.models import ModelPrice
from baes.config.pricing import cost_usd

Direction = Literal["lower", "higher"] | None


@dataclass(frozen=True)
class Measurement:
    """One metric of one run: a finite value, or None with the reason it could not be measured."""

    value: float | None
    reason: str | None = None


@dataclass(frozen=True)
class MetricContext:
    """What measuring needs besides the run record: the experiment's price table (USD per 1M)."""

    prices: Mapping[str, ModelPrice]


@dataclass(frozen=True)
class MetricSpec:
    """One metric: identity, unit, which direction is better, and how to measure it."""

    key: str
    name: str
    unit: str
    direction: Direction
    description: str
    source: str  # where the value comes from in run.json, for the docs
    # Wording for plain sentences: "{subject} {verb} 38 % {less_words} than {other}".
    verb: str
    less_words: str
    more_words: str
    measure: Callable[[Mapping[str, Any], MetricContext], Measurement]


def _number(record: Mapping[str, Any], field: str, what: str) -> Measurement:
    """A non-negative finite number from `totals`, or None with the reason."""
    totals = record.get("totals")
    if not isinstance(totals, Mapping):
        return Measurement(None, "the run record has no totals")
    value = totals.get(field)
    if value is None:
        # A stable reason (no per-run counts) so the report can group the runs it excludes.
        return Measurement(None, f"{what} not reported (totals.{field} is null)")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Measurement(None, f"totals.{field} is not a number ({value!r})")
    if not math.isfinite(value) or value < 0:
        return Measurement(None, f"totals.{field} is not a non-negative finite number ({value!r})")
    return Measurement(float(value))


def _totals_field(
    field: str, what: str
) -> Callable[[Mapping[str, Any], MetricContext], Measurement]:
    def measure(record: Mapping[str, Any], context: MetricContext) -> Measurement:
        return _number(record, field, what)

    return measure


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_utc(value)
    except ValueError:
        return None


def measure_wall_seconds(record: Mapping[str, Any], context: MetricContext | None) -> Measurement:
    """totals.wall_seconds; when absent, ended_at − started_at of the record."""
    measured = _number(record, "wall_seconds", "wall-clock time")
    if measured.value is not None:
        return measured
    start, end = _timestamp(record.get("started_at")), _timestamp(record.get("ended_at"))
    if start is None or end is None or end < start:
        return Measurement(None, f"{measured.reason}, and started_at/ended_at are not usable")
    return Measurement((end - start).total_seconds())


def measure_cost_usd(record: Mapping[str, Any], context: MetricContext) -> Measurement:
    """Tokens × the experiment's price of the run's model, via the one cost formula."""
    model = record.get("model")
    price = context.prices.get(model) if isinstance(model, str) else None
    if price is None:
        priced = ", ".join(sorted(context.prices)) or "none"
        return Measurement(
            None,
            f"model {model!r} of this run has no price in the experiment's price table "
            f"(priced: {priced})",
        )
    tokens = {}
    for field, what in (
        ("input_tokens", "input tokens"),
        ("cached_tokens", "cached input tokens"),
        ("output_tokens", "output tokens"),
    ):
        measured = _number(record, field, what)
        if measured.value is None:
            return Measurement(None, f"cost unknown: {measured.reason}")
        tokens[field] = int(measured.value)
    try:
        value = cost_usd(
            price, tokens["input_tokens"], tokens["cached_tokens"], tokens["output_tokens"]
        )
    except ValueError as exc:
        return Measurement(None, f"cost unknown: inconsistent usage ({exc})")
    return Measurement(value)


def measure_check_pass_rate(record: Mapping[str, Any], context: MetricContext) -> Measurement:
    """checks_passed / (checks_total − checks_errored): checks the harness could not run are no
    verdict on the framework. None when no check gave a verdict (a rate of nothing is not 0)."""
    total = _number(record, "checks_total", "number of checks")
    passed = _number(record, "checks_passed", "number of passed checks")
    if total.value is None:
        return total
    if passed.value is None:
        return passed
    if total.value == 0:
        return Measurement(None, "no check ran in this run (checks_total is 0)")
    # Records written before errors were told apart have no checks_errored: none errored then.
    errored = (
        _number(record, "checks_errored", "number of errored checks")
        if "checks_errored" in record["totals"]
        else Measurement(0.0)
    )
    if errored.value is None:
        return errored
    judged = total.value - errored.value
    if judged < 0 or passed.value > judged:
        return Measurement(
            None,
            f"inconsistent check counts (passed {passed.value:g}, errored {errored.value:g}, "
            f"total {total.value:g})",
        )
    if judged == 0:
        # A stable reason (no per-run counts) so that the report groups these runs.
        return Measurement(
            None,
            "every check of this run was an error of the harness, not a verdict "
            f"({_first_check_error(record)})",
        )
    return Measurement(passed.value / judged)


def _first_check_error(record: Mapping[str, Any]) -> str:
    for step in record.get("steps") or []:
        check = step.get("check") if isinstance(step, Mapping) else None
        if isinstance(check, Mapping) and check.get("status") == "error":
            return str(check.get("error_reason") or "no reason recorded")
    return "no reason recorded"


CATALOG: tuple[MetricSpec, ...] = (
    MetricSpec(
        key="TOK_IN",
        name="Input tokens",
        unit="tokens",
        direction="lower",
        description="Input (prompt) tokens over all LLM calls of the run, cached ones included, "
        "as metered by the proxy.",
        source="run.json `totals.input_tokens`",
        verb="used",
        less_words="fewer input tokens",
        more_words="more input tokens",
        measure=_totals_field("input_tokens", "input tokens"),
    ),
    MetricSpec(
        key="TOK_OUT",
        name="Output tokens",
        unit="tokens",
        direction="lower",
        description="Output (completion) tokens over all LLM calls of the run, as metered by the "
        "proxy.",
        source="run.json `totals.output_tokens`",
        verb="used",
        less_words="fewer output tokens",
        more_words="more output tokens",
        measure=_totals_field("output_tokens", "output tokens"),
    ),
    MetricSpec(
        key="CACHED_TOKENS",
        name="Cached input tokens",
        unit="tokens",
        direction=None,
        description="Input tokens the provider served from its prompt cache (a subset of the "
        "input tokens). Neither direction is better: more cache hits make a given input cheaper, "
        "but they usually come with more input.",
        source="run.json `totals.cached_tokens`",
        verb="had",
        less_words="fewer cached input tokens",
        more_words="more cached input tokens",
        measure=_totals_field("cached_tokens", "cached input tokens"),
    ),
    MetricSpec(
        key="API_CALLS",
        name="LLM calls",
        unit="calls",
        direction="lower",
        description="Number of LLM calls the framework made during the run.",
        source="run.json `totals.calls`",
        verb="made",
        less_words="fewer LLM calls",
        more_words="more LLM calls",
        measure=_totals_field("calls", "LLM calls"),
    ),
    MetricSpec(
        key="COST_USD",
        name="Cost",
        unit="USD",
        direction="lower",
        description="Tokens priced with the experiment's frozen price table: uncached input, "
        "cached input (at its own price) and output tokens, in USD.",
        source="`cost_usd(price of run.json model, totals.input_tokens, totals.cached_tokens, totals.output_tokens)`",
        verb="cost",
        less_words="less",
        more_words="more",
        measure=measure_cost_usd,
    ),
    MetricSpec(
        key="T_WALL_seconds",
        name="Wall-clock time",
        unit="s",
        direction="lower",
        description="Time from the start of the run to its end, checks included.",
        source="run.json `totals.wall_seconds` (else `ended_at − started_at`)",
        verb="took",
        less_words="less wall-clock time",
        more_words="more wall-clock time",
        measure=measure_wall_seconds,
    ),
    MetricSpec(
        key="T_LLM_seconds",
        name="LLM time",
        unit="s",
        direction="lower",
        description="Sum of the latencies of the run's LLM calls (overlapping calls add up).",
        source="run.json `totals.llm_seconds`",
        verb="spent",
        less_words="less time in LLM calls",
        more_words="more time in LLM calls",
        measure=_totals_field("llm_seconds", "LLM call time"),
    ),
    MetricSpec(
        key="CHECK_PASS_RATE",
        name="Check pass rate",
        unit="fraction",
        direction="higher",
        description="Scenario checks passed divided by checks that gave a verdict (0 to 1); "
        "checks the harness could not run (status `error`) are left out; undefined when no check "
        "gave a verdict.",
        source="run.json `totals.checks_passed / (totals.checks_total − totals.checks_errored)`",
        verb="had a",
        less_words="lower check pass rate",
        more_words="higher check pass rate",
        measure=measure_check_pass_rate,
    ),
)

METRICS: dict[str, MetricSpec] = {spec.key: spec for spec in CATALOG}


def metric_spec(key: str) -> MetricSpec | None:
    """The catalog entry for `key`, or None for a metric the catalog does not know (CSV input)."""
    return METRICS.get(key)


def resolve_metric_keys(requested: list[str] | None) -> list[str]:
    """Catalog keys for `requested` (case-insensitive, catalog order); all when none are given.

    Raises KeyError naming the unknown ones; the caller turns it into a user-facing error.
    """
    if not requested:
        return list(METRICS)
    by_folded = {key.casefold(): key for key in METRICS}
    unknown = [m for m in requested if m.casefold() not in by_folded]
    if unknown:
        raise KeyError(", ".join(unknown))
    wanted = {by_folded[m.casefold()] for m in requested}
    return [key for key in METRICS if key in wanted]


def measure_run(record: Mapping[str, Any], context: MetricContext) -> dict[str, Measurement]:
    """Every catalog metric of one run record."""
    return {spec.key: spec.measure(record, context) for spec in CATALOG}


def metric_info(key: str) -> dict[str, Any]:
    """Name, unit, direction and description of a metric as JSON (generic for unknown keys)."""
    spec = metric_spec(key)
    if spec is None:
        return {"name": key, "unit": None, "direction": None, "description": None}
    return {
        "name": spec.name,
        "unit": spec.unit,
        "direction": spec.direction,
        "description": spec.description,
    }


def catalog_markdown() -> str:
    """The catalog as the Markdown table docs/analysis.md embeds (a test keeps them equal)."""
    lines = [
        "| key | name | unit | better | from | description |",
        "|---|---|---|---|---|---|",
    ]
    for spec in CATALOG:
        better = spec.direction or "neither"
        lines.append(
            f"| `{spec.key}` | {spec.name} | {spec.unit} | {better} | {spec.source} | "
            f"{spec.description} |"
        )
    return "\n".join(lines)
