"""Sentence splitting that leaves `backticked code` alone."""

from __future__ import annotations

import re

_BACKTICKED = re.compile(r"`[^`\n]*`")
_BOUNDARY = re.compile(r"(?<=[.!?;])\s+|\n\s*\n")


def split_sentences(text: str) -> list[str]:
    """Sentences of a prompt; a period inside backticks (`main.py`) never ends one."""
    spans = []

    def hide(match: re.Match[str]) -> str:
        spans.append(match.group())
        return f"\x00{len(spans) - 1}\x00"

    masked = _BACKTICKED.sub(hide, text)
    sentences = []
    for piece in _BOUNDARY.split(masked):
        restored = re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], piece).strip()
        if restored:
            sentences.append(restored)
    return sentences


def backticked(text: str) -> list[tuple[int, str]]:
    """Every `code span` in the text with its position, backticks removed."""
    return [(m.start(), m.group()[1:-1]) for m in _BACKTICKED.finditer(text)]
