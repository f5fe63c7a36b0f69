"""OpenAI-compatible plumbing shared by the metering proxy and the simulator: the usage ledger and
its cost, the loopback server, the error envelope; and the proxy itself (baes.llm.proxy)."""

# The public face: the modules other packages import. They are listed, not imported, so that
# importing one module of the package does not load the others (fast start-up).
__all__ = [
    "ledger",
    "ledger_cost",
    "loopback_server",
    "loopback_url",
    "openai_errors",
    "proxy",
    "run_seed_header",
]
