"""The experiment's cost budget as the proxy enforces it: refuse calls once it is spent."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from baes.config.models import ModelPrice
from baes.errors import BaesError
from baes.llm.ledger import LedgerEntry
from baes.llm.ledger_cost import BILLED_ENDPOINTS, entry_cost_usd
from baes.llm.proxy.errors import ProxyConfigError

log = logging.getLogger(__name__)


def format_usd(amount: float) -> str:
    """Dollars with cents, or with more digits for the tiny amounts of test budgets."""
    return f"${amount:.2f}" if amount == 0 or amount >= 0.01 else f"${amount:.6f}"


class Budget:
    """Spent dollars (initial + every call recorded by this proxy) against an optional limit.

    Calls already in flight when the limit is reached still complete and are charged, so the
    final spend can exceed the limit by what those calls cost.
    """

    def __init__(
        self,
        max_cost_usd: float | None,
        spent_usd: float,
        prices: Mapping[str, ModelPrice],
        experiment_model: str | None,
    ):
        if max_cost_usd is not None and max_cost_usd < 0:
            raise ProxyConfigError(f"max_cost_usd must be >= 0, got {max_cost_usd}")
        if spent_usd < 0:
            raise ProxyConfigError(f"spent_usd must be >= 0, got {spent_usd}")
        if max_cost_usd is not None and (
            experiment_model is None or experiment_model not in prices
        ):
            raise ProxyConfigError(
                "a budget (max_cost_usd) needs a price for the experiment model "
                f"{experiment_model!r}",
                hint="pass prices={model: ModelPrice(...)} including the experiment model",
            )
        self.max_cost_usd = max_cost_usd
        self._prices = dict(prices)
        self._experiment_model = experiment_model
        self._spent = spent_usd
        self._unpriced_calls = 0
        self._lock = threading.Lock()

    @property
    def spent_usd(self) -> float:
        """Initial spend plus the cost of every priced call recorded since."""
        with self._lock:
            return self._spent

    @property
    def unpriced_calls(self) -> int:
        """Successful token-billed calls recorded without usage (or price): not in `spent_usd`."""
        with self._lock:
            return self._unpriced_calls

    def refusal(self) -> str | None:
        """The message to refuse a call with, or None while budget remains."""
        with self._lock:
            spent = self._spent
        if self.max_cost_usd is None or spent < self.max_cost_usd:
            return None
        return (
            f"experiment budget of {format_usd(self.max_cost_usd)} reached "
            f"({format_usd(spent)} spent); baes forwards no further LLM calls for this "
            "experiment (limits.max_cost_usd)"
        )

    def charge(self, entry: LedgerEntry) -> None:
        """Add the cost of one recorded call."""
        try:
            cost = (
                entry_cost_usd(entry, self._prices, self._experiment_model)
                if self._prices
                else None
            )
        except BaesError as exc:  # a model without a price, with no budget to protect
            log.warning("call not priced: %s", exc.message)
            cost = None
        with self._lock:
            if cost is None:
                if 200 <= entry.status_code < 300 and entry.endpoint in BILLED_ENDPOINTS:
                    self._unpriced_calls += 1
            else:
                self._spent += cost
