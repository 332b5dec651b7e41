"""Index mappings -> vts tables: one table per entry of ``index``/``index_list`` (a wildcard or alias may
cover several concrete indexes, whose mappings must agree).

Only top-level properties become columns; ``object``, ``nested`` and
``flattened`` fields are carried whole as JSON. Any Elasticsearch field may
hold an array, which the mapping does not say: ``sample_size`` documents
are read to tell a column of arrays (ARRAY of its type) from one of single
values.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from vts.connectors.elasticsearch.client import Wire
from vts.connectors.elasticsearch.errors import Code, ElasticsearchError
from vts.connectors.elasticsearch.options import ElasticsearchOptions
from vts.schema import Field, IndexSpec, LType, TableSchema

log = logging.getLogger("vts.elasticsearch")

ID = "_id"
INDEX = "_index"
ID_LENGTH = 512  # Elasticsearch's own limit on _id (bytes)
ARRAY_CAPACITY = 4096

SCALARS: dict[str, LType] = {
    "keyword": LType.STRING,
    "constant_keyword": LType.STRING,
    "wildcard": LType.STRING,
    "text": LType.STRING,
    "match_only_text": LType.STRING,
    "ip": LType.STRING,
    "version": LType.STRING,
    "long": LType.BIGINT,
    "unsigned_long": LType.BIGINT,
    "integer": LType.INT,
    "short": LType.SMALLINT,
    "byte": LType.TINYINT,
    "double": LType.DOUBLE,
    "scaled_float": LType.DOUBLE,
    "float": LType.FLOAT,
    "half_float": LType.FLOAT,
    "boolean": LType.BOOLEAN,
    "date": LType.TIMESTAMP_TZ,
    "date_nanos": LType.TIMESTAMP_TZ,
}
JSON_TYPES = {"object", "nested", "flattened", "geo_point", "geo_shape", "point", "shape", "join", "histogram",
              "aggregate_metric_double", "range", "integer_range", "long_range", "float_range", "double_range",
              "date_range", "ip_range", "rank_feature", "rank_features", "binary", "search_as_you_type",
              "completion", "token_count", "percolator"}  # fmt: skip
REFUSED = {
    "rank_vectors": "a multi-vector (late interaction) field, which Milvus has no field for",
    "semantic_text": "a field whose embeddings Elasticsearch computes and hides (an inference endpoint)",
}
ES_METRICS = {"cosine": "COSINE", "dot_product": "IP", "max_inner_product": "IP", "l2_norm": "L2"}
OS_METRICS = {"cosinesimil": "COSINE", "innerproduct": "IP", "l2": "L2", "hamming": "HAMMING", "hammingbit": "HAMMING"}


def table_name(target: str) -> str:
    """A Milvus-safe collection name for an index expression (letters, digits, underscores)."""
    name = re.sub(r"[^0-9A-Za-z_]", "_", target).strip("_") or "index"
    return name if not name[0].isdigit() else f"i_{name}"


def describe(wire: Wire, options: ElasticsearchOptions, target: str) -> TableSchema:
    mappings = wire.call("GET", f"/{target}/_mapping", f"reading the mapping of '{target}'", index=target)
    if not mappings:
        raise ElasticsearchError(Code.INDEX_NOT_FOUND, f"'{target}' matches no index on {options.where()}")
    settings = wire.call("GET", f"/{target}/_settings", f"reading the settings of '{target}'", index=target)
    concrete = sorted(mappings)
    props = _merged(target, {name: (m.get("mappings") or {}).get("properties") or {} for name, m in mappings.items()})
    if options.source is not None:
        missing = [n for n in options.source if n not in props]
        if missing:
            raise ElasticsearchError(
                Code.INVALID_PARAM,
                f"'source' names {missing}, which '{target}' does not map",
                hint=f"its fields are: {', '.join(sorted(props))}",
            )
        keep = [*options.source, *([options.pk] if options.pk != ID and options.pk not in options.source else [])]
        props = {n: props[n] for n in keep if n in props}
    sample = _sample(wire, target, options, list(props))
    fields: list[Field] = []
    indexes: list[IndexSpec] = []
    key_is_id = options.pk == ID
    fields.append(Field(ID, LType.STRING, primary_key=key_is_id, max_length=ID_LENGTH, description="document _id"))
    if len(concrete) > 1:
        fields.append(Field(INDEX, LType.STRING, max_length=255, description="the document's index"))
    for name, spec in props.items():
        f, index = _column(target, name, spec, options, sample)
        if f is None:
            continue
        if name == options.pk:
            if f.type not in (LType.STRING, LType.BIGINT, LType.INT, LType.SMALLINT, LType.TINYINT):
                raise ElasticsearchError(
                    Code.INVALID_PARAM,
                    f"'pk: {name}' is a {spec.get('type')} field; a key must be keyword or an integer",
                    hint="leave 'pk' out to key on _id",
                )
            f = f.with_(primary_key=True, nullable=False, type=LType.BIGINT if f.type != LType.STRING else f.type)
        fields.append(f)
        if index is not None:
            indexes.append(index)
    if not key_is_id and not any(f.primary_key for f in fields):
        raise ElasticsearchError(
            Code.INVALID_PARAM,
            f"'pk: {options.pk}' is not a field of '{target}'",
            hint=f"its fields: {', '.join(props)}",
        )
    vectors = [f for f in fields if f.type.is_vector]
    if not vectors:
        raise ElasticsearchError(
            Code.NO_VECTOR_FIELD,
            f"'{target}' has no vector field (dense_vector, sparse_vector or knn_vector); its fields are: "
            + ", ".join(f"{n} ({s.get('type', 'object')})" for n, s in props.items()),
            hint="point 'index' at the index holding the embeddings, or add 'source' with its vector field",
        )
    exclude = any(
        str(((s.get("settings") or {}).get("index") or {}).get("mapping", {}).get("exclude_source_vectors")).lower()
        == "true"
        for s in settings.values()
    )
    return TableSchema(
        name=table_name(target),
        fields=tuple(fields),
        description=f"{wire.server.describe()} index {target}",
        indexes=tuple(indexes),
        properties={"es": {"target": target, "indices": concrete, "exclude_source_vectors": exclude}},
    )


def _merged(target: str, per_index: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    first: dict[str, str] = {}
    for index, props in sorted(per_index.items()):
        for name, spec in props.items():
            if name in out and _signature(out[name]) != _signature(spec):
                raise ElasticsearchError(
                    Code.MAPPING_CONFLICT,
                    f"'{target}': field '{name}' is {_signature(out[name])} in index '{first[name]}' "
                    f"but {_signature(spec)} in '{index}'",
                    hint="read the indexes separately with 'index_list', or limit the pattern to indexes that agree",
                )
            out.setdefault(name, spec)
            first.setdefault(name, index)
    return out


def _signature(spec: dict[str, Any]) -> str:
    kind = spec.get("type", "object")
    dims = spec.get("dims", spec.get("dimension"))
    element = spec.get("element_type", spec.get("data_type"))
    return kind + (f"[{element or 'float'}, {dims}]" if kind in ("dense_vector", "knn_vector") else "")


def _column(
    target: str, name: str, spec: dict[str, Any], options: ElasticsearchOptions, sample: list[dict[str, Any]]
) -> tuple[Field | None, IndexSpec | None]:
    kind = spec.get("type", "object" if "properties" in spec else None)
    params = {"es": {"type": kind, "format": spec.get("format")}}
    if kind in REFUSED:
        raise ElasticsearchError(
            Code.NOT_SUPPORT_TYPE,
            f"'{target}': field '{name}' is {kind}: {REFUSED[kind]}",
            hint=f"leave it out with 'source' (list the other fields), then embed '{name}''s text for Milvus "
            "with a function or transform",
        )
    if kind == "alias":
        return None, None
    if kind == "dense_vector":
        return _dense(target, name, spec, options, sample)
    if kind == "knn_vector":
        return _knn(target, name, spec, options)
    if kind == "sparse_vector":
        f = Field(name, LType.SPARSE_FLOAT_VECTOR, nullable=True, params={"es": {"type": kind}})
        return f, IndexSpec(name, "SPARSE_INVERTED_INDEX", "IP")
    if kind in SCALARS:
        ltype = SCALARS[kind]
        length = spec.get("ignore_above") if ltype == LType.STRING else None
        values = [d[name] for d in sample if d.get(name) is not None]
        if any(isinstance(v, list) for v in values):
            cap = max([len(v) for v in values if isinstance(v, list)] + [1])
            return (
                Field(
                    name,
                    LType.ARRAY,
                    nullable=True,
                    element_type=ltype,
                    max_capacity=max(ARRAY_CAPACITY, cap),
                    max_length=length,
                    params=params,
                ),
                None,
            )
        return Field(name, ltype, nullable=True, max_length=length, params=params), None
    if kind not in JSON_TYPES and kind is not None:
        log.warning("'%s': field '%s' has type %s, which vts carries as JSON", target, name, kind)
    return Field(name, LType.JSON, nullable=True, params={"es": {"type": kind or "object"}}), None


def _dense(
    target: str, name: str, spec: dict[str, Any], options: ElasticsearchOptions, sample: list[dict[str, Any]]
) -> tuple[Field, IndexSpec]:
    element = spec.get("element_type", "float")
    dims = spec.get("dims")
    if dims is None:  # dynamic mappings fill dims in with the first document
        values = [d[name] for d in sample if d.get(name) is not None]
        if not values:
            raise ElasticsearchError(
                Code.NOT_SUPPORT_TYPE,
                f"'{target}': dense_vector '{name}' has no 'dims' and no sampled document holds it",
                hint="index at least one document with the vector, or leave the field out with 'source'",
            )
        first = values[0]
        dims = len(first) * (8 if element == "bit" else 1) if isinstance(first, list) else None
        if dims is None:
            raise ElasticsearchError(Code.NOT_SUPPORT_TYPE, f"'{target}': cannot tell the dims of '{name}'")
    similarity = spec.get("similarity", "l2_norm" if element == "bit" else "cosine")
    es = {"type": "dense_vector", "element": element}
    if element == "bit":
        f = Field(name, LType.BINARY_VECTOR, dimension=int(dims), params={"es": es})
        return f, IndexSpec(name, "BIN_FLAT", "HAMMING")
    ltype = LType.INT8_VECTOR if element == "byte" and options.byte_vectors == "int8" else LType.FLOAT_VECTOR
    metric = ES_METRICS.get(similarity, "COSINE")
    return Field(name, ltype, dimension=int(dims), params={"es": es}), IndexSpec(name, "AUTOINDEX", metric)


def _knn(target: str, name: str, spec: dict[str, Any], options: ElasticsearchOptions) -> tuple[Field, IndexSpec]:
    dims = int(spec["dimension"])
    data_type = spec.get("data_type", "float")
    space = spec.get("space_type") or (spec.get("method") or {}).get("space_type") or "l2"
    es = {"type": "knn_vector", "element": {"binary": "bit"}.get(data_type, data_type)}
    if data_type == "binary":
        return Field(name, LType.BINARY_VECTOR, dimension=dims, params={"es": es}), IndexSpec(
            name, "BIN_FLAT", "HAMMING"
        )
    if space not in OS_METRICS:
        log.warning(
            "'%s': knn_vector '%s' uses space_type %s, which Milvus lacks; its index uses L2", target, name, space
        )
    ltype = LType.INT8_VECTOR if data_type == "byte" and options.byte_vectors == "int8" else LType.FLOAT_VECTOR
    return Field(name, ltype, dimension=dims, params={"es": es}), IndexSpec(
        name, "AUTOINDEX", OS_METRICS.get(space, "L2")
    )


def _sample(wire: Wire, target: str, options: ElasticsearchOptions, names: list[str]) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"size": options.sample_size, "query": options.query, "_source": source_spec(wire, names)}
    answer = wire.call("POST", f"/{target}/_search", f"sampling '{target}'", body=body, index=target)
    return [h.get("_source") or {} for h in answer["hits"]["hits"]]


def source_spec(wire: Wire, names: list[str]) -> Any:
    """The ``_source`` filter that also brings back vectors an ES 9.2+ index leaves out of ``_source``."""
    if wire.server.has_exclude_vectors:
        return {"includes": names, "exclude_vectors": False}
    return names
