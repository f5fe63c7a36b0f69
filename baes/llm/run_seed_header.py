"""The header through which baes's metering proxy tells the simulator which run a call is from.

Frameworks seldom send OpenAI's `seed`, so the simulator alone cannot tell one run from another
and would answer every run of a framework identically. The proxy knows the run of each call (its
attribution token) and, for a simulator upstream only, adds this header with the run's seed
(`baes.engine.one_run.run_seed`); the simulator mixes it into its own seed. A header rather than
the body's `seed`: the request the framework sent is forwarded unchanged (its own `seed`, if any,
still counts on top of the run's), and no real provider ever sees it (the proxy drops it from
every client request and adds it only when its upstream is a simulator).
"""

RUN_SEED_HEADER = "x-baes-run-seed"
