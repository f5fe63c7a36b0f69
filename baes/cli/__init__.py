"""The `baes` command line: a thin typer shell over the library. Only this package imports typer or rich."""
