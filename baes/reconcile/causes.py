"""Plain-language explanations of a difference: how much, where, and its likely cause."""

from __future__ import annotations

from baes.reconcile.buckets import GroupKey
from baes.reconcile.compare import GroupComparison, Tolerance
from baes.reconcile.quantities import QUANTITY_LABELS, Quantities
from baes.reconcile.source import Scope


def who_else(scope: Scope) -> str:
    """Who besides the experiment the provider's numbers may include, and what would exclude them."""
    if "api_key_id" in scope.group_by:
        return "another process used the same API key"
    if scope.project_id:
        return (
            "another process used this model in the same project (set reconcile.api_key_id to "
            "count only the experiment's key)"
        )
    return (
        "another process used this model in the same organisation (a dedicated project or key, "
        "named in reconcile.project_id / reconcile.api_key_id, keeps others out)"
    )


def _amount(name: str, delta: int, ledger: int) -> str:
    label = QUANTITY_LABELS[name]
    if name == "requests" and abs(delta) == 1:
        label = "request"
    share = f" ({delta / ledger * 100:+.1f} %)" if ledger else ""
    return f"{abs(delta):,} {'more' if delta > 0 else 'fewer'} {label}{share}"


def describe_difference(comparison: GroupComparison, tolerance: Tolerance) -> str:
    """`provider shows 1 more request, 1,204 more input tokens (+12.3 %) in 14:02 UTC (model m)`."""
    delta, ledger = comparison.delta, comparison.ledger
    parts = [
        _amount(name, getattr(delta, name), getattr(ledger, name))
        for name in comparison.differing(tolerance)
    ]
    where = f"in {comparison.unit.label} (model {comparison.model}"
    where += f", key {comparison.api_key_id})" if comparison.api_key_id else ")"
    return f"provider shows {', '.join(parts)} {where}"


def _describe_group(group: GroupKey, quantities: Quantities) -> str:
    model, key = group
    who = f"model {model}" + (f", key {key}" if key else "")
    return f"{quantities.requests:,} request(s) under {who}"


def _from_neighbours(
    comparison: GroupComparison, neighbours: list[tuple[str, int]], scope: Scope
) -> str:
    """Extra requests explained, wholly or partly, by the root's other experiments."""
    made = sum(n for _, n in neighbours)
    names = ", ".join(f"{name} ({n:,})" for name, n in neighbours)
    text = (
        f"{made:,} call(s) of model {comparison.model} in that minute came from other "
        f"experiment(s) of this root on the same provider: {names}; the provider cannot tell "
        "experiments apart, so run them one after the other or give each its own key "
        "(reconcile.api_key_id)"
    )
    rest = comparison.delta.requests - made
    if rest > 0:
        text += f"; for the other {rest:,}: {who_else(scope)}"
    return text


def likely_cause(
    comparison: GroupComparison,
    others: list[tuple[GroupKey, Quantities]],
    scope: Scope,
    neighbours: list[tuple[str, int]] | None = None,
) -> str:
    """The most likely reason for one group's difference, from its shape.

    `neighbours`: the calls other experiments of the root made in the unit, for this model.
    """
    delta, ledger, provider = comparison.delta, comparison.ledger, comparison.provider
    if comparison.unreported_calls and delta.requests == 0:
        return (
            f"{comparison.unreported_calls} call(s) of the ledger in this minute carry no usage "
            "(the provider's answer had none, e.g. a stream without include_usage), so the "
            "ledger has no token count for them"
        )
    if delta.requests > 0 and neighbours:
        return _from_neighbours(comparison, neighbours, scope)
    if delta.requests > 0:
        return "with no run of this experiment in that minute, " + who_else(scope)
    if delta.requests < 0:
        if provider.requests == 0 and others:
            shown = "; ".join(_describe_group(g, q) for g, q in others)
            return (
                f"the provider shows no call of model {comparison.model} but {shown}: the "
                "provider names the model (or key) differently from the ledger"
            )
        if provider.requests == 0:
            return (
                "the provider has no usage at all for these calls: they were billed to another "
                "organisation or project than the admin key's, or reconcile.api_key_id / "
                "reconcile.project_id do not match the key the runs used"
            )
        return (
            f"the provider is missing {-delta.requests:,} of the ledger's {ledger.requests:,} "
            "request(s): calls cancelled before the model ran, or billed under another "
            "model or key"
        )
    if delta.input_tokens != 0 or delta.output_tokens != 0:
        return (
            "the same calls are counted with different tokens: the ledger's usage for some "
            "calls is incomplete (streamed calls, retried calls) or the provider revised its data"
        )
    return (
        "only the cached input tokens differ: the ledger missed the answers' "
        "prompt_tokens_details.cached_tokens, or the provider accounts caching differently"
    )
