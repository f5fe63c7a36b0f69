"""`baes sim serve`: the embedded OpenAI-compatible simulator as a foreground server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from baes.cli.console import reports_errors
from baes.cli.serving import stop_on_signals, wait_until

app = typer.Typer(
    help="The embedded OpenAI-compatible simulator: offline, deterministic, metered.",
    no_args_is_help=True,
)


@app.callback()
def sim() -> None:
    """The embedded OpenAI-compatible simulator: offline, deterministic, metered."""


@app.command()
@reports_errors
def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; keep the loopback default.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to bind; 0 picks a free one.")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Seed of every answer, defect and fault.")] = 0,
    latency_ms: Annotated[float, typer.Option(help="Base latency of each call.")] = 0,
    latency_per_token_ms: Annotated[
        float, typer.Option(help="Latency per output token (times the model's factor).")
    ] = 0,
    error_rate: Annotated[float, typer.Option(help="Fraction of calls answered 500.")] = 0,
    rate_limit_rate: Annotated[float, typer.Option(help="Fraction of calls answered 429.")] = 0,
    usage_lag_s: Annotated[
        float, typer.Option(help="Seconds before a call shows in the usage API.")
    ] = 0,
    admin_key: Annotated[
        str | None, typer.Option(help="Admin key of the usage API; generated when omitted.")
    ] = None,
    usage_log: Annotated[
        Path | None,
        typer.Option(
            help="Keep the usage records in this JSONL file (appended, reloaded on start), so "
            "the usage API survives a restart; default: in memory only.",
            dir_okay=False,
        ),
    ] = None,
    prompt_cache_scope: Annotated[
        str,
        typer.Option(
            help="Who shares cached prompt prefixes: 'key' (every call of an API key, as at a "
            "real provider) or 'run' (each baes run on its own)."
        ),
    ] = "key",
    prompt_cache_ttl_s: Annotated[
        float | None,
        typer.Option(
            help="Seconds a cached prompt prefix lives after its last use; default: while the "
            "simulator runs."
        ),
    ] = None,
) -> None:
    """Serve the simulator until Ctrl-C. The first line printed is the base URL (…/v1)."""
    # Imported here so `baes --help` never loads the server stack.
    from baes.errors import InputError, WorkError
    from baes.simulator import Simulator, SimulatorOptions, SimulatorOptionsError
    from baes.simulator.api.running import RunningSimulator

    try:
        options = SimulatorOptions(
            seed=seed,
            latency_ms=latency_ms,
            latency_per_token_ms=latency_per_token_ms,
            error_rate=error_rate,
            rate_limit_rate=rate_limit_rate,
            usage_lag_s=usage_lag_s,
            admin_key=admin_key,
            usage_log=usage_log,
            prompt_cache_scope=prompt_cache_scope,  # type: ignore[arg-type]  # checked there
            prompt_cache_ttl_s=prompt_cache_ttl_s,
        )
    except SimulatorOptionsError as error:
        raise InputError(str(error), "see `baes sim serve --help` for the valid ranges") from None
    if usage_log is not None:
        # Refused now rather than answering every call with a 500 once it must be appended to.
        try:
            usage_log.parent.mkdir(parents=True, exist_ok=True)
            usage_log.open("ab").close()
        except OSError as error:
            raise WorkError(
                f"cannot append to the usage log {usage_log}: {error.strerror or error}"
            ) from None
    # Ctrl-C and a service manager's SIGTERM both end the server cleanly with exit code 0.
    with stop_on_signals() as stopped:
        # A bad host or port is an input error (exit 2), a port in use failed work (exit 1).
        running = RunningSimulator(Simulator(options), host=host, port=port).start()
        typer.echo(running.base_url)
        if admin_key is None:
            typer.echo(f"admin key: {running.admin_key}")
        typer.echo("Simulator running; press Ctrl-C to stop.", err=True)
        try:
            wait_until(stopped)
        finally:
            running.stop()
