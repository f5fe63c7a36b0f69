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


@pytest.mark.slow
@pytest.mark.parametrize("guide", GUIDES)
def test_guide_slow_commands_run(guide: str, tmp_path: Path):
    blocks = [b for b in shell_blocks((DOCS / guide).read_text()) if b.slow_reason]
    if not blocks:
        pytest.skip(f"docs/{guide} has no slow block")
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
