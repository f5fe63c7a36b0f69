"""`baes proxy serve`: the metering proxy on its own, to meter any tool by hand."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from baes.cli.completion import complete_models
from baes.cli.console import err, reports_errors
from baes.cli.serving import stop_on_signals, wait_until

app = typer.Typer(
    help="The metering proxy: meter the LLM calls of any OpenAI-compatible tool.",
    no_args_is_help=True,
)


class ModelPolicyChoice(StrEnum):
    rewrite = "rewrite"
    reject = "reject"
    record = "record"


@app.callback()
def proxy() -> None:
    """The metering proxy: meter the LLM calls of any OpenAI-compatible tool."""


@app.command()
@reports_errors
def serve(
    upstream: Annotated[
        str,
        typer.Option(
            help="Base URL the calls go to, e.g. https://api.openai.com/v1.", show_default=False
        ),
    ],
    ledger: Annotated[
        Path, typer.Option(help="usage.jsonl to append one line per call to.", show_default=False)
    ],
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1; 0 = free.")] = 0,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            help="Environment variable holding the real API key; it replaces the tool's key. "
            "Omitted: the tool's own Authorization is passed on.",
            show_default=False,
        ),
    ] = None,
    run_id: Annotated[str, typer.Option(help="run_id written in the ledger.")] = "manual",
    step: Annotated[str, typer.Option(help="step written in the ledger.")] = "manual",
    model: Annotated[
        str | None,
        typer.Option(
            help="The model calls must use (model-parity policy).",
            show_default=False,
            autocompletion=complete_models,
        ),
    ] = None,
    model_policy: Annotated[
        ModelPolicyChoice,
        typer.Option(help="With --model: rewrite other models, reject them, or only record."),
    ] = ModelPolicyChoice.rewrite,
    transcript: Annotated[
        bool,
        typer.Option(
            help="Also keep each call's request and answer in transcript.jsonl.gz beside the "
            "ledger, as `baes run` does (redacted, bounded; docs/view.md).",
        ),
    ] = False,
) -> None:
    """Serve until Ctrl-C. The first line printed is the base URL to give the tool."""
    # Imported here so `baes --help` never loads the server stack.
    from rich.markup import escape

    from baes.errors import InputError
    from baes.llm.proxy import MeteringProxy

    if ledger.is_dir():
        # Checked before the proxy starts; opening it would fail as "failed work" (exit 1).
        raise InputError(
            f"--ledger {ledger} is a directory; give the usage.jsonl file to append to",
            hint=f"e.g. --ledger {ledger / 'usage.jsonl'}",
        )
    metering = MeteringProxy(
        upstream,
        api_key_env=api_key_env,
        experiment_model=model,
        model_policy=model_policy.value,
        port=port,
        record_transcripts=transcript,
    ).start()
    # Ctrl-C and a service manager's SIGTERM both stop cleanly with exit code 0.
    with stop_on_signals() as stopped:
        try:
            base_url = metering.open_attribution(run_id, step, ledger)
            # The first stdout line is the contract: scripts read it to find the proxy.
            typer.echo(base_url)
            sys.stdout.flush()
            err.print(
                f"[dim]metering calls to {escape(str(metering.upstream_base_url))} into "
                f"{escape(str(ledger))}; set OPENAI_BASE_URL to the URL above; Ctrl-C to stop[/]"
            )
            wait_until(stopped)
        finally:
            metering.stop()  # fsyncs the ledger
