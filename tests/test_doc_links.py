"""The README and docs/*.md never link to a file outside the repository; the README links to no
web page either: everything it points to ships with the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# [text](target) outside code spans; the target up to a space or the closing parenthesis.
LINK = re.compile(r"(?<!`)\[[^\]]*\]\(([^)\s]+)\)")


def links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return LINK.findall(text)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_stay_inside_the_repository(page):
    outside = []
    for target in links(page):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor of the same page
        path = (page.parent / target.split("#")[0]).resolve()
        if not path.is_relative_to(REPO):
            outside.append(target)
    assert not outside, f"{page.name} links outside the repository: {outside}"


def test_the_readme_links_the_architecture_and_no_web_page():
    readme = links(REPO / "README.md")
    assert "docs/architecture.md" in readme
    assert not [target for target in readme if re.match(r"[a-z]+:", target)]
