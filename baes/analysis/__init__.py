"""Analysis: metric catalog, tidy dataset, statistics, report, figures and comparison."""
