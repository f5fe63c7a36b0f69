"""Planning sections: the stopping rule's state and the simulated sample size per pair."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from baes.analysis.report.findings import metric_title, primary_pair
from baes.analysis.report.formatting import format_number, table
from baes.analysis.report.source import unit_word
from baes.analysis.sample_size import SIMULATION_REPS


def half_width_text(entry: Mapping[str, Any]) -> str:
    """ "±8.1 %" (relative rule), "±0.041" (absolute rule for fractions), "—" (undecided)."""
    if entry.get("half_width_pct") is not None:
        return f"±{entry['half_width_pct']:.1f} %"
    if entry.get("half_width_abs") is not None:
        return f"±{format_number(entry['half_width_abs'])}"
    return "—"


def stopping_section(stats: Mapping[str, Any]) -> str:
    plan = stats["plan"]
    keys = [k for k in plan["stopping_metrics"] if k in stats["metrics"]]
    lines = ["## Stopping rule"]
    uses_abs = any(
        "half_width_abs" in entry
        for k in keys
        for entry in stats["metrics"][k]["stopping"].values()
    )
    rule = (
        f"A {unit_word(stats)} has converged when, for every stopping metric, the half-width "
        f"of the {plan['confidence'] * 100:g} % CI of the mean is at most "
        f"{plan['max_half_width_pct']:g} % of the mean"
    )
    if uses_abs:
        rule += (
            f"; for a fraction (0 to 1) at most {plan['max_half_width_abs']:g} in absolute "
            "terms, since a share near 0 has no meaningful relative width"
        )
    rule += "."
    if not keys:
        lines.append(
            rule
            + " None of the stopping metrics ("
            + ", ".join(plan["stopping_metrics"])
            + ") was analysed here."
        )
        return "\n\n".join(lines)
    rows, notes = [], []
    for group in stats["groups"]:
        cells, converged = [], True
        for key in keys:
            entry = stats["metrics"][key]["stopping"][group]
            converged = converged and entry["converged"]
            cells.append(half_width_text(entry))
            if entry.get("reason"):
                notes.append(f"- {group}, {key}: {entry['reason']}")
        rows.append([group, *cells, "yes" if converged else "no"])
    lines.append(rule + " Half-widths (± % of the mean, or ± absolute for fractions):")
    lines.append(table([unit_word(stats), *keys, "converged"], rows, "l" + "r" * len(keys) + "l"))
    if notes:
        lines.append("Not converged, or not decidable:\n\n" + "\n".join(notes))
    return "\n\n".join(lines)


def _needed(pair: Mapping[str, Any]) -> str:
    value = pair["n_per_group_80pct_power"]
    return "—" if value is None else str(value)


def sample_size_section(stats: Mapping[str, Any]) -> str:
    plan = stats["plan"]
    lines = [
        "## Sample-size planning",
        "For each pair: the smallest number of runs per group at which the test baes runs here "
        f"(with its p-value adjustment and, for three or more groups, the omnibus gate) reaches "
        f"80 % power at α = {plan['alpha']:g}, found by simulation: the observed groups are "
        "resampled at candidate sizes and the whole procedure is run on each resample; a size "
        "counts only when the simulation shows its power above 80 % (a one-sided test at 5 % "
        f"over up to {SIMULATION_REPS} resamples), so the number is not biased low by "
        "simulation noise. "
        "— means no size up to the cap reaches 80 % power, for the reason given.",
    ]
    any_pair = False
    for key, block in stats["metrics"].items():
        pairs = block["pairwise"]
        if not pairs:
            continue
        any_pair = True
        d = block["descriptives"]
        title = f"**{metric_title(stats, key)}**"
        headline = primary_pair(block)
        if headline is None:
            reason = block.get("primary_contrast_reason")
            lines.append(
                f"{title}: the planned primary contrast was not tested"
                + (f" ({reason})." if reason else ".")
            )
        elif headline["n_per_group_80pct_power"] is None:
            lines.append(
                f"{title}: for the primary contrast {headline['a']} vs {headline['b']}, no "
                f"sample size applies ({headline.get('n_per_group_reason') or 'no reason recorded'})."
            )
        else:
            lines.append(
                f"{title}: to detect the observed difference between {headline['a']} and "
                f"{headline['b']} (the primary contrast) with 80 % power you need "
                f"{headline['n_per_group_80pct_power']} runs per group (there are "
                f"{d[headline['a']]['n']} and {d[headline['b']]['n']})."
            )
        formula = any(p.get("n_per_group_formula") is not None for p in pairs)
        rows = [
            [
                p["a"],
                p["b"],
                _needed(p),
                *([_formula(p)] if formula else []),
                f"{d[p['a']]['n']} / {d[p['b']]['n']}",
                p.get("n_per_group_reason") or "",
            ]
            for p in pairs
        ]
        header = [
            "a",
            "b",
            "needed per group (simulated)",
            *(["formula (t-test / 0.864)"] if formula else []),
            "have (a / b)",
            "note",
        ]
        lines.append(table(header, rows, "llr" + ("r" if formula else "") + "rl"))
    if not any_pair:
        lines.append("No pair of groups to plan for.")
    return "\n\n".join(lines)


def _formula(pair: Mapping[str, Any]) -> str:
    value = pair.get("n_per_group_formula")
    return "—" if value is None else str(value)
