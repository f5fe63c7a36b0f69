"""`baes compare` through the real command: the design diff first, then per-metric tables and
plain sentences for the significant pairs, JSON, --framework, the output folder, refusals; the
planned contrasts (the same framework across experiments, or every pair) checked against scipy
and scikit-posthocs; partial comparisons beside the full one; output that fits 100 columns."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import scikit_posthocs
from scipy import stats as sps

from baes.analysis.analyze import STATS_SCHEMA_VERSION
from baes.experiment.registry import registry_for
from tests.analysis.run_records import make_experiment, run_record, write_run
from tests.cli.test_analyze_cli import invoke
from tests.conftest import run_baes

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


def _flat(text: str) -> str:
    """Terminal output with its line wrapping undone, for sentences that may wrap."""
    return " ".join(text.split())


def test_compare_shows_the_design_diff_then_tables_and_sentences(root):
    a, _ = _experiment(root, "exp-a")
    b, _ = _experiment(root, "exp-b", model="sim-large", factor=0.62, seed=7)
    result = invoke("compare", "exp-a", "exp-b", "--no-figures", "--metric", "TOK_IN")
    assert result.exit_code == 0, result.output
    out = _flat(result.stdout)
    assert out.index("what differs between the designs") < out.index("Input tokens (TOK_IN)")
    assert "model exp-a: sim-small exp-b: sim-large" in out
    assert "seed exp-a: 0 exp-b: 7" in out
    assert "pricing.sim-large.input" in out
    mean_a, mean_b = np.mean(_values(a, "reference")), np.mean(_values(b, "reference"))
    percent = round((mean_a - mean_b) / mean_a * 100)
    assert (
        f"exp-b/reference used {percent} % fewer input tokens than exp-a/reference; "
        "δ(exp-a/reference vs exp-b/reference) = 1.00 [95 % CI "
    ) in out
    # Same-framework contrasts: one Mann–Whitney test per framework, no Kruskal–Wallis across
    # the four groups.
    assert "contrasts: each framework against itself across the experiments" in out
    assert "Kruskal–Wallis" not in out and out.count("Mann–Whitney U") == 2
    # One metric is a partial comparison: written beside the (not yet made) full one.
    compare_dir = root / "_compare" / "exp-a__exp-b" / "partial-metric-TOK_IN"
    assert "partial comparison (metric-TOK_IN), written beside the full comparison" in out
    assert {p.name for p in compare_dir.iterdir()} == {
        "report.md",
        "report.html",
        "stats.json",
        "data.csv",
    }
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
    # A partial comparison with --json is printed only.
    assert not (root / "_compare").exists()
    assert "partial comparison (metric-TOK_IN+COST_USD): printed only" in _flat(result.stderr)
    assert stats["schema_version"] == STATS_SCHEMA_VERSION
    assert stats["selection"]["partial"] == "metric-TOK_IN+COST_USD"
    assert stats["contrasts"] == "same-framework"
    assert stats["families"] == [
        {
            "name": framework,
            "groups": [f"exp-a/{framework}", f"exp-b/{framework}"],
            "pairs": [[f"exp-a/{framework}", f"exp-b/{framework}"]],
        }
        for framework in FRAMEWORKS
    ]
    assert stats["not_compared"] == []
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
    assert stats["selection"]["partial"] == "framework-reference__metric-TOK_IN"
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
    # --out is where a partial comparison goes when it is given.
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
    bad = invoke("compare", "exp-a", "exp-b", "--contrasts", "confounded")
    assert bad.exit_code == 2
    assert "unknown --contrasts 'confounded'; choose one of same-framework, all" in bad.stderr


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


# --- planned contrasts -------------------------------------------------------------------------

GRID_FRAMEWORKS = ["reference", "reference-plan", "reference-repair"]


def _grid(root, names, *, runs=7, frameworks=GRID_FRAMEWORKS, extra=None):
    """Experiments with distinct input-token values (no ties): `reference` grows from one
    experiment to the next, the other frameworks stay put. `extra` maps an experiment to one
    more framework that only it runs. Returns {group: values}."""
    rng = np.random.default_rng(11)
    values = {}
    pool = rng.permutation(np.arange(1000, 1000 + len(names) * 4 * runs))  # < 400 apart
    used = 0
    for position, name in enumerate(names):
        own = [*frameworks, *([extra[name]] if extra and name in extra else [])]
        paths, config = make_experiment(root, name, frameworks=own)
        index = 0
        for framework in own:
            shift = 400 * position if framework == "reference" else 0
            group = []
            for _ in range(runs):
                index += 1
                tokens = int(pool[used]) + shift
                used += 1
                group.append(tokens)
                write_run(paths, run_record(config, framework, index, input_tokens=tokens))
            values[f"{name}/{framework}"] = group
    return values


def test_two_experiments_contrast_each_framework_with_itself(root):
    values = _grid(root, ["exp-a", "exp-b"], extra={"exp-b": "reference-extra"})
    result = invoke("compare", "exp-a", "exp-b", "--json", "--no-figures", "-m", "TOK_IN")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["contrasts"] == "same-framework"
    assert [f["name"] for f in stats["families"]] == GRID_FRAMEWORKS
    block = stats["metrics"]["TOK_IN"]
    # 3 planned pairs instead of the 21 pairs of 7 groups; each alone in its family, so its
    # Mann–Whitney p is not adjusted.
    assert [(p["a"], p["b"], p["family"]) for p in block["pairwise"]] == [
        (f"exp-a/{f}", f"exp-b/{f}", f) for f in GRID_FRAMEWORKS
    ]
    for pair in block["pairwise"]:
        exact = sps.mannwhitneyu(values[pair["a"]], values[pair["b"]], method="exact")
        assert pair["test"] == "mannwhitney"
        assert pair["p"] == pytest.approx(exact.pvalue, rel=1e-9)
        assert pair["p_adj"] == pair["p"]
    for family in block["families"]:
        assert family["omnibus"]["test"] == "mannwhitney"
    assert block["omnibus"]["p"] is None and "planned contrasts" in block["omnibus"]["skipped"]
    assert block["primary_contrast"] == {"a": "exp-a/reference", "b": "exp-b/reference"}
    # The framework only exp-b ran is described and named as not compared, with the reason.
    assert stats["not_compared"] == [
        {
            "group": "exp-b/reference-extra",
            "framework": "reference-extra",
            "reason": "only exp-b has reference-extra in its design",
        }
    ]
    assert block["descriptives"]["exp-b/reference-extra"]["n"] == 7
    assert list(block["descriptives"]) == stats["groups"]
    assert (
        "exp-b/reference-extra is not compared: only exp-b has reference-extra in its design"
        in _flat(result.stderr)
    )


def test_three_experiments_use_kruskal_and_dunn_within_each_framework(root):
    names = ["exp-a", "exp-b", "exp-c"]
    values = _grid(root, names)
    result = invoke("compare", *names, "--json", "--no-figures", "-m", "TOK_IN")
    assert result.exit_code == 0, result.output
    block = json.loads(result.stdout)["metrics"]["TOK_IN"]
    assert len(block["pairwise"]) == 9  # 3 per framework, not the 36 pairs of 9 groups
    for family in block["families"]:
        groups = family["groups"]
        assert groups == [f"{n}/{family['name']}" for n in names]
        h, p = sps.kruskal(*(values[g] for g in groups))
        assert family["omnibus"]["test"] == "kruskal"
        assert family["omnibus"]["statistic"] == pytest.approx(h)
        assert family["omnibus"]["p"] == pytest.approx(p)
        # Dunn's test and Holm over the family's 3 pairs only.
        dunn = scikit_posthocs.posthoc_dunn([values[g] for g in groups], p_adjust="holm").to_numpy()
        pairs = [p for p in block["pairwise"] if p["family"] == family["name"]]
        assert [(p["a"], p["b"]) for p in pairs] == [
            (groups[0], groups[1]),
            (groups[0], groups[2]),
            (groups[1], groups[2]),
        ]
        for pair in pairs:
            i, j = groups.index(pair["a"]), groups.index(pair["b"])
            assert pair["test"] == "dunn"
            assert pair["p_adj"] == pytest.approx(dunn[i, j])
    # `reference` grows from experiment to experiment: its family differs, the others do not.
    reference = next(f for f in block["families"] if f["name"] == "reference")
    assert reference["omnibus"]["p"] < 0.001


def test_contrasts_all_tests_every_pair_as_one_family(root):
    names = ["exp-a", "exp-b"]
    values = _grid(root, names)
    result = invoke("compare", *names, "--contrasts", "all", "--no-figures", "-m", "TOK_IN")
    assert result.exit_code == 0, result.output
    out = root / "_compare" / "exp-a__exp-b" / "partial-metric-TOK_IN__contrasts-all"
    stats = json.loads((out / "stats.json").read_text())
    assert stats["contrasts"] == "all"
    groups = stats["groups"]
    assert len(groups) == 6 and stats["families"][0]["groups"] == groups
    block = stats["metrics"]["TOK_IN"]
    assert len(block["pairwise"]) == 15 and {p["family"] for p in block["pairwise"]} == {
        "all groups"
    }
    h, p = sps.kruskal(*(values[g] for g in groups))
    assert block["omnibus"]["test"] == "kruskal" and block["omnibus"]["p"] == pytest.approx(p)
    dunn = scikit_posthocs.posthoc_dunn([values[g] for g in groups], p_adjust="holm").to_numpy()
    for pair in block["pairwise"]:
        i, j = groups.index(pair["a"]), groups.index(pair["b"])
        assert pair["p_adj"] == pytest.approx(dunn[i, j])
    assert "contrasts: every pair of groups, one family (holm)" in _flat(result.stdout)


def test_the_terminal_output_fits_100_columns_with_groups_as_rows(tmp_path):
    names = ["a-rather-long-experiment-1", "a-rather-long-experiment-2"]
    _grid(tmp_path / "experiments", names)
    result = run_baes(
        "compare",
        *names,
        "--root",
        "experiments",
        "--no-figures",
        env={"COLUMNS": "100", "BAES_ROOT": ""},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    too_long = [line for line in lines if len(line) > 100]
    assert not too_long, "\n".join(too_long)
    # Groups are rows: a header with framework and experiment columns, one row per group.
    headers = [
        line.split() for line in lines if line.split()[:3] == ["framework", "experiment", "n"]
    ]
    assert len(headers) == 8 and "".join(headers[0][3:]) == "mean[95%CI]medianfamilytest"
    # The framework names its family's first row, once per metric.
    assert sum(line.split()[:1] == ["reference-repair"] for line in lines) == 8
    assert "Cost (COST_USD) [USD]" in result.stdout


# --- partial comparisons -----------------------------------------------------------------------


def _hashes(folder):
    """sha256 of every file of a full analysis (its partial-* subfolders left out)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.relative_to(folder).parts[0].startswith("partial-")
    }


def test_a_partial_comparison_never_overwrites_the_full_one(root, tmp_path):
    names = ["exp-a", "exp-b"]
    _grid(root, names, runs=5)
    full = invoke("compare", *names)
    assert full.exit_code == 0, full.output
    folder = root / "_compare" / "exp-a__exp-b"
    before = _hashes(folder)
    assert {"report.md", "stats.json", "data.csv"} <= set(before)
    assert sum(name.startswith("figures/") for name in before) > 10
    assert json.loads((folder / "stats.json").read_text())["selection"]["partial"] is None

    for args, slug in (
        (["-f", "reference", "--no-figures"], "framework-reference"),
        (["-m", "TOK_IN"], "metric-TOK_IN"),
        (["--contrasts", "all", "--no-figures"], "contrasts-all"),
    ):
        result = invoke("compare", *names, *args)
        assert result.exit_code == 0, result.output
        partial = folder / f"partial-{slug}"
        assert f"partial comparison ({slug}), written beside the full comparison" in _flat(
            result.stdout
        )
        assert str(partial / "report.md") in result.stdout
        assert json.loads((partial / "stats.json").read_text())["selection"]["partial"] == slug
    assert sorted(p.name for p in (folder / "partial-metric-TOK_IN" / "figures").glob("*.png")) == [
        "box_TOK_IN.png",
        "forest_TOK_IN.png",
        "tokens_per_step.png",
    ]
    printed = invoke("compare", *names, "--json", "-f", "reference-plan")
    assert printed.exit_code == 0 and json.loads(printed.stdout)["groups"] == [
        "exp-a/reference-plan",
        "exp-b/reference-plan",
    ]
    assert not (folder / "partial-framework-reference-plan").exists()
    assert _hashes(folder) == before
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith("partial-")) == [
        "partial-contrasts-all",
        "partial-framework-reference",
        "partial-metric-TOK_IN",
    ]
    # Naming every framework is the full comparison (here sent elsewhere with --out).
    every = ["-f", "reference", "-f", "reference-plan", "-f", "reference-repair"]
    again = invoke("compare", *names, *every, "--json", "--no-figures", "--out", tmp_path / "x")
    assert again.exit_code == 0 and json.loads(again.stdout)["selection"]["partial"] is None


def test_a_framework_without_runs_in_the_other_experiment_is_not_compared(root):
    for name in ("exp-a", "exp-b"):
        paths, config = make_experiment(root, name, frameworks=FRAMEWORKS)
        for i in range(4):
            write_run(paths, run_record(config, "reference", i, input_tokens=1000 + i))
            failed = name == "exp-b"
            write_run(
                paths,
                run_record(
                    config,
                    "reference-plan",
                    10 + i,
                    input_tokens=900 + i,
                    status="failed" if failed else "completed",
                    error={"kind": "framework", "message": "exit 1"} if failed else None,
                ),
            )
    result = invoke("compare", "exp-a", "exp-b", "--no-figures", "-m", "TOK_IN")
    assert result.exit_code == 0, result.output
    stats = json.loads(
        (root / "_compare/exp-a__exp-b/partial-metric-TOK_IN/stats.json").read_text()
    )
    assert [f["name"] for f in stats["families"]] == ["reference"]
    assert stats["not_compared"] == [
        {
            "group": "exp-a/reference-plan",
            "framework": "reference-plan",
            "reason": "only exp-a has analysable runs of reference-plan",
        }
    ]
    # With one family, its test is the metric's test.
    block = stats["metrics"]["TOK_IN"]
    assert block["omnibus"] == block["families"][0]["omnibus"]
    assert block["omnibus"]["test"] == "mannwhitney"
    assert "exp-a/reference-plan" in block["descriptives"]
    assert "not compared" in result.stdout
