"""Prompt caching as OpenAI does it: per caller, by token prefix, in 128-token steps from 1024."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence

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
    """Remembers prompt prefixes per namespace (an API key, or a key's run); a hit is the
    longest remembered boundary prefix.

    Storing one hash per 128-token boundary makes the lookup exact: the cached count is the
    shared token prefix with any earlier prompt of the same namespace, rounded down to
    1024 + k*128. With `ttl_s` an entry expires `ttl_s` seconds after it was last used (stored
    or hit), as a provider's cache empties after minutes of inactivity; None keeps entries for
    the simulator's lifetime. `clock` gives seconds (the simulator's clock).
    """

    def __init__(
        self, ttl_s: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._seen: dict[str, dict[bytes, float]] = {}
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()

    def lookup_and_store(self, namespace: str, tokens: Sequence[str]) -> int:
        """Cached tokens for this prompt, then remember its prefixes for later calls."""
        hashes = _prefix_hashes(tokens)
        with self._lock:
            now = self._clock()
            seen = self._seen.setdefault(namespace, {})
            if self._ttl_s is not None:
                for key in [k for k, used in seen.items() if now - used > self._ttl_s]:
                    del seen[key]
            cached = max((n for n, h in hashes.items() if h in seen), default=0)
            seen.update(dict.fromkeys(hashes.values(), now))
        return cached
