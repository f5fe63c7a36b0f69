"""report.md wording on hand-built stats.json content: exact sentences, not just keywords."""

from __future__ import annotations

import pytest

from baes.analysis.report import format_p, render_report
from baes.analysis.report.findings import omnibus_text
from tests.analysis.report_stats import (
    descriptive,
    experiment_stats,
    metric_block,
    pair,
    three_groups,
)


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.0496, "0.0496"),  # three decimals would print 0.050 next to α = 0.05
        (0.0504, "0.0504"),
        (0.05, "0.0500"),
        (0.123456, "0.123"),
        (0.00123, "0.00123"),
        (0.001, "0.00100"),
        (0.000999, "< 0.001"),
        (1.0, "1.00"),
        (None, "—"),
    ],
)
def test_p_values_have_three_significant_digits(p, text):
    assert format_p(p) == text


def test_p_just_below_alpha_is_not_rounded_to_alpha_in_the_report():
    stats = three_groups(p_adj=0.0496, p=0.0165)
    report = render_report(stats)
    assert "p_adj = 0.0496" in report
    assert "0.050" not in report.replace("0.0500", "")


def _pass_rate_stats(mean_a: float, mean_b: float) -> dict:
    block = metric_block(
        {"a": descriptive(10, mean_a), "b": descriptive(10, mean_b)},
        [
            pair(
                "a",
                "b",
                delta=-0.5,
                ci=[-0.8, -0.1],
                test="mannwhitney",
                method="exact",
                magnitude="large",
            )
        ],
        omnibus={"test": "mannwhitney", "statistic": 25.0, "p": 0.01, "method": "exact"},
        family="one pair (1 comparison), holm",
    )
    return experiment_stats({"CHECK_PASS_RATE": block}, groups=["a", "b"])


def test_a_rate_difference_is_in_percentage_points_not_percent():
    report = render_report(_pass_rate_stats(0.72, 0.96))
    assert (
        "b had a 24 pp higher check pass rate than a (0.960 vs 0.720); "
        "δ(a vs b) = −0.50 [95 % CI −0.80, −0.10], large; p_adj = 0.0100."
    ) in report
    assert "33 %" not in report


def test_a_falling_rate_is_fewer_points():
    report = render_report(_pass_rate_stats(0.5, 0.45))
    assert "b had a 5.0 pp lower check pass rate than a (0.450 vs 0.500)" in report


def test_delta_keeps_the_table_sign_and_carries_its_interval():
    stats = three_groups(delta=0.62, ci=[0.30, 0.85], magnitude="large")
    report = render_report(stats)
    # b's mean is 620 against a's 1000: a's values are larger, δ(a vs b) > 0 as in the table.
    assert (
        "- b used 38 % fewer input tokens than a; δ(a vs b) = 0.62 [95 % CI 0.30, 0.85], "
        "large; p_adj = 0.0100."
    ) in report
    assert "| a | b | Dunn | asymptotic | — | 0.0100 | 0.0100 | yes | 0.62 | [0.30, 0.85] |" in (
        report
    )
    assert (
        "(the means and the rank-based δ point in opposite directions)"
        not in report.split("- b used")[1].split("\n")[0]
    )


def test_delta_against_the_means_is_flagged():
    stats = three_groups(delta=-0.4, ci=[-0.7, -0.1], magnitude="medium")
    report = render_report(stats)
    assert (
        "b used 38 % fewer input tokens than a; δ(a vs b) = −0.40 [95 % CI −0.70, −0.10], "
        "medium; p_adj = 0.0100 (the means and the rank-based δ point in opposite directions)"
    ) in report


def test_mann_whitney_is_named_once_with_its_statistic_and_method():
    block = {"omnibus": {"test": "mannwhitney", "statistic": 261.0, "p": 0.0123, "method": "exact"}}
    assert omnibus_text(block) == "Mann–Whitney U = 261, exact p = 0.0123"
    block["omnibus"]["statistic"] = 260.5
    assert omnibus_text(block).startswith("Mann–Whitney U = 260.5,")
    report = render_report(_pass_rate_stats(0.5, 0.9))
    assert "Mann–Whitney U = 25, exact p = 0.0100" in report
    assert "U U" not in report


def test_kruskal_wallis_names_its_p_method():
    block = {"omnibus": {"test": "kruskal", "statistic": 9.5, "p": 0.004, "method": "asymptotic"}}
    assert omnibus_text(block) == "Kruskal–Wallis H = 9.50, asymptotic p = 0.00400"


def test_sentences_follow_the_significant_flag_not_the_p_value():
    # Adjusted p below α but the omnibus test not significant: stats marks no pair significant.
    stats = three_groups(p_adj=0.01, significant=False)
    stats["metrics"]["TOK_IN"]["omnibus"]["p"] = 0.08
    report = render_report(stats)
    assert "differ significantly" not in report.replace("No pair differs significantly", "")
    assert "No pair differs significantly at α = 0.05." in report
    assert "no significant difference among the groups" in report
    assert "| a | b | Dunn | asymptotic | — | 0.0100 | 0.0100 | no |" in report


def test_significant_pairs_get_sentences_and_the_omnibus_without_pairs_is_said():
    stats = three_groups(significant=True)
    stats["metric_info"]["TOK_IN"]["direction"] = None  # no "best" group: the count is said
    report = render_report(stats)
    assert "3 pair(s) differ significantly, see below." in report
    listed = report.split("Pairs that differ significantly")[1].split("\n\n")[1]
    assert len(listed.splitlines()) == 3
    stats = three_groups(significant=False)
    report = render_report(stats)
    assert (
        "the omnibus test is significant (Kruskal–Wallis H = 9.50, asymptotic p = 0.00400), "
        "but no pair differs significantly after adjustment."
    ) in report


def test_the_headline_quotes_the_primary_contrast_not_the_first_pair():
    stats = three_groups()
    block = stats["metrics"]["TOK_IN"]
    block["primary_contrast"] = {"a": "b", "b": "c"}
    block["pairwise"][0]["n_per_group_80pct_power"] = 4  # a vs b: the first pair
    block["pairwise"][2]["n_per_group_80pct_power"] = 37  # b vs c: the primary contrast
    block["pairwise"][2]["cliffs_delta"] = -0.9
    report = render_report(stats)
    assert (
        "The primary contrast b vs c: c used 63 % more input tokens than b; δ(b vs c) = −0.90, "
        "large; p_adj = 0.0100; significant."
    ) in report
    assert (
        "to detect the observed difference between b and c (the primary contrast) with 80 % "
        "power you need 37 runs per group (there are 5 and 5)."
    ) in report


def test_sample_size_quotes_the_reason_when_none_is_reached():
    stats = three_groups(n_power=None, n_reason="not practically detectable (> 500 per group)")
    report = render_report(stats)
    assert (
        "for the primary contrast a vs b, no sample size applies (not practically detectable "
        "(> 500 per group))."
    ) in report
    assert "| a | b | — | 5 / 5 | not practically detectable (> 500 per group) |" in report


def test_methods_state_test_method_family_ci_methods_and_the_gate():
    stats = three_groups(ci=[0.1, 0.8])
    stats["metrics"]["TOK_IN"]["descriptives"]["c"]["ci_method"] = "bootstrap-bca"
    report = render_report(stats)
    methods = report.split("## Methods")[1].split("## Limitations")[0]
    assert (
        "A pair is called significant when its adjusted p ≤ α = 0.05 and, with three or more "
        "groups, the omnibus p ≤ α = 0.05 as well"
    ) in methods
    assert (
        "- TOK_IN: Kruskal–Wallis (asymptotic p); pairs: Dunn (asymptotic p); adjustment "
        "family: all pairs of 3 frameworks (3 comparisons), holm; CI of the mean: Student t "
        "interval (a, b); BCa bootstrap (c)."
    ) in methods
    assert "its 95 % interval (in the text and the forest plots) is a percentile bootstrap" in (
        methods
    )


def test_per_step_check_table_counts_passed_failed_and_errors():
    stats = three_groups()
    stats["step_checks"] = {
        "a": {"greet": {"passed": 4, "failed": 1, "error": 0}},
        "b": {
            "greet": {"passed": 5, "failed": 0, "error": 0},
            "farewell": {"passed": 2, "failed": 1, "error": 2},
        },
        "c": {},
    }
    report = render_report(stats)
    section = report.split("## Checks per step")[1].split("\n## ")[0]
    assert "(passed / failed / error)" in section
    assert "| step | a | b | c |" in section
    assert "| greet | 4 / 1 / 0 | 5 / 0 / 0 | — |" in section
    assert "| farewell | — | 2 / 1 / 2 | — |" in section
    assert "left out of CHECK_PASS_RATE" in section


def test_per_step_check_table_without_errors_has_two_counts():
    stats = three_groups()
    stats["step_checks"] = {
        "a": {"greet": {"passed": 4, "failed": 1, "error": 0}},
        "b": {"greet": {"passed": 5, "failed": 0, "error": 0}},
        "c": {"greet": {"passed": 3, "failed": 2, "error": 0}},
    }
    section = render_report(stats).split("## Checks per step")[1].split("\n## ")[0]
    assert "(passed / failed)" in section and "| greet | 4 / 1 | 5 / 0 | 3 / 2 |" in section


def _stopping_stats(n: int, *, runs_min: int, runs_max: int, converged: bool, enabled=True):
    block = metric_block(
        {"a": descriptive(n, 1000.0), "b": descriptive(n, 1100.0)},
        [pair("a", "b", test="mannwhitney", method="exact")],
        omnibus={"test": "mannwhitney", "statistic": 30.0, "p": 0.01, "method": "exact"},
        stopping={g: {"converged": converged, "half_width_pct": 8.0} for g in ("a", "b")},
    )
    return experiment_stats(
        {"TOK_IN": block},
        groups=["a", "b"],
        runs_min=runs_min,
        runs_max=runs_max,
        enabled=enabled,
    )


LIMITATION = "The stopping rule decided the number of runs of a (12), b (12)"


def test_a_limitation_says_when_the_stopping_rule_decided_n():
    report = render_report(_stopping_stats(12, runs_min=5, runs_max=30, converged=True))
    limitations = report.split("## Limitations")[1]
    assert LIMITATION in limitations
    assert "treat n as fixed in advance" in limitations


@pytest.mark.parametrize(
    ("runs_min", "runs_max", "converged", "enabled"),
    [
        (12, 12, True, True),  # fixed n: the rule had nothing to decide
        (5, 12, True, True),  # n reached runs.max
        (5, 30, False, True),  # not converged: unfinished, not stopped by the rule
        (5, 30, True, False),  # the rule is off
    ],
)
def test_no_stopping_limitation_when_the_rule_did_not_decide(
    runs_min, runs_max, converged, enabled
):
    stats = _stopping_stats(
        12, runs_min=runs_min, runs_max=runs_max, converged=converged, enabled=enabled
    )
    assert "The stopping rule decided" not in render_report(stats)


def test_stopping_table_shows_relative_and_absolute_half_widths():
    stats = _stopping_stats(12, runs_min=5, runs_max=30, converged=True)
    stats["plan"]["max_half_width_abs"] = 0.05
    stats["metrics"]["TOK_IN"]["stopping"] = {
        "a": {"converged": True, "half_width_abs": 0.0412},
        "b": {"converged": False, "half_width_pct": None, "reason": "the mean is 0"},
    }
    section = render_report(stats).split("## Stopping rule")[1].split("\n## ")[0]
    assert "for a fraction (0 to 1) at most 0.05 in absolute terms" in section
    assert "| a | ±0.0412 | yes |" in section
    assert "| b | — | no |" in section
    assert "- b, TOK_IN: the mean is 0" in section


def test_planned_contrasts_without_a_test_across_all_groups_read_as_tested_pairs():
    # compare's planned contrasts: one Mann–Whitney per framework across two experiments.
    groups = ["x/ref", "x/plan", "y/ref", "y/plan"]
    skipped = "planned contrasts: one test per framework across the experiments (2 families)"
    block = metric_block(
        {g: descriptive(5, 100.0 + 10 * i) for i, g in enumerate(groups)},
        [
            pair("x/ref", "y/ref", delta=-1.0, test="mannwhitney", method="exact"),
            pair(
                "x/plan",
                "y/plan",
                delta=-0.2,
                p=0.5,
                p_adj=0.5,
                significant=False,
                test="mannwhitney",
                method="exact",
                magnitude="small",
            ),
        ],
        omnibus={"test": None, "statistic": None, "p": None, "method": None, "skipped": skipped},
        primary=("x/ref", "y/ref"),
        family="the same framework across experiments, one family per framework",
    )
    block["families"] = [
        {
            "name": name,
            "groups": [f"x/{name}", f"y/{name}"],
            "omnibus": {"test": "mannwhitney", "statistic": 0.0, "p": p, "method": "exact"},
            "family": f"{name}: 1 comparison, no adjustment needed",
        }
        for name, p in (("ref", 0.00794), ("plan", 0.5))
    ]
    stats = experiment_stats({"TOK_IN": block}, groups=groups)
    stats["metric_info"]["TOK_IN"]["direction"] = None
    report = render_report(stats)
    assert "- Input tokens (TOK_IN): 1 of 2 tested pair(s) differ significantly, see below." in (
        report
    )
    assert "- ref: 1 comparison, no adjustment needed: Mann–Whitney U = 0, exact p = 0.00794." in (
        report
    )
    assert (
        f"- TOK_IN: no test across all groups ({skipped}); pairs: Mann–Whitney (exact p); "
        "adjustment family: the same framework across experiments, one family per framework;"
    ) in report
    assert "Tests not computed" not in report


def test_no_best_group_when_it_was_not_tested_against_every_other_group():
    # a vs b and c vs d only (planned contrasts): a beats b, but a never met c or d.
    groups = ["a", "b", "c", "d"]
    block = metric_block(
        {g: descriptive(5, 100.0 * (i + 1)) for i, g in enumerate(groups)},
        [pair("a", "b", delta=-1.0, test="mannwhitney"), pair("c", "d", delta=-1.0)],
    )
    stats = experiment_stats({"TOK_IN": block}, groups=groups)
    report = render_report(stats)
    assert "significantly different from every other" not in report
    # Tested against everyone (all pairs), the same group is the best one.
    block["pairwise"] += [
        pair("a", "c", delta=-1.0),
        pair("a", "d", delta=-1.0),
        pair("b", "c", delta=-1.0),
        pair("b", "d", delta=-1.0),
    ]
    assert "- Input tokens (TOK_IN): a had the lowest values, significantly different from " in (
        render_report(stats)
    )


def test_a_skipped_omnibus_test_is_said_once():
    stats = three_groups()
    stats["metrics"]["TOK_IN"]["omnibus"] = {
        "test": None,
        "statistic": None,
        "p": None,
        "method": None,
        "skipped": "no test across all groups",
    }
    report = render_report(stats)
    assert "\nThe omnibus test not computed: no test across all groups.\n" in report
    assert "Omnibus test: the omnibus test" not in report


def test_checks_that_could_not_run_are_listed_with_their_reasons():
    stats = three_groups()
    assert "## Checks that could not run" not in render_report(stats)
    stats["check_errors"] = {
        "b": {"checks": 3, "runs": 2, "reasons": {"no module named\nfastapi": 2, "timeout": 1}}
    }
    section = render_report(stats).split("## Checks that could not run")[1].split("\n## ")[0]
    assert "3 check(s) in 2 analysed run(s) could not be run by the harness" in section
    assert "- b: 3 check(s) in 2 run(s) (2 × no module named fastapi; 1 × timeout)" in section
