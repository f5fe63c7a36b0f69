"""`baes view`: a read-only local web app over an experiments root (docs/view.md).

It reads what the CLI reads, through the same library functions (the registry view, the
experiment summary, the run manifest and records, the ledgers' cost), and writes nothing.
"""
