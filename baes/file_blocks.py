"""The whole-file answer format: a path line followed by a fenced block, as aider and
gpt-engineer parse it.

The reference agent (frameworks/builtin.py) asks for it and parses it; the simulator writes it.
Neither owns it, so it lives here and imports nothing from baes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath

FILE_BLOCK_FORMAT = """\
Write every file you create or change in full, as a file block: the file's path relative to
the workspace alone on one line, then a fenced code block holding the complete file content.
Repeat for each file. Prose before, between or after the blocks is allowed.

pkg/example.py
```python
def example():
    return 42
```

The fence may name a language or not. A file that itself contains ``` lines is fenced with
a longer run of backticks (````), closed by a run at least as long. Paths use forward
slashes and stay inside the workspace (no leading /, no ..).
"""

_FENCE_OPEN = re.compile(r"^(?P<fence>`{3,})[\w+.#-]*\s*$")
# A path line: one token with a dot or slash, optionally decorated the way models decorate it.
_PATH_LINE = re.compile(
    r"^(?:#+\s*|\*\*|`|(?:file(?:name)?|path)\s*:\s*)*(?P<path>[\w./\\-]+)[`*:]*$", re.I
)
_SEARCH_START = re.compile(r"^<{5,9} SEARCH\b")
_EXTENSIONLESS = {"Makefile", "Dockerfile", "LICENSE", "Procfile", "Containerfile"}


class FileBlockError(ValueError):
    """An answer's file blocks cannot be used as they are."""


class UnsafeFilePathError(FileBlockError):
    """A file block names a path outside the workspace."""


def _clean_path(line: str) -> str | None:
    """The relative path a line names, or None when the line is not a path line."""
    match = _PATH_LINE.match(line.strip())
    if match is None:
        return None
    path = match.group("path").replace("\\", "/")
    # "Done." or "Steps:" before a shell snippet are prose, not file names.
    name = path.rsplit("/", 1)[-1]
    if not name or (not re.search(r"\.\w+$", name) and name not in _EXTENSIONLESS):
        return None
    if path.startswith("/") or ".." in PurePosixPath(path).parts:
        raise UnsafeFilePathError(f"file block path {path!r} leaves the workspace")
    return str(PurePosixPath(path))


def parse_file_blocks(text: str) -> dict[str, str]:
    """Files in an answer written in FILE_BLOCK_FORMAT, path -> content (a later block wins).

    Raises UnsafeFilePathError for an absolute path or one with `..`; fenced blocks without
    a path line just before them (examples, shell commands) and SEARCH/REPLACE blocks are
    ignored.
    """
    files: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE_OPEN.match(lines[i].strip())
        if opening is None:
            i += 1
            continue
        fence = opening.group("fence")
        end = i + 1
        while end < len(lines) and not _is_closing(lines[end], fence):
            end += 1
        path = _clean_path(lines[i - 1]) if i > 0 and lines[i - 1].strip() else None
        body = lines[i + 1 : end]
        # A SEARCH/REPLACE block (simulator/answers/edit_formats.py) names a file but holds an edit, not the file.
        if path is not None and not (body and _SEARCH_START.match(body[0])):
            files[path] = "\n".join(body) + "\n" if body else ""
        i = end + 1
    return files


def strip_file_blocks(text: str) -> str:
    """The text without its file blocks (path line and fenced content); other fences stay."""
    lines = text.splitlines()
    kept: list[str] = []
    i = 0
    while i < len(lines):
        opening = _FENCE_OPEN.match(lines[i].strip())
        if opening is None:
            kept.append(lines[i])
            i += 1
            continue
        end = i + 1
        while end < len(lines) and not _is_closing(lines[end], opening.group("fence")):
            end += 1
        try:
            is_file = i > 0 and _clean_path(lines[i - 1]) is not None
        except UnsafeFilePathError:
            is_file = True
        if is_file:
            kept.pop()
        else:
            kept.extend(lines[i : end + 1])
        i = end + 1
    return "\n".join(kept)


def _is_closing(line: str, fence: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(fence) and set(stripped) == {"`"}


def _fence_for(content: str, shortest: int = 3) -> str:
    """`shortest` backticks, or one more than the longest backtick run at a line start."""
    runs = [len(m.group()) for m in re.finditer(r"^\s*(`{3,})", content, re.M)]
    return "`" * max(shortest, max(runs, default=0) + 1)


def language_for(path: str) -> str:
    """The fence language tag for a file name."""
    suffix = PurePosixPath(path).suffix
    return {
        ".py": "python",
        ".md": "markdown",
        ".json": "json",
        ".yaml": "yaml",
        ".yml": "yaml",
        ".toml": "toml",
        ".sh": "bash",
        ".txt": "text",
    }.get(suffix, "")


def render_file_blocks(files: Mapping[str, str], shortest_fence: int = 3) -> str:
    """Files as FILE_BLOCK_FORMAT text, in the given order; fences have at least
    `shortest_fence` backticks (a reader may only accept the fence its prompt showed)."""
    blocks = []
    for path, content in files.items():
        fence = _fence_for(content, shortest_fence)
        body = content if content.endswith("\n") or not content else content + "\n"
        blocks.append(f"{path}\n{fence}{language_for(path)}\n{body}{fence}\n")
    return "\n".join(blocks)
