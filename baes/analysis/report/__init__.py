"""report.md, rendered from the stats.json content alone, for a reader who did not run anything.

Wording is neutral and descriptive ("B used 38 % fewer input tokens than A"), never causal. The
methods paragraph and the limitations are generated from what was actually computed, so the
text cannot drift from the numbers. One module per part of the report; the helpers that turn a
metric block into findings are shared with the CLI and re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from baes.analysis.report.findings import (
    best_group,
    metric_title,
    omnibus_text,
    pair_sentence,
    significant_sentences,
)
from baes.analysis.report.formatting import format_delta, format_number, format_p, mean_ci
from baes.analysis.report.methods import files_section, limitations_section, methods_section
from baes.analysis.report.planning import sample_size_section, stopping_section
from baes.analysis.report.results import metric_section, overview_figures_section, summary_section
from baes.analysis.report.source import (
    check_errors_section,
    source_section,
    step_checks_section,
    success_section,
    title_section,
)

__all__ = [
    "best_group",
    "format_delta",
    "format_number",
    "format_p",
    "mean_ci",
    "metric_title",
    "omnibus_text",
    "pair_sentence",
    "render_report",
    "significant_sentences",
]


def render_report(stats: Mapping[str, Any]) -> str:
    """The whole report.md."""
    sections = [
        title_section(stats),
        source_section(stats),
        summary_section(stats),
        *(metric_section(stats, key) for key in stats["metrics"]),
        overview_figures_section(stats),
        stopping_section(stats),
        success_section(stats),
        step_checks_section(stats),
        check_errors_section(stats),
        sample_size_section(stats),
        methods_section(stats),
        limitations_section(stats),
        files_section(stats),
    ]
    return "\n\n".join(s for s in sections if s).rstrip() + "\n"
