"""analysis/stats.json: the statistics `baes analyze` and `baes compare` computed.

The analysis builds stats.json as a dict and validates it against this model before writing
(baes.analysis.analyze.finish_analysis): the contract is enforced and documented here, and the
report package reads the validated dump (`model_dump(mode="json", exclude_unset=True)`, the same
keys the builder wrote). Keys that only some analyses have (compare's, a group without values,
a skipped test) are optional fields: absent when the builder did not write them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from baes.records.base import Record

# Optional keys: present in some analyses only. They default to None and are left out of the
# dump when the builder did not set them (exclude_unset), so the file keeps its exact keys.
_OPTIONAL = Field(default=None)


class Plan(Record):
    """The analysis plan used (pre-registered in the design, or baes's default for a CSV)."""

    alpha: float
    """Significance level."""
    p_adjust: str
    """Multiple-comparison adjustment of the pairwise p-values (holm, bh, ...)."""
    ci_method: str
    """Confidence-interval method asked for (auto, t, bootstrap, ...)."""
    bootstrap_samples: int
    """Bootstrap resamples."""
    confidence: float
    """Confidence level of the intervals."""
    seed: int
    """Seed of every resampling and simulation."""
    max_half_width_pct: float
    """Stopping rule: the largest relative CI half-width (percent of the mean) that converges."""
    max_half_width_abs: float
    """Stopping rule for bounded fractions: the largest absolute CI half-width that converges."""
    stopping_metrics: list[str]
    """Metrics the stopping rule watches."""
    primary_contrast: list[str] | None
    """The planned primary contrast [A, B]; null: the first two groups."""


class MetricInfo(Record):
    """What a metric is."""

    name: str
    """Human name."""
    unit: str | None
    """Unit of its values; null for a metric baes does not know (from a CSV)."""
    direction: str | None
    """`lower` or `higher` is better; null when neither."""
    description: str | None
    """How it is measured; null for a metric baes does not know (from a CSV)."""


class Descriptive(Record):
    """Descriptive statistics and confidence interval of one group's values."""

    n: int
    """Values."""
    mean: float | None
    """Mean; null without values."""
    median: float | None
    """Median; null without values."""
    std: float | None
    """Sample standard deviation; null with fewer than 2 values."""
    std_reason: str | None = _OPTIONAL
    """Why `std` is null."""
    q1: float | None
    """First quartile."""
    q3: float | None
    """Third quartile."""
    min: float | None
    """Smallest value."""
    max: float | None
    """Largest value."""
    ci_low: float | None
    """Lower bound of the confidence interval of the mean; null when none."""
    ci_high: float | None
    """Upper bound of the confidence interval of the mean; null when none."""
    ci_method: str | None
    """Interval method actually used (t, bootstrap-bca, wilson, ...; docs/analysis.md)."""
    ci_reason: str | None = _OPTIONAL
    """Why there is no interval, or why this method was used."""
    outliers: list[float]
    """Values beyond 1.5 IQR from the quartiles (reported, never removed)."""
    reason: str | None = _OPTIONAL
    """Why the group has no statistics (e.g. no measurable value)."""


class Omnibus(Record):
    """The omnibus test across the groups (Kruskal-Wallis for 3 or more)."""

    test: str | None
    """Test name; null when skipped."""
    method: Literal["exact", "permutation", "asymptotic"] | None
    """How the p-value was computed; null when skipped."""
    statistic: float | None
    """Test statistic; null when skipped."""
    p: float | None
    """p-value; null when skipped."""
    skipped: str | None
    """Why the test was skipped; null when it ran."""


class Pair(Record):
    """One pairwise comparison of the family."""

    a: str
    """First group."""
    b: str
    """Second group."""
    test: str
    """Test (mannwhitney, dunn)."""
    method: Literal["exact", "permutation", "asymptotic"] | None
    """How the p-value was computed; null without p."""
    z: float | None
    """Dunn's z; null for Mann-Whitney."""
    p: float | None
    """Raw p-value; null with `p_reason`."""
    p_adj: float | None
    """p-value adjusted within the family."""
    significant: bool
    """Adjusted p <= alpha and, for 3 or more groups, omnibus p <= alpha."""
    p_reason: str | None = _OPTIONAL
    """Why there is no p-value."""
    cliffs_delta: float | None
    """Cliff's delta of a vs b."""
    cliffs_delta_ci: list[float | None] | None
    """[low, high] confidence interval of Cliff's delta."""
    cliffs_delta_ci_method: str | None
    """Method of that interval."""
    magnitude: str | None
    """negligible | small | medium | large."""
    effect_reason: str | None = _OPTIONAL
    """Why there is no effect size."""
    n_per_group_80pct_power: int | None = _OPTIONAL
    """Runs per group for 80 % power of baes's own procedure (simulated); null with a reason."""
    n_per_group_reason: str | None = _OPTIONAL
    """Why the simulated sample size is null."""
    n_per_group_formula: int | None = _OPTIONAL
    """The textbook formula's sample size, for comparison."""
    family: str | None = _OPTIONAL
    """compare: the family the pair was tested in."""


class Stopping(Record):
    """The stopping rule's verdict on one group: exactly one of the two half-widths."""

    half_width_pct: float | None = _OPTIONAL
    """Relative CI half-width, percent of the mean (unbounded metrics)."""
    half_width_abs: float | None = _OPTIONAL
    """Absolute CI half-width (bounded fractions)."""
    converged: bool
    """True when the half-width is within the rule's limit."""
    reason: str | None = _OPTIONAL
    """Why it did or could not converge."""


class Contrast(Record):
    """The planned primary contrast the report's headline quotes."""

    a: str
    """First group."""
    b: str
    """Second group."""


class FamilyBlock(Record):
    """compare: the omnibus test of one family of groups."""

    name: str
    """The family (a framework, or `all groups`)."""
    groups: list[str]
    """Its groups."""
    omnibus: Omnibus
    """Its omnibus test."""
    family: str
    """Its adjustment, in words."""


class MetricBlock(Record):
    """The statistics of one metric."""

    descriptives: dict[str, Descriptive]
    """Per group."""
    omnibus: Omnibus
    """The omnibus test."""
    pairwise: list[Pair]
    """Pairwise comparisons of the tested family."""
    stopping: dict[str, Stopping]
    """Per group, the stopping rule's verdict."""
    primary_contrast: Contrast | None
    """The planned primary contrast; null with fewer than 2 groups."""
    primary_contrast_reason: str | None = _OPTIONAL
    """Why the planned contrast is not used for this metric."""
    family: str
    """The adjustment family in words (e.g. `all pairs of 3 groups (3 comparisons), holm`)."""
    families: list[FamilyBlock] | None = _OPTIONAL
    """compare: the omnibus test per family."""


class Failure(Record):
    """Runs that failed with one error kind."""

    count: int
    """How many."""
    example: str | None
    """One of their error messages."""


class SuccessRate(Record):
    """Run outcomes of one group."""

    attempted: int
    """Runs attempted."""
    completed: int
    """Runs completed."""
    failed: int
    """Runs failed."""
    interrupted: int
    """Runs interrupted."""
    running: int
    """Runs still running."""
    success_rate: float | None
    """completed / attempted; null without runs."""
    failure_reasons: dict[str, Failure]
    """Failed runs by error kind."""


class Coverage(Record):
    """Usage-verification states of completed runs."""

    completed_runs: int
    """Completed runs."""
    states: dict[str, int]
    """Runs per verification state."""
    verified_share: float | None
    """verified / completed; null without completed runs."""


class VerificationCoverage(Record):
    """How much of the usage `baes reconcile` verified."""

    overall: Coverage
    """Over every group."""
    groups: dict[str, Coverage]
    """Per group."""


class CheckErrors(Record):
    """Checks of one group the harness could not run."""

    checks: int
    """Errored checks."""
    runs: int
    """Runs with an errored check."""
    reasons: dict[str, int]
    """Errored checks per reason."""


class Figure(Record):
    """A figure of the report."""

    file: str
    """Path under the analysis folder."""
    title: str
    """Title."""
    metric: str | None
    """The metric it shows; null for figures of several."""
    skipped: str | None
    """Why it was not drawn; null when it was."""


class StatsRecord(Record):
    """analysis/stats.json of `baes analyze` (an experiment or a CSV) or `baes compare`."""

    SCHEMA_VERSION = 2

    schema_version: Literal[2] = 2
    """Version of this file's format (2: p-value methods, effect-size intervals, simulated
    sample sizes, per-group interval methods, primary contrast, family)."""
    created_with: str
    """The baes version that wrote it."""
    plan: Plan
    """The analysis plan used."""
    groups: list[str]
    """The groups in design order (`experiment/framework` for compare)."""
    metric_info: dict[str, MetricInfo]
    """The analysed metrics, in order."""
    source: dict[str, Any]
    """What was analysed: {kind: experiment, experiment}, {kind: csv, file, rows} or
    {kind: compare, experiments}."""
    design: dict[str, Any] | None = _OPTIONAL
    """analyze of an experiment: the design facts (model, provider, frameworks, scenario, runs,
    stopping rule, config hash, pricing)."""
    experiments: dict[str, dict[str, Any]] | None = _OPTIONAL
    """compare: each experiment's design facts."""
    design_diff: list[dict[str, Any]] | None = _OPTIONAL
    """compare: the design fields that differ between the experiments."""
    selection: dict[str, Any]
    """Which runs and metrics were analysed, and the partial analysis' slug (null: full)."""
    contrasts: str | None = _OPTIONAL
    """compare: which groups were tested against each other (null: the default)."""
    families: list[dict[str, Any]] | None = _OPTIONAL
    """compare: the contrast families {name, groups, pairs}."""
    not_compared: list[dict[str, Any]] | None = _OPTIONAL
    """compare: groups in no family, with the reason."""
    deviations: list[dict[str, Any]]
    """Deviations from the pre-registered plan {field, planned, used}."""
    plan_notes: list[str] | None = _OPTIONAL
    """compare: experiments whose pre-registered plans differ."""
    n_runs: dict[str, int]
    """Runs analysed per group."""
    excluded_groups: dict[str, str] | None = _OPTIONAL
    """Groups left out of the statistics, with the reason."""
    success_rates: dict[str, SuccessRate] | None = _OPTIONAL
    """Run outcomes per group (not for a CSV)."""
    verification_coverage: VerificationCoverage | None = _OPTIONAL
    """How much of the usage was verified (not for a CSV)."""
    exclusions: dict[str, dict[str, dict[str, int]]]
    """Per metric and group, runs without a value by reason."""
    problems: list[str] | None = _OPTIONAL
    """Run records left out, and why."""
    check_errors: dict[str, CheckErrors] | None = _OPTIONAL
    """Per group, the checks the harness could not run."""
    step_checks: dict[str, dict[str, dict[str, int]]] | None = _OPTIONAL
    """Per group and step, the analysed runs' checks by outcome."""
    metrics: dict[str, MetricBlock]
    """The statistics per metric."""
    figures: list[Figure]
    """The report's figures."""
