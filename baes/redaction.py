"""Keeping keys out of everything baes stores or prints.

A provider may echo the key it was sent ("Incorrect API key provided: sk-…"), and that text
travels on: into the framework's output, a run's error, the terminal. Everything baes writes or
prints that holds such text goes through `redact` first. Two things are removed:

- the values of the environment variables the design names as keys (`provider.api_key_env`,
  `provider.admin_key_env`), whatever the variables are called, once remembered with
  `remember_key_names` (loading an experiment does it) or passed explicitly;
- anything shaped like a key: `sk-…` (also `sk-proj-…`, `sk-ant-…`, masked `sk-…****abcd`) and
  the token of a `Bearer …` header.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from baes.config.models import ExperimentConfig

REDACTED = "[redacted]"
# Shorter values are not treated as secrets: replacing "1" or "abc" everywhere would garble text,
# and no provider issues keys that short.
MIN_SECRET_LENGTH = 8

# `sk-` starting a word (not the end of "task-list"), then at least 12 characters of the key's
# body (real keys have 40 or more; a name like "sk-learn-demo" is left alone); `*` for the masked
# form providers echo. The Bearer token is whatever follows the scheme up to a space or quote,
# if at least 16 characters long (prose such as "Bearer authentication" stays).
_SHAPES = (
    (re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-*]{12,}"), "sk-" + REDACTED),
    (re.compile(r"\b(Bearer)\s+[A-Za-z0-9._~+/=\-*]{16,}", re.IGNORECASE), r"\1 " + REDACTED),
)

_remembered: set[str] = set()
_remembered_lock = threading.Lock()


def key_env_names(design: ExperimentConfig) -> frozenset[str]:
    """The names of the environment variables `design` names as holding keys."""
    provider = design.provider
    names = {provider.api_key_env}
    if provider.admin_key_env:
        names.add(provider.admin_key_env)
    return frozenset(names)


def remember_key_names(names: Iterable[str]) -> None:
    """Treat the values of these environment variables as keys for the rest of the process.

    Process-wide on purpose: keys live in the process's environment, and text that reaches the
    terminal's error printer no longer knows which design it came from.
    """
    with _remembered_lock:
        _remembered.update(names)


def key_values(names: Iterable[str] = ()) -> list[str]:
    """The values (set, long enough) of the variables `names` and the remembered ones."""
    with _remembered_lock:
        wanted = set(_remembered)
    wanted.update(names)
    values = {os.environ.get(name, "").strip() for name in wanted}
    return [value for value in values if len(value) >= MIN_SECRET_LENGTH]


def redact(text: str, *secrets: str) -> str:
    """`text` with each of `secrets`, the remembered keys and anything shaped like a key removed."""
    candidates = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
    candidates.update(key_values())
    # Longest first: a key that contains another is removed whole.
    for secret in sorted(candidates, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    # A cheap substring test first: the patterns cost milliseconds on a long text (a transcript's
    # request body) and most texts hold neither shape.
    lowered = text.lower()
    for (pattern, replacement), marker in zip(_SHAPES, ("sk-", "bearer"), strict=True):
        if marker in lowered:
            text = pattern.sub(replacement, text)
    return text
