"""OpenAI-compatible plumbing: the metering proxy, the usage ledger, the simulator, pricing."""

# The public face: the modules other packages import. They are listed, not imported, so that
# importing one module of the package does not load the others (fast start-up).
__all__ = [
    "ledger",
    "ledger_cost",
    "loopback_server",
    "loopback_url",
    "proxy",
    "simulator",
]
