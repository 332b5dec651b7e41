"""Schema mapping: vts logical tables -> Milvus target collections (``map_table``).

Refuses, before any data moves, what the target cannot hold (MILVUS-07 with
the field's name), judged from the server's version: Milvus Lite has no
binary/float16/bfloat16/int8 vectors; 2.3 has no nullable or default
fields, sparse vectors, Geometry or Timestamptz; Int8 vectors need 2.6.
"""

from __future__ import annotations

import logging

from vts.connectors.milvus.connection import ServerInfo
from vts.connectors.milvus.errors import Code, MilvusError
from vts.connectors.milvus.options import FieldSchemaOption, MilvusSinkOptions
from vts.connectors.milvus.target import TargetCollection, TargetField
from vts.connectors.milvus.types import MilvusType
from vts.schema import DYNAMIC_FIELD, Field, IndexSpec, LType, TableSchema

log = logging.getLogger("vts.milvus")

DATE_TIME_LENGTH = 50
AUTO_ID_NAMES = ("id", "_auto_id")
INDEX_DEFAULTS: dict[str, dict[str, int]] = {
    "HNSW": {"M": 16, "efConstruction": 200},
    "IVF_FLAT": {"nlist": 128},
    "IVF_SQ8": {"nlist": 128},
    "BIN_IVF_FLAT": {"nlist": 128},
}


def map_table(table: TableSchema, opts: MilvusSinkOptions, server: ServerInfo) -> TargetCollection:
    name = opts.collection_rename.get(table.name, table.name)
    if opts.field_schema:
        fields, dynamic = _from_field_schema(table, opts)
    else:
        fields, dynamic = _from_source(table, opts), ()
    dynamic_on = opts.enable_dynamic_field if opts.enable_dynamic_field is not None else table.enable_dynamic_field
    if not dynamic_on and dynamic:
        log.warning("collection %s: source columns %s are not in field_schema and are not written", name, list(dynamic))
        dynamic = ()
    target = TargetCollection(
        name=name,
        source_table=table.name,
        fields=tuple(fields),
        description=opts.collection_description.get(name, table.description),
        enable_dynamic_field=bool(dynamic_on),
        dynamic_sources=tuple(dynamic),
        indexes=_indexes(fields, table, opts),
        partitions=table.partitions,
        consistency_level=opts.consistency_level or table.properties.get("consistency_level"),
        shard_num=opts.shard_num or table.properties.get("shard_num"),
        num_partitions=opts.partition_num or table.properties.get("num_partitions"),
        functions=tuple(table.properties.get("functions", ())) if not opts.field_schema else (),
    )
    check_supported(target, server)
    return target


def _from_source(table: TableSchema, opts: MilvusSinkOptions) -> list[TargetField]:
    pks = table.primary_keys
    out: list[TargetField] = []
    if len(pks) != 1:
        taken = set(table.names)
        key = next((n for n in AUTO_ID_NAMES if n not in taken), "_vts_auto_id")
        out.append(TargetField(key, MilvusType.INT64, None, is_primary=True, auto_id=True))
    for f in table.fields:
        if f.name == DYNAMIC_FIELD:
            continue  # dynamic keys: rows.py spreads them into each row
        out.append(_field(f, opts, primary=len(pks) == 1 and f.primary_key))
    return out


def _field(f: Field, opts: MilvusSinkOptions, primary: bool) -> TargetField:
    dtype = MilvusType.made_from_ltype(f.type)
    if dtype is None:
        raise _unsupported(f.name, f"type {f.type} has no Milvus equivalent")
    max_length = None
    if primary:
        if f.type.is_integer:
            dtype = MilvusType.INT64
        elif f.type == LType.STRING:
            dtype = MilvusType.VARCHAR
        else:
            raise _unsupported(f.name, f"a primary key of type {f.type} (Milvus keys are Int64 or VarChar)")
    element = None
    if dtype is MilvusType.VARCHAR:
        max_length = (
            DATE_TIME_LENGTH if f.type in (LType.DATE, LType.TIME) else (f.max_length or opts.default_max_length)
        )
    if dtype is MilvusType.ARRAY:
        element = _element(f)
        if element is MilvusType.VARCHAR:
            max_length = f.max_length or opts.default_max_length
    return TargetField(
        name=f.name,
        dtype=dtype,
        source=None if f.params.get("function_output") else f.name,
        source_type=f.type,
        is_primary=primary,
        auto_id=False,  # source keys are kept: ids stay stable and re-runs stay idempotent
        nullable=f.nullable and not primary,
        default=f.default,
        max_length=max_length,
        dim=f.dimension if f.type.is_vector else None,
        element_type=element,
        max_capacity=f.max_capacity or 4096 if dtype is MilvusType.ARRAY else None,
        is_partition_key=f.partition_key,
        description=f.description,
        params={k: v for k, v in f.params.items() if k in ("enable_analyzer", "analyzer_params", "enable_match")},
    )


def _element(f: Field) -> MilvusType:
    et = f.element_type
    if et == LType.ROW:
        raise _unsupported(
            f.name,
            "ARRAY<ROW> (Milvus Struct arrays are not supported by vts yet)",
            hint=f"map it to JSON with field_schema: {{field_name: {f.name}, data_type: JSON}}",
        )
    dtype = MilvusType.made_from_ltype(et) if et else None
    if dtype is None or not dtype.spec.element:
        raise _unsupported(f.name, f"ARRAY of {et} (Milvus arrays hold Bool, integers, Float, Double or VarChar)")
    return dtype


def _from_field_schema(table: TableSchema, opts: MilvusSinkOptions) -> tuple[list[TargetField], list[str]]:
    by_name = {f.name: f for f in table.fields}
    out, used = [], set()
    for fs in opts.field_schema:
        source_name = fs.source_field_name or fs.field_name
        if source_name not in by_name and not (fs.is_primary_key and fs.auto_id):
            raise MilvusError(
                Code.FIELD_NOT_FOUND,
                f"field_schema '{fs.field_name}' reads source column '{source_name}', which table '{table.name}' lacks",
                hint=f"source columns are: {', '.join(table.names)}",
            )
        used.add(source_name)
        out.append(_field_from_option(fs, by_name.get(source_name), opts))
    dynamic = [n for n in table.names if n not in used]
    return out, dynamic


def _field_from_option(fs: FieldSchemaOption, src: Field | None, opts: MilvusSinkOptions) -> TargetField:
    dtype = MilvusType.from_display(fs.data_type)
    element = MilvusType.from_display(fs.element_type) if fs.element_type else None
    if dtype is MilvusType.ARRAY and (element is None or not element.spec.element):
        raise _unsupported(
            fs.field_name, f"Array needs element_type one of Bool, Int*, Float, Double, VarChar, got {fs.element_type}"
        )
    if (
        dtype.is_vector
        and dtype is not MilvusType.SPARSE_FLOAT_VECTOR
        and not (fs.dimension or (src and src.dimension))
    ):
        raise MilvusError(Code.INVALID_PARAM, f"field_schema '{fs.field_name}': {fs.data_type} needs 'dimension'")
    params = {
        k: getattr(fs, k) for k in ("enable_analyzer", "analyzer_params", "enable_match") if getattr(fs, k) is not None
    }
    needs_length = MilvusType.VARCHAR in (dtype, element)
    return TargetField(
        name=fs.field_name,
        dtype=dtype,
        source=None if (fs.is_primary_key and fs.auto_id) else (fs.source_field_name or fs.field_name),
        source_type=src.type if src else None,
        is_primary=fs.is_primary_key,
        auto_id=fs.auto_id,
        nullable=fs.is_nullable,
        default=fs.default_value,
        max_length=(fs.max_length or (src.max_length if src else None) or opts.default_max_length)
        if needs_length
        else None,
        dim=fs.dimension or (src.dimension if src else None) if dtype.is_vector else None,
        element_type=element,
        max_capacity=fs.max_capacity if dtype is MilvusType.ARRAY else None,
        is_partition_key=fs.is_partition_key,
        params=params,
    )


def _indexes(fields: list[TargetField], table: TableSchema, opts: MilvusSinkOptions) -> tuple[IndexSpec, ...]:
    if not opts.create_index:
        return ()
    from_source = {i.field: i for i in table.indexes}
    out = []
    for f in fields:
        origin = f.source or f.name  # function outputs have no source column but keep their index
        if f.name in opts.indexes:
            o = opts.indexes[f.name]
            out.append(IndexSpec(f.name, o.index_type, o.metric_type or f.dtype.spec.metric, dict(o.params)))
        elif origin in from_source:
            src = from_source[origin]
            # Milvus Lite describes indexes without their build params; servers refuse HNSW/IVF without them
            params = {**INDEX_DEFAULTS.get(src.index_type, {}), **src.params}
            out.append(IndexSpec(f.name, src.index_type, src.metric_type, params, src.name))
        elif f.dtype.is_vector:
            o = opts.index
            sparse_auto = f.dtype is MilvusType.SPARSE_FLOAT_VECTOR and o.index_type == "AUTOINDEX"
            index_type = "SPARSE_INVERTED_INDEX" if sparse_auto else o.index_type
            out.append(IndexSpec(f.name, index_type, o.metric_type or f.dtype.spec.metric, dict(o.params)))
    return tuple(out)


def check_supported(target: TargetCollection, server: ServerInfo) -> None:
    """Refuse, by field, what this server cannot hold."""
    if sum(f.is_primary for f in target.fields) != 1:
        raise MilvusError(Code.INVALID_PARAM, f"collection {target.name} needs exactly one primary key")
    old = server.major_minor < (2, 4)
    vectors = [f for f in target.fields if f.dtype.is_vector]
    for f in target.fields:
        why = f.dtype.refusal(server.lite, server.major_minor)
        if why is None and old and (f.nullable or f.default is not None):
            why = "nullable fields and default values need Milvus 2.4+"
        if why:
            raise _unsupported(f.name, f"{why} (target runs {server.version})", collection=target.name)
    if old and len(vectors) > 1:
        raise _unsupported(
            vectors[1].name, f"Milvus {server.version} allows one vector field per collection", collection=target.name
        )


def _unsupported(field: str, why: str, hint: str | None = None, collection: str | None = None) -> MilvusError:
    where = f"field '{field}'" + (f" of collection '{collection}'" if collection else "")
    return MilvusError(
        Code.NOT_SUPPORT_TYPE,
        f"{where}: {why}",
        hint=hint or "drop or convert the field with a transform or field_schema, or use a target that supports it",
    )
