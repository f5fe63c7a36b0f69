"""The results: the summary across metrics and one section per metric."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from baes.analysis.report.findings import (
    TEST_NAMES,
    best_group,
    metric_title,
    omnibus_text,
    primary_contrast_text,
    significant_sentences,
)
from baes.analysis.report.formatting import (
    format_delta,
    format_interval,
    format_number,
    format_p,
    mean_ci,
    table,
)
from baes.analysis.report.source import unit_word

WIDE_SUMMARY_MAX_GROUPS = 6  # more groups than this: the summary table goes long-format


def summary_section(stats: Mapping[str, Any]) -> str:
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
        summary = table(
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
        summary = table(
            ["metric", "group", "n", "mean [CI]", "median", "omnibus p", "best"], rows, "llrrrrl"
        )
    confidence = f"{stats['plan']['confidence'] * 100:g} %"
    lines = [
        "## Summary",
        f"Mean [{confidence} CI] and n per {unit_word(stats)}; the omnibus p of the rank test "
        f'across groups; "best" names the {unit_word(stats)} that is significantly better than '
        f"every other one (a significant difference in every pair, on the metric's good side), or "
        "— when there is none. Each metric's line ends with its planned primary contrast.",
        summary,
    ]
    findings = []
    alpha = stats["plan"]["alpha"]
    for key in keys:
        block = stats["metrics"][key]
        title = metric_title(stats, key)
        best = best_group(stats, key)
        p = block["omnibus"].get("p")
        direction = stats["metric_info"][key].get("direction")
        significant = len(significant_sentences(stats, key))
        tested = sum(1 for pair in block["pairwise"] if pair["p_adj"] is not None)
        if best is not None:
            side = "lowest" if direction == "lower" else "highest"
            finding = (
                f"{best} had the {side} values, significantly different from every other "
                f"{unit_word(stats)} ({omnibus_text(block)})."
            )
        elif p is None and tested:  # planned contrasts: families tested apart, no single test
            finding = f"{significant} of {tested} tested pair(s) differ significantly" + (
                ", see below." if significant else "."
            )
        elif p is not None and p <= alpha and significant:
            finding = (
                f"the groups differ ({omnibus_text(block)}); {significant} pair(s) differ "
                "significantly, see below."
            )
        elif p is not None and p <= alpha and len(block["pairwise"]) > 1:
            finding = (
                f"the omnibus test is significant ({omnibus_text(block)}), but no pair "
                "differs significantly after adjustment."
            )
        elif p is not None and p <= alpha:
            finding = f"the groups differ significantly ({omnibus_text(block)})."
        elif p is not None:
            finding = f"no significant difference among the groups ({omnibus_text(block)})."
        else:
            finding = f"{omnibus_text(block)}."
        headline = primary_contrast_text(stats, key)
        if headline is not None:
            finding += f" The {headline}."
        findings.append(f"- {title}: {finding}")
    lines.append("\n".join(findings))
    return "\n\n".join(lines)


def metric_section(stats: Mapping[str, Any], key: str) -> str:
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
                (d["ci_method"] or "—") if d["n"] > 0 else "—",
                format_number(d["median"]),
                format_number(d["std"]),
                format_number(d["q1"]),
                format_number(d["q3"]),
                format_number(d["min"]),
                format_number(d["max"]),
            ]
        )
    lines.append(
        table(
            [
                "group",
                "n",
                "mean",
                confidence,
                "CI method",
                "median",
                "sd",
                "q1",
                "q3",
                "min",
                "max",
            ],
            rows,
            "lrrrlrrrrrr",
        )
    )
    notes = [
        f"- {g}: {d['ci_reason']}" for g, d in block["descriptives"].items() if d.get("ci_reason")
    ]
    notes += [f"- {g}: {d['reason']}" for g, d in block["descriptives"].items() if d.get("reason")]
    if notes:
        lines.append("\n".join(notes))
    omnibus = omnibus_text(block)
    if block["omnibus"].get("skipped"):  # "Kruskal–Wallis not computed: …" says it all
        lines.append(f"{omnibus[0].upper()}{omnibus[1:]}.")
    else:
        lines.append(f"Omnibus test: {omnibus}.")
    families = block.get("families") or []  # compare's planned contrasts: one test per family
    if len(families) > 1:
        lines.append(
            "Tests per family:\n\n"
            + "\n".join(f"- {f['family']}: {omnibus_text(f)}." for f in families)
        )
    if block["pairwise"]:
        adjust = plan["p_adjust"]
        rows = [
            [
                p["a"],
                p["b"],
                TEST_NAMES[p["test"]],
                p["method"] or "—",
                format_number(p["z"]) if p["z"] is not None else "—",
                format_p(p["p"]),
                format_p(p["p_adj"]),
                "yes" if p["significant"] else "no",
                format_delta(p["cliffs_delta"], minus="-"),
                format_interval(p["cliffs_delta_ci"], minus="-"),
                p["magnitude"] or "—",
            ]
            for p in block["pairwise"]
        ]
        lines.append(
            table(
                [
                    "a",
                    "b",
                    "test",
                    "method",
                    "z",
                    "p",
                    f"p_adj ({adjust})",
                    "significant",
                    "δ (a vs b)",
                    f"δ {confidence}",
                    "magnitude",
                ],
                rows,
                "llllrrrlrrl",
            )
        )
        reasons = sorted({p["p_reason"] for p in block["pairwise"] if p.get("p_reason")})
        if reasons:
            lines.append("Pairwise p-values not computed: " + "; ".join(reasons) + ".")
        sentences = significant_sentences(stats, key)
        if sentences:
            lines.append(
                "Pairs that differ significantly (see Methods for the rule); δ(a vs b) is "
                "positive when a's values tend to be larger:\n\n"
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


def overview_figures_section(stats: Mapping[str, Any]) -> str:
    drawn = [f for f in stats.get("figures", []) if f.get("metric") is None and not f["skipped"]]
    if not drawn:
        return ""
    return "## Figures across metrics\n\n" + "\n\n".join(
        f"![{f['title']}]({f['file']})" for f in drawn
    )
