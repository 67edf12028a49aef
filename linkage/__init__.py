"""Record linkage: finding the common customer across the five program systems.

No Dagster here. It will hold the standardization of identity fields (names with nicknames
and suffixes, SSN validity rules, dates of birth, addresses), the Splink model settings on
DuckDB (comparisons, blocking rules, training), prediction and clustering into one customer
per person, stable customer ids across nights (merges and splits recorded), the clerical
review queue, and the evaluation of the linkage against the synthetic ground truth.
"""
