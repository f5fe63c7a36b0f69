"""Prompt caching as OpenAI does it: per caller, by token prefix, in 128-token steps from 1024."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

MIN_CACHED_PREFIX = 1024
CACHE_STEP = 128


def _boundaries(length: int) -> list[int]:
    """Prefix lengths a cache hit can cover: 1024, 1152, ... up to the prompt length."""
    return list(range(MIN_CACHED_PREFIX, length + 1, CACHE_STEP))


def _prefix_hashes(tokens: Sequence[str]) -> dict[int, bytes]:
    """Hash of the prompt prefix ending at each boundary, computed in one pass."""
    h = hashlib.sha256()
    hashes: dict[int, bytes] = {}
    wanted = set(_boundaries(len(tokens)))
    for position, token in enumerate(tokens, start=1):
        data = token.encode("utf-8")
        h.update(len(data).to_bytes(4, "big"))
        h.update(data)
        if position in wanted:
            hashes[position] = h.copy().digest()
    return hashes


class PromptCache:
    """Remembers prompt prefixes per API key; a hit is the longest remembered boundary prefix.

    Storing one hash per 128-token boundary makes the lookup exact: the cached count is the
    shared token prefix with any earlier prompt of the same key, rounded down to 1024 + k*128.
    Entries never expire while the simulator runs.
    """

    def __init__(self) -> None:
        self._seen: dict[str, set[bytes]] = {}
        self._lock = threading.Lock()

    def lookup_and_store(self, api_key_id: str, tokens: Sequence[str]) -> int:
        """Cached tokens for this prompt, then remember its prefixes for later calls."""
        hashes = _prefix_hashes(tokens)
        with self._lock:
            seen = self._seen.setdefault(api_key_id, set())
            cached = max((n for n, h in hashes.items() if h in seen), default=0)
            seen.update(hashes.values())
        return cached
