"""Markdown to HTML for reports and messages: markdown-it-py (CommonMark + tables), raw HTML off.

Raw HTML in the text is shown as text, never interpreted, and markdown-it refuses javascript:,
vbscript:, file: and most data: links; so a report or a model's answer cannot inject markup.
"""

from __future__ import annotations

from collections.abc import Callable

from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_markdown(text: str, image_url: Callable[[str], str | None] | None = None) -> Markup:
    """`text` as safe HTML; `image_url` maps a relative image path to the URL serving it."""
    tokens = _md.parse(text)
    if image_url is not None:
        for token in tokens:
            for child in token.children or []:
                if child.type == "image":
                    src = str(child.attrGet("src") or "")
                    child.attrSet("src", image_url(src) or "")
    return Markup(_md.renderer.render(tokens, _md.options, {}))
