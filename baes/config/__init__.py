"""The experiment design: pydantic models, YAML I/O, the canonical hash, shipped presets."""
