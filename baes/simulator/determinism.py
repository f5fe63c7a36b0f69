"""Randomness derived from hashes of the inputs, never from global state or the clock."""

from __future__ import annotations

import hashlib
import random


def digest(*parts: object) -> bytes:
    """A SHA-256 digest of the parts, each one framed so that ("ab", "c") != ("a", "bc")."""
    h = hashlib.sha256()
    for part in parts:
        data = str(part).encode("utf-8")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.digest()


def unit_interval(*parts: object) -> float:
    """A number in [0, 1) determined by the parts."""
    return int.from_bytes(digest(*parts)[:8], "big") / 2**64


def seeded_random(*parts: object) -> random.Random:
    """A private random generator seeded from the parts (the module-level one is never used)."""
    return random.Random(int.from_bytes(digest(*parts), "big"))


def short_hash(*parts: object, length: int = 16) -> str:
    """A short hex identifier determined by the parts."""
    return digest(*parts).hex()[:length]
