"""The Parquet sink's targets: one folder per collection under ``path``, for the engine's save modes."""

from __future__ import annotations

import shutil
from pathlib import Path

from vts.connector import TargetCatalog
from vts.connectors.milvus.bulk.parquet import parquet_schema
from vts.connectors.milvus.target import TargetCollection
from vts.connectors.parquet import manifest


class FolderCatalog(TargetCatalog):
    def __init__(self, root: Path, targets: dict[str, TargetCollection]) -> None:
        self.root = root
        self.by_name = {t.name: t for t in targets.values()}
        self.targets = list(self.by_name)

    def _folder(self, target: str) -> Path:
        return self.root / target

    def exists(self, target: str) -> bool:
        folder = self._folder(target)
        return (folder / manifest.MANIFEST).is_file() or bool(manifest.parquet_files(folder))

    def rows(self, target: str) -> int:
        return manifest.rows_in(self._folder(target))

    def mismatches(self, target: str) -> list[str]:
        folder = self._folder(target)
        wanted = parquet_schema(self.by_name[target])
        if (folder / manifest.MANIFEST).is_file():
            held = parquet_schema(manifest.from_json(manifest.read(folder)["collection"]))
        else:
            files = manifest.parquet_files(folder)
            if not files:
                return []
            import pyarrow.parquet as pq

            held = pq.read_schema(files[0])
        if held.remove_metadata().equals(wanted.remove_metadata()):
            return []
        have = {f.name: str(f.type) for f in held}
        want = {f.name: str(f.type) for f in wanted}
        diffs = [
            f"column {n}: {have.get(n, 'absent')} in {folder}, {want.get(n, 'absent')} planned"
            for n in sorted(have.keys() | want.keys())
            if have.get(n) != want.get(n)
        ]
        return diffs or [f"the files in {folder} have another column order than planned"]

    def create(self, target: str) -> None:
        folder = self._folder(target)
        folder.mkdir(parents=True, exist_ok=True)
        manifest.write_json(folder / manifest.MANIFEST, manifest.describe(self.root, self.by_name[target], files=False))

    def drop(self, target: str) -> None:
        shutil.rmtree(self._folder(target), ignore_errors=True)

    def delete_rows(self, target: str) -> None:
        for p in manifest.parquet_files(self._folder(target)):
            p.unlink()

    def prepare_writes(self, target: str) -> None:
        self._folder(target).mkdir(parents=True, exist_ok=True)
