"""Milvus: the sink (BufferBatchWriter, schema converter) and, later, the source."""
