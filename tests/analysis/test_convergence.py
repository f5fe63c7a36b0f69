"""The stopping-rule verdict for one group: relative and absolute half-widths, and refusals."""

import pytest
from statsmodels.stats.proportion import proportion_confint

from baes.analysis.convergence import MIN_VALUES_TO_CONVERGE, ci_convergence

RULE = {"max_half_width_pct": 10.0, "max_half_width_abs": 0.05}


def relative(n, mean, low, high, **rule):
    return ci_convergence(n, mean, low, high, bounded_fraction=False, **{**RULE, **rule})


def absolute(n, mean, low, high, **rule):
    return ci_convergence(n, mean, low, high, bounded_fraction=True, **{**RULE, **rule})


def test_half_width_is_a_percentage_of_the_absolute_mean():
    result = relative(8, -20.0, -22.0, -18.0)
    assert result.half_width_pct == pytest.approx(10.0)
    assert result.converged is True
    assert result.to_json() == {"half_width_pct": pytest.approx(10.0), "converged": True}


def test_wider_than_the_limit_has_not_converged():
    result = relative(8, 10.0, 8.0, 12.0)
    assert result.half_width_pct == pytest.approx(20.0) and result.converged is False


@pytest.mark.parametrize("value", [0.0, 4.5])
def test_constant_group_with_enough_values_has_converged(value):
    result = relative(MIN_VALUES_TO_CONVERGE, value, value, value)
    assert (result.half_width_pct, result.converged) == (0.0, True)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_never_converges_on_fewer_than_five_values_even_when_narrow(n):
    # Two equal runs give a zero-width interval; the rule still refuses and says why.
    result = relative(n, 7.0, 7.0, 7.0)
    assert result.converged is False and "at least 5 values" in result.reason
    narrow = relative(n, 100.0, 99.9, 100.1)
    assert narrow.converged is False and narrow.half_width_pct == pytest.approx(0.1)


def test_interval_reaching_zero_cannot_decide_and_says_why_instead_of_dividing():
    for mean, low, high in [(0.0, -1.0, 1.0), (1e-300, -1.0, 1.0), (0.2, 0.0, 0.4)]:
        result = relative(10, mean, low, high)
        assert result.converged is False and result.half_width_pct is None
        assert "includes 0" in result.reason
        assert result.to_json()["half_width_pct"] is None


def test_no_interval_has_not_converged_and_says_why():
    result = relative(1, 3.0, None, None)
    assert result.converged is False and result.reason == "no confidence interval of the mean"


def test_fractions_use_the_absolute_half_width():
    result = absolute(400, 0.9, 0.87, 0.93)
    assert result.half_width_abs == pytest.approx(0.03) and result.converged is True
    assert set(result.to_json()) == {"half_width_abs", "converged"}
    assert absolute(400, 0.9, 0.87, 0.93, max_half_width_abs=0.02).converged is False


@pytest.mark.parametrize("n", [5, 20, 30])
def test_all_pass_runs_do_not_converge_on_their_wilson_interval(n):
    # Independent route: statsmodels' Wilson interval for n passes out of n.
    low, high = proportion_confint(n, n, alpha=0.05, method="wilson")
    result = absolute(n, 1.0, low, high)
    assert result.converged is False
    assert result.half_width_abs == pytest.approx((high - low) / 2)


def test_many_all_pass_runs_do_converge():
    low, high = proportion_confint(40, 40, alpha=0.05, method="wilson")  # half-width 0.044
    assert absolute(40, 1.0, low, high).converged is True


# The engine's decision (baes/engine/stopping.py) on real run records, through its public function.


def _decide(values_of_runs, metrics, **rule):
    from baes.engine.stopping import decide
    from tests.analysis.run_records import make_design, run_record

    design = make_design("stop", frameworks=["a"], runs=40)
    design = design.model_copy(
        update={
            "runs": design.runs.model_copy(update={"min": 2, "max": 40}),
            "stopping_rule": design.stopping_rule.model_copy(update={"metrics": metrics, **rule}),
        }
    )
    records = [run_record(design, "a", i, **fields) for i, fields in enumerate(values_of_runs)]
    return decide(design, records)


def test_two_identical_runs_never_stop_a_framework():
    decision = _decide([{"input_tokens": 1000}] * 2, ["TOK_IN"])
    assert decision.needs_more and "at least 5 values" in decision.reason


def test_five_all_pass_runs_do_not_stop_on_the_pass_rate():
    runs = [{"checks_passed": 2, "checks_total": 2}] * 5
    decision = _decide(runs, ["CHECK_PASS_RATE"])
    assert decision.needs_more and "CHECK_PASS_RATE ±0.217" in decision.reason
    runs = [{"checks_passed": 2, "checks_total": 2}] * 35
    assert not _decide(runs, ["CHECK_PASS_RATE"]).needs_more


def test_steady_token_counts_stop_after_five_runs():
    runs = [{"input_tokens": v} for v in (1000, 1010, 990, 1005, 995)]
    decision = _decide(runs, ["TOK_IN"], max_half_width_pct=5.0)
    assert not decision.needs_more
    assert decision.reason == "converged after 5 runs (all within ±5 % of the mean)"


def test_a_mean_near_zero_says_why_it_cannot_decide():
    # Cached tokens around 0: the interval reaches 0, so no relative half-width exists.
    runs = [{"cached_tokens": v} for v in (0, 0, 3, 0, 1, 0)]
    decision = _decide(runs, ["CACHED_TOKENS"])
    assert decision.needs_more
    assert "CACHED_TOKENS undefined" in decision.reason and "includes 0" in decision.reason


def test_five_all_pass_runs_never_converge_even_at_the_widest_allowed_limit():
    from baes.config.models import StoppingRuleConfig

    widest = StoppingRuleConfig.model_fields["max_half_width_abs"].metadata
    limit = next(m.le for m in widest if getattr(m, "le", None) is not None)
    low, high = proportion_confint(5, 5, alpha=0.05, method="wilson")
    assert absolute(5, 1.0, low, high, max_half_width_abs=limit).converged is False
    low, high = proportion_confint(6, 6, alpha=0.05, method="wilson")
    assert absolute(6, 1.0, low, high, max_half_width_abs=limit).converged is True
