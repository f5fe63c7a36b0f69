"""The guides in docs/ work as written: every shell block runs, on the simulator, in order.

Each ```sh block of a guide is run with bash (`-e -o pipefail`) in one fresh folder per guide
(the blocks of a guide share it, as a reader's shell would), with `BAES_ROOT` set to
`experiments/` inside it and this interpreter's `baes` first on PATH. Markers in HTML comments
right before a block:

- `<!-- no-test: reason -->`: not run (it needs a real key, a network or a cluster of machines;
  the reason says which);
- `<!-- exit: N -->`: the block is expected to exit N (an error shown on purpose);
- `<!-- slow: reason -->`: a self-contained block (it uses nothing an earlier block made) that is
  run only with `-m slow`, in a folder of its own, because what it shows is slow and another
  test of the default suite already covers it (the reason names that test).
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import baes
from baes.analysis.metrics import CATALOG, catalog_markdown
from baes.errors import BaesError

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
GUIDES = [
    "quickstart.md",
    "workflows.md",
    "comparison-guide.md",
    "best-practices.md",
    "troubleshooting.md",
    "metrics.md",
]
_BLOCK = re.compile(r"((?:<!--[^\n]*-->\n)*)```sh\n(.*?)\n```", re.S)


@dataclass(frozen=True)
class ShellBlock:
    line: int
    code: str
    skip_reason: str | None
    expected_exit: int
    slow_reason: str | None


def shell_blocks(text: str) -> list[ShellBlock]:
    blocks = []
    for match in _BLOCK.finditer(text):
        markers = match.group(1)
        skip = re.search(r"<!-- no-test: (.+?) -->", markers)
        exit_code = re.search(r"<!-- exit: (\d+) -->", markers)
        slow = re.search(r"<!-- slow: (.+?) -->", markers)
        blocks.append(
            ShellBlock(
                line=text.count("\n", 0, match.start(2)) + 1,
                code=match.group(2),
                skip_reason=skip.group(1) if skip else None,
                expected_exit=int(exit_code.group(1)) if exit_code else 0,
                slow_reason=slow.group(1) if slow else None,
            )
        )
    return blocks


def test_block_markers_are_read():
    text = (
        "a\n<!-- no-test: needs a key -->\n```sh\nx\n```\n<!-- exit: 2 -->\n```sh\ny\nz\n```\n"
        "<!-- slow: dask -->\n```sh\nw\n```\n```console\n$ v\n```\n"
    )
    first, second, third = shell_blocks(text)
    assert (first.code, first.skip_reason, first.expected_exit) == ("x", "needs a key", 0)
    assert (second.code, second.skip_reason, second.expected_exit) == ("y\nz", None, 2)
    assert second.line == 8  # the block's first command line
    assert (third.code, third.slow_reason, third.skip_reason) == ("w", "dask", None)


def _run_blocks(guide: str, blocks: list[ShellBlock], folder: Path) -> None:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "BAES_ROOT": str(folder / "experiments"),
        "COLUMNS": "100",
    }
    for block in blocks:
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block.code],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == block.expected_exit, (
            f"docs/{guide} line {block.line}: exit {result.returncode}, "
            f"expected {block.expected_exit}\n{block.code}\n--- stdout\n{result.stdout[-3000:]}"
            f"\n--- stderr\n{result.stderr[-3000:]}"
        )


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_commands_run(guide: str, tmp_path: Path):
    blocks = shell_blocks((DOCS / guide).read_text())
    assert blocks, f"docs/{guide} has no shell block"
    _run_blocks(guide, [b for b in blocks if not b.skip_reason and not b.slow_reason], tmp_path)


def _guides_with_slow_blocks() -> list[str]:
    return [g for g in GUIDES if any(b.slow_reason for b in shell_blocks((DOCS / g).read_text()))]


@pytest.mark.slow
@pytest.mark.parametrize("guide", _guides_with_slow_blocks())
def test_guide_slow_commands_run(guide: str, tmp_path: Path):
    blocks = [b for b in shell_blocks((DOCS / guide).read_text()) if b.slow_reason]
    _run_blocks(guide, [b for b in blocks if not b.skip_reason], tmp_path)


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_is_linked_from_the_readme(guide: str):
    assert f"(docs/{guide})" in (REPO / "README.md").read_text()


def test_workflows_has_at_least_nine_workflows():
    headings = re.findall(r"^## \d+\. ", (DOCS / "workflows.md").read_text(), flags=re.M)
    assert len(headings) >= 9


def _error_classes() -> list[type[BaesError]]:
    for module in pkgutil.walk_packages(baes.__path__, "baes."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: list[type[BaesError]] = []
    pending = [BaesError]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                pending.append(sub)
    return found


def test_troubleshooting_covers_every_error_class():
    text = (DOCS / "troubleshooting.md").read_text()
    classes = _error_classes()
    assert len(classes) > 10
    missing = sorted(c.__name__ for c in classes if f"`{c.__name__}`" not in text)
    assert not missing, f"docs/troubleshooting.md does not explain: {', '.join(missing)}"


def test_metrics_guide_matches_the_catalog():
    text = (DOCS / "metrics.md").read_text()
    assert catalog_markdown() in text, "regenerate the table in docs/metrics.md from the catalog"
    headings = re.findall(r"^## `([A-Za-z_]+)`", text, flags=re.M)
    assert headings == [spec.key for spec in CATALOG]


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_links_reach_their_files_and_headings(guide: str):
    text = (DOCS / guide).read_text()
    broken = []
    for target, anchor in re.findall(r"\]\(([\w.\-/]*\.md)?(?:#([\w\-]+))?\)", text):
        path = DOCS / target if target else DOCS / guide
        if not path.is_file():
            broken.append(target)
            continue
        headings = re.findall(r"^#+ (.+)$", path.read_text(), flags=re.M)
        if anchor and anchor not in {_anchor(h) for h in headings}:
            broken.append(f"{target}#{anchor}")
    assert not broken, f"docs/{guide} links to what does not exist: {broken}"


# Numbers comparison-guide.md quotes from `baes demo`, each as the demo's reports write it.
DEMO_QUOTES = {
    "demo-sim-small/analysis/report.md": [
        "593.8 [584.9, 602.7] (n=5)",
        "| reference-plan | 5 | 113.4 | [109.1, 116.0] | bootstrap-t |",
        "| reference | 5 | 0.800 | [0.376, 0.964] | wilson |",
        "| reference-plan | 5 | 0.900 | [0.463, 0.989] | wilson-bound |",
        "| reference-repair | 5 | 1.00 | [0.566, 1.00] | wilson |",
        "| reference | 5 | 2.00 | [2.00, 2.00] | constant |",
        "| reference | reference-plan | Dunn | asymptotic | -2.29 | 0.0221 | 0.0662 | no |",
        "| reference | reference-repair | Dunn | asymptotic | -1.25 | 0.213 | 0.213 | no | -0.68 "
        "| [-0.93, 0.07] | large |",
        "| reference | reference-plan | 3 | — | 5 / 5 |",
        "not practically detectable: simulated power at 500 per group is 30%",
        "0 of 15 completed runs (0 %)",
    ],
    "_compare/demo-sim-small__demo-sim-large/report.md": [
        "reference: 1 comparison, no adjustment needed: Mann–Whitney U = 0, exact p = 0.00794.",
        "reference-plan: 1 comparison, no adjustment needed: Mann–Whitney U = 0, exact p = 0.00794.",
        "reference-repair: 1 comparison, no adjustment needed: Mann–Whitney U = 15, exact p = 0.603.",
        "demo-sim-large/reference used 4.7 % more input tokens than demo-sim-small/reference",
        "demo-sim-large/reference-plan used 6.9 % more input tokens",
        "demo-sim-large/reference cost 972 % more than demo-sim-small/reference",
    ],
}


@pytest.mark.slow
def test_comparison_guide_quotes_the_demo_as_it_is(tmp_path: Path):
    """Every demo number the guide quotes is what `baes demo` writes (seeded: the same each run)."""
    result = subprocess.run(
        [sys.executable, "-m", "baes", "demo", "--root", str(tmp_path), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    guide = (DOCS / "comparison-guide.md").read_text()
    quoted_paragraphs = [
        " ".join(line[2:] for line in block.splitlines())
        for block in re.findall(r"((?:^> .*\n)+)", guide, flags=re.M)
    ]
    small = (tmp_path / "demo-sim-small/analysis/report.md").read_text()
    assert quoted_paragraphs and all(p in small for p in quoted_paragraphs)
    # A repair round sends the check's output, which names local paths, back: its token counts
    # vary by a few tokens between machines, so the guide's example is checked for its shape.
    repair = json.loads((tmp_path / "demo-sim-small/analysis/stats.json").read_text())["metrics"]
    repair = repair["TOK_IN"]["descriptives"]["reference-repair"]
    assert repair["ci_low"] < 0 < repair["mean"] < repair["ci_high"]
    assert repair["min"] == repair["q1"] == 597 and 1000 < repair["median"] <= repair["max"] < 1200
    for report, quotes in DEMO_QUOTES.items():
        text = (tmp_path / report).read_text()
        missing = [q for q in quotes if q not in text]
        assert not missing, f"{report} does not say: {missing}"
    contrasts_all = subprocess.run(
        [
            sys.executable,
            "-m",
            "baes",
            "compare",
            "demo-sim-small",
            "demo-sim-large",
            "--root",
            str(tmp_path),
            "--metric",
            "TOK_IN",
            "--contrasts",
            "all",
            "--no-figures",
            "--json",
            "--out",
            str(tmp_path / "all"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    pairs = json.loads(contrasts_all.stdout)["metrics"]["TOK_IN"]["pairwise"]
    (pair,) = [
        p
        for p in pairs
        if (p["a"], p["b"]) == ("demo-sim-small/reference", "demo-sim-large/reference")
    ]
    assert (round(pair["p"], 3), round(pair["p_adj"], 3)) == (0.110, 0.658)
    assert "Dunn p = 0.110" in guide and "to 0.658" in guide
