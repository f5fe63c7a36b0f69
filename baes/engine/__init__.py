"""Running experiments: scheduling, the stopping rule, one run, archiving, executors, resume."""

# The public face: the modules other packages import. They are listed, not imported, so that
# importing one module of the package does not load the others (fast start-up).
__all__ = [
    "coordinator",
    "dask_executor",
    "forecast",
    "preflight",
    "run_lock",
]
