"""The Parquet sink: rows -> Parquet files in the layout Milvus's Import API reads (or vector-io's VDF)."""
