"""PostgreSQL + pgvector source: binary COPY into Arrow, primary-key-range splits, incremental runs."""
