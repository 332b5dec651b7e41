"""The VDF source: folders in vector-io's Vector Dataset Format (``VDF_META.json`` plus Parquet)."""
