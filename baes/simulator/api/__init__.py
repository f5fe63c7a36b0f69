"""The simulator's API side: the OpenAI-compatible HTTP endpoints, their wire formats, and
serving them on a port."""
