"""`baes compare` through the real command: the design diff first, then per-metric tables and
plain sentences for the significant pairs, JSON, --framework, the output folder, refusals."""

from __future__ import annotations

import json

import numpy as np
from scipy import stats as sps

from baes.experiment.registry import registry_for
from tests.analysis.run_records import make_experiment, run_record, write_run
from tests.cli.test_analyze_cli import invoke

FRAMEWORKS = ["reference", "reference-plan"]


def _experiment(root, name, *, model="sim-small", scenario="hello", factor=1.0, seed=0):
    """Ten runs per framework; `factor` scales the input tokens of `reference`."""
    paths, config = make_experiment(
        root, name, frameworks=FRAMEWORKS, model=model, scenario=scenario, seed=seed
    )
    rng = np.random.default_rng(len(name))
    index = 0
    for framework in FRAMEWORKS:
        for _ in range(10):
            index += 1
            base = 1000 * (factor if framework == "reference" else 1.0)
            write_run(
                paths,
                run_record(
                    config,
                    framework,
                    index,
                    input_tokens=int(rng.normal(base, 30)),
                    output_tokens=int(rng.normal(300, 20)),
                ),
            )
    return paths, config


def _values(paths, framework):
    return [
        json.loads(p.read_text())["totals"]["input_tokens"]
        for p in sorted(paths.runs_dir.glob(f"{framework}/*/run.json"))
    ]


def test_compare_shows_the_design_diff_then_tables_and_sentences(root):
    a, _ = _experiment(root, "exp-a")
    b, _ = _experiment(root, "exp-b", model="sim-large", factor=0.62, seed=7)
    result = invoke("compare", "exp-a", "exp-b", "--no-figures", "--metric", "TOK_IN")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("what differs between the designs") < out.index("Input tokens (TOK_IN)")
    assert "model  exp-a: sim-small  exp-b: sim-large" in out
    assert "seed  exp-a: 0  exp-b: 7" in out
    assert "pricing.sim-large.input" in out
    mean_a, mean_b = np.mean(_values(a, "reference")), np.mean(_values(b, "reference"))
    percent = round((mean_a - mean_b) / mean_a * 100)
    assert (
        f"exp-b/reference used {percent} % fewer input tokens than exp-a/reference; "
        "δ(exp-a/reference vs exp-b/reference) = 1.00 [95 % CI "
    ) in out
    assert "Kruskal–Wallis H =" in out
    compare_dir = root / "_compare" / "exp-a__exp-b"
    assert {p.name for p in compare_dir.iterdir()} == {"report.md", "stats.json", "data.csv"}
    report = (compare_dir / "report.md").read_text()
    assert "# Comparison of experiments `exp-a`, `exp-b`" in report
    assert "What differs between the designs" in report and "**model**" in report
    assert f"exp-b/reference used {percent} % fewer input tokens" in report
    # _compare is never mistaken for an experiment.
    assert [e.name for e in registry_for(root).view().entries] == ["exp-a", "exp-b"]


def test_compare_json_is_the_stats_shape_plus_design_diff(root):
    _experiment(root, "exp-a")
    _experiment(root, "exp-b", model="sim-large")
    result = invoke(
        "compare", "exp-a", "exp-b", "--json", "--no-figures", "-m", "TOK_IN", "-m", "COST_USD"
    )
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["schema_version"] == 2
    assert stats["groups"] == [
        "exp-a/reference",
        "exp-a/reference-plan",
        "exp-b/reference",
        "exp-b/reference-plan",
    ]
    assert list(stats["metrics"]) == ["TOK_IN", "COST_USD"]
    fields = [entry["field"] for entry in stats["design_diff"]]
    assert fields == ["model", "pricing"]
    model = stats["design_diff"][0]
    assert model["values"] == {"exp-a": "sim-small", "exp-b": "sim-large"}
    assert model["hashes"]["exp-a"] != model["hashes"]["exp-b"]
    # Each experiment's runs are priced with its own table.
    cost = stats["metrics"]["COST_USD"]["descriptives"]
    assert cost["exp-b/reference"]["mean"] > 5 * cost["exp-a/reference"]["mean"]


def test_one_framework_compares_with_mann_whitney(root):
    a, _ = _experiment(root, "exp-a")
    b, _ = _experiment(root, "exp-b", factor=1.2)
    result = invoke(
        "compare",
        "exp-a",
        "exp-b",
        "--framework",
        "reference",
        "--json",
        "--no-figures",
        "-m",
        "TOK_IN",
    )
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["groups"] == ["exp-a/reference", "exp-b/reference"]
    (pair,) = stats["metrics"]["TOK_IN"]["pairwise"]
    _, p = sps.mannwhitneyu(  # small groups: the exact p, every arrangement counted
        _values(a, "reference"),
        _values(b, "reference"),
        alternative="two-sided",
        method=sps.PermutationMethod(n_resamples=np.inf),
    )
    assert pair["test"] == "mannwhitney" and pair["p"] == pair["p_adj"]
    assert pair["method"] == "exact"
    assert abs(pair["p"] - p) < 1e-12
    unknown = invoke("compare", "exp-a", "exp-b", "--framework", "aider")
    assert unknown.exit_code == 2 and "aider" in unknown.stderr


def test_different_scenarios_are_warned_about_and_figures_drawn(root, tmp_path):
    _experiment(root, "exp-a")
    _experiment(root, "exp-c", scenario="academic-crud")
    out = tmp_path / "cmp"
    result = invoke("compare", "exp-a", "exp-c", "--out", out, "-m", "TOK_IN")
    assert result.exit_code == 0, result.output
    assert "the scenarios differ" in result.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert "scenario" in [entry["field"] for entry in stats["design_diff"]]
    assert "Warning: the scenarios differ" in (out / "report.md").read_text()
    assert sorted(p.name for p in (out / "figures").glob("*.png")) == [
        "box_TOK_IN.png",
        "forest_TOK_IN.png",
        "tokens_per_step.png",
    ]


def test_identical_designs_say_so(root):
    _experiment(root, "exp-a")
    _experiment(root, "exp-b")
    result = invoke("compare", "exp-a", "exp-b", "--no-figures", "-m", "TOK_IN")
    assert result.exit_code == 0, result.output
    assert "the designs are the same" in result.stdout


def test_compare_refuses_bad_input(root):
    paths, _ = _experiment(root, "exp-a")
    _experiment(root, "exp-b")
    assert invoke("compare", "exp-a").exit_code == 2
    assert invoke("compare", "exp-a", "exp-a").exit_code == 2
    missing = invoke("compare", "exp-a", "nope")
    assert missing.exit_code == 2 and "no experiment 'nope'" in missing.stderr
    paths.config.write_text(paths.config.read_text().replace("seed: 0", "seed: 3"))
    changed = invoke("compare", "exp-a", "exp-b")
    assert changed.exit_code == 2
    assert "config.yaml was changed after the experiment was created" in changed.stderr
