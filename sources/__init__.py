"""The source systems as delivered: the landing zone and each system's file layout.

No Dagster here. `landing` discovers the drops of a landing zone and verifies their
completeness (control files, headers, trailers, digests) before anything is loaded. The
declarative layout of each system (fixed-width positions, delimited columns, encodings, date
formats, code sets) and its parsers will sit beside it, one module per system.
"""
