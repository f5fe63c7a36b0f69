"""`baes new`: validate, freeze and register a new experiment design."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from baes.cli.completion import complete_experiment_names, complete_frameworks, complete_scenarios
from baes.cli.console import err, out, reports_errors
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


def _ask_missing(missing: list[str], overrides: DesignOverrides) -> None:
    """Ask for each missing value on the terminal, with choices and defaults."""
    from rich.prompt import Prompt

    from baes.config.presets import framework_names, scenario_names
    from baes.config.pricing import shipped_price_table
    from baes.store.paths import validate_name

    for key in missing:
        if key == "name":
            while True:
                value = Prompt.ask("Experiment name", console=err)
                try:
                    overrides.name = validate_name(value)
                    break
                except Exception as exc:  # noqa: BLE001 - re-ask on any invalid name
                    err.print(f"[red]{escape(str(exc))}[/]")
        elif key == "model":
            for block in shipped_price_table():
                label = (
                    "fictional, simulator" if block.fictional else f"prices of {block.prices_as_of}"
                )
                err.print(f"[dim]{block.provider} ({label}): {', '.join(block.models)}[/]")
            overrides.model = Prompt.ask("Model", default="sim-small", console=err)
        elif key == "frameworks":
            err.print(f"[dim]framework presets: {', '.join(framework_names())}[/]")
            answer = Prompt.ask("Frameworks (comma-separated)", default="reference", console=err)
            overrides.frameworks = _split_frameworks(answer)
        elif key == "scenario":
            overrides.scenario = Prompt.ask(
                "Scenario", choices=scenario_names(), default="hello", console=err
            )


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
        str | None, typer.Option(help="Model every framework uses, e.g. gpt-4.1-mini or sim-small.")
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
    runs: Annotated[int | None, typer.Option(min=1, help="Maximum runs per framework.")] = None,
    min_runs: Annotated[
        int | None, typer.Option("--min-runs", min=1, help="Minimum runs per framework.")
    ] = None,
    provider: Annotated[
        str | None, typer.Option(help="sim, openai, or an OpenAI-compatible base URL.")
    ] = None,
    description: Annotated[
        str | None, typer.Option(help="Free text describing the experiment.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(min=0, help="Seed of run order, simulator and bootstrap.")
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
    from baes.config.builder import DesignOverrides, build_design, missing_values
    from baes.errors import InputError
    from baes.experiment.create import create_experiment
    from baes.store.errors import ExperimentExistsError
    from baes.store.paths import ExperimentPaths, resolve_root, validate_name

    root_dir = resolve_root(root)
    base, source = _base_document(config, from_, root_dir)
    if name is None and base.get("name") and from_ is None:
        name = str(base["name"])
    overrides = DesignOverrides(
        name=validate_name(name) if name is not None else None,
        description=description,
        model=model,
        frameworks=_split_frameworks(frameworks),
        scenario=scenario,
        runs=runs,
        min_runs=min_runs,
        provider=provider,
        seed=seed,
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
        _ask_missing(missing, overrides)
        asked = True

    design = build_design(base, overrides, source)
    if asked and not yes:
        err.print("\n[bold]New experiment[/]")
        for line in design_summary_lines(design):
            err.print("  " + line)
        if not typer.confirm("Create it?", default=True, err=True):
            err.print("nothing written")
            raise typer.Exit(1)

    paths = create_experiment(root_dir, design)
    from baes.config.canonical import design_hash

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
