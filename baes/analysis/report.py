"""report.md, rendered from the stats.json content alone, for a reader who did not run anything.

Wording is neutral and descriptive ("B used 38 % fewer input tokens than A"), never causal. The
methods paragraph and the limitations are generated from what was actually computed, so the
text cannot drift from the numbers. The helpers that turn a metric block into findings (best
group, sentences for significant pairs) are shared with the CLI.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from baes.analysis.metrics import metric_spec

SMALL_GROUP = 5  # below this many values per group, say that power is low
# |x − median| / sd cannot exceed about √n (2.87 at n = 8), so the 3-sd rule is blind below 9.
OUTLIER_BLIND_BELOW = 9
WIDE_SUMMARY_MAX_GROUPS = 6  # more groups than this: the summary table goes long-format
TEST_NAMES = {"kruskal": "Kruskal–Wallis", "mannwhitney": "Mann–Whitney U", "dunn": "Dunn"}
P_ADJUST_NAMES = {"holm": "Holm", "sidak": "Šidák", "bonferroni": "Bonferroni", "none": "no"}
CI_NAMES = {"bca": "BCa", "percentile": "percentile"}


# --- formatting ------------------------------------------------------------------------------


def format_number(value: float | None) -> str:
    """A number for a table: thousands separators for large values, 3 significant digits else."""
    if value is None:
        return "—"
    if value == 0:
        return "0"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:#.3g}"  # "#" keeps trailing zeros: 0.500 next to 0.311


def format_p(p: float | None) -> str:
    """p-values to three decimals, "< 0.001" below that, "—" when not computed."""
    if p is None:
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def format_delta(delta: float | None, *, minus: str = "−") -> str:
    """Cliff's δ with two decimals; a true minus sign in prose, "-" in tables (spreadsheets)."""
    if delta is None:
        return "—"
    return f"{delta:.2f}".replace("-", minus)


def format_percent(value: float) -> str:
    """A percentage without trailing noise: 38, 4.2, 0.4."""
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.1f}" if value >= 0.1 else f"{value:.2g}"


def mean_ci(entry: Mapping[str, Any]) -> str:
    """ "mean [low, high]" of a descriptives entry."""
    if entry.get("mean") is None:
        return "—"
    if entry.get("ci_low") is None:
        return f"{format_number(entry['mean'])} [no CI]"
    return (
        f"{format_number(entry['mean'])} "
        f"[{format_number(entry['ci_low'])}, {format_number(entry['ci_high'])}]"
    )


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    align = align or "l" * len(header)
    marks = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --- findings, shared with the CLI -----------------------------------------------------------


def metric_title(stats: Mapping[str, Any], key: str) -> str:
    """ "Input tokens (TOK_IN)" for catalog metrics, the key itself otherwise."""
    name = stats["metric_info"].get(key, {}).get("name") or key
    return f"{name} ({key})" if name != key else key


def tested_groups(block: Mapping[str, Any]) -> list[str]:
    """Groups that took part in the tests of this metric (those with values)."""
    return [g for g, d in block["descriptives"].items() if d["n"] > 0]


def is_significant(pair: Mapping[str, Any], alpha: float) -> bool:
    """p_adj < α (p_adj equals p for two groups)."""
    return pair.get("p_adj") is not None and pair["p_adj"] < alpha


def best_group(stats: Mapping[str, Any], key: str) -> str | None:
    """The group significantly better than every other one, if any.

    Better means on the metric's good side by Cliff's δ with p_adj < α in every pair it is in,
    and the omnibus test significant; None for a metric without a better direction.
    """
    direction = stats["metric_info"].get(key, {}).get("direction")
    block = stats["metrics"][key]
    alpha = stats["plan"]["alpha"]
    omnibus_p = block["omnibus"].get("p")
    if direction is None or omnibus_p is None or omnibus_p >= alpha:
        return None
    sign = -1.0 if direction == "lower" else 1.0
    for group in tested_groups(block):
        mine = [p for p in block["pairwise"] if group in (p["a"], p["b"])]
        if not mine:
            continue
        if all(
            is_significant(p, alpha)
            and p["cliffs_delta"] is not None
            and sign * (p["cliffs_delta"] if p["a"] == group else -p["cliffs_delta"]) > 0
            for p in mine
        ):
            return group
    return None


def pair_sentence(stats: Mapping[str, Any], key: str, pair: Mapping[str, Any]) -> str:
    """ "b used 38 % fewer input tokens than a; δ = −0.62, large; p_adj = 0.002".

    The second group of the pair is the subject, so in `compare` the later experiment is
    described against the earlier one; δ is given from the subject's side.
    """
    block = stats["metrics"][key]
    subject, other = pair["b"], pair["a"]
    mean_subject = block["descriptives"][subject]["mean"]
    mean_other = block["descriptives"][other]["mean"]
    spec = metric_spec(key)
    if spec is not None:
        verb, less, more = spec.verb, spec.less_words, spec.more_words
    else:
        verb, less, more = "had", f"lower {key}", f"higher {key}"
    delta = None if pair["cliffs_delta"] is None else -pair["cliffs_delta"]
    difference = mean_subject - mean_other
    if difference == 0:
        core = f"{subject} and {other} have the same mean {key}"
    elif mean_other == 0 or not math.isfinite(difference / abs(mean_other)):
        word = less if difference < 0 else more
        core = (
            f"{subject} {verb} {word} than {other} (mean {format_number(mean_subject)} "
            f"vs {format_number(mean_other)})"
        )
    else:
        word = less if difference < 0 else more
        percent = abs(difference) / abs(mean_other) * 100.0
        core = f"{subject} {verb} {format_percent(percent)} % {word} than {other}"
    p_text = format_p(pair["p_adj"])
    p_text = f"p_adj {p_text}" if p_text.startswith("<") else f"p_adj = {p_text}"
    sentence = f"{core}; δ = {format_delta(delta)}, {pair['magnitude']}; {p_text}"
    if delta is not None and difference != 0 and delta != 0 and (delta > 0) != (difference > 0):
        sentence += " (the means and the rank-based δ point in opposite directions)"
    return sentence


def significant_sentences(stats: Mapping[str, Any], key: str) -> list[str]:
    """One sentence per pair with p_adj < α, in pair order."""
    alpha = stats["plan"]["alpha"]
    return [
        pair_sentence(stats, key, p)
        for p in stats["metrics"][key]["pairwise"]
        if is_significant(p, alpha)
    ]


def omnibus_text(block: Mapping[str, Any]) -> str:
    """ "Kruskal–Wallis H = 12.3, p = 0.002", or why the test was skipped."""
    omnibus = block["omnibus"]
    if omnibus.get("skipped"):
        name = TEST_NAMES.get(omnibus.get("test") or "", "the omnibus test")
        return f"{name} not computed: {omnibus['skipped']}"
    symbol = "H" if omnibus["test"] == "kruskal" else "U"
    return (
        f"{TEST_NAMES[omnibus['test']]} {symbol} = {format_number(omnibus['statistic'])}, "
        f"p = {format_p(omnibus['p'])}".replace("p = <", "p <")
    )


# --- the report ------------------------------------------------------------------------------


def render_report(stats: Mapping[str, Any]) -> str:
    """The whole report.md."""
    sections = [
        _title(stats),
        _source_section(stats),
        _summary_section(stats),
        *(_metric_section(stats, key) for key in stats["metrics"]),
        _overview_figures_section(stats),
        _stopping_section(stats),
        _success_section(stats),
        _check_errors_section(stats),
        _sample_size_section(stats),
        _methods_section(stats),
        _limitations_section(stats),
        _files_section(stats),
    ]
    return "\n\n".join(s for s in sections if s).rstrip() + "\n"


def _kind(stats: Mapping[str, Any]) -> str:
    return stats["source"]["kind"]


def _unit_word(stats: Mapping[str, Any]) -> str:
    return {"experiment": "framework", "compare": "experiment/framework"}.get(_kind(stats), "group")


def _title(stats: Mapping[str, Any]) -> str:
    source = stats["source"]
    n_groups, n_metrics = len(stats["groups"]), len(stats["metrics"])
    if source["kind"] == "experiment":
        head = f"# Analysis of experiment `{source['experiment']}`"
        what = (
            f"It compares {n_groups} framework(s) on {n_metrics} metric(s), using the "
            "completed runs recorded in the experiment folder."
        )
    elif source["kind"] == "compare":
        names = ", ".join(f"`{n}`" for n in source["experiments"])
        head = f"# Comparison of experiments {names}"
        what = (
            f"It compares {n_groups} experiment/framework group(s) on {n_metrics} metric(s); "
            "each group is one framework of one experiment."
        )
    else:
        head = f"# Analysis of `{source['file']}`"
        what = (
            f"It compares {n_groups} group(s) on {n_metrics} metric(s) read from a tidy CSV "
            f"file ({source['rows']} rows)."
        )
    return (
        f"{head}\n\nGenerated by {stats['created_with']}. {what} Every number in this report "
        "is also in `stats.json` next to it."
    )


def _plan_line(stats: Mapping[str, Any]) -> str:
    plan = stats["plan"]
    return (
        f"α = {plan['alpha']:g}, p-value adjustment: {plan['p_adjust']}, "
        f"{CI_NAMES[plan['ci_method']]} bootstrap CI of the mean at "
        f"{plan['confidence'] * 100:g} % with {plan['bootstrap_samples']:,} resamples "
        f"(seed {plan['seed']})"
    )


def _pricing_text(design: Mapping[str, Any]) -> str:
    parts = []
    for model, price in design["pricing"].items():
        cached = "input price" if price["cached_input"] is None else f"{price['cached_input']:g}"
        text = (
            f"{model}: input {price['input']:g}, cached input {cached}, "
            f"output {price['output']:g} USD per 1M tokens"
        )
        if price.get("fictional"):
            text += " (fictional simulator prices)"
        parts.append(text)
    return "; ".join(parts)


def _design_rows(design: Mapping[str, Any]) -> list[tuple[str, str]]:
    scenario = design["scenario"]
    provider = design["provider"] + (f" ({design['base_url']})" if design.get("base_url") else "")
    return [
        ("Model", design["model"]),
        ("Provider", provider),
        ("Frameworks", ", ".join(design["frameworks"])),
        (
            "Scenario",
            f"{scenario['name']}, {len(scenario['steps'])} step(s): "
            + ", ".join(scenario["steps"]),
        ),
        ("Planned runs", f"{design['runs']['min']} to {design['runs']['max']} per framework"),
        ("Config hash", f"`{design['config_hash']}`"),
        ("Prices", _pricing_text(design)),
    ]


def _source_section(stats: Mapping[str, Any]) -> str:
    kind = _kind(stats)
    lines = ["## Design" if kind != "csv" else "## Data"]
    if kind == "experiment":
        lines.append(_table(["", ""], _design_rows(stats["design"])))
    elif kind == "compare":
        names = list(stats["experiments"])
        rows_by_label: dict[str, list[str]] = {}
        for name in names:
            for label, value in _design_rows(stats["experiments"][name]):
                rows_by_label.setdefault(label, []).append(value)
        lines.append(
            _table(["", *names], [[label, *values] for label, values in rows_by_label.items()])
        )
        lines.append(_design_diff_text(stats))
    else:
        source = stats["source"]
        lines.append(
            f"Values were read from `{source['file']}` ({source['rows']} rows). Groups, in order "
            f"of first appearance: {', '.join(stats['groups'])}. A CSV carries no design and no "
            f"pre-registered plan, so baes's default plan was used: {_plan_line(stats)}."
        )
    if kind != "csv":
        lines.append(f"Analysis plan: {_plan_line(stats)}.")
        lines.append(_runs_table(stats))
        lines.append(_coverage_text(stats))
    return "\n\n".join(lines)


def _design_diff_text(stats: Mapping[str, Any]) -> str:
    diff = stats.get("design_diff", [])
    if not diff:
        return (
            "The designs do not differ in any field that can change results (model, provider, "
            "sampling, frameworks, scenario, runs, stopping rule, limits, seed, prices, "
            "analysis plan)."
        )
    lines = ["What differs between the designs:", ""]
    for entry in diff:
        changes = entry.get("changes", [])
        shown = "; ".join(
            f"`{c['path']}`: " + ", ".join(f"{n} = {_short(v)}" for n, v in c["values"].items())
            for c in changes[:8]
        )
        more = f"; and {len(changes) - 8} more" if len(changes) > 8 else ""
        lines.append(f"- **{entry['field']}**: {shown}{more}")
    if any(e["field"] == "scenario" for e in diff):
        lines += [
            "",
            "**Warning: the scenarios differ**, so the experiments did not solve the same "
            "task; differences in tokens, time and cost mix the framework and the task.",
        ]
    return "\n".join(lines)


def _short(value: Any, limit: int = 60) -> str:
    text = "(absent)" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _runs_table(stats: Mapping[str, Any]) -> str:
    rates = stats["success_rates"]
    coverage = stats["verification_coverage"]["groups"]
    rows = []
    for group, rate in rates.items():
        rows.append(
            [
                group,
                stats["n_runs"].get(group, 0),
                rate["attempted"],
                rate["completed"],
                coverage[group]["states"].get("verified", 0),
            ]
        )
    table = _table(
        [
            "framework" if _kind(stats) == "experiment" else "group",
            "analysed (N)",
            "attempted",
            "completed",
            "usage verified",
        ],
        rows,
        "lrrrr",
    )
    notes = [
        f"- {group}: {reason}; not in the statistics."
        for group, reason in stats.get("excluded_groups", {}).items()
    ]
    selection = stats.get("selection", {})
    scope = (
        "completed runs whose usage is verified"
        if selection.get("verified_only")
        else "completed runs"
    )
    text = f"Runs per {_unit_word(stats)} (the statistics use {scope}):\n\n{table}"
    return text + ("\n\n" + "\n".join(notes) if notes else "")


def _coverage_text(stats: Mapping[str, Any]) -> str:
    overall = stats["verification_coverage"]["overall"]
    total = overall["completed_runs"]
    verified = overall["states"].get("verified", 0)
    others = ", ".join(
        f"{count} {state}"
        for state, count in overall["states"].items()
        if count and state != "verified"
    )
    share = f" ({verified / total * 100:.0f} %)" if total else ""
    text = (
        f"Verification coverage: {verified} of {total} completed runs{share} have token "
        "usage verified against the provider's own usage records"
    )
    text += f"; {others}." if others else "."
    if total and verified == 0:
        text += (
            " No run has been cross-checked yet: the token counts are those of baes's "
            "metering proxy alone."
        )
    return text


def _summary_section(stats: Mapping[str, Any]) -> str:
    groups = stats["groups"]
    keys = list(stats["metrics"])
    if len(groups) <= WIDE_SUMMARY_MAX_GROUPS:
        rows = []
        for key in keys:
            block = stats["metrics"][key]
            cells = [
                f"{mean_ci(block['descriptives'][g])} (n={block['descriptives'][g]['n']})"
                for g in groups
            ]
            rows.append(
                [
                    key,
                    stats["metric_info"][key].get("unit") or "",
                    *cells,
                    format_p(block["omnibus"].get("p")),
                    best_group(stats, key) or "—",
                ]
            )
        table = _table(
            ["metric", "unit", *groups, "omnibus p", "best"], rows, "ll" + "r" * len(groups) + "rl"
        )
    else:
        rows = []
        for key in keys:
            block = stats["metrics"][key]
            for index, g in enumerate(groups):
                d = block["descriptives"][g]
                first = index == 0
                rows.append(
                    [
                        key if first else "",
                        g,
                        d["n"],
                        mean_ci(d),
                        format_number(d["median"]),
                        format_p(block["omnibus"].get("p")) if first else "",
                        (best_group(stats, key) or "—") if first else "",
                    ]
                )
        table = _table(
            ["metric", "group", "n", "mean [CI]", "median", "omnibus p", "best"], rows, "llrrrrl"
        )
    confidence = f"{stats['plan']['confidence'] * 100:g} %"
    lines = [
        "## Summary",
        f"Mean [{confidence} CI] and n per {_unit_word(stats)}; the omnibus p of the rank test "
        f'across groups; "best" names the {_unit_word(stats)} that is significantly better than '
        f"every other one (p_adj < {stats['plan']['alpha']:g} in every pair, on the metric's good "
        "side), or — when there is none.",
        table,
    ]
    findings = []
    alpha = stats["plan"]["alpha"]
    for key in keys:
        block = stats["metrics"][key]
        title = metric_title(stats, key)
        best = best_group(stats, key)
        p = block["omnibus"].get("p")
        direction = stats["metric_info"][key].get("direction")
        if best is not None:
            side = "lowest" if direction == "lower" else "highest"
            findings.append(
                f"- {title}: {best} had the {side} values, significantly different "
                f"from every other {_unit_word(stats)}."
            )
        elif p is not None and p < alpha:
            count = len(significant_sentences(stats, key))
            findings.append(
                f"- {title}: the groups differ ({omnibus_text(block)}); {count} "
                "pair(s) differ significantly, see below."
            )
        elif p is not None:
            findings.append(
                f"- {title}: no significant difference among the groups ({omnibus_text(block)})."
            )
        else:
            findings.append(f"- {title}: {omnibus_text(block)}.")
    lines.append("\n".join(findings))
    return "\n\n".join(lines)


def _metric_section(stats: Mapping[str, Any], key: str) -> str:
    block = stats["metrics"][key]
    info = stats["metric_info"][key]
    plan = stats["plan"]
    lines = [f"## {metric_title(stats, key)}"]
    about = []
    if info.get("description"):
        about.append(info["description"])
    if info.get("unit"):
        better = info.get("direction")
        direction = f"; {better} is better" if better else ""
        about.append(f"Unit: {info['unit']}{direction}.")
    if about:
        lines.append(" ".join(about))
    excluded = stats.get("exclusions", {}).get(key, {})
    if excluded:
        notes = []
        for group, reasons in excluded.items():
            detail = "; ".join(f"{count} × {reason}" for reason, count in reasons.items())
            notes.append(f"- {group}: {sum(reasons.values())} run(s) left out ({detail})")
        lines.append(
            "Values that could not be measured were left out (never counted as 0):\n\n"
            + "\n".join(notes)
        )
    confidence = f"{plan['confidence'] * 100:g} % CI"
    rows = []
    for group, d in block["descriptives"].items():
        ci = (
            "—"
            if d["ci_low"] is None
            else f"[{format_number(d['ci_low'])}, {format_number(d['ci_high'])}]"
        )
        rows.append(
            [
                group,
                d["n"],
                format_number(d["mean"]),
                ci,
                format_number(d["median"]),
                format_number(d["std"]),
                format_number(d["q1"]),
                format_number(d["q3"]),
                format_number(d["min"]),
                format_number(d["max"]),
            ]
        )
    lines.append(
        _table(
            ["group", "n", "mean", confidence, "median", "sd", "q1", "q3", "min", "max"],
            rows,
            "lrrrrrrrrr",
        )
    )
    notes = [
        f"- {g}: {d['ci_reason']}" for g, d in block["descriptives"].items() if d.get("ci_reason")
    ]
    notes += [f"- {g}: {d['reason']}" for g, d in block["descriptives"].items() if d.get("reason")]
    if notes:
        lines.append("\n".join(notes))
    lines.append(f"Omnibus test: {omnibus_text(block)}.")
    if block["pairwise"]:
        adjust = plan["p_adjust"]
        rows = [
            [
                p["a"],
                p["b"],
                TEST_NAMES[p["test"]],
                format_number(p["z"]) if p["z"] is not None else "—",
                format_p(p["p"]),
                format_p(p["p_adj"]),
                format_delta(p["cliffs_delta"], minus="-"),
                p["magnitude"] or "—",
                p["n_per_group_80pct_power"] if p["n_per_group_80pct_power"] is not None else "—",
            ]
            for p in block["pairwise"]
        ]
        lines.append(
            _table(
                [
                    "a",
                    "b",
                    "test",
                    "z",
                    "p",
                    f"p_adj ({adjust})",
                    "δ (a vs b)",
                    "magnitude",
                    "n/group for 80 % power",
                ],
                rows,
                "lllrrrrlr",
            )
        )
        reasons = sorted({p["p_reason"] for p in block["pairwise"] if p.get("p_reason")})
        if reasons:
            lines.append("Pairwise p-values not computed: " + "; ".join(reasons) + ".")
        sentences = significant_sentences(stats, key)
        if sentences:
            lines.append(
                f"Pairs that differ significantly (p_adj < {plan['alpha']:g}); δ is "
                "given from the first-named group's side:\n\n"
                + "\n".join(f"- {s}." for s in sentences)
            )
        elif not reasons:
            lines.append(f"No pair differs significantly at α = {plan['alpha']:g}.")
    outliers = [(g, d["outliers"]) for g, d in block["descriptives"].items() if d["outliers"]]
    if outliers:
        lines.append(
            "Outliers (|x − median| > 3 sd; kept in every analysis): "
            + "; ".join(
                f"{g}: {', '.join(format_number(v) for v in values)}" for g, values in outliers
            )
            + "."
        )
    else:
        lines.append("Outliers (|x − median| > 3 sd): none.")
    for figure in stats.get("figures", []):
        if figure.get("metric") == key and not figure["skipped"]:
            lines.append(f"![{figure['title']}]({figure['file']})")
    return "\n\n".join(lines)


def _stopping_section(stats: Mapping[str, Any]) -> str:
    plan = stats["plan"]
    keys = [k for k in plan["stopping_metrics"] if k in stats["metrics"]]
    lines = ["## Stopping rule"]
    rule = (
        f"A {_unit_word(stats)} has converged when, for every stopping metric, the half-width "
        f"of the {plan['confidence'] * 100:g} % CI of the mean is at most "
        f"{plan['max_half_width_pct']:g} % of the mean."
    )
    if not keys:
        lines.append(
            rule
            + " None of the stopping metrics ("
            + ", ".join(plan["stopping_metrics"])
            + ") was analysed here."
        )
        return "\n\n".join(lines)
    rows = []
    for group in stats["groups"]:
        cells, converged = [], True
        for key in keys:
            entry = stats["metrics"][key]["stopping"][group]
            converged = converged and entry["converged"]
            pct = entry["half_width_pct"]
            cells.append("—" if pct is None else f"{pct:.1f} %")
        rows.append([group, *cells, "yes" if converged else "no"])
    lines.append(rule + " Half-widths as % of the mean:")
    lines.append(_table([_unit_word(stats), *keys, "converged"], rows, "l" + "r" * len(keys) + "l"))
    return "\n\n".join(lines)


def _success_section(stats: Mapping[str, Any]) -> str:
    if _kind(stats) == "csv":
        return ""
    rows = []
    for group, rate in stats["success_rates"].items():
        reasons = (
            "; ".join(
                f"{kind} × {info['count']}"
                + (f" (e.g. {_short(info['example'], 80)})" if info.get("example") else "")
                for kind, info in rate["failure_reasons"].items()
            )
            or "—"
        )
        share = "—" if rate["success_rate"] is None else f"{rate['success_rate'] * 100:.0f} %"
        rows.append(
            [
                group,
                rate["attempted"],
                rate["completed"],
                rate["failed"],
                rate["interrupted"],
                rate["running"],
                share,
                reasons,
            ]
        )
    return "\n\n".join(
        [
            "## Run success",
            "Success rate = completed / attempted (completed, failed and interrupted runs; runs still "
            "running are not counted). Failed and interrupted runs are not in the statistics above.",
            _table(
                [
                    _unit_word(stats),
                    "attempted",
                    "completed",
                    "failed",
                    "interrupted",
                    "running",
                    "success rate",
                    "failure reasons",
                ],
                rows,
                "lrrrrrrl",
            ),
        ]
    )


def _check_errors_section(stats: Mapping[str, Any]) -> str:
    """How many checks of the analysed runs could not run, and why (empty when none)."""
    errors = stats.get("check_errors") or {}
    if not errors:
        return ""
    checks = sum(entry["checks"] for entry in errors.values())
    runs = sum(entry["runs"] for entry in errors.values())
    lines = [
        f"- {group}: {entry['checks']} check(s) in {entry['runs']} run(s) ("
        + "; ".join(f"{count} × {_md(reason)}" for reason, count in entry["reasons"].items())
        + ")"
        for group, entry in errors.items()
    ]
    return "\n\n".join(
        [
            "## Checks that could not run",
            f"{checks} check(s) in {runs} analysed run(s) could not be run by the harness "
            "(status `error`: missing requirements, a command not found, a crash of the checker), "
            "so they say nothing about the framework and are left out of the check pass rate:",
            "\n".join(lines),
        ]
    )


def _sample_size_section(stats: Mapping[str, Any]) -> str:
    plan = stats["plan"]
    lines = [
        "## Sample-size planning",
        f"For each pair: the runs per group a rank test needs to detect the observed "
        f"difference with 80 % power at α = {plan['alpha']:g} (Cohen's d from the observed "
        "means and pooled sd, two-sided two-sample t-test, divided by 0.864 for the "
        "Mann–Whitney efficiency bound, rounded up).",
    ]
    any_pair = False
    for key, block in stats["metrics"].items():
        pairs = block["pairwise"]
        if not pairs:
            continue
        any_pair = True
        d = block["descriptives"]
        example = next((p for p in pairs if p["n_per_group_80pct_power"] is not None), None)
        text = f"**{metric_title(stats, key)}**"
        if example is None:
            reasons = sorted({p.get("n_per_group_reason") or "undefined" for p in pairs})
            lines.append(f"{text}: no sample size applies ({'; '.join(reasons)}).")
            continue
        text += (
            f": to detect the observed difference between {example['a']} and "
            f"{example['b']} with 80 % power you need {example['n_per_group_80pct_power']}"
            f" runs per group (there are {d[example['a']]['n']} and "
            f"{d[example['b']]['n']})."
        )
        rows = [
            [
                p["a"],
                p["b"],
                p["n_per_group_80pct_power"] if p["n_per_group_80pct_power"] is not None else "—",
                f"{d[p['a']]['n']} / {d[p['b']]['n']}",
                p.get("n_per_group_reason") or "",
            ]
            for p in pairs
        ]
        lines.append(text)
        lines.append(_table(["a", "b", "needed per group", "have (a / b)", "note"], rows, "llrrl"))
    if not any_pair:
        lines.append("No pair of groups to plan for.")
    return "\n\n".join(lines)


def _methods_section(stats: Mapping[str, Any]) -> str:
    plan = stats["plan"]
    metrics = stats["metrics"]
    kind = _kind(stats)
    confidence = f"{plan['confidence'] * 100:g} %"
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
    ci_fallbacks = sum(
        1
        for b in metrics.values()
        for d in b["descriptives"].values()
        if d.get("ci_reason") and "percentile" in d["ci_reason"]
    )
    parts.append(
        f"Per group: n, mean, median, standard deviation (ddof 1), quartiles (linear "
        f"interpolation), minimum, maximum, and a {confidence} {CI_NAMES[plan['ci_method']]} "
        f"bootstrap confidence interval of the mean ({plan['bootstrap_samples']:,} resamples, "
        f"scipy.stats.bootstrap, seed {plan['seed']}; a constant group gets [c, c])"
        + (
            f"; in {ci_fallbacks} group(s) BCa was undefined and the percentile interval is "
            "reported instead, as noted there"
            if ci_fallbacks
            else ""
        )
        + "."
    )
    tests = {b["omnibus"]["test"] for b in metrics.values() if b["omnibus"]["p"] is not None}
    skipped = sum(1 for b in metrics.values() if b["omnibus"].get("skipped"))
    if "kruskal" in tests:
        parts.append(
            "With three or more groups, the Kruskal–Wallis test (tie-corrected) compared all "
            "groups, followed by Dunn's pairwise test (two-sided, tie-corrected variance) with "
            + (
                "no adjustment"
                if plan["p_adjust"] == "none"
                else f"{P_ADJUST_NAMES[plan['p_adjust']]} adjustment over the pairs of each metric"
            )
            + "."
        )
    if "mannwhitney" in tests:
        parts.append(
            "With two groups, the two-sided Mann–Whitney U test (scipy's default "
            "method: exact for small samples without ties, asymptotic otherwise) is "
            "both the omnibus and the pairwise test, so p_adj equals p."
        )
    if skipped:
        parts.append(
            f"For {skipped} metric(s) the tests could not be computed; the reason is "
            "stated in each metric's section."
        )
    parts.append(
        f"A difference is called significant when p_adj < α = {plan['alpha']:g}. Effect sizes "
        "are Cliff's δ from exact dominance counts (positive when the first group's values tend "
        "to be larger), labelled negligible (|δ| < 0.147), small (< 0.33), medium (< 0.474) or "
        "large. Sample sizes for 80 % power come from Cohen's d (pooled sd) for a two-sided "
        "two-sample t-test, divided by 0.864 (the Mann–Whitney asymptotic relative efficiency "
        "lower bound) and rounded up, at least 2. Outliers are values with |x − median| > 3 sd; "
        "they are reported, not removed."
    )
    if any(
        not f["skipped"] and f["file"].startswith("figures/forest_")
        for f in stats.get("figures", [])
    ):
        from baes.analysis.figures import forest_resamples

        parts.append(
            f"The forest plots show each pair's δ with a {confidence} percentile "
            f"bootstrap interval ({forest_resamples(plan):,} resamples of each group, "
            f"seed {plan['seed']})."
        )
    if stats.get("deviations"):
        parts.append("Deviations from the pre-registered plan: " + _deviation_text(stats) + ".")
    return "## Methods\n\n" + " ".join(parts)


def _deviation_text(stats: Mapping[str, Any]) -> str:
    return "; ".join(
        f"{d['field']} {d['used']} instead of the planned {d['planned']}"
        for d in stats["deviations"]
    )


def _limitations_section(stats: Mapping[str, Any]) -> str:
    kind = _kind(stats)
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
            + _deviation_text(stats)
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
            + "; their CI is a point."
        )
    other_skips = sorted(
        {
            f"{k}: {b['omnibus']['skipped']}"
            for k, b in stats["metrics"].items()
            if b["omnibus"].get("skipped") and k not in constant
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


def _overview_figures_section(stats: Mapping[str, Any]) -> str:
    drawn = [f for f in stats.get("figures", []) if f.get("metric") is None and not f["skipped"]]
    if not drawn:
        return ""
    return "## Figures across metrics\n\n" + "\n\n".join(
        f"![{f['title']}]({f['file']})" for f in drawn
    )


def _files_section(stats: Mapping[str, Any]) -> str:
    lines = [
        "## Files\n",
        f"- `stats.json`: every number of this report (schema_version {stats['schema_version']}).",
    ]
    if _kind(stats) != "csv":
        lines.append(
            "- `data.csv`: the tidy table of measured values (group,metric,value,run); "
            "`baes analyze --from-csv data.csv` analyses it again."
        )
    figures = stats.get("figures", [])
    drawn = [f for f in figures if not f["skipped"]]
    for figure in drawn:
        lines.append(f"- `{figure['file']}`: {figure['title']}.")
    for figure in figures:
        if figure["skipped"]:
            lines.append(f"- `{figure['file']}` not drawn: {figure['skipped']}.")
    if not figures:
        lines.append("- No figures were drawn (--no-figures).")
    return "\n".join(lines)
