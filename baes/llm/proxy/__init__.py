"""The metering proxy: a local OpenAI-compatible reverse proxy that records every LLM call.

    with MeteringProxy("http://127.0.0.1:1234/v1", experiment_model="sim-small") as proxy:
        base_url = proxy.open_attribution(run_id, "01-setup", run_dir / "usage.jsonl")
        ...  # the framework runs with OPENAI_BASE_URL=base_url
        proxy.close_attribution(base_url)

See docs/metering.md for the ledger format, the model-parity policy and the budget.
"""

from baes.llm.proxy.app import ModelPolicy
from baes.llm.proxy.errors import (
    InvalidUpstreamError,
    MissingApiKeyError,
    ProxyConfigError,
    ProxyNotRunningError,
    ProxyStartError,
    UnknownAttributionError,
)
from baes.llm.proxy.server import MeteringProxy, validate_upstream
from baes.llm.proxy.tokens import ClosedAttribution
from baes.llm.proxy.usage import StreamMeter, Usage, parse_usage, usage_from_payload

__all__ = [
    "ClosedAttribution",
    "InvalidUpstreamError",
    "MeteringProxy",
    "MissingApiKeyError",
    "ModelPolicy",
    "ProxyConfigError",
    "ProxyNotRunningError",
    "ProxyStartError",
    "StreamMeter",
    "UnknownAttributionError",
    "Usage",
    "parse_usage",
    "usage_from_payload",
    "validate_upstream",
]
