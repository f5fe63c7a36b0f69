"""The pieces of reconciliation: comparison units, tolerance, the settle rule, evidence writes."""

from __future__ import annotations

import json
import os

import pytest

from baes.reconcile import reconcile as reconcile_module
from baes.reconcile.buckets import MeteredCall, comparison_units, ledger_view
from baes.reconcile.compare import Tolerance
from baes.reconcile.evidence import EvidenceLog
from baes.reconcile.quantities import Quantities
from baes.reconcile.reconcile import reconcile_experiment
from baes.reconcile.states import stable_since
from baes.records.evidence import EvidenceRecord
from tests.reconcile.conftest import evidence, run_records

T0 = 1_767_225_600  # a minute boundary


def _call(run: str, start: float, end: float) -> MeteredCall:
    return MeteredCall(run, T0 + start, T0 + end, "m", Quantities(1, 10, 0, 5), True)


def test_minutes_a_call_may_be_billed_in_are_compared_as_one_unit():
    calls = [
        _call("a", 10, 12),  # well inside minute 0
        _call("b", 118, 122),  # spans the 1→2 boundary: minutes 1 and 2 form one unit
        _call("c", 150, 151),  # inside minute 2: joins that unit
        _call("d", 241, 242),  # 1 s after a boundary: with 5 s of skew, minutes 3 and 4 merge
    ]
    units = comparison_units(calls, clock_skew_s=5)
    assert [(u.start - T0, u.end - T0) for u in units] == [(0, 60), (60, 180), (180, 300)]
    view = ledger_view(calls, 5, None)
    assert view.runs_by_unit[units[1]] == {"b", "c"}
    assert view.sums[(units[1], ("m", None))] == Quantities(2, 20, 0, 10)
    assert [(u.start - T0, u.end - T0) for u in comparison_units(calls, 0)] == [
        (0, 60),
        (60, 180),
        (240, 300),
    ]


def test_tolerance_is_exact_for_requests_and_relative_for_tokens():
    tolerance = Tolerance(requests=0, tokens_pct=1.0)
    assert tolerance.allows("requests", 10, 10) and not tolerance.allows("requests", 10, 11)
    assert tolerance.allows("input_tokens", 1000, 1010)
    assert not tolerance.allows("input_tokens", 1000, 1011)
    assert not tolerance.allows("output_tokens", 0, 1)


def test_data_is_stable_since_the_first_of_the_latest_identical_reads():
    history = [(1.0, "a"), (2.0, "b"), (3.0, "b"), (4.0, "b")]
    assert stable_since("b", 5.0, history) == 2.0
    assert stable_since("c", 5.0, history) == 5.0
    assert stable_since("a", 5.0, []) == 5.0


def _read(read_id: str, buckets: list) -> EvidenceRecord:
    return EvidenceRecord(
        read_id=read_id,
        experiment="exp",
        at="2026-06-21T10:00:00.000000Z",
        t=float(T0),
        scope="openai:key",
        window=(T0, T0 + 60),
        ok=True,
        pages=1,
        attempts=1,
        error=None,
        buckets=buckets,
        comparisons=[],
        runs={},
    )


def test_an_interrupted_evidence_append_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    log = EvidenceLog(tmp_path / ".meta" / "reconcile.jsonl")
    log.append(_read("one", []))
    before = log.path.read_bytes()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        log.append(_read("two", [[T0, "m", None, 1, 2, 0, 3]] * 500))
    monkeypatch.undo()
    assert log.path.read_bytes() == before
    assert [r.read_id for r in log.records()] == ["one"]


def test_a_reconcile_interrupted_while_writing_states_is_completed_by_the_next(
    sim_experiment, monkeypatch
):
    root = sim_experiment
    written = []
    real_write = reconcile_module.write_verification

    def write_then_die(*args, **kwargs):
        if written:
            raise KeyboardInterrupt
        written.append(real_write(*args, **kwargs))
        return written[-1]

    monkeypatch.setattr(reconcile_module, "write_verification", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        reconcile_experiment(root, "exp")
    monkeypatch.undo()
    (read,) = evidence(root)  # the read was recorded whole before any state moved
    assert read["ok"] and len(read["runs"]) == 6
    assert (
        sorted(r["verification"]["state"] for r in run_records(root).values()).count("pending") == 1
    )

    report = reconcile_experiment(root, "exp")
    assert len({r.state for r in report.runs}) == 1  # pending or, past the settle time, verified
    assert {r["verification"]["state"] for r in run_records(root).values()} == {
        report.runs[0].state
    }
    lines = (root / "exp/.meta/reconcile.jsonl").read_text().splitlines()
    assert [json.loads(line)["ok"] for line in lines] == [True, True]
