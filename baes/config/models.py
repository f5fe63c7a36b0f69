"""The experiment design (config.yaml) as pydantic models.

Every model forbids unknown keys, so a typo is an error instead of a silently ignored setting.
Defaults exist for everything but name, model, frameworks and scenario.
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Final, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

SCHEMA_VERSION: Final = 1

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
STEP_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"
ENV_VAR_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

# Metric keys the stopping rule may name; the analysis catalog defines what each one means.
METRIC_KEYS = (
    "TOK_IN",
    "TOK_OUT",
    "CACHED_TOKENS",
    "API_CALLS",
    "COST_USD",
    "T_WALL_seconds",
    "T_LLM_seconds",
    "CHECK_PASS_RATE",
)

# The analysis plan's choices, defined once; the analysis modules import them from here.
PAdjustMethod = Literal["holm", "sidak", "bonferroni", "none"]
P_ADJUST_METHODS: tuple[str, ...] = get_args(PAdjustMethod)
# The interval of a mean from 30 runs on. "bootstrap-t" (the default since it covers skewed data
# best, BCa when bootstrap-t is erratic); "bca" and "percentile" are those intervals there, as
# designs made before bootstrap-t existed pre-registered them (analysis/mean_interval.py).
CIMethod = Literal["bootstrap-t", "bca", "percentile"]
CI_METHODS: tuple[str, ...] = get_args(CIMethod)
# The resampling intervals of bootstrap_ci.py (bootstrap-t is mean_interval.py's own).
BootstrapMethod = Literal["bca", "percentile"]
BOOTSTRAP_METHODS: tuple[str, ...] = get_args(BootstrapMethod)

# Placeholders a command framework's templates may use; anything else in braces is a typo.
STEP_PLACEHOLDERS = frozenset(
    {
        "prompt_file",
        "prompt",
        "workspace",
        "model",
        "base_url",
        "api_key",
        "step_id",
        "step_index",
        "hitl_file",
        "env",
        "python",
    }
)
SETUP_PLACEHOLDERS = frozenset({"env", "python", "source"})

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
EnvVarName = Annotated[str, StringConstraints(pattern=ENV_VAR_PATTERN)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True)


class ProviderConfig(StrictModel):
    """Where LLM calls go. Keys are never stored: only the names of environment variables."""

    kind: Literal["sim", "openai"] = "sim"
    base_url: str | None = None
    api_key_env: EnvVarName = "OPENAI_API_KEY"
    admin_key_env: EnvVarName | None = "OPENAI_ADMIN_KEY"
    model_policy: Literal["rewrite", "reject", "record"] = "rewrite"

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http(s) URL such as https://api.openai.com/v1")
        return value.rstrip("/") if value else value


class SamplingConfig(StrictModel):
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)


class BuiltinFrameworkConfig(StrictModel):
    """baes's reference agent: `single` call per step, `plan` then code, or `repair` on failed checks."""

    adapter: Literal["builtin"]
    mode: Literal["single", "plan", "repair"] = "single"
    repair_rounds: int = Field(2, ge=0, le=10)


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


class CommandFrameworkConfig(StrictModel):
    """Any command-line framework: a setup run once per machine, then one command per step."""

    adapter: Literal["command"]
    setup: list[str] = Field(default_factory=list)
    step: str = Field(min_length=1)
    env: dict[EnvVarName, str] = Field(default_factory=dict)
    # Where setup fetches the framework's code from (a git URL or local path), substituted for
    # `{source}` in setup; BAES_SOURCE_<NAME> replaces it on one machine (frameworks/sources.py).
    # Setup must pin what it fetches (`git checkout <full commit id>`): the source says where
    # those bytes came from, not which, so it is left out of the design hash (config/canonical.py).
    source: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _known_placeholders(self) -> CommandFrameworkConfig:
        def check(templates: list[str], allowed: frozenset[str], where: str) -> None:
            for template in templates:
                try:
                    unknown = _placeholders(template) - allowed
                except ValueError as exc:
                    raise ValueError(f"{where}: malformed template {template!r}: {exc}") from None
                if unknown:
                    raise ValueError(
                        f"{where}: unknown placeholder(s) {', '.join(sorted(unknown))}; "
                        f"allowed: {', '.join(sorted(allowed))}"
                    )

        check(self.setup, SETUP_PLACEHOLDERS, "setup")
        check([self.step], STEP_PLACEHOLDERS, "step")
        check(list(self.env.values()), STEP_PLACEHOLDERS, "env")
        uses_source = any("source" in _placeholders(command) for command in self.setup)
        if self.source is not None and not uses_source:
            raise ValueError("`source` is set but no setup command uses {source}")
        if self.source is None and uses_source:
            raise ValueError("setup uses {source} but `source` is not set")
        return self


FrameworkConfig = Annotated[
    BuiltinFrameworkConfig | CommandFrameworkConfig, Field(discriminator="adapter")
]


class StepConfig(StrictModel):
    id: Annotated[str, StringConstraints(pattern=STEP_ID_PATTERN)]
    prompt: str = Field(min_length=1)
    check: str | None = None
    # What the check itself imports, as pip requirement specifiers ("fastapi>=0.110"); baes runs
    # the check where they are installed (frameworks/check_envs.py).
    check_requires: list[str] = Field(default_factory=list)

    @field_validator("check_requires")
    @classmethod
    def _requirements(cls, requirements: list[str]) -> list[str]:
        if not requirements:
            return requirements
        from packaging.requirements import InvalidRequirement, Requirement

        for text in requirements:
            try:
                Requirement(text)
            except InvalidRequirement as exc:
                # packaging's message spans lines (it draws a caret under the text): keep its gist.
                detail = str(exc).splitlines()[0]
                raise ValueError(
                    f"{text!r} is not a pip requirement such as 'fastapi' or 'httpx>=0.27' "
                    f"({detail})"
                ) from None
        return requirements

    @model_validator(mode="after")
    def _requires_a_check(self) -> StepConfig:
        if self.check_requires and self.check is None:
            raise ValueError(f"step {self.id!r}: check_requires is set but the step has no check")
        return self


class ScenarioConfig(StrictModel):
    """The steps every framework is given, in order, with the same prompt text."""

    name: str = Field(min_length=1)
    hitl: str | None = None
    steps: list[StepConfig] = Field(min_length=1)

    @field_validator("steps")
    @classmethod
    def _unique_ids(cls, steps: list[StepConfig]) -> list[StepConfig]:
        seen: set[str] = set()
        for step in steps:
            if step.id in seen:
                raise ValueError(
                    f"step id {step.id!r} appears more than once; step ids must be unique"
                )
            seen.add(step.id)
        return steps


class RunsConfig(StrictModel):
    """Repetitions per framework: at least `min`, at most `max` (the stopping rule decides between)."""

    min: int = Field(5, ge=1)
    max: int = Field(20, ge=1)

    @model_validator(mode="after")
    def _min_le_max(self) -> RunsConfig:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        return self


class StoppingRuleConfig(StrictModel):
    enabled: bool = True
    confidence: float = Field(0.95, gt=0.0, lt=1.0)
    max_half_width_pct: float = Field(10.0, gt=0.0)
    # Bounded fractions (CHECK_PASS_RATE) use an absolute half-width: ±10 % of a pass rate of
    # 0.05 is meaningless, and near 1 a relative rule would accept far too wide an interval.
    # At most 0.2: a wider interval says little, and 5 all-pass runs (Wilson half-width 0.217)
    # can then never converge, whatever the design says.
    max_half_width_abs: float = Field(0.05, gt=0.0, le=0.2)
    metrics: list[Literal[METRIC_KEYS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["TOK_IN", "TOK_OUT"], min_length=1
    )


class LimitsConfig(StrictModel):
    step_timeout_s: float = Field(1800.0, gt=0.0)
    run_timeout_s: float = Field(7200.0, gt=0.0)
    max_cost_usd: float | None = Field(25.0, ge=0.0)
    max_consecutive_failures: int = Field(3, ge=1)


class ModelPrice(StrictModel):
    """USD per 1M tokens. `cached_input` None: cached input tokens cost the input price."""

    input: float = Field(ge=0.0)
    cached_input: float | None = Field(None, ge=0.0)
    output: float = Field(ge=0.0)


class AnalysisConfig(StrictModel):
    alpha: float = Field(0.05, gt=0.0, lt=1.0)
    p_adjust: PAdjustMethod = "holm"
    bootstrap_samples: int = Field(10_000, ge=100, le=1_000_000)
    ci_method: CIMethod = "bootstrap-t"
    # The planned headline contrast [A, B] (two frameworks); None: the first two frameworks.
    primary_contrast: list[Name] | None = Field(None, min_length=2, max_length=2)

    @field_validator("primary_contrast")
    @classmethod
    def _two_different(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and value[0] == value[1]:
            raise ValueError(f"must name two different frameworks, got {value[0]!r} twice")
        return value


# Default settle times of `baes reconcile` by provider kind (ReconcileConfig.settle_seconds_for).
REAL_PROVIDER_SETTLE_SECONDS = 900.0
SIMULATOR_SETTLE_SECONDS = 5.0


class ReconcileConfig(StrictModel):
    """How `baes reconcile` cross-checks the metered usage against the provider's usage API."""

    # Real providers publish usage minutes late and may revise it; data is trusted once two reads
    # this far apart agree. None: by provider kind (settle_seconds_for). At least 10 minutes for a
    # real provider (tests use a fraction of a second).
    settle_seconds: float | None = Field(None, gt=0.0)
    tolerance_requests: int = Field(0, ge=0)
    tolerance_tokens_pct: float = Field(1.0, ge=0.0, le=100.0)
    clock_skew_s: float = Field(5.0, ge=0.0, le=60.0)
    api_key_id: Annotated[str, StringConstraints(pattern=r"^\S+$")] | None = None
    project_id: Annotated[str, StringConstraints(pattern=r"^\S+$")] | None = None
    request_timeout_s: float = Field(30.0, gt=0.0)
    retry_deadline_s: float = Field(120.0, gt=0.0)

    def settle_seconds_for(self, provider_kind: str) -> float:
        """The settle time in force: the stated one, else the provider kind's default.

        The simulator writes its usage records as it answers and never revises them, so a few
        seconds settle it; a real provider publishes usage minutes late and keeps 15 minutes.
        """
        if self.settle_seconds is not None:
            return self.settle_seconds
        return SIMULATOR_SETTLE_SECONDS if provider_kind == "sim" else REAL_PROVIDER_SETTLE_SECONDS


class ExperimentConfig(StrictModel):
    """One frozen experiment design."""

    schema_version: Literal[1] = SCHEMA_VERSION
    name: Name
    description: str = ""
    model: str = Field(min_length=1)
    provider: ProviderConfig = Field(default_factory=ProviderConfig)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    frameworks: dict[Name, FrameworkConfig] = Field(min_length=1)
    scenario: ScenarioConfig
    runs: RunsConfig = Field(default_factory=RunsConfig)
    stopping_rule: StoppingRuleConfig = Field(default_factory=StoppingRuleConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    pricing: dict[str, ModelPrice] = Field(default_factory=dict)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    reconcile: ReconcileConfig = Field(default_factory=ReconcileConfig)
    # Keep every LLM call's request and answer in runs/<fw>/<run_id>/transcript.jsonl.gz
    # (docs/metering.md, "Transcripts"). Hashed: the default leaves existing hashes unchanged.
    record_transcripts: bool = True

    @model_validator(mode="after")
    def _model_has_price(self) -> ExperimentConfig:
        if self.model not in self.pricing:
            priced = ", ".join(sorted(self.pricing)) or "none"
            raise ValueError(
                f"model {self.model!r} has no price in `pricing` (priced: {priced}); add "
                f"pricing.{self.model}: {{input, cached_input, output}} in USD per 1M tokens"
            )
        return self

    @model_validator(mode="after")
    def _primary_contrast_names_frameworks(self) -> ExperimentConfig:
        planned = self.analysis.primary_contrast
        unknown = [f for f in planned or [] if f not in self.frameworks]
        if unknown:
            raise ValueError(
                f"analysis.primary_contrast names {', '.join(map(repr, unknown))}, which is not "
                f"a framework of this design ({', '.join(self.frameworks)})"
            )
        return self

    @model_validator(mode="after")
    def _provider_matches_model(self) -> ExperimentConfig:
        if (
            self.provider.kind == "openai"
            and self.model.startswith("sim-")
            and not self.provider.base_url
        ):
            raise ValueError(
                f"model {self.model!r} is a simulator model but provider.kind is 'openai'; "
                "use provider.kind: sim"
            )
        return self

    @property
    def runs_target(self) -> int:
        """Runs the design asks for at most: `runs.max` for every framework."""
        return self.runs.max * len(self.frameworks)
