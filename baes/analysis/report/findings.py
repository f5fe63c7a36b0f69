"""What a metric block says, in words: shared by report.md and the CLI's summaries.

Wording is neutral and descriptive ("b used 38 % fewer input tokens than a"), never causal. A
pair is said to differ significantly only when stats.json marks it `significant` (adjusted
p ≤ α and, with three or more groups, a significant omnibus test).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from baes.analysis.metrics import metric_spec
from baes.analysis.report.formatting import (
    format_count_statistic,
    format_delta,
    format_number,
    format_percent,
    p_equation,
)

TEST_NAMES = {"kruskal": "Kruskal–Wallis", "mannwhitney": "Mann–Whitney", "dunn": "Dunn"}
STATISTIC_SYMBOLS = {"kruskal": "H", "mannwhitney": "U"}


def metric_title(stats: Mapping[str, Any], key: str) -> str:
    """ "Input tokens (TOK_IN)" for catalog metrics, the key itself otherwise."""
    name = stats["metric_info"].get(key, {}).get("name") or key
    return f"{name} ({key})" if name != key else key


def is_fraction(stats: Mapping[str, Any], key: str) -> bool:
    """A metric whose catalog unit is a fraction (0 to 1): its differences are percentage points."""
    return stats["metric_info"].get(key, {}).get("unit") == "fraction"


def tested_groups(block: Mapping[str, Any]) -> list[str]:
    """Groups that took part in the tests of this metric (those with values)."""
    return [g for g, d in block["descriptives"].items() if d["n"] > 0]


def best_group(stats: Mapping[str, Any], key: str) -> str | None:
    """The group significantly better than every other one, if any.

    Better means on the metric's good side by Cliff's δ in a significant pair against each of
    the other tested groups; None for a metric without a better direction, and whenever a group
    was not tested against every other one (compare's planned contrasts).
    """
    direction = stats["metric_info"].get(key, {}).get("direction")
    block = stats["metrics"][key]
    if direction is None:
        return None
    sign = -1.0 if direction == "lower" else 1.0
    groups = tested_groups(block)
    for group in groups:
        mine = [p for p in block["pairwise"] if group in (p["a"], p["b"])]
        opponents = {p["b"] if p["a"] == group else p["a"] for p in mine}
        if not mine or opponents != set(groups) - {group}:
            continue
        if all(
            p["significant"]
            and p["cliffs_delta"] is not None
            and sign * (p["cliffs_delta"] if p["a"] == group else -p["cliffs_delta"]) > 0
            for p in mine
        ):
            return group
    return None


def difference_text(stats: Mapping[str, Any], key: str, subject: str, other: str) -> str:
    """ "b used 38 % fewer input tokens than a"; fractions in percentage points ("24 pp")."""
    block = stats["metrics"][key]
    mean_subject = block["descriptives"][subject]["mean"]
    mean_other = block["descriptives"][other]["mean"]
    spec = metric_spec(key)
    if spec is not None:
        verb, less, more = spec.verb, spec.less_words, spec.more_words
    else:
        verb, less, more = "had", f"lower {key}", f"higher {key}"
    difference = mean_subject - mean_other
    word = less if difference < 0 else more
    if difference == 0:
        return f"{subject} and {other} have the same mean {key}"
    if is_fraction(stats, key):
        # A rate going from 0.72 to 0.96 rose by 24 points, not by "33 %".
        points = format_percent(abs(difference) * 100.0)
        return (
            f"{subject} {verb} {points} pp {word} than {other} "
            f"({format_number(mean_subject)} vs {format_number(mean_other)})"
        )
    if mean_other == 0 or not math.isfinite(difference / abs(mean_other)):
        return (
            f"{subject} {verb} {word} than {other} (mean {format_number(mean_subject)} "
            f"vs {format_number(mean_other)})"
        )
    percent = abs(difference) / abs(mean_other) * 100.0
    return f"{subject} {verb} {format_percent(percent)} % {word} than {other}"


def delta_text(pair: Mapping[str, Any], confidence: float) -> str:
    """ "δ(a vs b) = −0.62 [95 % CI −0.85, −0.30], large": the table's sign, with its CI."""
    delta = pair["cliffs_delta"]
    text = f"δ({pair['a']} vs {pair['b']}) = {format_delta(delta)}"
    if delta is None:
        return text
    interval = pair["cliffs_delta_ci"]
    if interval is not None:
        low, high = (format_delta(bound) for bound in interval)
        text += f" [{confidence * 100:g} % CI {low}, {high}]"
    return f"{text}, {pair['magnitude']}"


def pair_sentence(stats: Mapping[str, Any], key: str, pair: Mapping[str, Any]) -> str:
    """ "b used 38 % fewer input tokens than a; δ(a vs b) = 0.62 [95 % CI …], large; p_adj = …".

    The second group of the pair is the subject, so in `compare` the later experiment is
    described against the earlier one; δ keeps the pairwise table's orientation (a vs b).
    """
    block = stats["metrics"][key]
    subject, other = pair["b"], pair["a"]
    core = difference_text(stats, key, subject, other)
    sentence = (
        f"{core}; {delta_text(pair, stats['plan']['confidence'])}; "
        f"{p_equation('p_adj', pair['p_adj'])}"
    )
    delta = pair["cliffs_delta"]
    difference = block["descriptives"][subject]["mean"] - block["descriptives"][other]["mean"]
    # δ(a vs b) > 0 means a's values tend to be larger, i.e. the subject b's smaller.
    if delta is not None and difference != 0 and delta != 0 and (delta > 0) == (difference > 0):
        sentence += " (the means and the rank-based δ point in opposite directions)"
    return sentence


def significant_sentences(stats: Mapping[str, Any], key: str) -> list[str]:
    """One sentence per significant pair (as stats.json marks it), in pair order."""
    return [
        pair_sentence(stats, key, p) for p in stats["metrics"][key]["pairwise"] if p["significant"]
    ]


def primary_pair(block: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pairwise entry of the metric's planned primary contrast (either orientation)."""
    contrast = block["primary_contrast"]
    if contrast is None:
        return None
    wanted = {contrast["a"], contrast["b"]}
    return next((p for p in block["pairwise"] if {p["a"], p["b"]} == wanted), None)


def primary_contrast_text(stats: Mapping[str, Any], key: str) -> str | None:
    """The headline of a metric: its planned primary contrast, and whether it is significant."""
    block = stats["metrics"][key]
    contrast = block["primary_contrast"]
    if contrast is None:
        reason = block.get("primary_contrast_reason")
        return None if reason is None else f"planned primary contrast was not tested: {reason}"
    pair = primary_pair(block)
    label = f"primary contrast {contrast['a']} vs {contrast['b']}"
    if pair is None:
        return f"{label}: not among the tested pairs (a group has no values)"
    if pair["p_adj"] is None:
        reason = pair.get("p_reason") or "not computed"
        return f"{label}: not tested ({reason})"
    verdict = "significant" if pair["significant"] else "not significant"
    return f"{label}: {pair_sentence(stats, key, pair)}; {verdict}"


def omnibus_text(block: Mapping[str, Any]) -> str:
    """ "Kruskal–Wallis H = 12.3, asymptotic p = 0.00213", or why the test was skipped."""
    omnibus = block["omnibus"]
    if omnibus.get("skipped"):
        name = TEST_NAMES.get(omnibus.get("test") or "", "the omnibus test")
        return f"{name} not computed: {omnibus['skipped']}"
    test = omnibus["test"]
    statistic = omnibus["statistic"]
    shown = format_count_statistic(statistic) if test == "mannwhitney" else format_number(statistic)
    p_name = f"{omnibus['method']} p" if omnibus["method"] else "p"
    return f"{TEST_NAMES[test]} {STATISTIC_SYMBOLS[test]} = {shown}, {p_equation(p_name, omnibus['p'])}"
