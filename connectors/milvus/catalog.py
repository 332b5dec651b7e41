"""The Milvus sink's target catalog: what the engine's save modes read and change (vts.savemode).

A Milvus Lite file that does not exist yet holds no collection: reading the
catalog then never connects (connecting would create the file), so
``vts check`` leaves no file behind.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from vts.connector import TargetCatalog
from vts.connectors.milvus import lite
from vts.connectors.milvus.connection import check_lite_folder, connect
from vts.connectors.milvus.errors import Code, MilvusError, wrap
from vts.connectors.milvus.options import MilvusSinkOptions
from vts.connectors.milvus.query import every_key
from vts.connectors.milvus.target import TargetCollection
from vts.connectors.milvus.types import MilvusType
from vts.connectors.milvus.writer import ensure_partition

log = logging.getLogger("vts.milvus")


class MilvusCatalog(TargetCatalog):
    def __init__(self, options: MilvusSinkOptions, targets: dict[str, TargetCollection]) -> None:
        self.options = options
        self._by_name = {t.name: t for t in targets.values()}
        self.targets = list(self._by_name)
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = connect(self.options)
        return self._client

    def _no_file_yet(self) -> bool:
        if self.options.is_lite_file and not Path(self.options.url).exists():
            check_lite_folder(self.options)
            return True
        return False

    def exists(self, target: str) -> bool:
        if self._no_file_yet():
            return False
        return bool(_call(self.client.has_collection, Code.SHOW_COLLECTIONS_ERROR, f"looking up {target}", target))

    def rows(self, target: str) -> int:
        return count_rows(self.client, target)

    def mismatches(self, target: str) -> list[str]:
        return _mismatches(self.client, self._by_name[target])

    def create(self, target: str) -> None:
        """The collection, its indexes declared, and (on a server) its load started; nothing is waited for.

        pymilvus's ``create_collection(index_params=...)`` waits for the index
        build and then for the load; on an empty collection there is nothing
        to build, and writes need no loaded collection, yet on Milvus 2.3.5
        those two waits took ~3.5 s of every run before the first row moved.
        So the index is created without its wait, and a server loads the
        collection while the copy runs (:meth:`MilvusSink.finalize` waits for
        that load to finish). An embedded Lite file is not loaded at all
        (:func:`lite.hold_index_builds`).
        """
        t = self._by_name[target]
        kwargs: dict[str, Any] = {"schema": t.pymilvus_schema()}
        if t.consistency_level:
            kwargs["consistency_level"] = t.consistency_level
        if t.shard_num:
            kwargs["num_shards"] = t.shard_num
        if t.num_partitions and t.has_partition_key:
            kwargs["num_partitions"] = t.num_partitions
        _call(
            self.client.create_collection,
            Code.CREATE_COLLECTION_ERROR,
            f"creating collection {target}",
            target,
            **kwargs,
        )
        if not t.indexes:
            return
        what = f"creating the indexes of {target}"
        _call(self.client.create_index, Code.CREATE_INDEX_ERROR, what, target, t.index_params(self.client), sync=False)
        if not self.options.is_lite_file:
            _call(self.client.load_collection, Code.SERVER_RESPONSE_FAILED, f"loading {target}", target, _async=True)

    def drop(self, target: str) -> None:
        _call(self.client.drop_collection, Code.CREATE_COLLECTION_ERROR, f"dropping {target}", target)

    def delete_rows(self, target: str) -> None:
        t = self._by_name[target]
        count_rows(self.client, target)  # loads the collection: delete by expression needs it
        expr = every_key(t.primary.name, t.primary.dtype is MilvusType.VARCHAR)
        _call(self.client.delete, Code.WRITE_DATA_FAIL, f"deleting rows of {target}", target, filter=expr)
        left = count_rows(self.client, target)
        if left:
            raise MilvusError(Code.WRITE_DATA_FAIL, f"DROP_DATA left {left} row(s) in {target}")

    def prepare_writes(self, target: str) -> None:
        t = self._by_name[target]
        if self.options.partition_name:
            ensure_partition(self.client, target, self.options.partition_name)
        if self.options.is_lite_file and t.indexes:
            lite.hold_index_builds(self.client, target)  # MilvusSink.finalize builds them once

    def append_warning(self, target: str, rows: int) -> str | None:
        if not self.options.bulk_writer_config:
            return None
        return (
            f"collection {target} already holds {rows:,} row(s) and the Import API only inserts: rows with the "
            "same keys will be there twice (use data_save_mode DROP_DATA to replace them)"
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _call(fn: Any, code: Code, what: str, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        raise wrap(exc, code, what) from None


def wait_loading(client: Any, collection: str, timeout: float | None) -> str:
    """Return once a load in progress of ``collection`` has finished (a released collection stays released);
    the load state then (``Loaded``, ``NotLoad``...)."""
    state = str(client.get_load_state(collection).get("state", ""))
    if "Loading" not in state:
        return state
    _call(client.load_collection, Code.SERVER_RESPONSE_FAILED, f"loading {collection}", collection, timeout=timeout)
    return "Loaded"


def count_rows(client: Any, collection: str) -> int:
    """Exact row count (Strong consistency), loading the collection if it can be."""
    if "NotLoad" in wait_loading(client, collection, None):
        try:
            client.load_collection(collection)
        except Exception:
            return int(client.get_collection_stats(collection).get("row_count", 0))
    res = client.query(collection, filter="", output_fields=["count(*)"], consistency_level="Strong")
    return int(res[0]["count(*)"])


def _mismatches(client: Any, target: TargetCollection) -> list[str]:
    """Why an existing collection cannot take the rows the layout describes."""
    desc = _call(client.describe_collection, Code.DESC_COLLECTION_ERROR, f"describing {target.name}", target.name)
    existing = {f["name"]: f for f in desc["fields"]}
    problems = []
    for f in target.fields:
        have = existing.get(f.name)
        if have is None:
            if not desc.get("enable_dynamic_field"):
                problems.append(f"field '{f.name}' is missing")
            continue
        if have["type"].name != f.dtype:
            problems.append(f"field '{f.name}' is {have['type'].name}, the source gives {f.dtype}")
            continue
        params = have.get("params", {})
        if f.dim is not None and "dim" in params and int(params["dim"]) != f.dim:
            problems.append(f"field '{f.name}' has dimension {params['dim']}, the source gives {f.dim}")
        if f.is_primary and bool(have.get("auto_id")) != f.auto_id:
            problems.append(f"primary key '{f.name}' auto_id is {bool(have.get('auto_id'))} on the target")
    wanted = {f.name for f in target.fields}
    for name, have in existing.items():
        if name in wanted or have.get("is_primary") or have.get("nullable") or "default_value" in have:
            continue
        if have.get("is_function_output"):
            continue
        problems.append(f"target field '{name}' has no source column and no default")
    return problems
