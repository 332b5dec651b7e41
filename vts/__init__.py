"""vts: a migration engine for vector data into Milvus."""

__version__ = "0.1.0"
