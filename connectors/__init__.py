"""Built-in connectors, one package per system.

``BUILTIN`` maps (kind, name) to 'module:Class'; the registry imports a
connector only when a job uses it.
"""

BUILTIN: dict[tuple[str, str], str] = {
    ("source", "Chroma"): "connectors.chroma.source:ChromaSource",
    ("source", "DataGen"): "connectors.datagen.source:DataGenSource",
    ("source", "LanceDB"): "connectors.lancedb.source:LanceDBSource",
    ("source", "Milvus"): "connectors.milvus.source:MilvusSource",
    ("source", "Pgvector"): "connectors.pgvector.source:PgvectorSource",
    ("source", "Qdrant"): "connectors.qdrant.source:QdrantSource",
    ("sink", "Milvus"): "connectors.milvus.sink:MilvusSink",
    ("transform", "FieldMapper"): "connectors.transforms:FieldMapper",
    ("transform", "FieldRename"): "connectors.transforms:FieldRename",
}
