"""Discovery: a Qdrant collection -> a vts TableSchema.

Columns, in order:

- ``id``: the point id, primary key. Integer ids -> BIGINT; UUIDs -> STRING(36);
  a collection holding both -> STRING(36) with integers in decimal.
- one column per vector: the unnamed vector -> ``vector``; named vectors keep
  their names. Dense -> FLOAT_VECTOR(size) (float16/uint8 storage is read as
  floats); sparse -> SPARSE_FLOAT_VECTOR; multivectors are refused
  (QDRANT-05) unless ``multivector: json`` writes them as a JSON column.
- ``payload_fields``: typed, nullable columns, their types inferred from
  ``sample_size`` points read at evenly spaced ranks across the collection.
- the rest of the payload: ``$meta`` (a JSON object per point that the
  Milvus sink spreads into the dynamic field), or ``payload_column`` as one
  JSON column. Null values stay null.

Each column's ``params["qdrant"]`` says where the reader finds it.
Distances become index metrics on the target (``TableSchema.indexes``):
Cosine -> COSINE, Dot -> IP, Euclid -> L2, and Manhattan, which Milvus lacks
for float vectors, -> L2 with a warning. Sparse vectors -> IP.
"""

from __future__ import annotations

import logging
from typing import Any

from vts.connectors.qdrant import splits
from vts.connectors.qdrant.client import Handle
from vts.connectors.qdrant.errors import Code, QdrantError
from vts.connectors.qdrant.options import QdrantSourceOptions
from vts.schema import DYNAMIC_FIELD, Field, IndexSpec, LType, TableSchema

log = logging.getLogger("vts.qdrant")

META = DYNAMIC_FIELD
ID = "id"
UNNAMED = "vector"
UUID_LENGTH = 36
SAMPLE_PIECES = 16
ZERO_UUID = "00000000-0000-0000-0000-000000000000"
METRICS = {"Cosine": "COSINE", "Dot": "IP", "Euclid": "L2", "Manhattan": "L2"}


def list_collections(handle: Handle, options: QdrantSourceOptions) -> list[str]:
    wanted = options.collection_list
    if wanted:
        return wanted
    res = handle.call("listing collections", handle.client.get_collections)
    names = sorted(c.name for c in res.collections)
    if not names:
        raise QdrantError(
            Code.NO_COLLECTIONS,
            f"{options.where()} holds no collections",
            hint="check 'url'/'path', or create the collection first",
        )
    return names


def describe(handle: Handle, options: QdrantSourceOptions, collection: str) -> TableSchema:
    info = handle.call(
        f"describing collection '{collection}'", handle.client.get_collection, collection, collection=collection
    )
    params = info.config.params
    vectors = _vector_fields(collection, params, options)
    id_field = _id_field(handle, collection)
    fields: list[Field] = [id_field]
    taken = {ID}
    for f, _ in vectors:
        if f.name in taken:
            raise QdrantError(
                Code.NOT_SUPPORT_TYPE,
                f"collection '{collection}': vector '{f.name}' has the name of the id column",
                hint="exclude it with 'vectors', or rename it on the target with a FieldRename transform",
            )
        taken.add(f.name)
        fields.append(f)
    for name in options.payload_fields:
        if name in taken:
            raise QdrantError(
                Code.INVALID_PARAM,
                f"payload_fields '{name}' clashes with a column of the same name",
                hint="remove it from payload_fields (it stays in the dynamic field)",
            )
        taken.add(name)
    fields.extend(_payload_fields(handle, options, collection))
    dynamic = False
    if options.keeps_payload:
        if options.payload_column:
            if options.payload_column in taken:
                raise QdrantError(
                    Code.INVALID_PARAM,
                    f"payload_column '{options.payload_column}' clashes with a column of the same name",
                    hint="choose another payload_column name",
                )
            fields.append(_payload_column(options.payload_column))
        else:
            fields.append(Field(META, LType.JSON, nullable=True, params={"qdrant": {"payload": "*"}}))
            dynamic = True
    indexes = tuple(spec for _, spec in vectors if spec is not None)
    return TableSchema(
        name=collection,
        fields=tuple(fields),
        description=f"Qdrant collection {collection}",
        enable_dynamic_field=dynamic,
        indexes=indexes,
    )


def _payload_column(name: str) -> Field:
    return Field(name, LType.JSON, nullable=True, description="Qdrant payload", params={"qdrant": {"payload": "*"}})


def _vector_fields(collection: str, params: Any, options: QdrantSourceOptions) -> list[tuple[Field, IndexSpec | None]]:
    dense: dict[str, Any] = {}
    raw = params.vectors
    if raw is not None and not isinstance(raw, dict):
        dense[UNNAMED] = ("", raw)
    elif raw:
        for name, vp in raw.items():
            dense[name or UNNAMED] = (name, vp)
    sparse = {name: sp for name, sp in (params.sparse_vectors or {}).items()}
    available = [*dense, *sparse]
    selected = options.vectors if options.vectors is not None else available
    unknown = [n for n in selected if n not in available]
    if unknown:
        raise QdrantError(
            Code.VECTOR_NOT_FOUND,
            f"collection '{collection}' has no vector named {', '.join(repr(n) for n in unknown)}",
            hint=f"its vectors are: {', '.join(available) or 'none'} (the unnamed vector is '{UNNAMED}')",
        )
    out: list[tuple[Field, IndexSpec | None]] = []
    for column in selected:
        if column in dense:
            qname, vp = dense[column]
            out.append(_dense(collection, column, qname, vp, options))
        else:
            out.append(_sparse(collection, column, sparse[column]))
    return out


def _dense(
    collection: str, column: str, qname: str, vp: Any, options: QdrantSourceOptions
) -> tuple[Field, IndexSpec | None]:
    where = {"vector": qname}
    if vp.multivector_config is not None:
        if options.multivector == "refuse":
            raise QdrantError(
                Code.NOT_SUPPORT_TYPE,
                f"collection '{collection}': vector '{column}' is a multivector (a list of {vp.size}-d vectors "
                "per point), which Milvus has no field for",
                hint="leave it out with 'vectors: [...]' (the other vector names), "
                "or set 'multivector: json' to keep it as a JSON column",
            )
        return Field(column, LType.JSON, nullable=True, params={"qdrant": {**where, "kind": "multi"}}), None
    distance = str(getattr(vp.distance, "value", vp.distance))
    metric = METRICS.get(distance, "L2")
    if distance == "Manhattan":
        log.warning(
            "collection %s: vector %s uses Manhattan distance, which Milvus lacks for float vectors; "
            "its index uses L2 (set the sink's 'indexes' to choose another)",
            collection,
            column,
        )
    field = Field(column, LType.FLOAT_VECTOR, dimension=int(vp.size), params={"qdrant": {**where, "kind": "dense"}})
    return field, IndexSpec(column, "AUTOINDEX", metric)


def _sparse(collection: str, column: str, sp: Any) -> tuple[Field, IndexSpec]:
    modifier = getattr(sp, "modifier", None)
    if modifier is not None and str(getattr(modifier, "value", modifier)).lower() == "idf":
        log.warning(
            "collection %s: sparse vector %s uses the IDF modifier, which a Milvus sparse field does not apply; "
            "the stored values are copied as they are",
            collection,
            column,
        )
    field = Field(column, LType.SPARSE_FLOAT_VECTOR, params={"qdrant": {"vector": column, "kind": "sparse"}})
    return field, IndexSpec(column, "SPARSE_INVERTED_INDEX", "IP")


def _id_field(handle: Handle, collection: str) -> Field:
    first, _ = splits.scroll_ids(handle, collection, None, 1)
    kind = "int"
    if first and isinstance(first[0], str):
        kind = "uuid"
    elif first:
        uuids, _ = splits.scroll_ids(handle, collection, ZERO_UUID, 1)
        kind = "mixed" if uuids else "int"
    params = {"qdrant": {"id": kind}}
    if kind == "int":
        return Field(ID, LType.BIGINT, primary_key=True, description="Qdrant point id", params=params)
    if kind == "mixed":
        log.warning("collection %s holds integer and UUID ids: the id column is a string", collection)
    return Field(
        ID, LType.STRING, primary_key=True, max_length=UUID_LENGTH, description="Qdrant point id", params=params
    )


def _payload_fields(handle: Handle, options: QdrantSourceOptions, collection: str) -> list[Field]:
    if not options.payload_fields:
        return []
    samples = sample_payloads(handle, options, collection)
    out = []
    for name in options.payload_fields:
        values = [p[name] for p in samples if name in p]
        if not values:
            raise QdrantError(
                Code.INVALID_PARAM,
                f"payload_fields '{name}': no point of the {len(samples)} sampled in '{collection}' has this key",
                hint="check the key's spelling (top-level payload keys only), or raise 'sample_size'",
            )
        ltype, element = infer_type(values)
        out.append(
            Field(
                name,
                ltype,
                nullable=True,
                element_type=element,
                max_capacity=4096 if ltype == LType.ARRAY else None,
                params={"qdrant": {"payload": name}},
            )
        )
    return out


def sample_payloads(handle: Handle, options: QdrantSourceOptions, collection: str) -> list[dict[str, Any]]:
    """Up to ``sample_size`` payloads read at evenly spaced ranks across the collection (deterministic)."""
    total = splits.count(handle, collection)
    pieces = max(1, min(SAMPLE_PIECES, options.sample_size, total))
    per_piece = max(1, options.sample_size // pieces)
    starts: list[Any] = [None, *(pid for _, pid in splits.cut_points(handle, collection, pieces, total))]
    out: list[dict[str, Any]] = []
    for start in starts:
        points, _ = handle.call(
            f"sampling payloads of '{collection}'",
            handle.client.scroll,
            collection,
            limit=per_piece,
            offset=start,
            with_payload=list(options.payload_fields),
            with_vectors=False,
            collection=collection,
        )
        out.extend(p.payload or {} for p in points)
    return out


def infer_type(values: list[Any]) -> tuple[LType, LType | None]:
    """The narrowest column type holding every sampled value; JSON when nothing narrower does."""
    present = [v for v in values if v is not None]
    if not present:
        return LType.JSON, None
    scalar = _scalar_type(present)
    if scalar is not None:
        return scalar, None
    if all(isinstance(v, list) for v in present):
        elements = [e for v in present for e in v]
        if all(e is not None for e in elements):
            element = _scalar_type(elements) if elements else None
            if element is not None:
                return LType.ARRAY, element
    return LType.JSON, None


def _scalar_type(values: list[Any]) -> LType | None:
    if all(isinstance(v, bool) for v in values):
        return LType.BOOLEAN
    if any(isinstance(v, bool) for v in values):
        return None
    if all(isinstance(v, int) for v in values):
        return LType.BIGINT if all(-(2**63) <= v < 2**63 for v in values) else LType.DOUBLE
    if all(isinstance(v, int | float) for v in values):
        return LType.DOUBLE
    if all(isinstance(v, str) for v in values):
        return LType.STRING
    return None
