"""report.html: report.md as one self-contained page, for a browser and for paper.

Self-contained means the page loads nothing: no script, no stylesheet or font from elsewhere, and
every figure embedded as an SVG data URI (an `<img>`, so the SVGs' ids cannot clash and nothing in
them can run). Raw HTML in the markdown is escaped, not rendered (markdown-it with html=False):
every string in the report came from the user's files (group names, paths, messages).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from string import Template
from typing import Any

_PAGE = Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="baes">
<title>$title</title>
<style>
$css
</style>
</head>
<body>
<main>
$body
</main>
</body>
</html>
"""
)

# System fonts only (a web font would be a request); tables scroll on a narrow screen and never
# split a row across pages on paper; figures keep their caption and stay on one page.
_CSS = """
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1b1b1b;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 1.25rem 4rem; }
h1 { font-size: 1.8rem; line-height: 1.25; margin: 0 0 1rem; }
h2 { font-size: 1.35rem; margin: 2.2rem 0 .6rem; padding-bottom: .2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.1rem; margin: 1.6rem 0 .4rem; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .9em;
  background: #f3f3f3; padding: .05em .3em; border-radius: 3px; }
pre { background: #f6f6f6; padding: .75rem; overflow-x: auto; border-radius: 4px; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; display: block;
  overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #ccc; padding: .3rem .55rem; vertical-align: top; }
th { background: #f1f1f1; text-align: left; }
/* A key-value table of report.md has an empty header row: not worth a grey bar. */
thead:not(:has(th:not(:empty))) { display: none; }
tbody tr:nth-child(even) { background: #fafafa; }
.figure { display: block; margin: 1.2rem 0; }
.figure img { display: block; max-width: 100%; height: auto; }
.figure .caption { display: block; font-size: .9rem; color: #444; margin-top: .3rem; }
a { color: #0b57d0; }
blockquote { margin: 1rem 0; padding: .2rem 1rem; border-left: 4px solid #ddd; color: #444; }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
  h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
  table { display: table; overflow: visible; font-size: 9pt; }
  tr, .figure, pre { break-inside: avoid; page-break-inside: avoid; }
  tbody tr:nth-child(even) { background: none; }
}
"""


def render_report_html(
    markdown: str,
    figures: Mapping[str, bytes],
    *,
    title: str | None = None,
) -> str:
    """The page of `markdown` with each image whose target is a key of `figures` (the path the
    markdown uses, e.g. `figures/cost.png`) replaced by that SVG, embedded as a data URI.

    An image with any other target is shown as its caption only: loading it would make the page
    depend on a file or a server beside it.
    """
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": False}).enable("table")

    def image(renderer: Any, tokens: Sequence[Any], index: int, options: Any, env: Any) -> str:
        token = tokens[index]
        target = str(token.attrGet("src") or "")
        caption = html.escape(renderer.renderInlineAsText(token.children or [], options, env))
        svg = figures.get(target)
        if svg is None:
            return f'<span class="missing-figure">[figure not embedded: {caption}]</span>'
        data = base64.b64encode(svg).decode("ascii")
        # Spans, not <figure>: markdown puts an image inside a paragraph, where only phrasing
        # content is valid HTML.
        return (
            f'<span class="figure"><img src="data:image/svg+xml;base64,{data}" alt="{caption}">'
            f'<span class="caption">{caption}</span></span>'
        )

    parser.add_render_rule("image", image)
    body = parser.render(markdown)
    return _PAGE.substitute(
        title=html.escape(title if title is not None else _first_heading(markdown)),
        css=_CSS.strip(),
        body=body.rstrip(),
    )


def _first_heading(markdown: str) -> str:
    for line in markdown.splitlines():
        if line.startswith("# "):
            return line[2:].replace("`", "").strip()
    return "baes report"
