"""The status vocabularies of the records, without pydantic, for code on the start-up path
(`baes list`, the CLI's option help) that must not pay for importing it."""

from __future__ import annotations

RUN_STATUSES: tuple[str, ...] = ("running", "completed", "failed", "interrupted")

# Every status an experiment can have in the registry (baes.experiment.describe.experiment_status,
# and "broken" for a folder that cannot be read); `baes list --status` accepts only these.
EXPERIMENT_STATUSES: tuple[str, ...] = (
    "created",
    "running",
    "interrupted",
    "incomplete",
    "stopped",
    "completed",
    "config-changed",
    "broken",
)
