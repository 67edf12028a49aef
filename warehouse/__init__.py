"""The warehouse: everything that shapes and publishes the tables analysts and reports read.

No Dagster here. It will hold the DDL and SQL (in `.sql` files loaded by one helper, values
passed as parameters), the idempotent loaders of the restricted zone (`restricted.duckdb`:
PII, source crosswalk, quarantine) and of the de-identified analytics zone
(`analytics.duckdb` and `parquet/<table>/`), the atomic publish of a night's state, and the
business logic built on them: periods of participation, outcomes from UI wages, WIOA
indicators, co-enrollment, small-cell suppression and the report writers (XLSX, HTML,
Parquet, PIRL). Today it holds `files`, the atomic file-publishing helper.
"""
