"""OpenAI-compatible plumbing: the metering proxy, the usage ledger, the simulator, pricing."""
