"""How numbers, p-values, effect sizes and tables are written in report.md (and by the CLI)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


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
    """A p-value with 3 significant digits ("< 0.001" below that; "—" when not computed).

    Three significant digits, not three decimals: 0.0496 must not read "0.050" next to α = 0.05.
    """
    if p is None:
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:#.3g}"


def p_equation(name: str, p: float | None) -> str:
    """ "p_adj = 0.0496" or "p_adj < 0.001"."""
    text = format_p(p)
    return f"{name} {text}" if text.startswith("<") else f"{name} = {text}"


def format_delta(delta: float | None, *, minus: str = "−") -> str:
    """Cliff's δ with two decimals; a true minus sign in prose, "-" in tables (spreadsheets).

    A value that is not 0 but rounds to it keeps one significant digit: the bound −0.002 of a
    δ interval must not read "−0.00", which hides that the interval excludes 0.
    """
    if delta is None:
        return "—"
    text = f"{delta:.1g}" if 0 < abs(delta) < 0.005 else f"{delta:.2f}"
    return text.replace("-", minus)


def format_interval(interval: Sequence[float] | None, *, minus: str = "−") -> str:
    """ "[−0.85, −0.30]" for a δ interval; "—" when there is none."""
    if interval is None:
        return "—"
    low, high = interval
    return f"[{format_delta(low, minus=minus)}, {format_delta(high, minus=minus)}]"


def format_percent(value: float) -> str:
    """A percentage without trailing noise: 38, 4.2, 0.4."""
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.1f}" if value >= 0.1 else f"{value:.2g}"


def format_count_statistic(value: float) -> str:
    """A statistic that counts pairs, like Mann–Whitney U, as it is: 261, 260.5, 1,250,000."""
    return f"{value:,.1f}" if value != int(value) else f"{value:,.0f}"


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


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A Markdown table; `align` has one letter per column, "r" for right-aligned."""
    align = align or "l" * len(header)
    marks = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def short(value: Any, limit: int = 60) -> str:
    """A value on one line, cut to `limit` characters."""
    text = "(absent)" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
