"""Figures: the δ bootstrap against brute force, valid PNGs, and the same pixels from the worker."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
from PIL import Image

from baes.analysis.effect_size import cliffs_delta
from baes.analysis.figures import FigureInputs, FigureJob, cliffs_delta_intervals, draw_figures
from baes.analysis.metrics import metric_info


def _brute_force_intervals(samples, pairs, n_resamples, confidence, seed):
    """Materialize every resample with the same draws and count dominance pair by pair."""
    rng = np.random.default_rng(seed)
    ordered = [np.sort(s) for s in samples]
    used = sorted({g for pair in pairs for g in pair})
    picks = {g: rng.integers(0, ordered[g].size, size=(n_resamples, ordered[g].size)) for g in used}
    result = []
    for i, j in pairs:
        deltas = [
            cliffs_delta(ordered[i][picks[i][r]], ordered[j][picks[j][r]]).delta
            for r in range(n_resamples)
        ]
        tail = (1 - confidence) / 2 * 100
        low, high = np.percentile(deltas, [tail, 100 - tail])
        result.append((low, high))
    return result


def test_delta_intervals_match_brute_force_resampling():
    rng = np.random.default_rng(5)
    samples = [rng.integers(0, 6, size).astype(float) for size in (7, 9, 5)]  # many ties
    pairs = list(itertools.combinations(range(3), 2))
    fast = cliffs_delta_intervals(samples, pairs, n_resamples=300, confidence=0.9, seed=11)
    slow = _brute_force_intervals(samples, pairs, 300, 0.9, 11)
    assert np.ravel(fast) == pytest.approx(np.ravel(slow), abs=1e-12)


def test_complete_separation_gives_a_point_interval():
    a, b = np.arange(5.0), np.arange(10.0, 15.0)
    assert cliffs_delta_intervals([a, b], [(0, 1)], n_resamples=200, confidence=0.95, seed=0) == [
        (-1.0, -1.0)
    ]


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


def test_every_figure_is_a_valid_png_and_the_worker_draws_the_same_bytes():
    inputs = _inputs()
    here = draw_figures(inputs)
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
    for figure in here:
        assert figure.skipped is None and figure.png is not None
        image = Image.open(io.BytesIO(figure.png))
        image.verify()
        assert image.format == "PNG" and image.size[0] > 300 and image.size[1] > 150
    assert [f.metric for f in here][:2] == ["TOK_IN", "TOK_IN"]
    worker = FigureJob(inputs).result()
    assert [f.png for f in worker] == [f.png for f in here]


def test_a_metric_without_values_is_skipped_with_a_reason():
    inputs = _inputs()
    inputs.values["TOK_IN"] = {"a": [], "b": [], "c": []}
    figures = {f.filename: f for f in draw_figures(inputs)}
    assert figures["box_TOK_IN.png"].png is None
    assert figures["box_TOK_IN.png"].skipped == "no measurable value"
    assert figures["forest_TOK_IN.png"].skipped == "fewer than two groups with values"
