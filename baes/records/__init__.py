"""The records baes writes to disk, one module per record, each a pydantic model with its fields
documented (the reference for anyone reading the files with other tools)."""
