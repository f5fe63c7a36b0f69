"""The figures of an analysis, drawn with matplotlib's object API on the Agg canvas.

Each figure is written twice: a PNG at 200 dpi and an SVG beside it (vector, for a paper). No
pyplot: figures are plain objects, so nothing global (backend, open figures) leaks between
analyses. Every figure has a title from the metric catalog's readable name with its unit, and N
per group in its labels. Random jitter is seeded from the analysis plan and the SVG carries no
date or random ids, so a rerun writes the same bytes.

Most figures need only the measured values, so `FigureJob` draws them in a second process while
the statistics are computed (on a 2-core machine that hides matplotlib's import and most of the
drawing); the forest plots show the Cliff's δ intervals of stats.json and are drawn once the
statistics are handed over with `FigureJob.result(metrics)`.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from baes.analysis.dataset import StepUsage
from baes.analysis.effect_size import MAGNITUDE_THRESHOLDS

DPI = 200  # print quality for the PNGs; the SVGs are resolution-free
FORMATS = ("png", "svg")
# Fixed SVG ids (matplotlib salts them randomly otherwise), so reruns write identical files.
_SVG_HASH_SALT = "baes"


@dataclass(frozen=True)
class DrawnFigure:
    """One figure: its PNG file name and title, and the PNG and SVG bytes.

    Both are None when the figure was skipped, with the reason in `skipped`.
    """

    filename: str
    title: str
    png: bytes | None
    svg: bytes | None = None
    skipped: str | None = None
    metric: str | None = None  # the metric a per-metric figure belongs to

    @property
    def svg_filename(self) -> str:
        return self.filename.removesuffix(".png") + ".svg"


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

    The worker draws every figure that needs only the values, then waits for the statistics
    (`result(metrics)`) to draw the forest plots. Any failure of the worker (it could not
    start, died, or raised) falls back to drawing here, so a real error surfaces with its own
    traceback and nothing is lost.
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
            here, there = context.Pipe(duplex=True)
            process = context.Process(
                target=_draw_into, args=(inputs, there), daemon=True, name="baes-figures"
            )
            process.start()
        except (OSError, RuntimeError):
            return
        there.close()  # only the worker holds the other end: its death reads as EOF here
        self._process, self._connection = process, here

    def result(self, metrics: Mapping[str, Mapping[str, Any]]) -> list[DrawnFigure]:
        """Every figure, given the `metrics` block of stats.json (for the forest plots)."""
        if self._process is None:
            return draw_figures(self._inputs, metrics)
        try:
            self._connection.send(dict(metrics))
            outcome = self._connection.recv()
        except (EOFError, OSError):
            outcome = None
        finally:
            self.close()
        if isinstance(outcome, list):
            return outcome
        return draw_figures(self._inputs, metrics)

    def close(self) -> None:
        """Stop the worker if it is still drawing (an error or Ctrl-C in the main process)."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join(timeout=10)
            self._connection.close()
            self._process, self._connection = None, None


def _draw_into(inputs: FigureInputs, connection: Any) -> None:
    """Worker entry point: draw what needs no statistics, then the rest; None when it failed."""
    figures: list[DrawnFigure] | None
    try:
        values_only = draw_value_figures(inputs)
        metrics = connection.recv()
        figures = _in_report_order(inputs, values_only, metrics)
    except Exception:  # noqa: BLE001 - the parent draws again and gets the real traceback
        figures = None
    connection.send(figures)
    connection.close()


def _spawnable_main() -> bool:
    """False when a spawned worker could not re-import __main__ (e.g. a script read from stdin)."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return main_file is None or os.path.exists(main_file)


def draw_figures(
    inputs: FigureInputs, metrics: Mapping[str, Mapping[str, Any]]
) -> list[DrawnFigure]:
    """Every figure of the analysis, in the order the report lists them.

    `metrics` is the stats.json block of that name: the forest plots show its δ intervals.
    """
    return _in_report_order(inputs, draw_value_figures(inputs), metrics)


def draw_value_figures(inputs: FigureInputs) -> dict[str, DrawnFigure]:
    """The figures drawn from the values alone, by file name."""
    figures: list[DrawnFigure] = []
    metrics = list(inputs.values)
    parts = _file_parts(metrics)
    for key in metrics:
        figures.append(box_plot(inputs, key, parts[key]))
    if inputs.step_ids:
        figures.append(tokens_per_step(inputs))
    if "COST_USD" in metrics and "CHECK_PASS_RATE" in metrics and inputs.cost_vs_pass_rate:
        figures.append(cost_vs_pass_rate(inputs))
    return {f.filename: f for f in figures}


def _in_report_order(
    inputs: FigureInputs,
    values_only: Mapping[str, DrawnFigure],
    metrics: Mapping[str, Mapping[str, Any]],
) -> list[DrawnFigure]:
    figures: list[DrawnFigure] = []
    parts = _file_parts(list(inputs.values))
    for key in inputs.values:
        figures.append(values_only[f"box_{parts[key]}.png"])
        figures.append(forest_plot(inputs, key, parts[key], metrics[key]))
    figures += [f for name, f in values_only.items() if not name.startswith("box_")]
    return figures


def write_figures(figures: Sequence[DrawnFigure], figure_dir: Path) -> list[Path]:
    """Write each drawn figure as PNG and SVG (atomically); the PNG paths, in order.

    Figure files of an earlier analysis that this one did not draw are removed: they would
    contradict the report next to them (another --metric selection, a metric now constant).
    """
    from baes.store.atomic import atomic_write_bytes

    written, kept = [], set()
    for figure in figures:
        if figure.png is None or figure.svg is None:
            continue
        png, svg = figure_dir / figure.filename, figure_dir / figure.svg_filename
        atomic_write_bytes(png, figure.png)
        atomic_write_bytes(svg, figure.svg)
        written.append(png)
        kept |= {png.name, svg.name}
    if figure_dir.is_dir():
        for extension in FORMATS:
            for stale in figure_dir.glob(f"*.{extension}"):
                if stale.name not in kept:
                    stale.unlink(missing_ok=True)
    return written


def _rendered(figure: Any) -> dict[str, bytes]:
    """The figure as PNG (at DPI) and SVG (no date, fixed ids)."""
    from matplotlib import rc_context

    png, svg = io.BytesIO(), io.BytesIO()
    figure.savefig(png, format="png", dpi=DPI)
    with rc_context({"svg.hashsalt": _SVG_HASH_SALT}):
        figure.savefig(svg, format="svg", metadata={"Date": None})
    return {"png": png.getvalue(), "svg": svg.getvalue()}


def _drawn(filename: str, title: str, figure: Any, metric: str | None = None) -> DrawnFigure:
    files = _rendered(figure)
    return DrawnFigure(filename, title, files["png"], files["svg"], metric=metric)


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


_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_HATCHES = ("", "//", "..", "xx", "\\\\", "--", "++", "oo")


@dataclass(frozen=True)
class _GroupStyle:
    """Where and how a group is drawn: compare's `experiment/framework` groups are split, so the
    colour says the framework and the block (or marker, or hatch) the experiment."""

    position: float
    name: str  # the framework part (the whole group name when groups are not split)
    block: str | None  # the experiment part, None when groups are not split
    color: Any
    marker: str
    hatch: str


def _group_styles(groups: Sequence[str]) -> list[_GroupStyle]:
    split = len(groups) > 0 and all("/" in g for g in groups)
    parts: list[tuple[str | None, str]] = [
        (g.partition("/")[0], g.partition("/")[2]) if split else (None, g) for g in groups
    ]
    names = list(dict.fromkeys(name for _, name in parts))
    blocks = list(dict.fromkeys(block for block, _ in parts))
    colors = dict(zip(names, _colors(len(names)), strict=True))
    styles, position, previous = [], 0.0, object()
    for block, name in parts:
        position += 1.0 if block == previous or position == 0 else 1.6  # a gap between blocks
        previous = block
        index = blocks.index(block)
        styles.append(
            _GroupStyle(
                position,
                name,
                block,
                colors[name],
                _MARKERS[index % len(_MARKERS)],
                _HATCHES[index % len(_HATCHES)],
            )
        )
    return styles


def _legend_label(style: _GroupStyle, group: str, n: int) -> str:
    """ "reference · demo-a (N=5)" for compare's split groups, "reference (N=5)" otherwise."""
    return f"{style.name} · {style.block} (N={n})" if style.block else f"{group} (N={n})"


def _names(inputs: FigureInputs, key: str) -> tuple[str, str]:
    """(readable name, "name [unit]") of a metric from the catalog; the key for unknown ones."""
    info = inputs.metric_info[key]
    name = info.get("name") or key
    unit = info.get("unit")
    return name, f"{name} [{unit}]" if unit else name


def _seed(inputs: FigureInputs) -> int:
    return int(inputs.plan.get("seed", 0))


def box_plot(inputs: FigureInputs, key: str, file_part: str) -> DrawnFigure:
    """One box per group with every run drawn as a (jittered) point; N under each box."""
    filename = f"box_{file_part}.png"
    _, with_unit = _names(inputs, key)
    title = f"{with_unit}: distribution per group"
    groups = list(inputs.groups)
    data = [np.asarray(inputs.values[key].get(g, []), dtype=float) for g in groups]
    if not any(d.size for d in data):
        return DrawnFigure(filename, title, None, skipped="no measurable value", metric=key)
    styles = _group_styles(groups)
    ticks = [f"{s.name} (N={d.size})" for s, d in zip(styles, data, strict=True)]
    longest = max(len(t) for t in ticks)
    rotate = len(groups) > 4 or longest * len(groups) > 60
    split = styles[0].block is not None
    span = styles[-1].position + 0.6
    figure = _figure(
        max(4.5, 0.75 * span),
        3.6,
        left=1.05,
        right=0.3,
        bottom=(0.35 + 0.5 * _CHAR_IN * longest + 0.1) if rotate else 0.5,
        top=0.8 if split else 0.5,
    )
    axes = figure.add_subplot()
    positions = np.array([s.position for s in styles])
    shown = [(p, d) for p, d in zip(positions, data, strict=True) if d.size]
    axes.boxplot(
        [d for _, d in shown],
        positions=[p for p, _ in shown],
        widths=0.55,
        showfliers=False,
        medianprops={"color": "black"},
    )
    rng = np.random.default_rng(_seed(inputs))
    for style, sample in zip(styles, data, strict=True):
        jitter = rng.uniform(-0.18, 0.18, sample.size)
        axes.scatter(style.position + jitter, sample, s=10, alpha=0.6, color=style.color, zorder=3)
    axes.set_xticks(
        positions, ticks, rotation=30 if rotate else 0, ha="right" if rotate else "center"
    )
    axes.set_xlim(0.4, span)
    axes.set_ylabel(with_unit)
    if split:
        _block_headers(axes, styles)
    axes.set_title(f"{with_unit}: every run as a point", pad=22 if split else 6)
    return _drawn(filename, title, figure, metric=key)


def _block_headers(axes: Any, styles: Sequence[_GroupStyle]) -> None:
    """The experiment of each block of boxes above it, with a line between blocks."""
    blocks: dict[str, list[float]] = {}
    for style in styles:
        blocks.setdefault(str(style.block), []).append(style.position)
    transform = axes.get_xaxis_transform()  # x in data, y in axes fraction
    for index, (block, positions) in enumerate(blocks.items()):
        axes.text(
            (min(positions) + max(positions)) / 2,
            1.02,
            block,
            transform=transform,
            ha="center",
            va="bottom",
            fontsize="small",
            fontweight="bold",
        )
        if index:
            axes.axvline(min(positions) - 0.8, color="grey", linewidth=0.8, linestyle="--")


def _pair_label(a: str, b: str, n: Mapping[str, int]) -> str:
    """ "a (N=5) vs b (N=5)"; compare's same-framework pair: "ref: exp-a (N=5) vs exp-b (N=5)"."""
    if "/" in a and "/" in b:
        (block_a, name_a), (block_b, name_b) = a.split("/", 1), b.split("/", 1)
        if name_a == name_b:
            return f"{name_a}: {block_a} (N={n[a]}) vs {block_b} (N={n[b]})"
    return f"{a} (N={n[a]}) vs {b} (N={n[b]})"


def _constant_value(values: Mapping[str, Sequence[float]]) -> float | None:
    """The one value of a metric whose every measured value is the same, else None."""
    pooled = {float(v) for sample in values.values() for v in sample}
    return pooled.pop() if len(pooled) == 1 else None


def forest_plot(
    inputs: FigureInputs, key: str, file_part: str, block: Mapping[str, Any]
) -> DrawnFigure:
    """Cliff's δ of every pair with the interval stats.json gives for it."""
    filename = f"forest_{file_part}.png"
    name, _ = _names(inputs, key)
    title = f"{name}: Cliff's δ per pair"
    constant = _constant_value(inputs.values[key])
    if constant is not None:
        return DrawnFigure(
            filename,
            title,
            None,
            skipped=f"constant metric (every value is {constant:g}): no difference to show",
            metric=key,
        )
    pairs = [p for p in block["pairwise"] if p["cliffs_delta"] is not None]
    if not pairs:
        return DrawnFigure(
            filename, title, None, skipped="fewer than two groups with values", metric=key
        )
    n = {g: d["n"] for g, d in block["descriptives"].items()}
    rows = [(_pair_label(p["a"], p["b"], n), p) for p in pairs]
    figure = _figure(
        6.8,
        max(1.6, 0.3 * len(rows) + 0.5),
        left=0.3 + _SMALL_CHAR_IN * max(len(label) for label, _ in rows),
        right=0.3,
        bottom=0.85,
    )
    axes = figure.add_subplot()
    y = np.arange(len(rows))[::-1]
    for row_y, (_, pair) in zip(y, rows, strict=True):
        delta, interval = pair["cliffs_delta"], pair["cliffs_delta_ci"]
        if interval is None:
            axes.plot([delta], [row_y], "o", color="black")
            continue
        low, high = interval
        axes.errorbar(
            [delta],
            [row_y],
            xerr=[[max(0.0, delta - low)], [max(0.0, high - delta)]],
            fmt="o",
            color="black",
            capsize=3,
        )
    axes.axvline(0.0, color="grey", linewidth=1)
    for threshold, _magnitude in MAGNITUDE_THRESHOLDS:
        for sign in (-1, 1):
            axes.axvline(sign * float(threshold), color="grey", linewidth=0.6, linestyle=":")
    axes.set_yticks(y, [label for label, _ in rows], fontsize="small")
    axes.set_ylim(-0.7, len(rows) - 0.3)
    axes.set_xlim(-1.05, 1.05)
    methods = sorted({p["cliffs_delta_ci_method"] for p in pairs if p["cliffs_delta_ci"]})
    confidence = f"{float(inputs.plan['confidence']) * 100:g} %"
    bars = f"bars: {confidence} CI ({', '.join(methods)}); " if methods else ""
    axes.set_xlabel(
        "Cliff's δ(a vs b): positive when a's values tend to be larger\n"
        f"{bars}dotted: |δ| = 0.147 / 0.33 / 0.474 (small / medium / large)",
        fontsize="small",
    )
    axes.set_title(title)
    return _drawn(filename, title, figure, metric=key)


def _step_token_cells(
    step_usage: Sequence[StepUsage], groups: Sequence[str]
) -> tuple[dict[tuple[str, str, str], list[int]], dict[str, set[str]]]:
    """Token counts by (group, step, "input" | "output"), and the runs that reported any."""
    cells: dict[tuple[str, str, str], list[int]] = {}
    runs: dict[str, set[str]] = {g: set() for g in groups}
    for row in step_usage:
        if row.group not in runs:
            continue
        for kind, value in (("input", row.input_tokens), ("output", row.output_tokens)):
            if value is not None:
                cells.setdefault((row.group, row.step, kind), []).append(value)
                runs[row.group].add(row.run_id)
    return cells, runs


def _medians_and_quartiles(
    samples: Sequence[Sequence[int]],
) -> tuple[list[float], list[float], list[float]]:
    """Per sample its median and the distances down to q1 and up to q3 (NaN for an empty one)."""
    medians, lows, highs = [], [], []
    for sample in samples:
        if sample:
            q1, median, q3 = (float(q) for q in np.percentile(sample, [25, 50, 75]))
        else:
            q1 = median = q3 = float("nan")
        medians.append(median)
        lows.append(median - q1)
        highs.append(q3 - median)
    return medians, lows, highs


def tokens_per_step(inputs: FigureInputs) -> DrawnFigure:
    """Median input and output tokens per scenario step and group, with the quartiles."""
    filename = "tokens_per_step.png"
    title = "Tokens per scenario step"
    groups = list(inputs.groups)
    steps = list(inputs.step_ids)
    cells, runs = _step_token_cells(inputs.step_usage, groups)
    if not cells:
        return DrawnFigure(filename, title, None, skipped="no step reported its token usage")
    styles = _group_styles(groups)
    labels = [
        _legend_label(style, g, len(runs[g])) for style, g in zip(styles, groups, strict=True)
    ]
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
    width = 0.8 / max(1, len(groups))
    x = np.arange(len(steps))
    for panel, kind in enumerate(("input", "output"), start=1):
        axes = figure.add_subplot(2, 1, panel)
        for index, (group, label, style) in enumerate(zip(groups, labels, styles, strict=True)):
            medians, lows, highs = _medians_and_quartiles(
                [cells.get((group, step, kind), []) for step in steps]
            )
            axes.bar(
                x + (index - (len(groups) - 1) / 2) * width,
                medians,
                width,
                yerr=[lows, highs],
                capsize=2,
                color=style.color,
                hatch=style.hatch,
                edgecolor="white" if style.hatch else None,
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
    return _drawn(filename, title, figure)


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
    styles = _group_styles(groups)
    labels = [
        _legend_label(style, g, points[g].shape[0]) for style, g in zip(styles, groups, strict=True)
    ]
    figure = _figure(
        5.5,
        max(3.6, _LEGEND_ENTRY_IN * len(groups) + 0.3),
        left=1.05,
        right=_legend_width(labels),
        bottom=0.7,
    )
    axes = figure.add_subplot()
    rng = np.random.default_rng(_seed(inputs))
    for group, label, style in zip(groups, labels, styles, strict=True):
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
            color=style.color,
            marker=style.marker,
            label=label,
        )
        axes.scatter(
            [rate.mean()],
            [cost.mean()],
            s=120,
            marker=style.marker,
            color=style.color,
            edgecolors="black",
            zorder=4,
        )
    axes.set_xlabel("check pass rate (fraction of checks passed; jittered by ±0.012)")
    axes.set_ylabel("cost [USD]")
    axes.set_xlim(-0.05, 1.05)
    axes.set_title(
        f"{title}\none small marker per run; large, outlined: group means", fontsize="medium"
    )
    _legend_outside(axes)
    return _drawn(filename, title, figure)


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
