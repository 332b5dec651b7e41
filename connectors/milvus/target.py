"""The target collection as vts maps it: picklable, and buildable into a pymilvus schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vts.connectors.milvus.types import MilvusType
from vts.schema import IndexSpec, LType

if TYPE_CHECKING:
    from vts.connectors.milvus.connection import ServerInfo


@dataclass(frozen=True)
class TargetField:
    name: str
    dtype: MilvusType
    source: str | None  # source column feeding it; None for a generated auto-id key
    source_type: LType | None = None
    is_primary: bool = False
    auto_id: bool = False
    nullable: bool = False
    default: Any = None
    max_length: int | None = None
    dim: int | None = None
    element_type: MilvusType | None = None
    max_capacity: int | None = None
    is_partition_key: bool = False
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)  # enable_analyzer, analyzer_params, ...

    def __post_init__(self) -> None:
        # a field read back from JSON (the Parquet sink's manifest) or written by hand names its types
        object.__setattr__(self, "dtype", MilvusType(self.dtype))
        if self.element_type is not None:
            object.__setattr__(self, "element_type", MilvusType(self.element_type))

    def describe(self) -> str:
        bits = [self.dtype.value]
        for key in ("dim", "max_length", "element_type", "max_capacity"):
            value = getattr(self, key)
            if value is not None:
                bits.append(f"{key}={value.value if isinstance(value, MilvusType) else value}")
        flags = [
            name
            for name, on in (
                ("primary", self.is_primary),
                ("auto_id", self.auto_id),
                ("nullable", self.nullable),
                ("partition_key", self.is_partition_key),
            )
            if on
        ]
        if self.default is not None:
            flags.append(f"default={self.default!r}")
        return " ".join(bits + flags)


@dataclass(frozen=True)
class TargetCollection:
    name: str
    source_table: str
    fields: tuple[TargetField, ...]
    description: str = ""
    enable_dynamic_field: bool = False
    dynamic_sources: tuple[str, ...] = ()  # source columns written as dynamic keys
    indexes: tuple[IndexSpec, ...] = ()
    partitions: tuple[str, ...] = ()
    consistency_level: str | None = None
    shard_num: int | None = None
    num_partitions: int | None = None
    functions: tuple[dict[str, Any], ...] = ()  # BM25 and other functions, as discover() reads them

    @property
    def primary(self) -> TargetField:
        return next(f for f in self.fields if f.is_primary)

    @property
    def has_partition_key(self) -> bool:
        return any(f.is_partition_key for f in self.fields)

    def pymilvus_schema(self):  # -> CollectionSchema
        from pymilvus import Function, FunctionType, MilvusClient

        schema = MilvusClient.create_schema(
            auto_id=self.primary.auto_id,
            enable_dynamic_field=self.enable_dynamic_field,
            description=self.description,
        )
        for f in self.fields:
            kwargs: dict[str, Any] = {"description": f.description}
            if f.is_primary:
                kwargs.update(is_primary=True, auto_id=f.auto_id)
            if f.nullable:
                kwargs["nullable"] = True
            if f.default is not None:
                kwargs["default_value"] = f.default
            if f.max_length is not None:
                kwargs["max_length"] = f.max_length
            if f.dim is not None and f.dtype is not MilvusType.SPARSE_FLOAT_VECTOR:
                kwargs["dim"] = f.dim
            if f.element_type is not None:
                kwargs["element_type"] = f.element_type.datatype()
                kwargs["max_capacity"] = f.max_capacity or 4096
            if f.is_partition_key:
                kwargs["is_partition_key"] = True
            kwargs.update(f.params)
            schema.add_field(f.name, f.dtype.datatype(), **kwargs)
        for fn in self.functions:
            schema.add_function(
                Function(
                    name=fn["name"],
                    function_type=FunctionType[fn["type"]],
                    input_field_names=fn["input_field_names"],
                    output_field_names=fn["output_field_names"],
                    params=fn.get("params") or None,
                    description=fn.get("description", ""),
                )
            )
        return schema

    def index_params(self, client):  # -> IndexParams
        params = client.prepare_index_params()
        for spec in self.indexes:
            kwargs: dict[str, Any] = {"index_type": spec.index_type}
            if spec.metric_type:
                kwargs["metric_type"] = spec.metric_type
            if spec.params:
                kwargs["params"] = dict(spec.params)
            if spec.name:
                kwargs["index_name"] = spec.name
            params.add_index(spec.field, **kwargs)
        return params


@dataclass(frozen=True)
class MilvusLayout:
    """The Milvus sink's layout (``Sink.layout``), made on the driver, handed to every writer: the server and
    the target collections."""

    server: ServerInfo
    targets: dict[str, TargetCollection]  # by source table name
