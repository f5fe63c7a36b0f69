"""The on-disk state: paths, the registry, the run manifest; atomic and locked I/O."""
