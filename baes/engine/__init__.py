"""Running experiments: scheduling, the stopping rule, one run, archiving, executors, resume."""
