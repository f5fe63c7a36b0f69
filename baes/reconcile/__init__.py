"""Reconciliation: cross-checking the metered usage (the proxy's ledgers) against the provider's
own usage API, minute bucket by minute bucket, with a per-run state machine and an append-only
evidence file. See docs/reconcile.md.

    report = reconcile_experiment(root, "my-exp")
    for run in report.runs:
        print(run.run_id, run.state, run.message)
"""

from baes.reconcile.reconcile import Selection, list_states, reconcile_experiment
from baes.reconcile.report import ReconcileReport, RunCheck
from baes.reconcile.states import STATES

__all__ = [
    "STATES",
    "ReconcileReport",
    "RunCheck",
    "Selection",
    "list_states",
    "reconcile_experiment",
]
