"""Counterbalanced, seeded interleaving of frameworks.

Runs are drawn block by block; each block holds every framework once in an order shuffled with
the experiment's seed, so no framework systematically runs first (warm caches, provider load,
time of day). Frameworks that need no more runs are skipped within a block.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence


def block_order(frameworks: Sequence[str], seed: int, block: int) -> list[str]:
    """The shuffled order of block number `block` (deterministic for a seed)."""
    order = list(frameworks)
    random.Random(f"baes-schedule:{seed}:{block}").shuffle(order)
    return order


class Interleaver:
    """A cursor over the blocks: `next(wants_run)` gives the next framework that wants a run.

    `wants_run` is asked at call time, so a framework that converged stops being scheduled at
    once, and one whose runs are still in flight is passed over until it wants another.
    """

    def __init__(self, frameworks: Sequence[str], seed: int):
        self.frameworks = list(frameworks)
        self.seed = seed
        self.block = 0
        self.position = 0
        self._order = block_order(self.frameworks, seed, 0)

    def _advance(self) -> str:
        framework = self._order[self.position]
        self.position += 1
        if self.position == len(self._order):
            self.block += 1
            self.position = 0
            self._order = block_order(self.frameworks, self.seed, self.block)
        return framework

    def next(self, wants_run: Callable[[str], bool]) -> str | None:
        """The next framework in block order that wants a run; None only if none wants one now.

        The slots left in this block and the whole next block hold every framework at least
        once, so a framework that wants a run is always reached within them (scanning only
        len(frameworks) slots missed one whose turn fell later in the next block's order).
        """
        if not any(wants_run(framework) for framework in self.frameworks):
            return None
        for _ in range(len(self._order) - self.position + len(self.frameworks)):
            framework = self._advance()
            if wants_run(framework):
                return framework
        raise AssertionError("unreachable: a framework that wants a run is in the next block")
