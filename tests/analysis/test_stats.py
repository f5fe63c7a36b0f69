"""The whole analysis plan for one metric: shape, paths (k = 1, 2, ≥ 3), degenerate data, JSON."""

import itertools
import json
import math
import time

import numpy as np
import pytest
import scikit_posthocs
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from baes.analysis.samples import InvalidSampleError
from baes.analysis.stats import analyze_metric

FAST = {"bootstrap_samples": 999}

_rng = np.random.default_rng(77)
FIVE_GROUPS = {
    name: np.round(_rng.normal(loc, 3.0, size), 1).tolist()
    for name, loc, size in [
        ("aider", 20, 12),
        ("metagpt", 24, 10),
        ("chatdev", 21, 15),
        ("baes", 30, 9),
        ("spec-kit", 20, 3),
    ]
}
DESCRIPTIVE_KEYS = {
    "n",
    "mean",
    "median",
    "std",
    "q1",
    "q3",
    "min",
    "max",
    "ci_low",
    "ci_high",
    "ci_method",
    "outliers",
}
PAIR_KEYS = {
    "a",
    "b",
    "test",
    "z",
    "p",
    "p_adj",
    "method",
    "significant",
    "cliffs_delta",
    "cliffs_delta_ci",
    "cliffs_delta_ci_method",
    "magnitude",
    "n_per_group_80pct_power",
    "n_per_group_formula",
}


def strict_json(result):
    return json.loads(json.dumps(result, allow_nan=False))


def test_five_groups_follow_the_plan_and_match_independent_tools():
    result = analyze_metric(FIVE_GROUPS, p_adjust="holm", **FAST)
    names = list(FIVE_GROUPS)
    samples = [np.array(v) for v in FIVE_GROUPS.values()]

    assert list(result) == [
        "descriptives",
        "omnibus",
        "pairwise",
        "stopping",
        "primary_contrast",
        "family",
    ]
    assert result["primary_contrast"] == {"a": "aider", "b": "metagpt"}
    assert result["family"] == "all pairs of 5 groups (10 comparisons), holm"
    assert list(result["descriptives"]) == names
    for name, values in FIVE_GROUPS.items():
        entry = result["descriptives"][name]
        assert DESCRIPTIVE_KEYS <= set(entry)
        assert entry["mean"] == pytest.approx(np.mean(values))
        assert entry["std"] == pytest.approx(np.std(values, ddof=1))

    kruskal = stats.kruskal(*samples)
    assert result["omnibus"] == {
        "test": "kruskal",
        "method": "asymptotic",
        "statistic": pytest.approx(kruskal.statistic),
        "p": pytest.approx(kruskal.pvalue),
        "skipped": None,
    }

    pairs = result["pairwise"]
    assert [(p["a"], p["b"]) for p in pairs] == list(itertools.combinations(names, 2))
    raw = scikit_posthocs.posthoc_dunn([list(s) for s in samples])
    holm = scikit_posthocs.posthoc_dunn([list(s) for s in samples], p_adjust="holm")
    for pair, (i, j) in zip(pairs, itertools.combinations(range(5), 2), strict=True):
        assert set(pair) == PAIR_KEYS
        assert (pair["test"], pair["method"]) == ("dunn", "asymptotic")
        assert pair["significant"] is bool(pair["p_adj"] <= 0.05 and kruskal.pvalue <= 0.05)
        assert pair["p"] == pytest.approx(raw.iloc[i, j], rel=1e-10)
        assert pair["p_adj"] == pytest.approx(holm.iloc[i, j], rel=1e-10)
        assert pair["magnitude"] in {"negligible", "small", "medium", "large"}
        assert isinstance(pair["n_per_group_80pct_power"], int)
    strict_json(result)


@pytest.mark.parametrize("method", ["sidak", "bonferroni", "none"])
def test_p_adjust_method_is_applied_to_dunn(method):
    result = analyze_metric(FIVE_GROUPS, p_adjust=method, **FAST)
    samples = [list(v) for v in FIVE_GROUPS.values()]
    expected = scikit_posthocs.posthoc_dunn(samples, p_adjust=None if method == "none" else method)
    for pair, (i, j) in zip(result["pairwise"], itertools.combinations(range(5), 2), strict=True):
        assert pair["p_adj"] == pytest.approx(expected.iloc[i, j], rel=1e-10)


def test_two_groups_use_mann_whitney_for_the_omnibus_and_the_single_pair():
    a, b = [3.1, 2.9, 4.0, 3.3, 3.8], [4.4, 5.0, 3.9, 4.8, 5.1, 4.2]
    result = analyze_metric({"a": a, "b": b}, **FAST)
    expected = stats.mannwhitneyu(
        a, b, alternative="two-sided", method=stats.PermutationMethod(n_resamples=np.inf)
    )
    assert (result["omnibus"]["test"], result["omnibus"]["method"]) == ("mannwhitney", "exact")
    assert result["omnibus"]["p"] == pytest.approx(float(expected.pvalue), rel=1e-12)
    [pair] = result["pairwise"]
    assert (pair["a"], pair["b"], pair["test"], pair["method"]) == (
        "a",
        "b",
        "mannwhitney",
        "exact",
    )
    assert pair["z"] is None
    assert pair["p"] == pair["p_adj"] == result["omnibus"]["p"]
    assert pair["significant"] is (pair["p"] <= 0.05)
    assert result["family"] == "one comparison (a vs b); no adjustment needed"
    assert pair["cliffs_delta"] < 0  # a tends to be smaller


def test_group_order_is_the_mapping_order():
    result = analyze_metric({"z": [1.0, 2.0, 3.0], "a": [4.0, 5.0, 6.0]}, **FAST)
    assert list(result["descriptives"]) == ["z", "a"]
    assert (result["pairwise"][0]["a"], result["pairwise"][0]["b"]) == ("z", "a")
    assert result["pairwise"][0]["cliffs_delta"] == -1.0


def test_single_group_is_described_but_not_tested():
    result = analyze_metric({"only": [1.0, 2.0, 4.0]}, **FAST)
    assert result["omnibus"] == {
        "test": None,
        "method": None,
        "statistic": None,
        "p": None,
        "skipped": "needs at least 2 groups, got 1",
    }
    assert result["pairwise"] == []
    assert result["descriptives"]["only"]["n"] == 3
    assert set(result["stopping"]) == {"only"}
    strict_json(result)


def test_no_groups_give_an_empty_but_valid_result():
    result = analyze_metric({}, **FAST)
    assert result["descriptives"] == {} and result["pairwise"] == [] and result["stopping"] == {}
    assert result["omnibus"]["skipped"]


def test_all_identical_values_are_explained_everywhere_and_never_nan():
    groups = {"a": [2.0, 2.0, 2.0], "b": [2.0, 2.0], "c": [2.0, 2.0, 2.0, 2.0]}
    result = strict_json(analyze_metric(groups, **FAST))
    assert result["omnibus"]["p"] is None and "identical" in result["omnibus"]["skipped"]
    for pair in result["pairwise"]:
        assert pair["p"] is None and pair["p_adj"] is None and "identical" in pair["p_reason"]
        assert (pair["cliffs_delta"], pair["magnitude"]) == (0.0, "negligible")
        assert pair["n_per_group_80pct_power"] is None and pair["n_per_group_reason"]
    for name in groups:
        entry = result["descriptives"][name]
        assert (entry["std"], entry["ci_low"], entry["ci_high"]) == (0.0, 2.0, 2.0)
        # Two to four equal runs never satisfy the stopping rule (it needs 5 values).
        assert result["stopping"][name]["half_width_pct"] == 0.0
        assert result["stopping"][name]["converged"] is False
        assert "at least 5 values" in result["stopping"][name]["reason"]


def test_constant_groups_with_complete_separation():
    result = analyze_metric(
        {"a": [1.0, 1.0, 1.0], "b": [5.0, 5.0, 5.0], "c": [9.0, 9.0, 9.0]}, **FAST
    )
    assert result["omnibus"]["skipped"] is None
    first = result["pairwise"][0]
    assert (first["cliffs_delta"], first["magnitude"]) == (-1.0, "large")
    # Complete separation of constant groups: power 1 from the first n at which Kruskal–Wallis +
    # Dunn + Holm can call the pair significant. By hand for a vs b (mean ranks n apart, tie
    # sum 3(n³ − n), N = 3n): n = 7 gives z = 2.236, p = 0.0253, Holm's second step 0.0507 > α;
    # n = 8 gives z = 2.398, p = 0.0165, Holm 0.033. a vs c, twice as far apart, needs only 3.
    assert [p["n_per_group_80pct_power"] for p in result["pairwise"]] == [8, 3, 8]
    assert "n_per_group_reason" not in first
    assert [p["significant"] for p in result["pairwise"]] == [False, True, False]
    strict_json(result)


def test_tiny_and_empty_groups_are_explained_not_nan():
    groups = {"full": [1.0, 2.0, 3.0, 5.0], "one": [4.0], "none": [], "three": [2.0, 2.5, 9.0]}
    result = strict_json(analyze_metric(groups, **FAST))
    one, none = result["descriptives"]["one"], result["descriptives"]["none"]
    assert one["std"] is None and one["std_reason"] and one["ci_low"] is None and one["ci_reason"]
    assert none["n"] == 0 and none["mean"] is None and none["reason"]
    assert "'one' (n=1)" in result["omnibus"]["skipped"]
    for pair in result["pairwise"]:
        assert pair["p"] is None and pair["p_reason"] == result["omnibus"]["skipped"]
        if "none" in (pair["a"], pair["b"]):
            assert pair["cliffs_delta"] is None and pair["effect_reason"]
    assert result["stopping"]["one"]["converged"] is False
    assert result["stopping"]["one"]["reason"]


def test_three_values_per_group_are_fully_analysed():
    groups = {"a": [1.0, 2.0, 3.0], "b": [2.0, 3.0, 4.0], "c": [6.0, 7.0, 9.0]}
    result = strict_json(analyze_metric(groups, **FAST))
    assert result["omnibus"]["p"] == pytest.approx(stats.kruskal(*groups.values()).pvalue)
    ab = result["pairwise"][0]
    assert ab["cliffs_delta"] == pytest.approx(-5 / 9)
    assert all(p["p"] is not None for p in result["pairwise"])
    assert all(result["descriptives"][g]["ci_low"] is not None for g in groups)


def test_ci_method_and_confidence_reach_scipy_bootstrap_from_thirty_values():
    # With the default ci_method, bootstrap-t is reported from 30 values too and BCa replaces
    # it where it is unbounded (12.6 % of these resamples are all zeros, more than the 5 % tail);
    # a plan that chose bca or percentile gets that interval from 30 values on.
    values = [0.0] * 28 + [1.0, 3.0]
    cases = (
        ("bootstrap-t", "BCa", "bca"),
        ("bca", "BCa", "bca"),
        ("percentile", "percentile", "percentile"),
    )
    for method, scipy_method, reported in cases:
        result = analyze_metric(
            {"g": values}, ci_method=method, bootstrap_samples=1500, confidence=0.9, seed=3
        )
        expected = stats.bootstrap(
            (np.array(values),),
            np.mean,
            n_resamples=1500,
            confidence_level=0.9,
            method=scipy_method,
            rng=np.random.default_rng(3),
        ).confidence_interval
        entry = result["descriptives"]["g"]
        assert (entry["ci_low"], entry["ci_high"]) == (expected.low, expected.high)
        assert entry["ci_method"] == f"bootstrap-{reported}"
        unbounded = "bootstrap-t interval is unbounded" in (entry.get("ci_reason") or "")
        assert unbounded == (method == "bootstrap-t")


def test_small_groups_get_t_or_bootstrap_t_and_fractions_get_wilson():
    result = analyze_metric(
        {"two": [1.0, 3.0], "eight": [1.0, 2.0, 2.5, 3.0, 7.0, 8.5, 2.2, 1.9]}, **FAST
    )
    two = result["descriptives"]["two"]
    t_low, t_high = stats.t.interval(0.95, 1, loc=2.0, scale=stats.sem([1.0, 3.0]))
    assert (two["ci_low"], two["ci_high"]) == (pytest.approx(t_low), pytest.approx(t_high))
    assert two["ci_method"] == "t"
    assert result["descriptives"]["eight"]["ci_method"] == "bootstrap-t"
    passes = analyze_metric({"all": [1.0] * 5, "some": [1.0, 0.0, 1.0]}, bounded_fraction=True)
    assert passes["descriptives"]["all"]["ci_method"] == "wilson"
    assert passes["descriptives"]["all"]["ci_low"] == pytest.approx(
        proportion_confint(5, 5, method="wilson")[0]
    )
    assert passes["stopping"]["all"] == {
        "half_width_abs": pytest.approx((1 - proportion_confint(5, 5, method="wilson")[0]) / 2),
        "converged": False,
    }


def test_same_seed_gives_identical_results_and_another_seed_changes_only_simulations():
    first = analyze_metric(FIVE_GROUPS, seed=11, **FAST)
    assert analyze_metric(FIVE_GROUPS, seed=11, **FAST) == first
    other = analyze_metric(FIVE_GROUPS, seed=12, **FAST)
    assert other["descriptives"]["aider"]["ci_low"] != first["descriptives"]["aider"]["ci_low"]
    assert other["omnibus"] == first["omnibus"]
    for mine, theirs in zip(other["pairwise"], first["pairwise"], strict=True):
        for key in ("p", "p_adj", "significant", "cliffs_delta", "cliffs_delta_ci"):
            assert mine[key] == theirs[key]


def test_stopping_uses_the_ci_half_width_relative_to_the_mean():
    values = [10.0, 11.0, 9.0, 10.5, 9.5, 10.2]
    result = analyze_metric({"g": values}, max_half_width_pct=5.0, **FAST)
    entry = result["descriptives"]["g"]
    expected = (entry["ci_high"] - entry["ci_low"]) / 2 / abs(entry["mean"]) * 100
    assert result["stopping"]["g"]["half_width_pct"] == pytest.approx(expected)
    assert result["stopping"]["g"]["converged"] is (expected <= 5.0)


def test_zero_mean_with_spread_is_not_converged_and_says_why():
    result = strict_json(analyze_metric({"g": [-1.0, 1.0, -2.0, 2.0]}, **FAST))
    assert result["stopping"]["g"]["converged"] is False
    assert result["stopping"]["g"]["half_width_pct"] is None
    assert "includes 0" in result["stopping"]["g"]["reason"]


def test_output_is_strict_json_with_plain_python_types():
    result = analyze_metric(FIVE_GROUPS, **FAST)
    assert strict_json(result) == result  # no numpy scalars, tuples or NaN survive a round trip


def test_outliers_are_reported_per_group():
    values = [10.0] * 20 + [100.0]
    result = analyze_metric({"g": values, "h": [1.0, 2.0, 3.0]}, **FAST)
    assert result["descriptives"]["g"]["outliers"] == [100.0]
    assert result["descriptives"]["h"]["outliers"] == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"alpha": 0.0},
        {"p_adjust": "fdr"},
        {"ci_method": "basic"},
        {"bootstrap_samples": 0},
        {"confidence": 1.5},
        {"max_half_width_pct": -1.0},
        {"max_half_width_abs": 0.0},
    ],
)
def test_invalid_parameters_are_rejected(kwargs):
    with pytest.raises(ValueError):
        analyze_metric({"a": [1.0, 2.0]}, **kwargs)


def test_nan_input_is_rejected_with_the_group_name():
    with pytest.raises(InvalidSampleError, match="'b'"):
        analyze_metric({"a": [1.0, 2.0], "b": [1.0, math.nan]})


def test_realistic_workload_runs_in_a_few_seconds():
    # 7 metrics × 5 groups × 200 values with 10,000 resamples: the `baes analyze` workload.
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for metric in range(7):
        analyze_metric(
            {f"g{i}": rng.gamma(2.0 + i, 3.0 + metric, 200) for i in range(5)},
            bootstrap_samples=10_000,
        )
    assert time.perf_counter() - start < 10.0


def test_dunn_pairs_are_not_significant_when_kruskal_wallis_is_not():
    # Kruskal–Wallis p = 0.056 (scipy); Dunn's raw p for g1 vs g3 is 0.011 (scikit-posthocs).
    groups = {
        "g0": [0.1, -0.1, 0.6, 0.1],
        "g1": [-0.5, 0.4, 1.3, 0.9],
        "g2": [-0.7, -1.3, -0.6, 0.0],
        "g3": [-2.3, -0.2, -1.2, -0.7],
        "g4": [-0.5, -0.3, 0.4, 1.0],
        "g5": [-0.1, 1.4, -0.7, 0.4],
    }
    result = analyze_metric(groups, p_adjust="none", **FAST)
    kruskal = stats.kruskal(*groups.values()).pvalue
    assert result["omnibus"]["p"] == pytest.approx(kruskal) and kruskal > 0.05
    raw = scikit_posthocs.posthoc_dunn(list(groups.values()))
    pair = next(p for p in result["pairwise"] if (p["a"], p["b"]) == ("g1", "g3"))
    assert pair["p_adj"] == pytest.approx(raw.iloc[1, 3]) and pair["p_adj"] < 0.05
    assert not any(p["significant"] for p in result["pairwise"])


def test_a_planned_family_is_adjusted_over_its_own_pairs_only():
    pairs = [("metagpt", "aider"), ("baes", "aider")]
    result = analyze_metric(FIVE_GROUPS, pairs=pairs, **FAST)
    assert [(p["a"], p["b"]) for p in result["pairwise"]] == [
        ("aider", "metagpt"),
        ("aider", "baes"),
    ]
    assert result["family"] == "2 planned comparisons among 5 groups, holm"
    raw = scikit_posthocs.posthoc_dunn([list(v) for v in FIVE_GROUPS.values()])
    expected = multipletests([raw.iloc[0, 1], raw.iloc[0, 3]], method="holm")[1]
    assert [p["p_adj"] for p in result["pairwise"]] == pytest.approx(list(expected))
    with pytest.raises(ValueError, match="two different groups"):
        analyze_metric(FIVE_GROUPS, pairs=[("aider", "nobody")], **FAST)


def test_primary_contrast_defaults_to_the_first_two_groups_and_follows_the_plan():
    groups = {"a": [1.0, 2.0, 3.0], "b": [2.0, 3.0, 4.0], "c": [6.0, 7.0, 9.0]}
    assert analyze_metric(groups, **FAST)["primary_contrast"] == {"a": "a", "b": "b"}
    planned = analyze_metric(groups, primary_contrast=["c", "a"], **FAST)
    # Listed as `pairwise` lists it (design order), so the pair is found by its a and b.
    assert planned["primary_contrast"] == {"a": "a", "b": "c"}
    assert analyze_metric({"a": [1.0, 2.0]}, **FAST)["primary_contrast"] is None
    assert analyze_metric(groups, primary_contrast=["a", "zz"], **FAST)["primary_contrast"] is None


def test_metric_statistics_passes_a_planned_family_and_the_metric_kind():
    from baes.analysis.analyze import default_plan, metric_statistics

    plan = default_plan(["CHECK_PASS_RATE"])
    values = {"x": [1.0] * 5, "y": [0.0, 1.0, 1.0, 0.0, 1.0], "z": [], "w": [0.5, 1.0, 1.0]}
    block = metric_statistics(values, plan, "CHECK_PASS_RATE", pairs=[("x", "w"), ("y", "z")])
    assert [(p["a"], p["b"]) for p in block["pairwise"]] == [("x", "w")]
    assert block["family"] == "1 planned comparison among 3 groups, holm"
    assert block["descriptives"]["x"]["ci_method"] == "wilson"
    assert set(block["stopping"]["z"]) == {"half_width_abs", "converged", "reason"}


def test_the_designs_primary_contrast_and_absolute_limit_reach_the_plan_and_the_block():
    from baes.analysis.analyze import metric_statistics, plan_from_config
    from tests.analysis.run_records import make_design

    design = make_design("p", frameworks=["one", "two", "three"])
    design = design.model_copy(
        update={
            "analysis": design.analysis.model_copy(update={"primary_contrast": ["three", "one"]}),
            "stopping_rule": design.stopping_rule.model_copy(update={"max_half_width_abs": 0.2}),
        }
    )
    plan = plan_from_config(design)
    assert plan.to_json()["primary_contrast"] == ["three", "one"]
    assert plan.to_json()["max_half_width_abs"] == 0.2
    values = {"one": [1.0] * 6, "two": [1.0, 0.0] * 3, "three": [0.0] * 6}
    block = metric_statistics(values, plan, "CHECK_PASS_RATE")
    assert block["primary_contrast"] == {"a": "one", "b": "three"}
    # Wilson for 6/6: half-width 0.195 ≤ 0.2, so six all-pass runs converge at this limit.
    assert block["stopping"]["one"]["converged"] is True
    missing = metric_statistics({"one": [1.0] * 6, "two": [1.0] * 6, "three": []}, plan, "X")
    assert missing["primary_contrast"] is None and missing["primary_contrast_reason"]
