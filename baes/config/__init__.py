"""The experiment design: pydantic models, YAML I/O, the canonical hash, shipped presets."""

# The public face: the modules other packages import. They are listed, not imported, so that
# importing one module of the package does not load the others (fast start-up).
__all__ = [
    "builder",
    "canonical",
    "models",
    "presets",
    "pricing",
    "yaml_io",
]
