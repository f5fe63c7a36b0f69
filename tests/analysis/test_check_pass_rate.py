"""CHECK_PASS_RATE counts only checks that gave a verdict; hand-derived values."""

from __future__ import annotations

import pytest

from baes.analysis.metrics import MetricContext, measure_check_pass_rate

CONTEXT = MetricContext(prices={})


def _record(passed: int, total: int, errored: int | None, reasons: list[str] = ()) -> dict:
    totals = {"checks_passed": passed, "checks_total": total}
    if errored is not None:
        totals["checks_errored"] = errored
    steps = [{"check": {"status": "error", "error_reason": r}} for r in reasons]
    return {"totals": totals, "steps": steps}


@pytest.mark.parametrize(
    ("passed", "total", "errored", "expected"),
    [
        (3, 4, 0, 0.75),
        (1, 4, 2, 0.5),  # 1 of the 2 checks that ran to a verdict; not 1/4
        (2, 3, 1, 1.0),
        (3, 4, None, 0.75),  # a record from before errors were told apart
    ],
)
def test_the_rate_is_passed_over_checks_with_a_verdict(passed, total, errored, expected):
    measured = measure_check_pass_rate(_record(passed, total, errored), CONTEXT)
    assert measured.value == pytest.approx(expected) and measured.reason is None


def test_a_run_whose_checks_all_errored_has_no_rate_and_says_why():
    measured = measure_check_pass_rate(
        _record(0, 2, 2, ["the check's command was not found (exit 127)", "other"]), CONTEXT
    )
    assert measured.value is None
    assert measured.reason == (
        "every check of this run was an error of the harness, not a verdict "
        "(the check's command was not found (exit 127))"
    )


@pytest.mark.parametrize(("passed", "total", "errored"), [(2, 3, 2), (0, 2, 3)])
def test_inconsistent_counts_are_not_measured(passed, total, errored):
    measured = measure_check_pass_rate(_record(passed, total, errored), CONTEXT)
    assert measured.value is None and "inconsistent check counts" in measured.reason


def test_a_non_numeric_error_count_is_not_measured():
    record = _record(1, 2, None)
    record["totals"]["checks_errored"] = "two"
    measured = measure_check_pass_rate(record, CONTEXT)
    assert measured.value is None and "checks_errored" in measured.reason
