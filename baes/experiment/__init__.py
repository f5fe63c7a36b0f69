"""Experiments as a whole: create one from a design, load one (checking its hash), describe one.

This layer joins `config` (the design) and `store` (the folders), which know nothing of each other.
"""

# The public face: the modules other packages import. They are listed, not imported, so that
# importing one module of the package does not load the others (fast start-up).
__all__ = [
    "annotations",
    "create",
    "demo",
    "export",
    "load",
    "registry",
    "remove",
    "runs",
    "summary",
]
