"""Preflight of `baes run`: what must hold before any framework's setup starts.

The key is present, the model is priced, and the provider answers. Each check returns typed
problems instead of raising, so `baes run` can refuse to start with one clear line and
`baes run --dry-run` can list the same problems without running anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from baes.config.models import ExperimentConfig
from baes.errors import BaesError

ProblemKind = Literal[
    "missing_key",
    "unpriced_model",
    "unknown_model",
    "unreachable",
    "key_rejected",
    "provider_error",
]
# Problems the user fixes in their input (environment or design): exit 2. The others are the
# provider failing or refusing the work: exit 1.
INPUT_PROBLEMS: frozenset[str] = frozenset({"missing_key", "unpriced_model", "unknown_model"})
# A models listing is one small GET; a provider that does not answer it within this long would
# not serve the runs either.
PROVIDER_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class PreflightProblem:
    """One reason `baes run` cannot start; `message` is a whole sentence for the user."""

    kind: ProblemKind
    message: str

    @property
    def is_input_error(self) -> bool:
        return self.kind in INPUT_PROBLEMS


class PreflightError(BaesError):
    """`baes run` refused to start: exit 2 if any problem is the user's input, else 1."""

    def __init__(self, problems: list[PreflightProblem]):
        super().__init__(
            "cannot start: " + "; ".join(p.message for p in problems),
            hint="nothing was set up or run; fix the above and run again",
        )
        self.problems = problems
        self.exit_code = 2 if any(p.is_input_error for p in problems) else 1


def design_problems(design: ExperimentConfig) -> list[PreflightProblem]:
    """The checks that need no network: the key is set (real providers) and the model priced."""
    problems = []
    if design.provider.kind != "sim":
        key_env = design.provider.api_key_env
        if not os.environ.get(key_env, "").strip():
            problems.append(
                PreflightProblem(
                    "missing_key",
                    f"environment variable {key_env} (provider.api_key_env) is not set or empty; "
                    f"export {key_env}=... with your {design.provider.kind} API key",
                )
            )
    if design.provider.kind == "sim":
        # The simulator answers any other model name 404; better said once, before any setup.
        from baes.simulator.models import MODEL_NAMES

        if design.model not in MODEL_NAMES:
            problems.append(
                PreflightProblem(
                    "unknown_model",
                    f"model {design.model!r} is not a simulator model (provider.kind: sim serves "
                    f"{', '.join(MODEL_NAMES)}); use one of them, or provider.kind: openai",
                )
            )
    # The design's validation already refuses an unpriced model; checked again because a run
    # without a price would meter calls it cannot cost, so the budget would not hold.
    if design.model not in design.pricing:
        problems.append(
            PreflightProblem(
                "unpriced_model",
                f"model {design.model!r} has no price in `pricing`; the budget and costs need one",
            )
        )
    return problems


def provider_problems(
    base_url: str, api_key: str, timeout_s: float = PROVIDER_TIMEOUT_S
) -> list[PreflightProblem]:
    """Whether the provider answers `GET {base_url}/models` with this key (costs nothing).

    A 404 or 405 means the provider has no models listing: it answered, which is all this
    checks. The response body is never quoted, since providers echo keys back in errors.
    """
    import httpx

    url = f"{base_url.rstrip('/')}/models"
    try:
        # Connect as the metering proxy does: directly (no HTTP(S)_PROXY), with the same CAs.
        response = httpx.get(
            url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_s,
            trust_env=False,
            verify=httpx.create_ssl_context(trust_env=True),
        )
    except httpx.TimeoutException:
        return [
            PreflightProblem(
                "unreachable", f"the provider at {base_url} did not answer within {timeout_s:g} s"
            )
        ]
    except httpx.HTTPError as exc:
        return [
            PreflightProblem(
                "unreachable",
                f"the provider at {base_url} is unreachable ({type(exc).__name__}: "
                f"{_first_line(str(exc)) or 'no detail'})",
            )
        ]
    status = response.status_code
    if status in (401, 403):
        return [
            PreflightProblem(
                "key_rejected",
                f"the provider at {base_url} rejected the API key (HTTP {status} to GET /models)",
            )
        ]
    if status < 300 or status in (404, 405):
        return []
    return [
        PreflightProblem(
            "provider_error",
            f"the provider at {base_url} answered HTTP {status} to GET /models"
            + (" (rate limited or out of quota)" if status == 429 else ""),
        )
    ]


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def check_before_setup(
    design: ExperimentConfig, base_url: str | None, api_key: str | None
) -> list[PreflightProblem]:
    """Every preflight problem: the design's, then the provider's (asked only with a key).

    `base_url` None skips the provider (the embedded simulator, which `baes run` starts).
    """
    problems = design_problems(design)
    if base_url is not None and api_key:
        problems += provider_problems(base_url, api_key)
    return problems


def dry_run_problems(design: ExperimentConfig) -> tuple[list[PreflightProblem], bool]:
    """The problems `baes run` would refuse to start with, and whether the provider was asked.

    The provider is asked (one free GET of its models listing) when the key is set; the
    embedded simulator is not started for a dry run, so it is not asked.
    """
    from baes.engine.services import provider_endpoint, provider_key

    base_url, key_env = provider_endpoint(design)
    key = provider_key(key_env)
    return check_before_setup(design, base_url, key), base_url is not None and bool(key)
