"""Milvus and Milvus Lite: the source (``source.py``) and the sink (``sink.py``, insert writer or BulkWriter).

One module per job; start from the two facades. The type registry (``types.py``) is where a Milvus field type
is added; README.md ("The Milvus connector's modules") maps the rest.
"""
