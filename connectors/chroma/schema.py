"""Discovery: a Chroma collection -> a vts TableSchema.

Columns, in order: ``id`` STRING primary key (Chroma ids are strings),
``embedding`` FLOAT_VECTOR(dimension of the stored embeddings), ``document``
STRING (nullable), then the metadata: ``$meta`` (a JSON object per record that
the Milvus sink spreads into the dynamic field) or, with ``metadata_column``,
one JSON column. The collection's space (``configuration.hnsw.space`` or
``.spann.space``, else the legacy ``hnsw:space`` metadata key, else Chroma's
default ``l2``) becomes the index metric: cosine -> COSINE, l2 -> L2, ip -> IP.
"""

from __future__ import annotations

from typing import Any

from vts.connectors.chroma.client import call, collection
from vts.connectors.chroma.errors import ChromaError, Code
from vts.connectors.chroma.options import ChromaOptions
from vts.schema import DYNAMIC_FIELD, Field, IndexSpec, LType, TableSchema

ID, EMBEDDING, DOCUMENT, META = "id", "embedding", "document", DYNAMIC_FIELD
COLUMNS = (ID, EMBEDDING, DOCUMENT)
METRICS = {"cosine": "COSINE", "l2": "L2", "ip": "IP"}


def collection_names(client: Any, options: ChromaOptions) -> list[str]:
    if options.collections:
        return list(options.collections)
    found = call(options, "listing collections", client.list_collections)
    names = sorted(c.name for c in found)
    if not names:
        raise ChromaError(
            Code.NO_COLLECTIONS,
            f"{options.where()} holds no collections (tenant {options.tenant}, database {options.database})",
            hint="check 'path'/'url', 'tenant' and 'database'",
        )
    return names


def describe(client: Any, options: ChromaOptions, name: str) -> TableSchema:
    col = collection(client, options, name)
    first = call(options, f"reading collection '{name}'", col.get, limit=1, include=["embeddings"], collection=name)
    if not first["ids"]:
        raise ChromaError(
            Code.NOT_SUPPORT_TYPE,
            f"collection '{name}' is empty: it has no embeddings to give its vector field a dimension",
            hint="leave it out by listing the others in 'collections'",
        )
    dim = len(first["embeddings"][0])
    if options.metadata_column in COLUMNS:
        raise ChromaError(
            Code.METADATA_CONFLICT,
            f"metadata_column '{options.metadata_column}' has the name of a column vts writes",
            hint=f"choose a name other than {', '.join(COLUMNS)}",
        )
    space = _space(col)
    if space not in METRICS:
        raise ChromaError(
            Code.NOT_SUPPORT_TYPE,
            f"collection '{name}' uses the space '{space}', which has no Milvus metric",
            hint="the spaces vts carries are cosine, l2 and ip",
        )
    fields = [
        Field(ID, LType.STRING, primary_key=True),
        Field(EMBEDDING, LType.FLOAT_VECTOR, dimension=dim),
        Field(DOCUMENT, LType.STRING, nullable=True),
    ]
    if options.metadata_column:
        fields.append(Field(options.metadata_column, LType.JSON, nullable=True, description="Chroma metadata"))
    else:
        fields.append(Field(META, LType.JSON, nullable=True))
    return TableSchema(
        name=name,
        fields=tuple(fields),
        description=f"Chroma collection {name}",
        enable_dynamic_field=not options.metadata_column,
        indexes=(IndexSpec(EMBEDDING, metric_type=METRICS[space]),),
    )


def _space(col: Any) -> str:
    config = getattr(col, "configuration", None) or {}
    for kind in ("hnsw", "spann"):
        part = config.get(kind) if isinstance(config, dict) else None
        if isinstance(part, dict) and part.get("space"):
            return str(part["space"])
    return str((col.metadata or {}).get("hnsw:space", "l2"))
