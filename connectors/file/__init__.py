"""The File source: Parquet, JSONL, CSV and NumPy files from local paths, globs, S3 or Azure."""
