"""The closing sections: Methods (what was computed, per metric), Limitations, Files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from baes.analysis.report.findings import TEST_NAMES
from baes.analysis.report.source import large_group_rule, source_kind

SMALL_GROUP = 5  # below this many values per group, say that power is low
# |x − median| / sd cannot exceed about √n (2.87 at n = 8), so the 3-sd rule is blind below 9.
OUTLIER_BLIND_BELOW = 9
P_ADJUST_NAMES = {"holm": "Holm", "sidak": "Šidák", "bonferroni": "Bonferroni", "none": "no"}
# The interval methods stats.json names in `descriptives.<group>.ci_method`, in words.
CI_METHOD_NAMES = {
    "t": "Student t interval",
    "bootstrap-t": "studentized bootstrap (bootstrap-t)",
    "bootstrap-bca": "BCa bootstrap",
    "bootstrap-percentile": "percentile bootstrap",
    "wilson": "Wilson score interval",
    "wilson-bound": "Wilson score interval on the mean of per-run fractions",
    "clopper-pearson": "Clopper–Pearson interval",
    "constant": "a constant group's point [c, c]",
}


def methods_section(stats: Mapping[str, Any]) -> str:
    plan = stats["plan"]
    metrics = stats["metrics"]
    kind = source_kind(stats)
    alpha = f"{plan['alpha']:g}"
    parts = []
    if kind == "csv":
        parts.append(
            f"Values were read from `{stats['source']['file']}` as given; baes did not "
            "measure them."
        )
    else:
        total = sum(stats["n_runs"].values())
        left_out = sum(
            sum(r.values())
            for groups in stats.get("exclusions", {}).values()
            for r in groups.values()
        )
        scope = (
            "completed runs with verified usage"
            if stats.get("selection", {}).get("verified_only")
            else "completed runs"
        )
        parts.append(
            f"The {scope} ({total} in all) were measured with baes's metric catalog "
            "from their run records; cost was derived from the tokens and the "
            "experiment's frozen price table"
            + (
                f"; {left_out} value(s) that could not be measured were left out and "
                "are counted in each metric's section"
                if left_out
                else ""
            )
            + "."
        )
    parts.append(
        "Per group: n, mean, median, standard deviation (ddof 1), quartiles (linear "
        f"interpolation), minimum, maximum, and a {plan['confidence'] * 100:g} % confidence "
        "interval of the mean by the method named per metric below (bootstrap intervals: "
        f"{plan['bootstrap_samples']:,} resamples, seed {plan['seed']}; "
        f"{large_group_rule(plan['ci_method'])})."
    )
    tests = {b["omnibus"]["test"] for b in metrics.values() if b["omnibus"]["p"] is not None}
    if "kruskal" in tests:
        parts.append(
            "With three or more groups, the Kruskal–Wallis test (tie-corrected) compared all "
            "groups, followed by Dunn's pairwise test (two-sided, tie-corrected variance) with "
            + (
                "no adjustment"
                if plan["p_adjust"] == "none"
                else f"{P_ADJUST_NAMES[plan['p_adjust']]} adjustment over each metric's family"
            )
            + "."
        )
    if "mannwhitney" in tests:
        parts.append(
            "With two groups, the two-sided Mann–Whitney U test is both the omnibus and the "
            "pairwise test, so p_adj equals p."
        )
    parts.append(
        "Each p-value comes from the exact null distribution, from a permutation distribution, "
        "or from the large-sample approximation, as named per metric below."
    )
    parts.append(
        f"A pair is called significant when its adjusted p ≤ α = {alpha} and, with three or "
        f"more groups, the omnibus p ≤ α = {alpha} as well: pairs are not read after an "
        "omnibus test that found no difference. Effect sizes are Cliff's δ from exact "
        "dominance counts; δ(a vs b) is positive when a's values tend to be larger, labelled "
        "negligible (|δ| < 0.147), small (< 0.33), medium (< 0.474) or large"
        + _delta_ci_text(stats)
        + ". Sample sizes for 80 % power are simulated: the observed groups are resampled at "
        "candidate sizes and the same test, adjustment and gate are run on each resample. "
        "Outliers are values with |x − median| > 3 sd; they are reported, not removed."
    )
    per_metric = [f"- {_metric_methods(stats, key)}" for key in metrics]
    if stats.get("deviations"):
        parts.append("Deviations from the pre-registered plan: " + deviation_text(stats) + ".")
    return "## Methods\n\n" + " ".join(parts) + "\n\nPer metric:\n\n" + "\n".join(per_metric)


def _delta_ci_text(stats: Mapping[str, Any]) -> str:
    methods = sorted(
        {
            p["cliffs_delta_ci_method"]
            for b in stats["metrics"].values()
            for p in b["pairwise"]
            if p["cliffs_delta_ci"] is not None
        }
    )
    if not methods:
        return ""
    confidence = f"{stats['plan']['confidence'] * 100:g} %"
    return f"; its {confidence} interval (in the text and the forest plots) is a " + (
        " / ".join(methods) + " interval"
    )


def _metric_methods(stats: Mapping[str, Any], key: str) -> str:
    """ "TOK_IN: Kruskal–Wallis (asymptotic p); pairs: Dunn (asymptotic p), family …; CI …"."""
    block = stats["metrics"][key]
    omnibus = block["omnibus"]
    pair_tests = sorted(
        {
            f"{TEST_NAMES[p['test']]} ({p['method']} p)"
            for p in block["pairwise"]
            if p["p"] is not None
        }
    )
    if not omnibus.get("skipped"):
        tests = f"{TEST_NAMES[omnibus['test']]} ({omnibus['method']} p)"
        if pair_tests and omnibus["test"] != "mannwhitney":
            tests += "; pairs: " + ", ".join(pair_tests)
    elif pair_tests:  # compare's planned contrasts: no test across all groups, pairs tested
        tests = f"no test across all groups ({omnibus['skipped']}); pairs: " + ", ".join(pair_tests)
    else:
        tests = f"tests not computed ({omnibus['skipped']})"
    if block["pairwise"]:
        tests += f"; adjustment family: {block['family']}"
    by_method: dict[str, list[str]] = {}
    for group, d in block["descriptives"].items():
        if d["n"] > 0:
            method = d["ci_method"]
            name = CI_METHOD_NAMES.get(method, method) if method else "no interval"
            by_method.setdefault(name, []).append(group)
    intervals = "; ".join(f"{name} ({', '.join(groups)})" for name, groups in by_method.items())
    return f"{key}: {tests}; CI of the mean: {intervals or 'none'}."


def deviation_text(stats: Mapping[str, Any]) -> str:
    return "; ".join(
        f"{d['field']} {d['used']} instead of the planned {d['planned']}"
        for d in stats["deviations"]
    )


def limitations_section(stats: Mapping[str, Any]) -> str:
    kind = source_kind(stats)
    items = []
    if kind != "csv":
        overall = stats["verification_coverage"]["overall"]
        unverified = overall["completed_runs"] - overall["states"].get("verified", 0)
        if unverified:
            items.append(
                f"Token usage of {unverified} of {overall['completed_runs']} completed runs is "
                "not verified against the provider's usage records; the counts rely on baes's "
                "metering proxy alone."
            )
    if stats.get("deviations"):
        items.append(
            "The analysis deviates from the pre-registered plan ("
            + deviation_text(stats)
            + "); results under the planned choices may differ."
        )
    for note in stats.get("plan_notes", []):
        items.append(note)
    constant = [
        k
        for k, b in stats["metrics"].items()
        if (b["omnibus"].get("skipped") or "").startswith("all values are identical")
    ]
    if constant:
        items.append(
            "Constant metrics (every run has the same value, nothing to compare): "
            + ", ".join(constant)
            + "."
        )
    zero_var = [
        f"{k} ({g})"
        for k, b in stats["metrics"].items()
        if k not in constant
        for g, d in b["descriptives"].items()
        if d["std"] == 0.0
    ]
    if zero_var:
        items.append(
            "Groups with zero variance (a single repeated value): "
            + ", ".join(zero_var)
            + "; such a sample shows no spread, so its interval rests on the method's "
            "assumptions alone."
        )
    other_skips = sorted(
        {
            f"{k}: {b['omnibus']['skipped']}"
            for k, b in stats["metrics"].items()
            if b["omnibus"].get("skipped")
            and k not in constant
            and not any(pair["p"] is not None for pair in b["pairwise"])
        }
    )
    if other_skips:
        items.append("Tests not computed: " + "; ".join(other_skips) + ".")
    small = sorted(
        {
            g
            for b in stats["metrics"].values()
            for g, d in b["descriptives"].items()
            if 0 < d["n"] < SMALL_GROUP
        }
    )
    if small:
        items.append(
            f"Fewer than {SMALL_GROUP} values in some groups ({', '.join(small)}): tests "
            "have little power and intervals are wide."
        )
    blind = sorted(
        {
            g
            for b in stats["metrics"].values()
            for g, d in b["descriptives"].items()
            if 2 <= d["n"] < OUTLIER_BLIND_BELOW
        }
    )
    if blind:
        items.append(
            f"The 3-sd outlier rule can flag nothing in groups of fewer than "
            f"{OUTLIER_BLIND_BELOW} values (no value can then lie much more than √n sd "
            f"from the median): {', '.join(blind)}."
        )
    stopped = _stopped_by_rule(stats)
    if stopped:
        items.append(
            "The stopping rule decided the number of runs of "
            + ", ".join(f"{group} ({n})" for group, n in stopped)
            + ": they stopped between runs.min and runs.max once every stopping metric's "
            "interval was narrow enough. The tests and intervals here treat n as fixed in "
            "advance; groups whose runs happened to vary little stop earlier, so their "
            "intervals may be somewhat narrower than the nominal coverage implies."
        )
    if stats.get("exclusions"):
        items.append(
            "Some values could not be measured and were left out (see each metric); "
            "if they are not missing at random, the remaining values may be biased."
        )
    if stats.get("excluded_groups"):
        items.append(
            "Some groups have no analysable run and are absent from the statistics: "
            + ", ".join(stats["excluded_groups"])
            + "."
        )
    if kind != "csv":
        rates = [
            r["success_rate"]
            for r in stats["success_rates"].values()
            if r["success_rate"] is not None
        ]
        if rates and min(rates) < 1.0:
            items.append(
                "Not every run completed; statistics describe completed runs only, "
                "which may differ from the runs that failed."
            )
        designs = stats["experiments"].values() if kind == "compare" else [stats["design"]]
        if any(p.get("fictional") for d in designs for p in d["pricing"].values()):
            items.append(
                "Costs use the simulator's fictional prices; they are not the price of "
                "any real service."
            )
    if stats.get("problems"):
        items.append(
            f"{len(stats['problems'])} run record(s) could not be used: "
            + "; ".join(stats["problems"][:5])
            + ("…" if len(stats["problems"]) > 5 else "")
            + "."
        )
    if kind == "compare" and any(e["field"] == "scenario" for e in stats.get("design_diff", [])):
        items.append(
            "The experiments ran different scenarios, so their differences are not "
            "differences between frameworks alone."
        )
    if kind == "csv":
        items.append(
            "baes cannot check how the values in the CSV were measured or whether rows "
            "belong to the runs they claim."
        )
    else:
        items.append(
            "The results describe these frameworks on this scenario with this model and "
            "settings; they are associations between a framework and its measurements "
            "and do not by themselves explain why the frameworks differ."
        )
    return "## Limitations\n\n" + "\n".join(f"- {item}" for item in items)


def files_section(stats: Mapping[str, Any]) -> str:
    lines = [
        "## Files\n",
        f"- `stats.json`: every number of this report (schema_version {stats['schema_version']}).",
    ]
    if source_kind(stats) != "csv":
        lines.append(
            "- `data.csv`: the tidy table of measured values (group,metric,value,run); "
            "`baes analyze --from-csv data.csv` analyses it again."
        )
    figures = stats.get("figures", [])
    drawn = [f for f in figures if not f["skipped"]]
    for figure in drawn:
        svg = figure["file"].removesuffix(".png") + ".svg"
        lines.append(f"- `{figure['file']}` and `{svg}`: {figure['title']}.")
    for figure in figures:
        if figure["skipped"]:
            lines.append(f"- `{figure['file']}` not drawn: {figure['skipped']}.")
    if not figures:
        lines.append("- No figures were drawn (--no-figures).")
    return "\n".join(lines)


def _stopped_by_rule(stats: Mapping[str, Any]) -> list[tuple[str, int]]:
    """Groups whose n the stopping rule decided: converged between runs.min and runs.max.

    A group at runs.max was stopped by the maximum; one below it that has not converged is
    unfinished (or gave up), not stopped by the rule.
    """
    kind = source_kind(stats)
    if kind == "csv":
        return []
    keys = [k for k in stats["plan"]["stopping_metrics"] if k in stats["metrics"]]
    if not keys:
        return []
    decided = []
    for group in stats["groups"]:
        design = (
            stats["experiments"][group.split("/", 1)[0]] if kind == "compare" else stats["design"]
        )
        if not design["stopping_rule"]["enabled"]:
            continue
        runs, n = design["runs"], stats["n_runs"].get(group, 0)
        converged = all(stats["metrics"][k]["stopping"][group]["converged"] for k in keys)
        if converged and runs["min"] <= n < runs["max"]:
            decided.append((group, n))
    return decided
