"""Dagster assets and asset checks: thin wrappers, one module per stage or source.

They call the libraries (`sources`, `warehouse`, `linkage`, `quality_checks`), attach
metadata and hold no business rules.
"""
