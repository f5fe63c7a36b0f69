"""The tidy dataset from real run folders: completed runs only, success rates from every run,
verification filtering, and records that cannot be used are reported, not silently dropped."""

from __future__ import annotations

import csv
import io
import json

from baes.analysis.dataset import (
    build_dataset,
    read_run_records,
    success_rates,
    tidy_csv,
    verification_coverage,
)
from baes.analysis.metrics import MetricContext
from baes.config.canonical import design_hash
from tests.analysis.run_records import make_experiment, run_record, write_run


def _experiment(tmp_path):
    paths, config = make_experiment(tmp_path / "root", "data")
    write_run(paths, run_record(config, "reference", 1, input_tokens=100, verification="verified"))
    write_run(
        paths,
        run_record(
            config, "reference", 2, input_tokens=None, output_tokens=None, cached_tokens=None
        ),
    )
    write_run(
        paths,
        run_record(
            config,
            "reference",
            3,
            status="failed",
            error={"kind": "timeout", "message": "step greet timed out"},
        ),
    )
    write_run(paths, run_record(config, "reference-plan", 4, input_tokens=300, verification=None))
    write_run(paths, run_record(config, "reference-plan", 5, status="interrupted"))
    write_run(paths, run_record(config, "reference-plan", 6, status="running"))
    return paths, config


def _dataset(paths, config, **options):
    records, problems = read_run_records(paths, list(config.frameworks), design_hash(config))
    dataset = build_dataset(
        records, list(config.frameworks), MetricContext(config.pricing), **options
    )
    dataset.problems.extend(problems)
    return dataset


def test_only_completed_runs_are_measured_and_unmeasurable_values_are_counted(tmp_path):
    paths, config = _experiment(tmp_path)
    dataset = _dataset(paths, config)
    assert dataset.groups == ["reference", "reference-plan"]
    assert dataset.excluded_groups == {"reference-repair": "no completed run"}
    assert dataset.values("TOK_IN") == {"reference": [100.0], "reference-plan": [300.0]}
    excluded = dataset.exclusions("TOK_IN")
    assert list(excluded) == ["reference"]
    assert sum(excluded["reference"].values()) == 1
    assert "not reported" in next(iter(excluded["reference"]))
    assert dataset.analysed_counts() == {"reference": 2, "reference-plan": 1}


def test_success_rates_count_every_finished_run_and_keep_the_reasons(tmp_path):
    paths, config = _experiment(tmp_path)
    dataset = _dataset(paths, config)
    rates = success_rates(dataset.runs, list(config.frameworks))
    assert rates["reference"]["attempted"] == 3 and rates["reference"]["completed"] == 2
    assert rates["reference"]["success_rate"] == 2 / 3
    assert rates["reference"]["failure_reasons"] == {
        "timeout": {"count": 1, "example": "step greet timed out"}
    }
    plan = rates["reference-plan"]
    assert (plan["attempted"], plan["interrupted"], plan["running"]) == (2, 1, 1)
    assert plan["failure_reasons"]["interrupted"]["count"] == 1
    assert rates["reference-repair"]["success_rate"] is None


def test_verification_coverage_treats_missing_verification_as_unverified(tmp_path):
    paths, config = _experiment(tmp_path)
    coverage = verification_coverage(_dataset(paths, config).runs, list(config.frameworks))
    assert coverage["overall"]["completed_runs"] == 3
    assert coverage["overall"]["states"]["verified"] == 1
    assert coverage["overall"]["states"]["unverified"] == 2
    assert coverage["groups"]["reference"]["verified_share"] == 0.5


def test_verified_only_keeps_verified_runs_and_says_which_groups_lost_all(tmp_path):
    paths, config = _experiment(tmp_path)
    dataset = _dataset(paths, config, verified_only=True)
    assert dataset.groups == ["reference"]
    assert dataset.values("TOK_IN") == {"reference": [100.0]}
    assert dataset.excluded_groups["reference-plan"] == "no completed run with verified usage"
    # Success rates still see every run.
    assert len(dataset.runs) == 6


def test_unusable_records_are_reported_with_their_path(tmp_path):
    paths, config = _experiment(tmp_path)
    bad = paths.run_dir("reference", "run-broken") / "run.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json", "utf-8")
    foreign = run_record(config, "reference", 9)
    foreign["config_hash"] = "f" * 64
    write_run(paths, foreign, manifest=False)
    misplaced = run_record(config, "reference", 10)
    misplaced["framework"] = "reference-plan"
    target = paths.run_dir("reference", misplaced["run_id"]) / "run.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(misplaced), "utf-8")
    write_run(paths, run_record(config, "aider", 11), manifest=False)
    dataset = _dataset(paths, config)
    problems = "\n".join(dataset.problems)
    assert "run-broken/run.json: unreadable run record" in problems
    assert "recorded under another design" in problems
    assert "does not match its folder" in problems
    assert "framework 'aider' is not in the design" in problems
    assert dataset.analysed_counts()["reference"] == 2


def test_tidy_csv_is_the_from_csv_format(tmp_path):
    paths, config = _experiment(tmp_path)
    rows = list(csv.DictReader(io.StringIO(tidy_csv(_dataset(paths, config)))))
    assert set(rows[0]) == {"group", "metric", "value", "run"}
    tok_in = [(r["group"], float(r["value"])) for r in rows if r["metric"] == "TOK_IN"]
    assert tok_in == [("reference", 100.0), ("reference-plan", 300.0)]


def test_paired_values_join_two_metrics_by_run(tmp_path):
    paths, config = _experiment(tmp_path)
    pairs = _dataset(paths, config).paired("TOK_IN", "CHECK_PASS_RATE")
    assert pairs == {"reference": [(100.0, 1.0)], "reference-plan": [(300.0, 1.0)]}


def test_check_counts_per_step_count_passed_failed_and_errors_of_analysed_runs(tmp_path):
    paths, config = make_experiment(tmp_path / "root", "checks")
    steps = [s.id for s in config.scenario.steps if s.check]
    assert len(steps) == 2
    write_run(paths, run_record(config, "reference", 1))  # both pass
    write_run(paths, run_record(config, "reference", 2, checks_passed=1))  # second fails
    errored = run_record(config, "reference", 3)
    # A harness error (recorded with a status since checks tell them apart).
    errored["steps"][1]["check"].update(status="error", passed=False, error_reason="no fastapi")
    write_run(paths, errored)
    write_run(paths, run_record(config, "reference-plan", 4, checks_passed=0))
    write_run(paths, run_record(config, "reference-plan", 5, status="failed"))  # not analysed
    counts = _dataset(paths, config).check_counts()
    assert counts == {
        "reference": {
            steps[0]: {"passed": 3, "failed": 0, "error": 0},
            steps[1]: {"passed": 1, "failed": 1, "error": 1},
        },
        "reference-plan": {
            steps[0]: {"passed": 0, "failed": 1, "error": 0},
            steps[1]: {"passed": 0, "failed": 1, "error": 0},
        },
    }
