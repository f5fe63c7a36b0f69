"""The on-disk state: paths, the registry, the run manifest; atomic and locked I/O."""

# The public face: the modules other packages import. They are listed, not imported, so that
# importing one module of the package does not load the others (fast start-up).
__all__ = [
    "append_only",
    "atomic",
    "errors",
    "manifest",
    "paths",
    "registry",
    "run_folders",
    "run_progress",
]
