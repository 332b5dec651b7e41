"""Read a Milvus collection's whole schema into a vts TableSchema (driver side).

Everything a like-for-like copy needs travels in the TableSchema: field
params (dim, max_length, max_capacity, element type), nullable and defaults,
auto_id, the partition key and its partition count, named partitions, the
dynamic field, indexes with their params, functions (BM25), analyzers,
consistency level, shard count and the description.
"""

from __future__ import annotations

import json
from typing import Any

from vts.connectors.milvus.errors import Code, MilvusError, wrap
from vts.connectors.milvus.types import MilvusType
from vts.schema import DYNAMIC_FIELD, Field, IndexSpec, LType, TableSchema

_CONSISTENCY = {0: "Strong", 1: "Session", 2: "Bounded", 3: "Eventually", 4: "Customized"}
ANALYZER_KEYS = ("enable_analyzer", "analyzer_params", "enable_match")


def describe(client: Any, collection: str) -> TableSchema:
    try:
        desc = client.describe_collection(collection)
    except Exception as exc:
        if "not exist" in str(exc).lower() or "not found" in str(exc).lower():
            raise MilvusError(
                Code.COLLECTION_NOT_FOUND,
                f"source collection '{collection}' does not exist",
                hint="check 'collections' and 'database' (vts check lists what it finds)",
            ) from None
        raise wrap(exc, Code.DESC_COLLECTION_ERROR, f"describing {collection}") from None
    function_outputs = {n for fn in desc.get("functions", []) for n in fn.get("output_field_names", [])}
    fields = tuple(_field(collection, f, f["name"] in function_outputs) for f in desc["fields"])
    has_key = any(f.partition_key for f in fields)
    partitions = () if has_key else tuple(_partitions(client, collection))
    properties: dict[str, Any] = {
        "consistency_level": desc.get("consistency_level_name") or _CONSISTENCY.get(desc.get("consistency_level", 2)),
        "shard_num": desc.get("num_shards"),
        "functions": [_function(fn) for fn in desc.get("functions", [])],
        "function_outputs": sorted(function_outputs),
    }
    if has_key:
        properties["num_partitions"] = desc.get("num_partitions")
    if desc.get("properties"):
        properties["collection_properties"] = dict(desc["properties"])
    if desc.get("enable_dynamic_field"):
        fields = (*fields, Field(DYNAMIC_FIELD, LType.JSON, nullable=True, description="dynamic fields"))
    return TableSchema(
        name=collection,
        fields=fields,
        description=desc.get("description", ""),
        enable_dynamic_field=bool(desc.get("enable_dynamic_field")),
        partitions=partitions,
        indexes=tuple(_indexes(client, collection)),
        properties=properties,
    )


def _field(collection: str, f: dict[str, Any], function_output: bool) -> Field:
    kind = f["type"].name
    milvus_type = MilvusType.named(kind)
    if milvus_type is None:
        raise MilvusError(
            Code.NOT_SUPPORT_TYPE,
            f"field '{f['name']}' of collection '{collection}' has type {kind}, which vts cannot read yet",
            hint="exclude the collection, or ask for the type to be supported",
        )
    params = f.get("params", {})
    element = f.get("element_type")
    extra: dict[str, Any] = {}
    for key in ANALYZER_KEYS:
        if key in params:
            value = params[key]
            if key == "analyzer_params" and isinstance(value, str):
                value = json.loads(value)
            elif isinstance(value, str):
                value = value.lower() == "true"
            extra[key] = value
    if function_output:
        extra["function_output"] = True
    default = f.get("default_value")
    return Field(
        name=f["name"],
        type=milvus_type.spec.reads_as,
        nullable=bool(f.get("nullable")),
        default=_default(default) if default is not None else None,
        primary_key=bool(f.get("is_primary")),
        auto_id=bool(f.get("auto_id")),
        partition_key=bool(f.get("is_partition_key")),
        max_length=_int(params.get("max_length")),
        dimension=_int(params.get("dim")),
        element_type=_reads_as(element.name) if element is not None else None,
        max_capacity=_int(params.get("max_capacity")),
        description=f.get("description", ""),
        params=extra,
    )


def _reads_as(name: str) -> LType | None:
    milvus_type = MilvusType.named(name)
    return milvus_type.spec.reads_as if milvus_type else None


def _default(value: Any) -> Any:
    """describe_collection gives defaults as protobuf ValueField messages."""
    if hasattr(value, "WhichOneof"):
        which = value.WhichOneof("data")
        return getattr(value, which) if which else None
    return value


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _function(fn: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": fn["name"],
        "type": getattr(fn["type"], "name", str(fn["type"])),
        "input_field_names": list(fn.get("input_field_names", [])),
        "output_field_names": list(fn.get("output_field_names", [])),
        "params": dict(fn.get("params", {})),
        "description": fn.get("description", ""),
    }


def _partitions(client: Any, collection: str) -> list[str]:
    try:
        return list(client.list_partitions(collection))
    except Exception as exc:
        raise wrap(exc, Code.LIST_PARTITIONS_FAILED, f"listing partitions of {collection}") from None


def _indexes(client: Any, collection: str) -> list[IndexSpec]:
    out = []
    try:
        for name in client.list_indexes(collection):
            d = dict(client.describe_index(collection, name))
            field = d.pop("field_name")
            index_type = d.pop("index_type", "AUTOINDEX")
            metric = d.pop("metric_type", None)
            for key in ("index_name", "total_rows", "indexed_rows", "pending_index_rows", "state", "params"):
                d.pop(key, None)
            out.append(IndexSpec(field, index_type, metric, d, name if name != field else None))
    except Exception as exc:
        raise wrap(exc, Code.DESC_INDEX_ERROR, f"describing the indexes of {collection}") from None
    return out
