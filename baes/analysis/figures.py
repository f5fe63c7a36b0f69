"""The figures of an analysis, drawn with matplotlib's object API on the Agg canvas (PNG bytes).

No pyplot: figures are plain objects, so nothing global (backend, open figures) leaks between
analyses. Every figure has a title, units, and N per group in its legend or labels. Random
jitter and the Cliff's δ bootstrap are seeded from the analysis plan, so a rerun draws the same
pixels.

Figures need the measured values, not the statistics (Cliff's δ is recomputed with the same
exact function), so `FigureJob` can draw them in a second process while the statistics are
computed: on a 2-core machine that hides matplotlib's import and most of the drawing.
"""

from __future__ import annotations

import io
import itertools
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from baes.analysis.dataset import StepUsage
from baes.analysis.effect_size import MAGNITUDE_THRESHOLDS, cliffs_delta

DPI = 110
# The δ intervals are a visual aid (the tests and p-values are in stats.json); 2,000 percentile
# resamples are plenty for a drawn interval and keep many pairs fast.
FOREST_MAX_RESAMPLES = 2_000
# Beyond this many values per batch the δ bootstrap works in slices (memory, not results).
_MAX_BATCH_VALUES = 2_000_000


@dataclass(frozen=True)
class DrawnFigure:
    """One figure: its file name and title, and the PNG (None when skipped, with the reason)."""

    filename: str
    title: str
    png: bytes | None
    skipped: str | None = None
    metric: str | None = None  # the metric a per-metric figure belongs to


@dataclass
class FigureInputs:
    """What the figures are drawn from (plain, picklable data).

    `values` maps metric → group → measured values; `metric_info` and `plan` are the stats.json
    blocks of the same names.
    """

    groups: list[str]
    metric_info: Mapping[str, Mapping[str, Any]]
    plan: Mapping[str, Any]
    values: Mapping[str, Mapping[str, Sequence[float]]]
    step_ids: list[str] = field(default_factory=list)
    step_usage: Sequence[StepUsage] = field(default_factory=list)
    cost_vs_pass_rate: Mapping[str, Sequence[tuple[float, float]]] = field(default_factory=dict)


class FigureJob:
    """Figures being drawn: in a worker process when there are 2+ CPUs, else on `result()`.

    Any failure of the worker (it could not start, died, or raised) falls back to drawing here,
    so a real error surfaces with its own traceback and nothing is lost.
    """

    def __init__(self, inputs: FigureInputs):
        self._inputs = inputs
        self._process: Any = None
        self._connection: Any = None
        if (os.cpu_count() or 1) < 2 or not _spawnable_main():
            return
        import multiprocessing

        # spawn, not fork: the CLI's progress display runs a thread, and forking a threaded
        # process can leave the child holding a lock forever.
        context = multiprocessing.get_context("spawn")
        try:
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(
                target=_draw_into, args=(inputs, sender), daemon=True, name="baes-figures"
            )
            process.start()
        except (OSError, RuntimeError):
            return
        sender.close()  # only the worker holds the sending end: its death reads as EOF here
        self._process, self._connection = process, receiver

    def result(self) -> list[DrawnFigure]:
        """The drawn figures."""
        if self._process is None:
            return draw_figures(self._inputs)
        try:
            outcome = self._connection.recv()
        except (EOFError, OSError):
            outcome = None
        finally:
            self.close()
        if isinstance(outcome, list):
            return outcome
        return draw_figures(self._inputs)

    def close(self) -> None:
        """Stop the worker if it is still drawing (an error or Ctrl-C in the main process)."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join(timeout=10)
            self._connection.close()
            self._process, self._connection = None, None


def _draw_into(inputs: FigureInputs, connection: Any) -> None:
    """Worker entry point: send the figures, or None when drawing failed."""
    try:
        figures: list[DrawnFigure] | None = draw_figures(inputs)
    except Exception:  # noqa: BLE001 - the parent draws again and gets the real traceback
        figures = None
    connection.send(figures)
    connection.close()


def _spawnable_main() -> bool:
    """False when a spawned worker could not re-import __main__ (e.g. a script read from stdin)."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return main_file is None or os.path.exists(main_file)


def cliffs_delta_intervals(
    samples: Sequence[np.ndarray],
    pairs: Sequence[tuple[int, int]],
    *,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> list[tuple[float, float]]:
    """Percentile bootstrap intervals of Cliff's δ(a, b) for index pairs of `samples`.

    Each group is resampled independently (with replacement) as multinomial weights over its
    sorted values; one set of weights per group and resample serves every pair. With b sorted,
    the weighted count of b below (above) each a_i is a cumulative sum read at positions fixed
    in advance, so a resample of a pair costs O(n_a + n_b) instead of O(n_a · n_b).
    """
    rng = np.random.default_rng(seed)
    ordered = [np.sort(np.asarray(s, dtype=float)) for s in samples]
    sizes = [s.size for s in ordered]
    positions = {
        (i, j): (
            np.searchsorted(ordered[j], ordered[i], side="left"),
            np.searchsorted(ordered[j], ordered[i], side="right"),
        )
        for i, j in pairs
    }
    used = sorted({g for pair in pairs for g in pair})
    batch = max(1, min(n_resamples, _MAX_BATCH_VALUES // max(1, sum(sizes[g] for g in used))))
    deltas: dict[tuple[int, int], list[np.ndarray]] = {pair: [] for pair in pairs}
    done = 0
    while done < n_resamples:
        size = min(batch, n_resamples - done)
        weights = {g: _resample_counts(rng, sizes[g], size) for g in used}
        cumulative = {}
        for g in used:
            sums = np.zeros((size, sizes[g] + 1), dtype=np.int64)
            np.cumsum(weights[g], axis=1, out=sums[:, 1:])
            cumulative[g] = sums
        for i, j in pairs:
            below_at, not_above_at = positions[(i, j)]
            below = cumulative[j][:, below_at]
            above = sizes[j] - cumulative[j][:, not_above_at]
            dominance = (weights[i] * (below - above)).sum(axis=1)
            deltas[(i, j)].append(dominance / (sizes[i] * sizes[j]))
        done += size
    tail = (1.0 - confidence) / 2.0 * 100.0
    intervals = []
    for pair in pairs:
        low, high = np.percentile(np.concatenate(deltas[pair]), [tail, 100.0 - tail])
        intervals.append((float(low), float(high)))
    return intervals


def _resample_counts(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """`size` bootstrap resamples of n items as counts per item (each row sums to n)."""
    # Drawing indices and counting them is several times faster than rng.multinomial.
    picks = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
    return np.bincount(picks.ravel(), minlength=size * n).reshape(size, n)


def draw_figures(inputs: FigureInputs) -> list[DrawnFigure]:
    """Every figure of the analysis, in the order the report lists them."""
    figures: list[DrawnFigure] = []
    metrics = list(inputs.values)
    parts = _file_parts(metrics)
    for key in metrics:
        figures.append(box_plot(inputs, key, parts[key]))
        figures.append(forest_plot(inputs, key, parts[key]))
    if inputs.step_ids:
        figures.append(tokens_per_step(inputs))
    if "COST_USD" in metrics and "CHECK_PASS_RATE" in metrics and inputs.cost_vs_pass_rate:
        figures.append(cost_vs_pass_rate(inputs))
    return figures


def forest_resamples(plan: Mapping[str, Any]) -> int:
    """Resamples behind the forest plot's δ intervals: the plan's count, at most 2,000."""
    return min(int(plan["bootstrap_samples"]), FOREST_MAX_RESAMPLES)


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


# Margins are laid out in inches from the label lengths instead of by matplotlib's layout
# engines, which draw every figure twice and made drawing 2-3x slower.
_CHAR_IN = 0.078  # average width of a 10 pt DejaVu Sans character
_SMALL_CHAR_IN = 0.066  # the same at matplotlib's "small" size
_LEGEND_ENTRY_IN = 0.21


def _figure(
    axes_width: float,
    axes_height: float,
    *,
    left: float,
    right: float,
    bottom: float,
    top: float = 0.5,
    rows: int = 1,
    gap: float = 0.0,
) -> Any:
    """An empty Figure whose axes area is axes_width × axes_height inches (per row)."""
    from matplotlib.figure import Figure

    width = left + axes_width + right
    height = bottom + rows * axes_height + (rows - 1) * gap + top
    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        hspace=gap / axes_height if rows > 1 else 0.2,
    )
    return figure


def _legend_width(labels: Sequence[str]) -> float:
    return 0.6 + _SMALL_CHAR_IN * max((len(label) for label in labels), default=0)


def _legend_outside(axes: Any) -> None:
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="small")


def _colors(count: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if count <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(count)]


def _label(inputs: FigureInputs, key: str) -> tuple[str, str]:
    info = inputs.metric_info[key]
    unit = info.get("unit")
    name = info.get("name") or key
    title = f"{name} ({key})" if name != key else key
    return title, f"{name} [{unit}]" if unit else name


def _seed(inputs: FigureInputs) -> int:
    return int(inputs.plan.get("seed", 0))


def box_plot(inputs: FigureInputs, key: str, file_part: str) -> DrawnFigure:
    """One box per group with every run drawn as a (jittered) point."""
    filename = f"box_{file_part}.png"
    title, ylabel = _label(inputs, key)
    groups = list(inputs.groups)
    data = [np.asarray(inputs.values[key].get(g, []), dtype=float) for g in groups]
    if not any(d.size for d in data):
        return DrawnFigure(filename, title, None, skipped="no measurable value", metric=key)
    labels = [f"{g} (N={d.size})" for g, d in zip(groups, data, strict=True)]
    rotate = len(groups) > 4 or max(len(g) for g in groups) * len(groups) > 60
    longest = max(len(g) for g in groups)
    figure = _figure(
        max(4.5, 0.75 * len(groups)),
        max(3.6, _LEGEND_ENTRY_IN * len(groups) + 0.3),
        left=1.05,
        right=_legend_width(labels),
        bottom=(0.35 + 0.5 * _CHAR_IN * longest + 0.1) if rotate else 0.5,
    )
    axes = figure.add_subplot()
    positions = np.arange(1, len(groups) + 1)
    shown = [(p, d) for p, d in zip(positions, data, strict=True) if d.size]
    axes.boxplot(
        [d for _, d in shown],
        positions=[p for p, _ in shown],
        widths=0.55,
        showfliers=False,
        medianprops={"color": "black"},
    )
    rng = np.random.default_rng(_seed(inputs))
    for position, sample, label, color in zip(
        positions, data, labels, _colors(len(groups)), strict=True
    ):
        jitter = rng.uniform(-0.18, 0.18, sample.size)
        axes.scatter(position + jitter, sample, s=10, alpha=0.6, color=color, label=label, zorder=3)
    axes.set_xticks(
        positions, groups, rotation=30 if rotate else 0, ha="right" if rotate else "center"
    )
    axes.set_xlim(0.4, len(groups) + 0.6)
    axes.set_ylabel(ylabel)
    axes.set_title(f"{title}: every run as a point")
    _legend_outside(axes)
    return DrawnFigure(filename, f"{title}: distribution per group", _png(figure), metric=key)


def forest_plot(inputs: FigureInputs, key: str, file_part: str) -> DrawnFigure:
    """Cliff's δ of every pair with its seeded percentile bootstrap interval."""
    filename = f"forest_{file_part}.png"
    title, _ = _label(inputs, key)
    plan = inputs.plan
    values = inputs.values[key]
    # The same pairs as the statistics: groups with values, (a, b) with a before b.
    names = [g for g in inputs.groups if len(values.get(g, [])) > 0]
    samples = [np.asarray(values[name], dtype=float) for name in names]
    index_pairs = list(itertools.combinations(range(len(names)), 2))
    if not index_pairs:
        return DrawnFigure(
            filename,
            f"{title}: Cliff's δ per pair",
            None,
            skipped="fewer than two groups with values",
            metric=key,
        )
    deltas_of_pairs = [cliffs_delta(samples[i], samples[j]).delta for i, j in index_pairs]
    resamples = forest_resamples(plan)
    intervals = cliffs_delta_intervals(
        samples,
        index_pairs,
        n_resamples=resamples,
        confidence=float(plan["confidence"]),
        seed=_seed(inputs),
    )
    rows = [
        (
            f"{names[i]} (N={samples[i].size}) vs {names[j]} (N={samples[j].size})",
            delta,
            low,
            high,
        )
        for delta, (i, j), (low, high) in zip(deltas_of_pairs, index_pairs, intervals, strict=True)
    ]
    figure = _figure(
        6.8,
        max(1.6, 0.3 * len(rows) + 0.5),
        left=0.3 + _SMALL_CHAR_IN * max(len(r[0]) for r in rows),
        right=0.3,
        bottom=1.1,
    )
    axes = figure.add_subplot()
    y = np.arange(len(rows))[::-1]
    deltas = np.array([r[1] for r in rows])
    errors = np.array([[r[1] - r[2] for r in rows], [r[3] - r[1] for r in rows]])
    confidence_pct = f"{float(plan['confidence']) * 100:g} %"
    axes.errorbar(
        deltas,
        y,
        xerr=np.clip(errors, 0.0, None),
        fmt="o",
        color="black",
        capsize=3,
        label=f"δ with {confidence_pct} percentile bootstrap interval ({resamples:,} resamples)",
    )
    axes.axvline(0.0, color="grey", linewidth=1)
    for threshold, _magnitude in MAGNITUDE_THRESHOLDS:
        for sign in (-1, 1):
            axes.axvline(sign * float(threshold), color="grey", linewidth=0.6, linestyle=":")
    axes.set_yticks(y, [r[0] for r in rows], fontsize="small")
    axes.set_ylim(-0.7, len(rows) - 0.3)
    axes.set_xlim(-1.05, 1.05)
    axes.set_xlabel(
        "Cliff's δ (positive: the first group's values tend to be larger)\n"
        "dotted lines: |δ| = 0.147 / 0.33 / 0.474 (small / medium / large)",
        fontsize="small",
    )
    axes.set_title(f"{title}: Cliff's δ per pair")
    figure.legend(fontsize="small", loc="lower center", bbox_to_anchor=(0.5, 0.01), frameon=False)
    return DrawnFigure(filename, f"{title}: Cliff's δ per pair", _png(figure), metric=key)


def tokens_per_step(inputs: FigureInputs) -> DrawnFigure:
    """Median input and output tokens per scenario step and group, with the quartiles."""
    filename = "tokens_per_step.png"
    title = "Tokens per scenario step"
    groups = list(inputs.groups)
    steps = list(inputs.step_ids)
    cells: dict[tuple[str, str, str], list[int]] = {}
    runs: dict[str, set[str]] = {g: set() for g in groups}
    for row in inputs.step_usage:
        if row.group not in runs:
            continue
        for kind, value in (("input", row.input_tokens), ("output", row.output_tokens)):
            if value is not None:
                cells.setdefault((row.group, row.step, kind), []).append(value)
                runs[row.group].add(row.run_id)
    if not cells:
        return DrawnFigure(filename, title, None, skipped="no step reported its token usage")
    labels = [f"{g} (N={len(runs[g])})" for g in groups]
    figure = _figure(
        max(5.0, 0.25 * len(steps) * len(groups) + 0.6 * len(steps)),
        max(2.6, _LEGEND_ENTRY_IN * len(groups) / 2 + 0.3),
        left=1.05,
        right=_legend_width(labels),
        bottom=0.35 + 0.5 * _CHAR_IN * max(len(s) for s in steps) + 0.1,
        top=0.8,
        rows=2,
        gap=1.0,
    )
    colors = _colors(len(groups))
    width = 0.8 / max(1, len(groups))
    x = np.arange(len(steps))
    for panel, kind in enumerate(("input", "output"), start=1):
        axes = figure.add_subplot(2, 1, panel)
        for index, (group, label) in enumerate(zip(groups, labels, strict=True)):
            medians, lows, highs = [], [], []
            for step in steps:
                sample = cells.get((group, step, kind), [])
                if sample:
                    q1, median, q3 = np.percentile(sample, [25, 50, 75])
                else:
                    q1 = median = q3 = np.nan
                medians.append(median)
                lows.append(median - q1)
                highs.append(q3 - median)
            axes.bar(
                x + (index - (len(groups) - 1) / 2) * width,
                medians,
                width,
                yerr=[lows, highs],
                capsize=2,
                color=colors[index],
                label=label,
            )
        axes.set_xticks(x, steps, rotation=30, ha="right")
        axes.set_ylabel(f"{kind} tokens")
        axes.set_title(
            f"{kind.capitalize()} tokens per step (median; whiskers: quartiles)", fontsize="medium"
        )
        if panel == 1:
            _legend_outside(axes)
    figure.suptitle(title)
    return DrawnFigure(filename, title, _png(figure))


def cost_vs_pass_rate(inputs: FigureInputs) -> DrawnFigure:
    """Every run's cost against its check pass rate, with each group's mean as a large marker."""
    filename = "cost_vs_check_pass_rate.png"
    title = "Cost against check pass rate"
    groups = list(inputs.groups)
    points = {
        g: np.asarray(inputs.cost_vs_pass_rate.get(g, []), dtype=float).reshape(-1, 2)
        for g in groups
    }
    if not any(p.size for p in points.values()):
        return DrawnFigure(
            filename, title, None, skipped="no run has both a cost and a check pass rate"
        )
    labels = [f"{g} (N={points[g].shape[0]})" for g in groups]
    figure = _figure(
        5.5,
        max(3.6, _LEGEND_ENTRY_IN * len(groups) + 0.3),
        left=1.05,
        right=_legend_width(labels),
        bottom=0.7,
    )
    axes = figure.add_subplot()
    rng = np.random.default_rng(_seed(inputs))
    for group, label, color in zip(groups, labels, _colors(len(groups)), strict=True):
        data = points[group]
        if not data.size:
            continue
        cost, rate = data[:, 0], data[:, 1]
        # Pass rates take few distinct values; a little horizontal jitter shows overlapping runs.
        axes.scatter(
            rate + rng.uniform(-0.012, 0.012, rate.size),
            cost,
            s=12,
            alpha=0.5,
            color=color,
            label=label,
        )
        axes.scatter(
            [rate.mean()],
            [cost.mean()],
            s=120,
            marker="D",
            color=color,
            edgecolors="black",
            zorder=4,
        )
    axes.set_xlabel("check pass rate (fraction of checks passed; jittered by ±0.012)")
    axes.set_ylabel("cost [USD]")
    axes.set_xlim(-0.05, 1.05)
    axes.set_title(f"{title}\none point per run; diamonds: group means", fontsize="medium")
    _legend_outside(axes)
    return DrawnFigure(filename, title, _png(figure))


def _file_parts(keys: Sequence[str]) -> dict[str, str]:
    """A distinct, file-name-safe part per metric key (CSV metric names can be anything)."""
    parts: dict[str, str] = {}
    used: set[str] = set()
    for key in keys:
        base = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in key)
        base = base.strip(".") or "metric"
        part, suffix = base, 2
        while part.lower() in used:
            part, suffix = f"{base}_{suffix}", suffix + 1
        used.add(part.lower())
        parts[key] = part
    return parts
