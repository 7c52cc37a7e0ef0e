"""The DuckDB warehouse: migrations and connections (db), nightly loads (load), incremental marts
(marts), sandboxed analyst SQL (sql), the data dictionary (schema_doc) and mart export (export).

Nothing here imports duckdb at module level: the Airflow DAG imports these modules at parse time.
"""
