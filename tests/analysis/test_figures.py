"""Figures: valid 200-dpi PNGs with SVGs beside them, readable titles, δ intervals read from the
statistics, no forest plot for a constant metric, compare groups split, and the same bytes from
the worker."""

from __future__ import annotations

import io
import itertools
import xml.etree.ElementTree as ElementTree

import numpy as np
from PIL import Image

from baes.analysis.effect_size import cliffs_delta
from baes.analysis.figures import (
    DPI,
    FigureInputs,
    FigureJob,
    draw_figures,
    write_figures,
)
from baes.analysis.metrics import metric_info


def _inputs():
    rng = np.random.default_rng(3)
    groups = ["a", "b", "c"]
    values = {
        "TOK_IN": {
            g: rng.normal(1000 + 100 * i, 50, 12).round().tolist() for i, g in enumerate(groups)
        },
        "COST_USD": {g: rng.uniform(0.001, 0.002, 12).tolist() for g in groups},
        "CHECK_PASS_RATE": {g: rng.choice([0.0, 0.5, 1.0], 12).tolist() for g in groups},
    }
    return FigureInputs(
        groups=groups,
        metric_info={key: metric_info(key) for key in values},
        plan={"seed": 7, "bootstrap_samples": 200, "confidence": 0.95},
        values=values,
        cost_vs_pass_rate={
            g: list(zip(values["COST_USD"][g], values["CHECK_PASS_RATE"][g], strict=True))
            for g in groups
        },
    )


def _metrics(inputs, groups=None):
    """Metric blocks as stats.json has them: δ by the exact function, a made-up interval."""
    metrics = {}
    for key, values in inputs.values.items():
        names = [g for g in (groups or inputs.groups) if values.get(g)]
        pairs = []
        for a, b in itertools.combinations(names, 2):
            delta = cliffs_delta(np.asarray(values[a]), np.asarray(values[b])).delta
            pairs.append(
                {
                    "a": a,
                    "b": b,
                    "cliffs_delta": delta,
                    "cliffs_delta_ci": [max(-1.0, delta - 0.2), min(1.0, delta + 0.2)],
                    "cliffs_delta_ci_method": "percentile bootstrap",
                }
            )
        metrics[key] = {
            "descriptives": {g: {"n": len(values.get(g, []))} for g in inputs.groups},
            "pairwise": pairs,
        }
    return metrics


def _svg_texts(svg: bytes) -> list[str]:
    """The texts of an SVG figure: matplotlib draws glyphs as paths and keeps each text as a
    comment before them."""
    ElementTree.fromstring(svg)  # well-formed XML
    text = svg.decode("utf-8")
    return [part.split(" -->")[0] for part in text.split("<!-- ")[1:]]


def test_every_figure_is_a_200_dpi_png_with_an_svg_and_the_worker_draws_the_same_bytes():
    inputs = _inputs()
    metrics = _metrics(inputs)
    here = draw_figures(inputs, metrics)
    names = [f.filename for f in here]
    assert names == [
        "box_TOK_IN.png",
        "forest_TOK_IN.png",
        "box_COST_USD.png",
        "forest_COST_USD.png",
        "box_CHECK_PASS_RATE.png",
        "forest_CHECK_PASS_RATE.png",
        "cost_vs_check_pass_rate.png",
    ]
    assert DPI >= 200
    for figure in here:
        assert figure.skipped is None and figure.png is not None and figure.svg is not None
        image = Image.open(io.BytesIO(figure.png))
        assert image.format == "PNG" and image.size[0] > 600 and image.size[1] > 300
        assert all(round(d) >= 200 for d in image.info["dpi"])  # the pHYs chunk
        image.verify()
        assert figure.title in " ".join(_svg_texts(figure.svg)) or figure.filename.startswith(
            "box_"
        )
    assert [f.metric for f in here][:2] == ["TOK_IN", "TOK_IN"]
    worker = FigureJob(inputs).result(metrics)
    assert [(f.png, f.svg) for f in worker] == [(f.png, f.svg) for f in here]


def test_titles_use_the_readable_name_and_unit_not_the_key():
    inputs = _inputs()
    inputs.values["T_WALL_seconds"] = {g: [1.0 + i, 2.0, 3.5] for i, g in enumerate("abc")}
    inputs.metric_info["T_WALL_seconds"] = metric_info("T_WALL_seconds")
    figures = {f.filename: f for f in draw_figures(inputs, _metrics(inputs))}
    box = figures["box_T_WALL_seconds.png"]
    assert box.title == "Wall-clock time [s]: distribution per group"
    texts = _svg_texts(box.svg)
    assert "Wall-clock time [s]: every run as a point" in texts
    assert "Wall-clock time [s]" in texts  # the y axis
    assert not any("T_WALL_seconds" in t for t in texts)
    assert figures["forest_T_WALL_seconds.png"].title == "Wall-clock time: Cliff's δ per pair"
    assert figures["box_CHECK_PASS_RATE.png"].title.startswith("Check pass rate [fraction]")


def test_box_plots_have_no_legend_repeating_the_axis_n_is_on_the_axis():
    inputs = _inputs()
    box = draw_figures(inputs, _metrics(inputs))[0]
    texts = _svg_texts(box.svg)
    assert [t for t in texts if "(N=" in t] == ["a (N=12)", "b (N=12)", "c (N=12)"]
    assert b'id="legend_' not in box.svg


def test_forest_plot_draws_the_intervals_of_the_statistics():
    inputs = _inputs()
    metrics = _metrics(inputs)
    before = draw_figures(inputs, metrics)[1]
    metrics["TOK_IN"]["pairwise"][0]["cliffs_delta_ci"] = [-1.0, 1.0]
    after = draw_figures(inputs, metrics)[1]
    assert before.filename == after.filename == "forest_TOK_IN.png"
    assert before.png != after.png
    assert any("percentile bootstrap" in t for t in _svg_texts(after.svg))
    metrics["TOK_IN"]["pairwise"][0]["cliffs_delta_ci"] = None  # no interval: the point alone
    assert draw_figures(inputs, metrics)[1].png is not None


def test_no_forest_plot_for_a_constant_metric():
    inputs = _inputs()
    inputs.values["TOK_IN"] = {"a": [0.0, 0.0], "b": [0.0], "c": [0.0, 0.0, 0.0]}
    figures = {f.filename: f for f in draw_figures(inputs, _metrics(inputs))}
    forest = figures["forest_TOK_IN.png"]
    assert forest.png is None and forest.svg is None
    assert forest.skipped == "constant metric (every value is 0): no difference to show"
    assert figures["box_TOK_IN.png"].png is not None  # the distribution is still shown


def test_compare_groups_are_split_into_experiment_blocks_coloured_by_framework():
    groups = ["exp-a/ref", "exp-a/plan", "exp-b/ref", "exp-b/plan"]
    values = {"TOK_IN": {g: [100.0 + i, 120.0 + i, 90.0] for i, g in enumerate(groups)}}
    inputs = FigureInputs(
        groups=groups,
        metric_info={"TOK_IN": metric_info("TOK_IN")},
        plan={"seed": 1, "confidence": 0.95},
        values=values,
    )
    box = draw_figures(inputs, _metrics(inputs))[0]
    texts = _svg_texts(box.svg)
    # Ticks name the framework; each experiment heads its block once.
    assert [t for t in texts if "(N=" in t] == ["ref (N=3)", "plan (N=3)"] * 2
    assert texts.count("exp-a") == 1 and texts.count("exp-b") == 1
    # The forest plot names a same-framework pair by its framework, then the experiments.
    forest = draw_figures(inputs, _metrics(inputs))[1]
    labels = [t for t in _svg_texts(forest.svg) if " vs " in t]
    assert "ref: exp-a (N=3) vs exp-b (N=3)" in labels
    assert "exp-a/ref (N=3) vs exp-a/plan (N=3)" in labels
    # Same framework, same colour in both experiments: two colours for four groups.
    text = box.svg.decode()
    assert "#1f77b4" in text and "#ff7f0e" in text
    assert "#2ca02c" not in text and "#d62728" not in text


def test_write_figures_writes_png_and_svg_and_removes_stale_ones(tmp_path):
    inputs = _inputs()
    figures = draw_figures(inputs, _metrics(inputs))
    out = tmp_path / "figures"
    out.mkdir()
    (out / "box_OLD.png").write_bytes(b"old")
    (out / "box_OLD.svg").write_bytes(b"old")
    (out / "notes.txt").write_text("mine")
    written = write_figures(figures, out)
    assert [p.name for p in written] == [f.filename for f in figures]
    for figure in figures:
        assert (out / figure.filename).read_bytes() == figure.png
        assert (out / figure.svg_filename).read_bytes() == figure.svg
    assert not (out / "box_OLD.png").exists() and not (out / "box_OLD.svg").exists()
    assert (out / "notes.txt").read_text() == "mine"


def test_a_metric_without_values_is_skipped_with_a_reason():
    inputs = _inputs()
    inputs.values["TOK_IN"] = {"a": [], "b": [], "c": []}
    figures = {f.filename: f for f in draw_figures(inputs, _metrics(inputs))}
    assert figures["box_TOK_IN.png"].png is None
    assert figures["box_TOK_IN.png"].skipped == "no measurable value"
    assert figures["forest_TOK_IN.png"].skipped == "fewer than two groups with values"
