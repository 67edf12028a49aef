"""Data-quality rules for the staged sources.

No Dagster here. It will hold one Great Expectations 1.x suite per source system (event
fields, code sets, date ranges, identity-field plausibility) and a runner that applies them
and returns the failures per row, so that the ingest can set a bad row aside with its reason
and asset checks can report the counts.
"""
