"""report.html: written beside report.md by `baes analyze` and `baes compare` (partial ones too),
self-contained (nothing loaded from elsewhere, every figure embedded) and escaped."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from baes.analysis.compare import compare_out_dir
from baes.analysis.report.html import render_report_html
from tests.analysis.run_records import make_experiment, run_record, write_run
from tests.cli.test_analyze_cli import invoke

SVG_URI = "data:image/svg+xml;base64,"


class Page(HTMLParser):
    """Every start tag with its attributes, and the text outside tags."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def assert_self_contained(page: Page) -> None:
    """Nothing the browser would fetch: no script, no stylesheet link, no frame, no remote image;
    links in the text (<a href>) load nothing and are allowed."""
    assert page.named("script") == [] and page.named("link") == []
    assert page.named("iframe") == [] and page.named("object") == []
    for tag, attrs in page.tags:
        if tag == "a":
            continue
        for key in ("src", "href", "srcset", "data", "poster"):
            value = attrs.get(key)
            assert value is None or value.startswith(SVG_URI), (tag, key, value)
    style = "".join(page.text)
    assert "@import" not in style and "url(" not in style


def embedded_svgs(page: Page) -> list[bytes]:
    return [base64.b64decode(attrs["src"][len(SVG_URI) :]) for attrs in page.named("img")]


def _experiment(root: Path, name: str, shift: int) -> None:
    paths, config = make_experiment(root, name, frameworks=["reference", "reference-plan"])
    rng = np.random.default_rng(shift)
    for i in range(12):
        framework = ("reference", "reference-plan")[i % 2]
        base = 1000 + shift + (150 if framework == "reference-plan" else 0)
        write_run(paths, run_record(config, framework, i, input_tokens=int(rng.normal(base, 50))))


def test_analyze_writes_a_self_contained_report_html_with_every_figure_inline(root):
    _experiment(root, "duo", 0)
    result = invoke("analyze", "duo", "--metric", "TOK_IN", "--metric", "COST_USD")
    assert result.exit_code == 0, result.output
    out = root / "duo" / "analysis" / "partial-metric-TOK_IN-COST_USD"
    if not out.is_dir():  # the slug's exact spelling is analyze's business: find the one folder
        (out,) = (root / "duo" / "analysis").glob("partial-*")
    text = (out / "report.html").read_text("utf-8")
    page = Page(text)
    assert_self_contained(page)
    assert "@media print" in text
    assert page.named("title") and page.named("table")
    figures = sorted((out / "figures").glob("*.svg"))
    assert len(figures) >= 4  # box and forest plots of both metrics, at least
    svgs = embedded_svgs(page)
    assert sorted(svgs) == sorted(f.read_bytes() for f in figures)
    # The text is report.md's: its first heading is the page's title and heading.
    report = (out / "report.md").read_text("utf-8")
    heading = report.splitlines()[0].removeprefix("# ").replace("`", "")
    assert page.named("h1") and heading in "".join(page.text)


def test_the_full_analysis_and_a_compare_get_their_own_report_html(root):
    _experiment(root, "one", 0)
    _experiment(root, "two", 40)
    assert invoke("analyze", "one", "--no-figures").exit_code == 0
    full = root / "one" / "analysis" / "report.html"
    assert_self_contained(Page(full.read_text("utf-8")))
    assert "Analysis of experiment one" in "".join(Page(full.read_text("utf-8")).text)

    result = invoke("compare", "one", "two", "--metric", "TOK_IN")
    assert result.exit_code == 0, result.output
    out = compare_out_dir(root, ["one", "two"])
    (folder,) = {p.parent for p in out.rglob("report.html")}
    page = Page((folder / "report.html").read_text("utf-8"))
    assert_self_contained(page)
    assert sorted(embedded_svgs(page)) == sorted(
        f.read_bytes() for f in (folder / "figures").glob("*.svg")
    )
    assert embedded_svgs(page)


def test_markup_in_user_strings_is_escaped(tmp_path, monkeypatch):
    """A group name from a CSV is the user's text: it shows as text, it never becomes markup."""
    monkeypatch.chdir(tmp_path)
    evil = '<script>alert(1)</script><img src="http://evil.example/x.png">'
    lines = ["group,metric,value"]
    for i in range(20):
        group = ('"' + evil.replace('"', '""') + '"', "plain")[i % 2]
        lines.append(f"{group},latency,{10 + i % 7 + (i % 2) * 3}")
    (tmp_path / "x.csv").write_text("\n".join(lines) + "\n", "utf-8")
    result = invoke("analyze", "--from-csv", "x.csv", "--no-figures")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "analysis-x" / "report.html").read_text("utf-8")
    page = Page(text)
    assert_self_contained(page)
    assert page.named("img") == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>alert(1)</script>" in "".join(page.text)  # shown as text


@pytest.mark.parametrize(
    "markdown",
    [
        '# t\n\n<script src="http://evil.example/a.js"></script>\n',
        '# t\n\ntext <img src="http://evil.example/x.png"> more\n',
        "# t\n\n![remote](http://evil.example/x.png)\n",
        "# t\n\n![not drawn](figures/missing.png)\n",
        '# t\n\n<link rel="stylesheet" href="https://cdn.example/x.css">\n',
    ],
)
def test_raw_html_and_images_that_are_not_our_figures_load_nothing(markdown):
    page = Page(render_report_html(markdown, {"figures/a.png": b"<svg/>"}))
    assert_self_contained(page)
    assert page.named("img") == []


def test_a_figure_of_the_report_is_embedded_with_its_title_as_caption():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>'
    text = render_report_html("# t\n\n![Tokens <in>](figures/a.png)\n", {"figures/a.png": svg})
    page = Page(text)
    assert embedded_svgs(page) == [svg]
    assert page.named("img")[0]["alt"] == "Tokens <in>"
    assert "Tokens &lt;in&gt;" in text
