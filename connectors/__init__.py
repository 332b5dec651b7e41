"""Built-in connectors, one package per system.

``BUILTIN`` maps (kind, name) to 'module:Class'; the registry imports a
connector only when a job uses it.
"""

BUILTIN: dict[tuple[str, str], str] = {
    ("source", "Chroma"): "connectors.chroma.source:ChromaSource",
    ("source", "DataGen"): "connectors.datagen.source:DataGenSource",
    ("source", "Elasticsearch"): "connectors.elasticsearch.source:ElasticsearchSource",
    ("source", "File"): "connectors.file.source:FileSource",
    ("source", "Kafka"): "connectors.kafka.source:KafkaSource",
    ("source", "LanceDB"): "connectors.lancedb.source:LanceDBSource",
    ("source", "Milvus"): "connectors.milvus.source:MilvusSource",
    ("source", "OpenSearch"): "connectors.elasticsearch.source:OpenSearchSource",
    ("source", "Pgvector"): "connectors.pgvector.source:PgvectorSource",
    ("source", "Pinecone"): "connectors.pinecone.source:PineconeSource",
    ("source", "Qdrant"): "connectors.qdrant.source:QdrantSource",
    ("source", "VDF"): "connectors.vdf.source:VdfSource",
    ("sink", "Milvus"): "connectors.milvus.sink:MilvusSink",
    ("sink", "Parquet"): "connectors.parquet.sink:ParquetSink",
    ("sink", "Console"): "connectors.console.sink:ConsoleSink",
    ("transform", "FieldMapper"): "connectors.transforms.fields:FieldMapper",
    ("transform", "FieldRename"): "connectors.transforms.fields:FieldRename",
    ("transform", "Filter"): "connectors.transforms.fields:Filter",
    ("transform", "Copy"): "connectors.transforms.fields:Copy",
    ("transform", "Replace"): "connectors.transforms.replace:Replace",
    ("transform", "Sql"): "connectors.transforms.sql:Sql",
    ("transform", "JsonPath"): "connectors.transforms.jsonpath:JsonPath",
    ("transform", "NormalizeVector"): "connectors.transforms.normalize:NormalizeVector",
    ("transform", "Embedding"): "connectors.transforms.embedding:Embedding",
}
