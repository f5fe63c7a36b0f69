"""`baes new`: validate, freeze and register a new experiment design."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from baes.cli.completion import (
    complete_experiment_names,
    complete_frameworks,
    complete_models,
    complete_providers,
    complete_scenarios,
)
from baes.cli.console import err, out, print_warning, reports_errors
from baes.cli.options import JsonOption, RootOption

if TYPE_CHECKING:
    from baes.config.builder import DesignOverrides
    from baes.config.models import ExperimentConfig


def _is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _split_frameworks(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


class _Cancelled(Exception):
    """The user pressed Ctrl-C or Ctrl-D at a prompt."""


def _prompt(question: str, default: str | None = None) -> str:
    """One answer from the terminal; Ctrl-C or end of input cancels the whole command."""
    from rich.prompt import Prompt

    try:
        if default is None:
            return Prompt.ask(question, console=err)
        return Prompt.ask(question, default=default, console=err)
    except (KeyboardInterrupt, EOFError):
        raise _Cancelled from None


def _ask_until_valid(question: str, default: str | None, check: Any) -> Any:
    """Ask until `check(answer)` returns without an InputError; each refusal is one red line."""
    from baes.errors import InputError

    while True:
        answer = _prompt(question, default)
        try:
            return check(answer.strip())
        except InputError as exc:
            err.print(f"[red]{escape(exc.message)}[/]")


def _positive_int(text: str, what: str) -> int:
    from baes.errors import InputError

    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{what} must be a whole number, not {text!r}") from None
    if value < 1:
        raise InputError(f"{what} must be at least 1, not {value}")
    return value


def _number_option(value: str | None, flag: str, *, integer: bool, minimum: float) -> Any:
    """A numeric flag parsed here, so a wrong value is one red line (exit 2), not a usage box."""
    from baes.errors import InputError

    if value is None:
        return None
    try:
        number: float = int(value) if integer else float(value)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise InputError(f"{flag} must be {kind}, not {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")) or number < minimum:
        raise InputError(f"{flag} must be at least {minimum:g}, not {value}")
    return number


def _ask_missing(
    missing: list[str], overrides: DesignOverrides, base: dict[str, Any], root: Path
) -> None:
    """Ask for each missing value on the terminal, checking every answer as it is given."""
    from baes.config.presets import framework_names, scenario_document, scenario_names
    from baes.config.pricing import shipped_price, shipped_price_table
    from baes.errors import InputError
    from baes.store.paths import ExperimentPaths, validate_name

    def check_name(answer: str) -> str:
        name = validate_name(answer)
        if ExperimentPaths(root, name).dir.exists():
            raise InputError(f"experiment {name!r} already exists in {root}; choose another name")
        return name

    def check_model(answer: str) -> str:
        if not answer:
            raise InputError("a model is required")
        priced_here = answer in (base.get("pricing") or {}) or overrides.price_input is not None
        if not priced_here:
            try:
                shipped_price(answer)
            except InputError as exc:
                raise InputError(
                    f"{exc.message}; pick a priced model, or quit (Ctrl-C) and price it with "
                    "--price-input and --price-output (USD per 1M tokens)"
                ) from None
        return answer

    known_frameworks = list(framework_names()) + [
        n for n in (base.get("frameworks") or {}) if n not in framework_names()
    ]

    def check_frameworks(answer: str) -> list[str]:
        names = _split_frameworks(answer) or []
        if not names:
            raise InputError("give at least one framework")
        unknown = [n for n in names if n not in known_frameworks]
        if unknown:
            raise InputError(
                f"unknown framework preset {', '.join(map(repr, unknown))}; "
                f"valid: {', '.join(known_frameworks)}"
            )
        return names

    def check_scenario(answer: str) -> str:
        scenario_document(answer)  # a preset name or a readable scenario file, else InputError
        return answer

    runs_base = base.get("runs") or {}
    for key in missing:
        if key == "name":
            overrides.name = _ask_until_valid("Experiment name", None, check_name)
        elif key == "model":
            for block in shipped_price_table():
                label = (
                    "fictional, simulator" if block.fictional else f"prices of {block.prices_as_of}"
                )
                err.print(f"[dim]{block.provider} ({label}): {', '.join(block.models)}[/]")
            overrides.model = _ask_until_valid("Model", "sim-small", check_model)
        elif key == "frameworks":
            err.print(f"[dim]framework presets: {', '.join(known_frameworks)}[/]")
            overrides.frameworks = _ask_until_valid(
                "Frameworks (comma-separated)", "reference", check_frameworks
            )
        elif key == "scenario":
            from baes.config.builder import DEFAULT_SCENARIO

            err.print(f"[dim]scenario presets: {', '.join(scenario_names())}, or a YAML file[/]")
            overrides.scenario = _ask_until_valid("Scenario", DEFAULT_SCENARIO, check_scenario)
        elif key == "runs":
            default = str(runs_base.get("max", 20))
            overrides.runs = _ask_until_valid(
                "Runs per framework (at most)", default, lambda a: _positive_int(a, "runs")
            )
        elif key == "min_runs":
            ceiling = overrides.runs or runs_base.get("max", 20)
            default = str(min(runs_base.get("min", 5), ceiling))

            def check_min(answer: str, ceiling: int = ceiling) -> int:
                value = _positive_int(answer, "min-runs")
                if value > ceiling:
                    raise InputError(f"min-runs ({value}) must not exceed runs ({ceiling})")
                return value

            overrides.min_runs = _ask_until_valid(
                "Runs per framework before the stopping rule may stop it", default, check_min
            )
        elif key == "description":
            overrides.description = _prompt("Description", str(base.get("description") or ""))


def design_summary_lines(config: ExperimentConfig) -> list[str]:
    """The few lines a researcher checks before freezing a design."""
    budget = "none" if config.limits.max_cost_usd is None else f"${config.limits.max_cost_usd:g}"
    return [
        f"name        {config.name}",
        f"model       {config.model} (provider {config.provider.kind}"
        + (f", {config.provider.base_url})" if config.provider.base_url else ")"),
        f"frameworks  {', '.join(config.frameworks)}",
        f"scenario    {config.scenario.name} ({len(config.scenario.steps)} steps)",
        f"runs        {config.runs.min}..{config.runs.max} per framework, stopping rule "
        + ("on" if config.stopping_rule.enabled else "off"),
        f"budget      {budget}; seed {config.seed}",
    ]


def _base_document(config_path: Path | None, from_name: str | None, root: Path) -> tuple[Any, str]:
    """The design to start from and a label for messages."""
    from baes.config.yaml_io import load_yaml_file

    if config_path is not None and from_name is not None:
        from baes.errors import InputError

        raise InputError("give either --config or --from, not both")
    if config_path is not None:
        document = load_yaml_file(config_path)
        if document is not None and not isinstance(document, dict):
            from baes.config.yaml_io import ConfigError

            raise ConfigError(f"{config_path}: a design must be a YAML mapping of keys to values")
        return document or {}, str(config_path)
    if from_name is not None:
        from baes.experiment.load import inspect_experiment

        source = inspect_experiment(root, from_name)
        if source.config is None:
            from baes.config.yaml_io import ConfigError

            raise ConfigError(f"cannot copy {from_name!r}: {source.config_error}")
        document = source.config.model_dump(mode="json")
        document.pop("name")
        return document, f"design of {from_name}"
    return {}, "command line"


@reports_errors
def new(
    name: Annotated[
        str | None,
        typer.Argument(help="Name of the new experiment (a-z, 0-9, . _ -).", show_default=False),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Model every framework uses, e.g. gpt-4.1-mini or sim-small.",
            autocompletion=complete_models,
        ),
    ] = None,
    frameworks: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated framework presets (or framework names of --config/--from).",
            autocompletion=complete_frameworks,
        ),
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(
            help="Scenario preset name or path of a scenario YAML file.",
            autocompletion=complete_scenarios,
        ),
    ] = None,
    runs: Annotated[
        str | None, typer.Option(metavar="N", help="Maximum runs per framework.")
    ] = None,
    min_runs: Annotated[
        str | None, typer.Option("--min-runs", metavar="N", help="Minimum runs per framework.")
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(
            help="sim, openai, or an OpenAI-compatible base URL.",
            autocompletion=complete_providers,
        ),
    ] = None,
    description: Annotated[
        str | None, typer.Option(help="Free text describing the experiment.")
    ] = None,
    seed: Annotated[
        str | None,
        typer.Option(metavar="N", help="Seed of run order, simulator and bootstrap."),
    ] = None,
    price_input: Annotated[
        str | None,
        typer.Option(
            "--price-input",
            metavar="USD",
            help="Price of the model's input tokens, USD per 1M (a model baes has no price for).",
        ),
    ] = None,
    price_output: Annotated[
        str | None,
        typer.Option("--price-output", metavar="USD", help="Price of output tokens, USD per 1M."),
    ] = None,
    price_cached_input: Annotated[
        str | None,
        typer.Option(
            "--price-cached-input",
            metavar="USD",
            help="Price of cached input tokens, USD per 1M (default: the input price).",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="A full design file; flags override it.", dir_okay=False),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Copy the design of an existing experiment; flags override it.",
            autocompletion=complete_experiment_names,
        ),
    ] = None,
    root: RootOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Create an experiment: validate the design, freeze it (hash) and register it."""
    from baes.config.builder import (
        DesignOverrides,
        build_design,
        missing_values,
        optional_values,
    )
    from baes.errors import InputError
    from baes.experiment.create import create_experiment
    from baes.store.errors import ExperimentExistsError
    from baes.store.paths import ExperimentPaths, resolve_root, validate_name

    root_dir = resolve_root(root)
    base, source = _base_document(config, from_, root_dir)
    if name is None and base.get("name") and from_ is None:
        name = str(base["name"])
    if from_ is not None and description is None and base.get("description"):
        # The old description may name the old model or frameworks: mark it as copied.
        base["description"] = f"[copied from {from_}, model {base.get('model')}] " + str(
            base["description"]
        )
    overrides = DesignOverrides(
        name=validate_name(name) if name is not None else None,
        description=description,
        model=model,
        frameworks=_split_frameworks(frameworks),
        scenario=scenario,
        runs=_number_option(runs, "--runs", integer=True, minimum=1),
        min_runs=_number_option(min_runs, "--min-runs", integer=True, minimum=1),
        provider=provider,
        seed=_number_option(seed, "--seed", integer=True, minimum=0),
        price_input=_number_option(price_input, "--price-input", integer=False, minimum=0),
        price_output=_number_option(price_output, "--price-output", integer=False, minimum=0),
        price_cached_input=_number_option(
            price_cached_input, "--price-cached-input", integer=False, minimum=0
        ),
    )
    if overrides.name and ExperimentPaths(root_dir, overrides.name).dir.exists():
        raise ExperimentExistsError(
            f"experiment {overrides.name!r} already exists in {root_dir}",
            hint=f"choose another name, or start from its design: baes new NEW_NAME --from {overrides.name}",
        )

    missing = (["name"] if overrides.name is None else []) + missing_values(base, overrides)
    asked = False
    if missing:
        if not _is_interactive():
            flags = ", ".join("NAME" if key == "name" else f"--{key}" for key in missing)
            raise InputError(
                f"missing required values: {flags}",
                hint="give them as arguments, in a --config file, or run in a terminal to be asked",
            )
        # On a terminal, also ask for the optional values the design does not state yet.
        missing += [key for key in optional_values(base, overrides) if key not in missing]
        try:
            _ask_missing(missing, overrides, base, root_dir)
        except _Cancelled:
            err.print("\n[yellow]cancelled[/]: nothing written")
            raise typer.Exit(130) from None
        asked = True

    base_dir = config.parent if config is not None else None
    design = build_design(base, overrides, source, base_dir=base_dir)
    if asked and not yes:
        from rich.prompt import Confirm

        err.print("\n[bold]New experiment[/]")
        for line in design_summary_lines(design):
            err.print("  " + line)
        try:
            confirmed = Confirm.ask("Create it?", default=True, console=err)
        except (KeyboardInterrupt, EOFError):
            err.print("\n[yellow]cancelled[/]: nothing written")
            raise typer.Exit(130) from None
        if not confirmed:
            err.print("nothing written")
            raise typer.Exit(1)

    paths = create_experiment(root_dir, design)
    from baes.config.canonical import design_hash
    from baes.config.presets import preset_notices

    for notice in preset_notices(dict(design.frameworks), design.scenario.name):
        print_warning(notice)

    config_hash = design_hash(design)
    if json_output:
        import json

        out.print_json(
            json.dumps({"name": design.name, "path": str(paths.dir), "config_hash": config_hash})
        )
        return
    out.print(f"[green]created[/] experiment [bold]{design.name}[/] in {paths.dir}")
    for line in design_summary_lines(design)[1:]:
        out.print("  " + line)
    out.print(f"  hash        {config_hash}")
    root_flag = "" if root is None else escape(f" --root {root_dir}")
    out.print(f"next: [bold]baes show {design.name}{root_flag}[/]")
