"""baes: create, run, meter, analyse and compare experiments on LLM-driven software-development frameworks."""

__version__ = "0.1.0"

__all__ = ["__version__"]
