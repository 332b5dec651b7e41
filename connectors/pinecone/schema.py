"""Discovery: a Pinecone index -> one vts table.

Columns, in order:

- ``id``: the vector id, STRING(512) primary key (Pinecone's id limit).
- ``values``: FLOAT_VECTOR(dimension), unless the index is sparse-only.
- ``sparse_values``: SPARSE_FLOAT_VECTOR, when the index declares sparse
  values or the sample finds some (a dense dotproduct index may hold them).
  In a hybrid index the column is nullable: a vector without sparse values
  gets a null, which the Milvus sink reports as a rejected row (Milvus takes
  neither a null nor an empty sparse vector), never dropped silently.
- ``namespace``: STRING, in ``column`` and ``partition_key`` modes (the
  partition key in the latter).
- ``metadata_fields``: typed, nullable columns inferred from a sample spread
  over every namespace: booleans -> BOOLEAN, numbers all integral -> BIGINT
  (Pinecone keeps every number as a float; 3.0 is an integer here), other
  numbers -> DOUBLE, strings -> STRING, lists of strings -> ARRAY<STRING>; a
  key whose sampled values mix kinds -> JSON. A value read later that does
  not fit its column stops the run (PINECONE-10), never converted.
- ``$meta``: the rest of the metadata, spread into the target's dynamic field.

In ``partition`` mode the namespaces are the table's partitions, the default
one being Milvus's ``_default``. A Milvus collection holds 1024 partitions
and names them ``[A-Za-z_][A-Za-z0-9_]*``: when the namespaces do not fit
that, ``partition_key`` is chosen with a warning (unless a mode was set).

Each column's ``params["pinecone"]`` names its role for the reader.
The metric becomes the dense index's metric: cosine -> COSINE, euclidean ->
L2, dotproduct -> IP; sparse values are indexed SPARSE_INVERTED_INDEX / IP.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from vts.connectors.pinecone.errors import Code, PineconeError
from vts.connectors.pinecone.index import DEFAULT, IndexInfo
from vts.connectors.pinecone.options import NamespaceMode, PineconeSourceOptions
from vts.schema import DYNAMIC_FIELD, Field, IndexSpec, LType, TableSchema

log = logging.getLogger("vts.pinecone")

ID, VALUES, SPARSE, NAMESPACE = "id", "values", "sparse_values", "namespace"
META = DYNAMIC_FIELD
ID_LENGTH = 512
TEXT_LENGTH = 65_535
NAMESPACE_LENGTH = 512
MAX_PARTITIONS = 1024  # Milvus's default rootCoord.maxPartitionNum, _default included
METRICS = {"cosine": "COSINE", "euclidean": "L2", "dotproduct": "IP"}
_PARTITION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")


def table_name(options: PineconeSourceOptions) -> str:
    """The index name as a Milvus collection name: other characters become '_'."""
    raw = options.index or "pinecone"
    name = re.sub(r"[^A-Za-z0-9_]", "_", raw)
    return name if re.match(r"[A-Za-z_]", name) else f"_{name}"


def partition_of(namespace: str) -> str:
    return "_default" if namespace == DEFAULT else namespace


def namespace_mode(options: PineconeSourceOptions, namespaces: list[str]) -> NamespaceMode:
    if options.namespace_mode is not None:
        mode = options.namespace_mode
        if mode == "partition":
            why = _partitions_will_not_do(namespaces)
            if why:
                raise PineconeError(
                    Code.INVALID_PARAM,
                    f"namespace_mode: partition cannot hold these namespaces: {why}",
                    hint="use namespace_mode: partition_key (Milvus's multi-tenancy pattern) or column",
                )
        return mode
    if options.merge_namespace:
        return "column"
    why = _partitions_will_not_do(namespaces)
    if why:
        log.warning(
            "%s: %s, so each row keeps its namespace in a partition-key field 'namespace'", options.where(), why
        )
        return "partition_key"
    return "partition"


def _partitions_will_not_do(namespaces: list[str]) -> str | None:
    named = [n for n in namespaces if n != DEFAULT]
    if len(named) + 1 > MAX_PARTITIONS:
        return f"{len(namespaces)} namespaces are more than the {MAX_PARTITIONS} partitions a Milvus collection holds"
    bad = [n for n in named if not _PARTITION_NAME.match(n) or n == "_default"]
    if bad:
        return f"namespace(s) {bad[:5]} are not valid Milvus partition names"
    return None


def build(
    options: PineconeSourceOptions, info: IndexInfo, namespaces: list[str], samples: list[dict[str, Any]]
) -> TableSchema:
    """The table for the index; ``samples`` are fetched vectors (as dicts) spread over the namespaces."""
    mode = namespace_mode(options, namespaces)
    fields = [
        Field(
            ID,
            LType.STRING,
            primary_key=True,
            max_length=ID_LENGTH,
            description="Pinecone vector id",
            params=_role("id"),
        )
    ]
    indexes: list[IndexSpec] = []
    if info.dimension:
        fields.append(
            Field(
                VALUES, LType.FLOAT_VECTOR, dimension=info.dimension, description="dense values", params=_role("dense")
            )
        )
        indexes.append(IndexSpec(VALUES, "AUTOINDEX", METRICS.get(str(info.metric), "COSINE")))
    if info.sparse or any(s.get("sparse_values") for s in samples):
        # nullable in a hybrid index: a vector may come without sparse values, and Milvus refuses an empty one
        fields.append(
            Field(
                SPARSE,
                LType.SPARSE_FLOAT_VECTOR,
                nullable=bool(info.dimension),
                description="sparse values",
                params=_role("sparse"),
            )
        )
        indexes.append(IndexSpec(SPARSE, "SPARSE_INVERTED_INDEX", "IP"))
    if not info.dimension and not info.sparse:
        raise PineconeError(
            Code.SERVER_RESPONSE_FAILED,
            f"{options.where()} reports neither a dimension nor sparse values",
            hint="check that 'index'/'host' name a vector index",
        )
    if mode != "partition":
        fields.append(
            Field(
                NAMESPACE,
                LType.STRING,
                max_length=NAMESPACE_LENGTH,
                partition_key=mode == "partition_key",
                description="Pinecone namespace",
                params=_role("namespace"),
            )
        )
    taken = {f.name for f in fields}
    for name in options.metadata_fields:
        if name in taken:
            raise PineconeError(
                Code.INVALID_PARAM,
                f"metadata_fields '{name}' has the name of a column vts writes",
                hint="rename it on the target with a FieldRename transform, or leave it in the dynamic field",
            )
        fields.append(
            _typed(name, [s["metadata"][name] for s in samples if name in (s.get("metadata") or {})], samples)
        )
    fields.append(Field(META, LType.JSON, nullable=True, description="Pinecone metadata", params=_role("rest")))
    return TableSchema(
        name=table_name(options),
        fields=tuple(fields),
        description=f"Pinecone index {options.index or info.url}",
        enable_dynamic_field=True,
        partitions=tuple(partition_of(n) for n in namespaces) if mode == "partition" else (),
        indexes=tuple(indexes),
        properties={"pinecone": {"namespace_mode": mode}},
    )


def _typed(name: str, values: list[Any], samples: list[dict[str, Any]]) -> Field:
    if not values:
        raise PineconeError(
            Code.INVALID_PARAM,
            f"metadata_fields '{name}': none of the {len(samples)} vectors sampled across the namespaces has it",
            hint="check the key's spelling, or raise 'sample_size'",
        )
    ltype, element = infer_type(values)
    return Field(
        name,
        ltype,
        nullable=True,
        element_type=element,
        max_length=TEXT_LENGTH if LType.STRING in (ltype, element) else None,
        max_capacity=4096 if ltype == LType.ARRAY else None,
        description="Pinecone metadata",
        params=_role("metadata"),
    )


def _role(role: str) -> dict[str, Any]:
    return {"pinecone": role}


def role(f: Field) -> str:
    """Where the reader finds a column: id, dense, sparse, namespace, metadata (one key) or rest."""
    return str(f.params.get("pinecone", ""))


def infer_type(values: list[Any]) -> tuple[LType, LType | None]:
    if all(isinstance(v, bool) for v in values):
        return LType.BOOLEAN, None
    if all(_number(v) for v in values):
        return (LType.BIGINT, None) if all(_integral(v) for v in values) else (LType.DOUBLE, None)
    if all(isinstance(v, str) for v in values):
        return LType.STRING, None
    if all(isinstance(v, list) and all(isinstance(e, str) for e in v) for v in values):
        return LType.ARRAY, LType.STRING
    return LType.JSON, None


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _integral(v: Any) -> bool:
    return math.isfinite(v) and float(v).is_integer() and -(2**63) <= v < 2**63


def fits(value: Any, f: Field) -> bool:
    """Strict: the metadata value is of the column's kind (no bool as number, no 2.5 in an integer column)."""
    t = f.type
    if t == LType.BOOLEAN:
        return isinstance(value, bool)
    if t == LType.BIGINT:
        return _number(value) and _integral(value)
    if t == LType.DOUBLE:
        return _number(value)
    if t == LType.STRING:
        return isinstance(value, str)
    if t == LType.ARRAY:
        return isinstance(value, list) and all(isinstance(e, str) for e in value)
    return True
