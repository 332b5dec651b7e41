"""Built-in connectors, one package per system.

``BUILTIN`` maps (kind, name) to 'module:Class'; the registry imports a
connector only when a job uses it.
"""

BUILTIN: dict[tuple[str, str], str] = {
    ("source", "Chroma"): "vts.connectors.chroma.source:ChromaSource",
    ("source", "DataGen"): "vts.connectors.datagen.source:DataGenSource",
    ("source", "Elasticsearch"): "vts.connectors.elasticsearch.source:ElasticsearchSource",
    ("source", "File"): "vts.connectors.file.source:FileSource",
    ("source", "Kafka"): "vts.connectors.kafka.source:KafkaSource",
    ("source", "LanceDB"): "vts.connectors.lancedb.source:LanceDBSource",
    ("source", "Milvus"): "vts.connectors.milvus.source:MilvusSource",
    ("source", "OpenSearch"): "vts.connectors.elasticsearch.source:OpenSearchSource",
    ("source", "Pgvector"): "vts.connectors.pgvector.source:PgvectorSource",
    ("source", "Pinecone"): "vts.connectors.pinecone.source:PineconeSource",
    ("source", "Qdrant"): "vts.connectors.qdrant.source:QdrantSource",
    ("source", "VDF"): "vts.connectors.vdf.source:VdfSource",
    ("sink", "Milvus"): "vts.connectors.milvus.sink:MilvusSink",
    ("sink", "Parquet"): "vts.connectors.parquet.sink:ParquetSink",
    ("sink", "Console"): "vts.connectors.console.sink:ConsoleSink",
    ("transform", "FieldMapper"): "vts.connectors.transforms.fields:FieldMapper",
    ("transform", "FieldRename"): "vts.connectors.transforms.fields:FieldRename",
    ("transform", "Filter"): "vts.connectors.transforms.fields:Filter",
    ("transform", "Copy"): "vts.connectors.transforms.fields:Copy",
    ("transform", "Replace"): "vts.connectors.transforms.replace:Replace",
    ("transform", "Sql"): "vts.connectors.transforms.sql:Sql",
    ("transform", "JsonPath"): "vts.connectors.transforms.jsonpath:JsonPath",
    ("transform", "NormalizeVector"): "vts.connectors.transforms.normalize:NormalizeVector",
    ("transform", "Embedding"): "vts.connectors.transforms.embedding:Embedding",
}
