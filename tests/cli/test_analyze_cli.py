"""`baes analyze` through the real command on synthesized experiment folders: stats.json checked
against independent computations (scipy, scikit-posthocs, brute-force δ), the report, the figures,
the options, and the refusals."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
import scikit_posthocs
import typer
from PIL import Image
from scipy import stats as sps
from typer.testing import CliRunner

from baes.cli.analyze import analyze
from baes.cli.compare import compare
from tests.analysis.run_records import make_experiment, run_record, write_run

FRAMEWORKS = ["reference", "reference-plan", "reference-repair"]
INPUT = {
    "reference": [1000, 1040, 980, 1010, 995, 1020, 1005, 990, 1000, 1015, 985],
    "reference-plan": [1300, 1280, 1350, 1310, 1295, 1330, 1300, 1320, 1300, 1290, 1325],
    "reference-repair": [1600, 1580, 1650, 1600, 1620, 1590, 1640, 1600, 1610, 1595, 1625],
}
OUTPUT = {
    "reference": [300, 310, 290, 305, 295, 300, 320, 280, 300, 305, 295],
    "reference-plan": [330, 300, 310, 305, 340, 300, 315, 320, 310, 320, 300],
    "reference-repair": [290, 300, 310, 300, 295, 305, 300, 4000, 305, 295, 300],  # an outlier
}
PASSED = {
    "reference": [2, 1, 2, 2, 0, 2, 1, 2, 2, 2, 1],
    "reference-plan": [2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 2],
    "reference-repair": [1, 1, 2, 0, 1, 1, 2, 1, 1, 2, 1],
}


def cli_app() -> typer.Typer:
    """The two commands mounted as `baes analyze` and `baes compare` will be."""
    app = typer.Typer()
    app.command("analyze")(analyze)
    app.command("compare")(compare)
    return app


def invoke(*args: object):
    return CliRunner().invoke(cli_app(), [str(a) for a in args], catch_exceptions=False)


def _records(config):
    """Every run of the main experiment, with the odd ones the analysis must handle."""
    records = []
    index = 0
    for framework in FRAMEWORKS:
        for i, (tokens_in, tokens_out, passed) in enumerate(
            zip(INPUT[framework], OUTPUT[framework], PASSED[framework], strict=True)
        ):
            index += 1
            records.append(
                run_record(
                    config,
                    framework,
                    index,
                    input_tokens=tokens_in,
                    output_tokens=tokens_out,
                    cached_tokens=tokens_in // 4,
                    calls=3 + i % 2,
                    llm_seconds=2.0 + i / 10,
                    wall_seconds=10.0 + i,
                    checks_passed=passed,
                    checks_total=2,
                    verification="verified" if framework == "reference" and i < 2 else "unverified",
                )
            )
    index += 1
    records.append(
        run_record(
            config, "reference", index, input_tokens=None, output_tokens=None, cached_tokens=None
        )
    )  # usage not reported
    index += 1
    records.append(run_record(config, "reference", index, status="interrupted"))
    index += 1
    records.append(
        run_record(
            config,
            "reference-plan",
            index,
            input_tokens=1290,
            output_tokens=310,
            cached_tokens=300,
            model="gpt-unpriced",
        )
    )
    index += 1
    records.append(
        run_record(
            config,
            "reference-repair",
            index,
            status="failed",
            error={"kind": "timeout", "message": "step greet timed out"},
        )
    )
    index += 1
    records.append(
        run_record(
            config,
            "reference-repair",
            index,
            input_tokens=1610,
            output_tokens=300,
            cached_tokens=400,
            checks_passed=0,
            checks_total=0,
        )
    )
    return records


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """The main experiment, analysed once with every metric and every figure."""
    root = tmp_path_factory.mktemp("analyze") / "experiments"
    paths, config = make_experiment(root, "exp", frameworks=FRAMEWORKS)
    records = _records(config)
    for record in records:
        write_run(paths, record)
    result = invoke("analyze", "exp", "--root", root)
    stats = json.loads((paths.analysis_dir / "stats.json").read_text("utf-8"))
    return {
        "root": root,
        "paths": paths,
        "config": config,
        "records": records,
        "result": result,
        "stats": stats,
    }


def _expected(records, metric):
    """The values of a metric per framework, computed here from the raw records."""
    values = {f: [] for f in FRAMEWORKS}
    for r in records:
        if r["status"] != "completed":
            continue
        t = r["totals"]
        if metric == "TOK_IN":
            value = t["input_tokens"]
        elif metric == "COST_USD":
            value = (
                None
                if r["model"] != "sim-small" or t["input_tokens"] is None
                else (
                    (t["input_tokens"] - t["cached_tokens"]) * 0.50
                    + t["cached_tokens"] * 0.05
                    + t["output_tokens"] * 2.00
                )
                / 1e6
            )
        elif metric == "CHECK_PASS_RATE":
            value = None if t["checks_total"] == 0 else t["checks_passed"] / t["checks_total"]
        else:
            raise AssertionError(metric)
        if value is not None:
            values[r["framework"]].append(float(value))
    return values


def test_analyze_prints_a_summary_and_writes_report_stats_figures(analysed):
    result = analysed["result"]
    assert result.exit_code == 0, result.output
    assert "summary" in result.stdout and "TOK_IN" in result.stdout
    assert "report.md" in result.stdout and "18 PNG" in result.stdout
    assert "usage of 34 of 36 completed runs is not verified" in result.stderr
    analysis = analysed["paths"].analysis_dir
    assert {p.name for p in analysis.iterdir()} == {
        "report.md",
        "report.html",
        "stats.json",
        "data.csv",
        "figures",
    }


def test_stats_json_has_the_contract_shape(analysed):
    stats = analysed["stats"]
    assert stats["schema_version"] == 2
    assert {"alpha", "p_adjust", "ci_method", "bootstrap_samples", "confidence"} <= set(
        stats["plan"]
    )
    assert stats["plan"]["bootstrap_samples"] == 200 and stats["plan"]["p_adjust"] == "holm"
    assert stats["groups"] == FRAMEWORKS
    assert list(stats["metrics"]) == [
        "TOK_IN",
        "TOK_OUT",
        "CACHED_TOKENS",
        "API_CALLS",
        "COST_USD",
        "T_WALL_seconds",
        "T_LLM_seconds",
        "CHECK_PASS_RATE",
    ]
    for block in stats["metrics"].values():
        assert set(block) == {
            "descriptives",
            "omnibus",
            "pairwise",
            "stopping",
            "primary_contrast",
            "family",
        }
        assert block["primary_contrast"] == {"a": "reference", "b": "reference-plan"}
        for entry in block["descriptives"].values():
            assert {
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
            } <= set(entry)
        assert {"test", "method", "statistic", "p", "skipped"} <= set(block["omnibus"])
        assert [(p["a"], p["b"]) for p in block["pairwise"]] == [
            ("reference", "reference-plan"),
            ("reference", "reference-repair"),
            ("reference-plan", "reference-repair"),
        ]
        for pair in block["pairwise"]:
            assert {
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
            } <= set(pair)
        for entry in block["stopping"].values():
            assert {"converged"} <= set(entry)
            assert len({"half_width_pct", "half_width_abs"} & set(entry)) == 1
    assert stats["deviations"] == []
    json.dumps(stats, allow_nan=False)  # never NaN or infinity


@pytest.mark.parametrize("metric", ["TOK_IN", "COST_USD", "CHECK_PASS_RATE"])
def test_stats_match_independent_computations(analysed, metric):
    stats, expected = analysed["stats"], _expected(analysed["records"], metric)
    block = stats["metrics"][metric]
    for framework, values in expected.items():
        d = block["descriptives"][framework]
        sample = np.array(values)
        assert d["n"] == sample.size
        assert d["mean"] == pytest.approx(sample.mean(), rel=1e-12)
        assert d["median"] == pytest.approx(np.median(sample))
        assert d["std"] == pytest.approx(sample.std(ddof=1), rel=1e-12)
        assert (d["q1"], d["q3"]) == pytest.approx(tuple(np.percentile(sample, [25, 75])))
        assert (d["min"], d["max"]) == (sample.min(), sample.max())
        if metric == "CHECK_PASS_RATE":  # a fraction: Wilson's score interval, never a point
            low, high = _wilson(sample.mean(), sample.size)
            assert d["ci_method"] in {"wilson", "wilson-bound"}
        else:  # 11–12 runs: the studentized bootstrap, redone here by hand with the same draws
            low, high = _bootstrap_t(sample, 200, seed=0)
            t_low, t_high = sps.t.interval(
                0.95, sample.size - 1, loc=sample.mean(), scale=sps.sem(sample)
            )
            # Erratic bootstrap-t (below the count's bound 0 where t is not, or > 3× the t
            # interval's width): Student's t, clipped at 0. Otherwise bootstrap-t, clipped at 0.
            below_alone = low < 0 <= t_low
            if not np.isfinite(low) or below_alone or high - low > 3 * (t_high - t_low):
                assert d["ci_method"] == "t"
                low, high = max(0.0, t_low), t_high
            else:
                assert d["ci_method"] == "bootstrap-t"
                low = max(0.0, low)
        assert (d["ci_low"], d["ci_high"]) == pytest.approx((low, high), rel=1e-9)
    groups = [np.array(expected[f]) for f in FRAMEWORKS]
    h, p = sps.kruskal(*groups)
    assert block["omnibus"]["test"] == "kruskal"
    assert (block["omnibus"]["statistic"], block["omnibus"]["p"]) == pytest.approx((h, p))
    dunn = scikit_posthocs.posthoc_dunn(groups, p_adjust="holm").to_numpy()
    raw = scikit_posthocs.posthoc_dunn(groups).to_numpy()
    for pair in block["pairwise"]:
        i, j = FRAMEWORKS.index(pair["a"]), FRAMEWORKS.index(pair["b"])
        assert pair["test"] == "dunn"
        assert pair["p"] == pytest.approx(raw[i, j], rel=1e-9)
        assert pair["p_adj"] == pytest.approx(dunn[i, j], rel=1e-9)
        a, b = groups[i], groups[j]
        brute = np.sign(a[:, None] - b[None, :]).sum() / (a.size * b.size)
        assert pair["cliffs_delta"] == pytest.approx(brute, abs=1e-15)


def _wilson(p_hat, n, z=1.959963984540054):
    centre = (p_hat + z * z / (2 * n)) / (1 + z * z / n)
    spread = z / (1 + z * z / n) * np.sqrt(p_hat * (1 - p_hat) / n + z * z / (4 * n * n))
    return max(0.0, centre - spread), min(1.0, centre + spread)


def _bootstrap_t(sample, resamples, seed):
    n, mean = sample.size, sample.mean()
    se = sample.std(ddof=1) / np.sqrt(n)
    draws = sample[np.random.default_rng(seed).integers(0, n, size=(resamples, n))]
    spread = draws.std(axis=1, ddof=1) / np.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(
            spread > 0,
            (draws.mean(axis=1) - mean) / spread,
            np.sign(draws.mean(axis=1) - mean) * np.inf,
        )
    ordered = np.sort(t)
    low_t, high_t = (
        ordered[int(np.ceil(0.025 * resamples)) - 1],
        ordered[int(np.ceil(0.975 * resamples)) - 1],
    )
    return mean - high_t * se, mean - low_t * se


def test_values_that_cannot_be_measured_are_left_out_and_counted(analysed):
    stats = analysed["stats"]
    assert stats["metrics"]["TOK_IN"]["descriptives"]["reference"]["n"] == 11
    tok = stats["exclusions"]["TOK_IN"]["reference"]
    assert sum(tok.values()) == 1 and "not reported" in next(iter(tok))
    cost = stats["exclusions"]["COST_USD"]
    assert sum(cost["reference-plan"].values()) == 1
    assert "'gpt-unpriced'" in next(iter(cost["reference-plan"]))
    rate = stats["exclusions"]["CHECK_PASS_RATE"]["reference-repair"]
    assert next(iter(rate)) == "no check ran in this run (checks_total is 0)"
    assert stats["n_runs"] == {"reference": 12, "reference-plan": 12, "reference-repair": 12}


def test_success_rates_and_verification_coverage(analysed):
    stats = analysed["stats"]
    rates = stats["success_rates"]
    assert rates["reference"]["attempted"] == 13 and rates["reference"]["interrupted"] == 1
    assert rates["reference-repair"]["failure_reasons"]["timeout"]["count"] == 1
    assert rates["reference-plan"]["success_rate"] == 1.0
    coverage = stats["verification_coverage"]
    assert coverage["overall"]["states"]["verified"] == 2
    assert coverage["overall"]["completed_runs"] == 36


def test_outliers_and_stopping_are_reported(analysed):
    block = analysed["stats"]["metrics"]["TOK_OUT"]
    assert block["descriptives"]["reference-repair"]["outliers"] == [4000.0]
    assert block["stopping"]["reference"]["converged"] is True


def test_report_reads_for_someone_who_did_not_run_it(analysed):
    report = (analysed["paths"].analysis_dir / "report.md").read_text("utf-8")
    for heading in (
        "# Analysis of experiment `exp`",
        "## Design",
        "## Summary",
        "## Input tokens (TOK_IN)",
        "## Stopping rule",
        "## Run success",
        "## Checks per step",
        "## Sample-size planning",
        "## Methods",
        "## Limitations",
    ):
        assert heading in report
    config_hash = (analysed["paths"].config_hash).read_text().strip()
    assert config_hash in report and "sim-small" in report and "hello, 2 step(s)" in report
    assert "Verification coverage: 2 of 36 completed runs" in report
    assert (
        "reference-plan used 30 % more input tokens than reference; "
        "δ(reference vs reference-plan) = −1.00 [95 % CI "
    ) in report
    assert "reference: 1 run(s) left out (1 × input tokens not reported" in report
    assert "reference-repair: 4,000" in report  # the TOK_OUT outlier
    assert "with 80 % power you need" in report
    assert "Kruskal–Wallis test (tie-corrected)" in report and "Holm adjustment" in report
    assert "(bootstrap intervals: 200 resamples, seed 0; BCa where bootstrap-t is erratic" in report
    assert "not verified against the provider's usage records" in report
    assert "fictional prices" in report
    assert "timeout × 1" in report
    for causal in ("because", "caused", "leads to"):
        assert causal not in report


def test_every_figure_is_a_valid_png_linked_from_the_report(analysed):
    figures = sorted((analysed["paths"].analysis_dir / "figures").glob("*.png"))
    names = {p.name for p in figures}
    assert len(figures) == 18
    assert {
        "box_TOK_IN.png",
        "forest_TOK_IN.png",
        "tokens_per_step.png",
        "cost_vs_check_pass_rate.png",
    } <= names
    report = (analysed["paths"].analysis_dir / "report.md").read_text("utf-8")
    for path in figures:
        image = Image.open(io.BytesIO(path.read_bytes()))
        assert all(round(d) >= 200 for d in image.info["dpi"])
        image.verify()
        assert image.format == "PNG"
        assert f"(figures/{path.name})" in report or f"`figures/{path.name}`" in report
        svg = path.with_suffix(".svg")  # the vector copy beside it, listed in the report
        assert svg.read_bytes().startswith(b"<?xml") and f"`figures/{svg.name}`" in report
    assert len(list(figures[0].parent.glob("*.svg"))) == 18


def test_the_tidy_data_csv_reanalyses_to_the_same_numbers(analysed, tmp_path):
    out = tmp_path / "again"
    result = invoke(
        "analyze",
        "--from-csv",
        analysed["paths"].analysis_dir / "data.csv",
        "--out",
        out,
        "--no-figures",
        "--metric",
        "TOK_IN",
    )
    assert result.exit_code == 0, result.output
    again = json.loads((out / "stats.json").read_text("utf-8"))
    original = analysed["stats"]["metrics"]["TOK_IN"]
    assert again["groups"] == FRAMEWORKS
    assert again["metrics"]["TOK_IN"]["omnibus"] == original["omnibus"]
    assert again["metrics"]["TOK_IN"]["pairwise"] == original["pairwise"]


def _two_framework_experiment(root: Path, name: str = "duo", verified: bool = False):
    paths, config = make_experiment(root, name, frameworks=["reference", "reference-plan"])
    rng = np.random.default_rng(1)
    for i in range(16):
        framework = "reference" if i % 2 == 0 else "reference-plan"
        base = 1000 if framework == "reference" else 1150
        write_run(
            paths,
            run_record(
                config,
                framework,
                i,
                input_tokens=int(rng.normal(base, 60)),
                verification="verified" if verified else "unverified",
            ),
        )
    return paths, config


def test_two_groups_use_mann_whitney_and_metric_selection(root):
    paths, _ = _two_framework_experiment(root)
    result = invoke(
        "analyze", "duo", "--metric", "tok_in", "-m", "COST_USD", "--json", "--no-figures"
    )
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert list(stats["metrics"]) == ["TOK_IN", "COST_USD"]
    block = stats["metrics"]["TOK_IN"]
    values = {f: [] for f in ("reference", "reference-plan")}
    for run_json in sorted(paths.runs_dir.glob("*/*/run.json")):
        record = json.loads(run_json.read_text())
        values[record["framework"]].append(record["totals"]["input_tokens"])
    u, p = sps.mannwhitneyu(values["reference"], values["reference-plan"], alternative="two-sided")
    assert block["omnibus"]["test"] == "mannwhitney"
    assert (block["omnibus"]["statistic"], block["omnibus"]["p"]) == pytest.approx((u, p))
    (pair,) = block["pairwise"]
    assert pair["test"] == "mannwhitney" and pair["p"] == pair["p_adj"] == pytest.approx(p)
    assert stats["figures"] == []
    assert stats["selection"]["partial"] == "metric-TOK_IN+COST_USD"
    # A partial analysis with --json is printed only: nothing is written.
    assert not paths.analysis_dir.exists() or not any(paths.analysis_dir.iterdir())
    assert "partial analysis (metric-TOK_IN+COST_USD): printed only" in " ".join(
        result.stderr.split()
    )
    written = invoke("analyze", "duo", "-m", "COST_USD", "-m", "TOK_IN", "--no-figures")
    assert written.exit_code == 0, written.output
    partial = paths.analysis_dir / "partial-metric-TOK_IN+COST_USD"
    assert not list(partial.glob("figures/*.png"))
    assert "No figures were drawn" in (partial / "report.md").read_text()


def test_an_unknown_metric_lists_the_valid_ones(root):
    _two_framework_experiment(root)
    result = invoke("analyze", "duo", "--metric", "TOKENS")
    assert result.exit_code == 2
    assert "unknown metric(s) TOKENS" in result.stderr
    assert "TOK_IN" in result.stderr and "CHECK_PASS_RATE" in result.stderr


def test_overriding_the_plan_is_a_stated_deviation(root):
    paths, _ = _two_framework_experiment(root)
    result = invoke(
        "analyze",
        "duo",
        "--p-adjust",
        "bonferroni",
        "--ci-method",
        "percentile",
        "--no-figures",
        "-m",
        "TOK_IN",
    )
    assert result.exit_code == 0, result.output
    # A deviation from the plan is not the pre-registered analysis: it goes beside it.
    out = paths.analysis_dir / "partial-metric-TOK_IN__p-adjust-bonferroni__ci-method-percentile"
    stats = json.loads((out / "stats.json").read_text())
    assert stats["plan"]["p_adjust"] == "bonferroni" and stats["plan"]["ci_method"] == "percentile"
    assert stats["deviations"] == [
        {"field": "p_adjust", "planned": "holm", "used": "bonferroni"},
        {"field": "ci_method", "planned": "bootstrap-t", "used": "percentile"},
    ]
    report = (out / "report.md").read_text()
    assert (
        "Deviations from the pre-registered plan: p_adjust bonferroni instead of the "
        "planned holm; ci_method percentile instead of the planned bootstrap-t" in report
    )
    assert "deviates from the pre-registered plan" in report
    assert "deviation from the pre-registered plan: p_adjust" in result.stderr
    bad = invoke("analyze", "duo", "--p-adjust", "fdr")
    assert bad.exit_code == 2 and "holm, sidak, bonferroni, none" in bad.stderr


def test_verified_only_with_no_verified_run_fails_clearly(root):
    _two_framework_experiment(root)
    result = invoke("analyze", "duo", "--verified-only")
    assert result.exit_code == 1
    assert (
        "none of the 16 completed runs of 'duo' has verified usage (16 unverified)" in result.stderr
    )
    assert "baes reconcile duo" in result.stderr


def test_verified_only_keeps_the_verified_runs(analysed, tmp_path):
    result = invoke(
        "analyze",
        "exp",
        "--root",
        analysed["root"],
        "--verified-only",
        "--no-figures",
        "--out",
        tmp_path / "verified",
        "-m",
        "TOK_IN",
    )
    assert result.exit_code == 0, result.output
    assert "2 of 36 completed runs have verified usage" in result.stderr
    stats = json.loads((tmp_path / "verified" / "stats.json").read_text())
    assert stats["groups"] == ["reference"]
    assert stats["selection"]["verified_only"] is True
    assert stats["metrics"]["TOK_IN"]["descriptives"]["reference"]["n"] == 2
    assert stats["excluded_groups"]["reference-plan"] == "no completed run with verified usage"


def test_a_changed_config_is_refused(root):
    paths, _ = _two_framework_experiment(root)
    text = paths.config.read_text("utf-8")
    assert "seed: 0" in text
    paths.config.write_text(text.replace("seed: 0", "seed: 1"), "utf-8")
    result = invoke("analyze", "duo")
    assert result.exit_code == 2
    assert "was changed after the experiment was created" in result.stderr
    assert not (paths.analysis_dir / "stats.json").exists()


def test_an_experiment_without_completed_runs_has_nothing_to_analyse(root):
    paths, config = make_experiment(root, "empty")
    write_run(
        paths,
        run_record(
            config,
            "reference",
            1,
            status="failed",
            error={"kind": "framework", "message": "exit 1"},
        ),
    )
    result = invoke("analyze", "empty")
    assert result.exit_code == 1
    assert "no completed run to analyse" in result.stderr


def test_name_and_csv_are_exclusive(root, tmp_path):
    assert invoke("analyze").exit_code == 2
    both = invoke("analyze", "x", "--from-csv", tmp_path / "a.csv")
    assert both.exit_code == 2 and "not both" in both.stderr


def test_from_csv_writes_next_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(4)
    lines = ["run,group,metric,value"]
    for i in range(30):
        group = ("tool-b", "tool-a", "tool-c")[i % 3]
        lines.append(f"r{i},{group},accuracy,{rng.normal(0.7 + 0.05 * (i % 3), 0.03):.4f}")
        lines.append(f"r{i},{group},TOK_IN,{int(rng.normal(5000, 300))}")
    (tmp_path / "other-tool.csv").write_text("\n".join(lines) + "\n", "utf-8")
    result = invoke("analyze", "--from-csv", "other-tool.csv", "--metric", "accuracy")
    assert result.exit_code == 0, result.output
    # One of the file's two metrics: a partial analysis, beside the full one.
    out = tmp_path / "analysis-other-tool" / "partial-metric-accuracy"
    stats = json.loads((out / "stats.json").read_text())
    assert stats["groups"] == ["tool-b", "tool-a", "tool-c"]
    assert list(stats["metrics"]) == ["accuracy"]
    assert stats["source"] == {"kind": "csv", "file": "other-tool.csv", "rows": 60}
    assert stats["metric_info"]["accuracy"]["unit"] is None
    report = (out / "report.md").read_text()
    assert "# Analysis of `other-tool.csv`" in report and "default plan" in report
    assert sorted(p.name for p in (out / "figures").glob("*.png")) == [
        "box_accuracy.png",
        "forest_accuracy.png",
    ]
    missing = invoke(
        "analyze", "--from-csv", "other-tool.csv", "--metric", "latency", "--no-figures"
    )
    assert missing.exit_code == 2 and "accuracy, TOK_IN" in missing.stderr


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("group,value\na,1\n", 1),
        ("group,metric,value\na,m,1\nb,m,x\n", 3),
        ("group,metric,value\na,m,1\n,m,2\n", 3),
    ],
)
def test_a_bad_csv_exits_2_with_the_line_number(tmp_path, text, line):
    path = tmp_path / "bad.csv"
    path.write_text(text, "utf-8")
    result = invoke("analyze", "--from-csv", path, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert f"line {line}:" in result.stderr
    assert not (tmp_path / "out").exists()


def test_sidak_and_none_adjust_as_documented(root):
    paths, _ = _make_three(root)
    for method in ("sidak", "none"):
        assert (
            invoke("analyze", "tri", "--p-adjust", method, "-m", "TOK_IN", "--no-figures").exit_code
            == 0
        )
        out = paths.analysis_dir / f"partial-metric-TOK_IN__p-adjust-{method}"
        pairs = json.loads((out / "stats.json").read_text())["metrics"]["TOK_IN"]["pairwise"]
        for pair in pairs:
            expected = pair["p"] if method == "none" else -math.expm1(3 * math.log1p(-pair["p"]))
            assert pair["p_adj"] == pytest.approx(min(1.0, expected))


def _make_three(root: Path):
    paths, config = make_experiment(root, "tri")
    for i in range(15):
        framework = FRAMEWORKS[i % 3]
        write_run(paths, run_record(config, framework, i, input_tokens=1000 + 40 * (i % 3) + i))
    return paths, config


def test_a_group_without_any_value_of_a_metric_is_described_not_tested(root):
    paths, config = make_experiment(root, "unpriced", frameworks=["reference", "reference-plan"])
    for i in range(6):
        framework = ("reference", "reference-plan")[i % 2]
        model = "gpt-unpriced" if framework == "reference-plan" else None
        write_run(paths, run_record(config, framework, i, input_tokens=1000 + i, model=model))
    result = invoke("analyze", "unpriced", "--no-figures", "-m", "COST_USD", "-m", "TOK_IN")
    assert result.exit_code == 0, result.output
    stats = json.loads(
        (paths.analysis_dir / "partial-metric-TOK_IN+COST_USD/stats.json").read_text()
    )
    cost = stats["metrics"]["COST_USD"]
    assert cost["descriptives"]["reference-plan"]["n"] == 0
    assert "left out of its tests" in cost["descriptives"]["reference-plan"]["reason"]
    assert cost["omnibus"]["skipped"] == "needs at least 2 groups, got 1"
    assert stats["metrics"]["TOK_IN"]["omnibus"]["test"] == "mannwhitney"
    assert "COST_USD: 3 run(s) of reference-plan have no value" in result.stderr


def test_the_library_reports_progress_and_returns_values(root):
    from baes.analysis.analyze import analyze_experiment

    _two_framework_experiment(root)
    messages: list[str] = []
    outcome = analyze_experiment(
        root, "duo", metrics=["TOK_IN"], figures=False, progress=messages.append
    )
    assert messages[0] == "reading the run records"
    assert "statistics for TOK_IN (1/1)" in messages
    assert outcome.stats_path.is_file() and outcome.stats["groups"] == [
        "reference",
        "reference-plan",
    ]


def _hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file of a full analysis (its partial-* subfolders left out)."""
    import hashlib

    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.relative_to(folder).parts[0].startswith("partial-")
    }


def test_a_partial_analysis_never_overwrites_the_full_one(root):
    paths, _ = _two_framework_experiment(root, verified=True)
    full = invoke("analyze", "duo")
    assert full.exit_code == 0, full.output
    folder = paths.analysis_dir
    before = _hashes(folder)
    assert {"report.md", "stats.json", "data.csv"} <= set(before)
    assert sum(name.startswith("figures/") for name in before) > 10
    assert json.loads((folder / "stats.json").read_text())["selection"]["partial"] is None

    for args, slug in (
        (["--metric", "COST_USD"], "metric-COST_USD"),
        (["--verified-only", "--no-figures"], "verified-only"),
        (["--p-adjust", "bonferroni", "--no-figures"], "p-adjust-bonferroni"),
        (["-m", "tok_in", "-m", "COST_USD", "--verified-only", "--no-figures"], None),
    ):
        result = invoke("analyze", "duo", *args)
        assert result.exit_code == 0, result.output
        slug = slug or "metric-TOK_IN+COST_USD__verified-only"
        partial = folder / f"partial-{slug}"
        assert f"partial analysis ({slug}), written beside the full analysis" in " ".join(
            result.stdout.split()
        )
        assert str(partial / "report.md") in result.stdout
        stats = json.loads((partial / "stats.json").read_text())
        assert stats["selection"]["partial"] == slug
    assert sorted(
        p.name for p in (folder / "partial-metric-COST_USD" / "figures").glob("*.png")
    ) == [
        "box_COST_USD.png",
        "forest_COST_USD.png",
        "tokens_per_step.png",
    ]
    assert "COST_USD" in (folder / "partial-metric-COST_USD" / "report.md").read_text()
    # --json prints a partial analysis and writes nothing; a plan override equal to the plan
    # is no deviation, so that analysis is the full one (written with --out elsewhere here).
    printed = invoke("analyze", "duo", "--json", "-m", "API_CALLS")
    assert printed.exit_code == 0 and list(json.loads(printed.stdout)["metrics"]) == ["API_CALLS"]
    assert not (folder / "partial-metric-API_CALLS").exists()
    assert _hashes(folder) == before
    same = invoke(
        "analyze", "duo", "--p-adjust", "holm", "--json", "--no-figures", "--out", root / "x"
    )
    assert same.exit_code == 0 and json.loads(same.stdout)["selection"]["partial"] is None
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith("partial-")) == [
        "partial-metric-COST_USD",
        "partial-metric-TOK_IN+COST_USD__verified-only",
        "partial-p-adjust-bonferroni",
        "partial-verified-only",
    ]


def test_a_partial_csv_analysis_gets_a_safe_folder_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = ["group,metric,value"]
    for i in range(12):
        lines.append(f"g{i % 2},latency/ms p95,{100 + i}")
        lines.append(f"g{i % 2},tokens,{1000 + 7 * i}")
    (tmp_path / "tool.csv").write_text("\n".join(lines) + "\n", "utf-8")
    result = invoke("analyze", "--from-csv", "tool.csv", "-m", "latency/ms p95", "--no-figures")
    assert result.exit_code == 0, result.output
    (partial,) = (tmp_path / "analysis-tool").iterdir()
    # "/" and " " are not kept in a folder name; a hash of the exact selection keeps two
    # selections that clean up alike apart.
    assert partial.name.startswith("partial-metric-latency-ms-p95-") and len(partial.name) == 38
    stats = json.loads((partial / "stats.json").read_text())
    assert list(stats["metrics"]) == ["latency/ms p95"]
    assert stats["selection"]["partial"] == partial.name.removeprefix("partial-")


def test_report_counts_checks_per_step_of_the_analysed_runs(analysed):
    counts = {}  # (framework, step) -> [passed, failed], from the raw completed records
    for record in analysed["records"]:
        if record["status"] != "completed":
            continue
        for step in record["steps"]:
            if step["check"] is not None:
                cell = counts.setdefault((record["framework"], step["id"]), [0, 0])
                cell[0 if step["check"]["passed"] else 1] += 1
    report = (analysed["paths"].analysis_dir / "report.md").read_text("utf-8")
    section = report.split("## Checks per step")[1].split("\n## ")[0]
    assert "(passed / failed)" in section
    for step in [s.id for s in analysed["config"].scenario.steps]:
        cells = [
            "—" if (f, step) not in counts else " / ".join(map(str, counts[(f, step)]))
            for f in FRAMEWORKS
        ]
        assert f"| {step} | " + " | ".join(cells) + " |" in section
    stats_counts = analysed["stats"]["step_checks"]
    assert {
        (f, step): [c["passed"], c["failed"]]
        for f, steps in stats_counts.items()
        for step, c in steps.items()
    } == counts


@pytest.mark.parametrize("width", [80, 160])
def test_the_summary_fits_the_terminal_without_cutting_names_or_numbers(analysed, width):
    from rich.console import Console

    from baes.cli.analyze import summary_table

    stats = analysed["stats"]
    console = Console(width=width, record=True, color_system=None)
    console.print(summary_table(stats, width=width))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= width
    assert "…" not in text
    words = set(text.replace("│", " ").replace("┃", " ").split())
    for key in stats["metrics"]:
        assert key in words  # every metric key whole
        assert set(stats["metrics"][key]["descriptives"]) <= words  # every group name whole
    # The best column gives way only when the terminal is too narrow for it.
    assert ("best" in words) == (width == 160)
