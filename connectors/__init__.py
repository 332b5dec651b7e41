"""Built-in connectors, one package per system.

``BUILTIN`` maps (kind, name) to 'module:Class'; the registry imports a
connector only when a job uses it.
"""

BUILTIN: dict[tuple[str, str], str] = {
    ("source", "DataGen"): "connectors.datagen.source:DataGenSource",
    ("source", "File"): "connectors.file.source:FileSource",
    ("source", "Milvus"): "connectors.milvus.source:MilvusSource",
    ("source", "Pgvector"): "connectors.pgvector.source:PgvectorSource",
    ("source", "Qdrant"): "connectors.qdrant.source:QdrantSource",
    ("source", "VDF"): "connectors.vdf.source:VdfSource",
    ("sink", "Milvus"): "connectors.milvus.sink:MilvusSink",
    ("sink", "Parquet"): "connectors.parquet.sink:ParquetSink",
    ("transform", "FieldMapper"): "connectors.transforms:FieldMapper",
    ("transform", "FieldRename"): "connectors.transforms:FieldRename",
}
