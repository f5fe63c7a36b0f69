"""Analysis: metric catalog, tidy dataset, statistics, report, figures and comparison."""

# The public face: the modules other packages import. They are listed, not imported, so that
# importing one module of the package does not load the others (fast start-up).
__all__ = [
    "analyze",
    "compare",
    "convergence",
    "dataset",
    "descriptives",
    "mean_interval",
    "metrics",
    "report",
    "samples",
]
