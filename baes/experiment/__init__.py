"""Experiments as a whole: create one from a design, load one (checking its hash), describe one.

This layer joins `config` (the design) and `store` (the folders), which know nothing of each other.
"""
