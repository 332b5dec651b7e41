"""Import a Parquet sink's folder into Milvus with the BulkWriter's commit step alone (the far side of an air gap).

::

    python -m vts.connectors.parquet.load EXPORT_FOLDER --url http://milvus:19530 --token root:Milvus

For each collection folder with a finished manifest (``_vts_collection.json``
listing its files): create the collection as the manifest describes it (the
Milvus sink's save modes decide what happens to an existing one), then hand
exactly the listed files to :func:`vts.connectors.milvus.bulk.commit.import_staged`, which
submits Milvus's Import API (gRPC bulk insert on 2.3, REST on 2.4+), waits,
and fails with MILVUS-26/27/28 as a bulk migration does. The Milvus server
must be able to read the files at the paths given (a folder it mounts) —
or copy the folder to its bucket and run ``vts run`` with a File source and a
BulkWriter instead. The files are never deleted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vts import savemode
from vts.connectors.milvus.bulk.commit import import_staged
from vts.connectors.milvus.bulk.config import BulkWriterConfig
from vts.connectors.milvus.catalog import MilvusCatalog
from vts.connectors.milvus.connection import connect, server_info
from vts.connectors.milvus.mapping import check_supported
from vts.connectors.milvus.options import MilvusSinkOptions
from vts.connectors.milvus.target import MilvusLayout
from vts.connectors.parquet import manifest
from vts.connectors.parquet.errors import Code, ParquetSinkError
from vts.errors import VtsError


def _collections(folder: Path) -> list[Path]:
    if (folder / manifest.MANIFEST).is_file():
        return [folder]
    found = sorted(p.parent for p in folder.glob(f"*/{manifest.MANIFEST}"))
    if not found:
        raise ParquetSinkError(
            Code.MANIFEST_NOT_FOUND,
            f"{folder} holds no {manifest.MANIFEST} (nor does any folder in it)",
            hint="point at the folder a Parquet sink wrote ('path' of its job), or at one collection folder in it",
        )
    return found


def infos_of(folder: Path) -> tuple[Any, dict[str, Any]]:
    """(target collection, commit info in the BulkWriter's shape) of one collection folder."""
    doc = manifest.read(folder)
    if doc.get("format") != manifest.FORMAT or "files" not in doc:
        raise ParquetSinkError(
            Code.MANIFEST_INVALID,
            f"{folder / manifest.MANIFEST} lists no files: the run that wrote it did not finish",
            hint="run the export job again (it resumes) and carry the folder once it has finished",
        )
    target = manifest.from_json(doc["collection"])

    def whole(f: dict[str, Any]) -> bool:
        path = folder / f["file"]
        return path.is_file() and path.stat().st_size == f.get("bytes", path.stat().st_size)

    missing = [f["file"] for f in doc["files"] if not whole(f)]
    if missing:
        raise ParquetSinkError(
            Code.MANIFEST_INVALID,
            f"{len(missing)} file(s) the manifest of {folder} lists are absent or cut short, e.g. {missing[0]}",
            hint="copy the whole export folder again",
        )
    by_partition: dict[str | None, list[dict[str, Any]]] = {}
    for f in doc["files"]:
        part = None if f["partition"] == "_default" else f["partition"]
        path = folder / f["file"]
        entry = {
            "key": f"{folder.name}/{f['file']}",
            "path": str(path),
            "rows": f["rows"],
            "bytes": path.stat().st_size,
        }
        by_partition.setdefault(part, []).append(entry)
    infos = [
        {"kind": "milvus-bulk", "collection": target.name, "partition": part, "rows": sum(e["rows"] for e in files),
         "files": files}
        for part, files in by_partition.items()
    ]  # fmt: skip
    return target, {"infos": infos}


def load(folder: Path, opts: MilvusSinkOptions, poll_interval: float = 2.0) -> int:
    """Create and import every collection of ``folder``; returns the rows Milvus reports imported."""
    folder = folder.resolve()
    pieces = [infos_of(c) for c in _collections(folder)]
    targets = {t.name: t for t, _ in pieces}
    infos = [i for _, p in pieces for i in p["infos"]]
    client = connect(opts)
    try:
        server = server_info(client)
    finally:
        client.close()
    for t in targets.values():
        check_supported(t, server)
    root = folder.parent if (folder / manifest.MANIFEST).is_file() else folder
    cfg = BulkWriterConfig(
        cloud_id="local", local_path=str(root), prefix="", keep_staged_files=True, poll_interval=poll_interval
    )
    opts = opts.model_copy(update={"bulk_writer_config": cfg})
    catalog = MilvusCatalog(opts, targets)
    try:
        savemode.apply(catalog, savemode.decide(catalog, opts.schema_save_mode, opts.data_save_mode))
        for name in targets:
            catalog.prepare_writes(name)
    finally:
        catalog.close()
    return import_staged(opts, MilvusLayout(server, targets), infos)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vts.connectors.parquet.load", description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path, help="the Parquet sink's 'path', or one collection folder in it")
    p.add_argument("--url", required=True, help="Milvus server, http://host:19530")
    p.add_argument("--token", default="", help="user:password or an API key")
    p.add_argument("--database", default="default")
    p.add_argument("--schema-save-mode", default="CREATE_SCHEMA_WHEN_NOT_EXIST")
    p.add_argument("--data-save-mode", default="APPEND_DATA")
    p.add_argument("--poll-interval", type=float, default=2.0, help="seconds between import progress polls")
    args = p.parse_args(argv)
    try:
        opts = MilvusSinkOptions(
            url=args.url,
            token=args.token,
            database=args.database,
            schema_save_mode=args.schema_save_mode,
            data_save_mode=args.data_save_mode,
        )
        rows = load(args.folder, opts, args.poll_interval)
    except VtsError as err:
        print(str(err), file=sys.stderr)
        return int(err.exit_code)
    except ValueError as err:  # pydantic: a bad --url or save mode
        print(f"[VTS-01] {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    print(f"imported {rows:,} row(s) from {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
