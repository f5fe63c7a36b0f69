"""The edit formats coding agents parse, chosen from the prompt's instructions.

- whole files: a path line, then a fenced block with the complete file (the default);
- unified diffs: a fenced ```diff block per file, `--- old` / `+++ new` / `@@ -a,b +c,d @@` hunks
  (gpt-engineer's improve mode, aider's udiff format); new files come from `/dev/null`;
- SEARCH/REPLACE blocks: the path line, a fence, `<<<<<<< SEARCH`, the exact old lines,
  `=======`, the new lines, `>>>>>>> REPLACE` (aider's diff format); a new file has an empty
  SEARCH section.

Edits are computed with difflib from the files the conversation shows and the new versions, so
they apply to exactly those files.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from enum import Enum

from baes.file_blocks import language_for, render_file_blocks

# Context lines around a change: enough to place it, few enough to stay small.
CONTEXT_LINES = 3

# aider states the markers inside its rules ("3. The start of search block: <<<<<<< SEARCH")
# and shows them at line starts in its example turns.
_SEARCH_MARKER = re.compile(r"<{7} SEARCH\b")
_REPLACE_MARKER = re.compile(r">{7} REPLACE\b")
_UNIFIED_WORDS = re.compile(r"\bunified\b[^.\n]{0,30}\bdiffs?\b|\bdiff -U\d?\b", re.I)
_UNIFIED_EXAMPLE = re.compile(r"^--- \S+.*\n\+\+\+ \S+.*\n@@ ", re.M)
_GIT_PREFIXES = re.compile(r"^--- a/\S+.*\n\+\+\+ b/", re.M)
# A file as a prompt shows it: a path line (a name with an extension, perhaps decorated), then
# the fence that opens its content.
_SHOWN_FILE_FENCE = re.compile(r"^[^\s`]*[\w-]\.\w+[^\s`]*[ \t]*\n(?P<fence>`{3,})", re.M)


class EditFormat(Enum):
    WHOLE = "whole"
    UNIFIED_DIFF = "unified_diff"
    SEARCH_REPLACE = "search_replace"


def detect_edit_format(instructions: str) -> EditFormat:
    """The format the instructions (system prompt, user turns, example answers) ask for."""
    if _SEARCH_MARKER.search(instructions) and _REPLACE_MARKER.search(instructions):
        return EditFormat.SEARCH_REPLACE
    if _UNIFIED_WORDS.search(instructions) or _UNIFIED_EXAMPLE.search(instructions):
        return EditFormat.UNIFIED_DIFF
    return EditFormat.WHOLE


def shown_fence_length(instructions: str) -> int:
    """How many backticks open a file in the prompt's format example and file listings (at
    least 3). aider fences every file with ```` once a file it shows contains ``` lines (the
    Markdown templates of spec-kit do), and then reads only blocks opened by ````."""
    lengths = [len(m.group("fence")) for m in _SHOWN_FILE_FENCE.finditer(instructions)]
    return max([3, *lengths])


def render_edits(
    edit_format: EditFormat,
    old_files: Mapping[str, str],
    new_files: Mapping[str, str],
    git_prefixes: bool = False,
    fence_length: int = 3,
) -> str:
    """The changes from `old_files` to `new_files` (only the paths in `new_files`), as text,
    with file fences of at least `fence_length` backticks."""
    if edit_format is EditFormat.WHOLE:
        return render_file_blocks(new_files, fence_length)
    blocks = []
    for path, new in new_files.items():
        old = old_files.get(path)
        if old == new:
            continue
        if edit_format is EditFormat.UNIFIED_DIFF:
            blocks.append(unified_diff(path, old, new, git_prefixes))
        else:
            blocks.append(search_replace_blocks(path, old, new, fence_length))
    return "\n".join(blocks)


def uses_git_prefixes(instructions: str) -> bool:
    """Whether the instructions' example diffs name files `a/…` and `b/…`, as git does."""
    return bool(_GIT_PREFIXES.search(instructions))


def _lines(text: str | None) -> list[str]:
    return text.splitlines() if text else []


def unified_diff(path: str, old: str | None, new: str, git_prefixes: bool = False) -> str:
    """One fenced unified diff. Every hunk header carries both lengths (`-a,b +c,d`), which
    gpt-engineer's parser requires (difflib omits a length of 1), and every hunk starts at a
    line that places it on its own (see _hunk_start)."""
    old_lines, new_lines = _lines(old), _lines(new)
    pre = "/dev/null" if old is None else (f"a/{path}" if git_prefixes else path)
    post = f"b/{path}" if git_prefixes else path
    out = ["```diff", f"--- {pre}", f"+++ {post}"]
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    previous_end = 0
    for group in matcher.get_grouped_opcodes(CONTEXT_LINES):
        head = group[0]
        leading = head[0] == "equal"
        changes = group[1:] if leading else group
        change_at, offset = changes[0][1], changes[0][3] - changes[0][1]
        # The hunk may start at a removed line, but before an insertion it needs a context line.
        latest = change_at if changes[0][2] > changes[0][1] else change_at - 1
        start = _hunk_start(old_lines, previous_end, head[1] if leading else change_at, latest)
        i2, j2 = group[-1][2], group[-1][4]
        j1 = start + offset
        old_start = start + 1 if i2 > start else start
        new_start = j1 + 1 if j2 > j1 else j1
        out.append(f"@@ -{old_start},{i2 - start} +{new_start},{j2 - j1} @@")
        out += [" " + line for line in old_lines[start:change_at]]
        for tag, a1, a2, b1, b2 in changes:
            if tag == "equal":
                out += [" " + line for line in old_lines[a1:a2]]
                continue
            out += ["-" + line for line in old_lines[a1:a2]]
            out += ["+" + line for line in new_lines[b1:b2]]
        previous_end = i2
    out.append("```")
    return "\n".join(out) + "\n"


def _hunk_start(lines: list[str], earliest: int, preferred: int, latest: int) -> int:
    """Where a hunk starts: the line nearest `preferred` (dropping context up to `latest`, else
    adding context back to `earliest`, the previous hunk's end) that is not blank and resembles
    no line between `earliest` and itself. gpt-engineer ignores the header's line numbers and
    places a hunk at the first line resembling its first line (same characters, spaces and case
    aside, 90 %), searching from the previous hunk's end; its instructions say "avoid starting a
    hunk with an empty line". Without such a line, `preferred`."""
    candidates = [*range(preferred, latest + 1), *range(preferred - 1, earliest - 1, -1)]
    for start in candidates:
        line = lines[start]
        if line.strip() and not any(_resembles(line, lines[k]) for k in range(earliest, start)):
            return start
    return preferred


def _resembles(first: str, second: str) -> bool:
    """gpt-engineer's `is_similar`: shared characters over the longer line, at least 0.9."""
    a, b = first.replace(" ", "").lower(), second.replace(" ", "").lower()
    longer = max(len(a), len(b))
    return longer == 0 or sum((Counter(a) & Counter(b)).values()) / longer >= 0.9


def search_replace_blocks(path: str, old: str | None, new: str, fence_length: int = 3) -> str:
    """SEARCH/REPLACE blocks turning `old` into `new`: each SEARCH text occurs exactly once in
    `old` and the blocks do not overlap, so applying them in order gives `new`."""
    fence = "`" * fence_length
    if not old:
        return _block(path, fence, [], _lines(new))
    old_lines, new_lines = _lines(old), _lines(new)
    opcodes = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes()
    changes = [(a1, a2) for tag, a1, a2, _, _ in opcodes if tag != "equal"]
    spans: list[list[int]] = []
    for a1, a2 in changes:
        start, end = max(0, a1 - CONTEXT_LINES), min(len(old_lines), a2 + CONTEXT_LINES)
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    changed = True
    while changed:  # widen until every SEARCH text is unique, merging spans that meet
        changed = False
        for span in spans:
            while (span[0] > 0 or span[1] < len(old_lines)) and (
                span[0] == span[1] or _occurrences(old_lines, old_lines[span[0] : span[1]]) != 1
            ):
                span[0], span[1] = max(0, span[0] - 1), min(len(old_lines), span[1] + 1)
        merged: list[list[int]] = []
        for span in spans:
            if merged and span[0] <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], span[1])
                changed = True
            else:
                merged.append(span)
        spans = merged
    blocks = []
    for start, end in spans:
        new_start, new_end = _to_new(opcodes, start, left=True), _to_new(opcodes, end, left=False)
        blocks.append(_block(path, fence, old_lines[start:end], new_lines[new_start:new_end]))
    return "\n".join(blocks)


def _to_new(opcodes: Sequence[tuple[str, int, int, int, int]], index: int, left: bool) -> int:
    """Where a span boundary in the old lines falls in the new lines. Spans start and end in
    unchanged lines or at a change's edge, where the mapping is exact; at an insertion point a
    start lies before the inserted lines and an end after them."""
    candidates = []
    for tag, a1, a2, b1, b2 in opcodes:
        if tag == "equal" and a1 <= index <= a2:
            candidates.append(b1 + (index - a1))
            continue
        if index == a1:
            candidates.append(b1)
        if index == a2:
            candidates.append(b2)
    return min(candidates) if left else max(candidates)


def _occurrences(lines: list[str], part: list[str]) -> int:
    size = len(part)
    return sum(1 for i in range(len(lines) - size + 1) if lines[i : i + size] == part)


def _block(path: str, fence: str, search: list[str], replace: list[str]) -> str:
    body = [path, fence + language_for(path), "<<<<<<< SEARCH", *search, "=======", *replace]
    body += [">>>>>>> REPLACE", fence]
    return "\n".join(body) + "\n"
