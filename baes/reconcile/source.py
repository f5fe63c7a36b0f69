"""Where an experiment's provider usage comes from, and with which admin key.

- the embedded simulator (`provider.kind: sim`, no `base_url`): its usage records live in the
  experiments root (`.simulator/usage.jsonl`); a simulator is started on that file on loopback,
  with the admin key it generates, and queried over HTTP like any provider;
- any other provider: `provider.base_url` (default OpenAI) with the admin key from the
  environment variable `provider.admin_key_env` names.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from baes.config.models import ExperimentConfig
from baes.reconcile.usage_client import UsageApiError, UsageClient

OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Scope:
    """What a read asks the provider for; reads of different scopes are never compared."""

    provider: str
    base_url: str | None
    group_by: tuple[str, ...]
    project_id: str | None

    def signature(self) -> str:
        return "|".join(
            [
                self.provider,
                self.base_url or "embedded",
                ",".join(self.group_by),
                self.project_id or "",
            ]
        )


def read_scope(design: ExperimentConfig) -> Scope:
    """The query a design's reconciliation makes: by model, and by key when its id is known."""
    group_by = ("model", "api_key_id") if design.reconcile.api_key_id else ("model",)
    return Scope(
        design.provider.kind, design.provider.base_url, group_by, design.reconcile.project_id
    )


def _unavailable(message: str, hint: str) -> UsageApiError:
    return UsageApiError(message, kind="not-configured", permanent=True, hint=hint)


def _client(design: ExperimentConfig, base_url: str, admin_key: str) -> UsageClient:
    return UsageClient(
        base_url,
        admin_key,
        timeout_s=design.reconcile.request_timeout_s,
        deadline_s=design.reconcile.retry_deadline_s,
    )


@contextlib.contextmanager
def usage_client_for(design: ExperimentConfig, root: Path) -> Iterator[UsageClient]:
    """A client of the design's usage API; UsageApiError (permanent) when there is none to use."""
    provider = design.provider
    if provider.kind == "sim" and provider.base_url is None:
        from baes.simulator import SimulatorOptions, start_simulator
        from baes.simulator.usage_log import root_usage_log

        log = root_usage_log(root)
        if not log.is_file():
            raise _unavailable(
                f"the simulator's usage records ({log}) do not exist",
                "the runs were made before baes kept them, or the experiment was copied "
                "without its root's .simulator folder",
            )
        from baes.llm.loopback_server import ServerStartError

        try:
            sim = start_simulator(SimulatorOptions(usage_log=log))
        except ServerStartError as exc:
            raise UsageApiError(
                f"could not start the simulator to read its usage: {exc}",
                kind="provider-failing",
                permanent=False,
            ) from None
        with sim:
            yield _client(design, sim.base_url, sim.admin_key)
        return
    if provider.admin_key_env is None:
        raise _unavailable(
            "no admin key is configured (provider.admin_key_env is null)",
            "set provider.admin_key_env in a new experiment to the variable holding an admin "
            "key with the usage-read permission",
        )
    admin_key = os.environ.get(provider.admin_key_env, "").strip()
    if not admin_key:
        raise _unavailable(
            f"no admin key: the environment variable {provider.admin_key_env} is not set",
            f"export {provider.admin_key_env}=<an admin key with the usage-read permission> "
            "(see docs/reconcile.md)",
        )
    yield _client(design, provider.base_url or OPENAI_BASE_URL, admin_key)
