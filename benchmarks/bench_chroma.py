"""Chroma folder -> Milvus Lite: the issue's three collections of 10 000 documents, beside the source alone.

Two sides over the same PersistentClient folder (built once, reused with --work):

- get:  chromadb alone reads every record of every collection with embeddings,
        documents and metadata, ``--batch`` records a get() (the source's limit);
- read: the vts Chroma source alone (discover, splits, every split read, no sink);
- vts:  ``vts run`` of a Chroma -> Milvus Lite job with the same page size,
        then every collection's count and ids are checked against the folder.

    python benchmarks/bench_chroma.py [--rows 10000] [--dim 384] [--parallelism 2] [--work DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from common import peak_rss_mb, run_vts  # noqa: E402

from tests.embedded_fixtures import SPACES, build_chroma, chroma_client  # noqa: E402


def build(folder: Path, rows: int, dim: int) -> None:
    marker = folder.parent / f".built-{rows}-{dim}"
    if marker.exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    import tests.embedded_fixtures as fx

    fx.DIM = dim  # the fixtures' vector size
    build_chroma(folder, rows)
    marker.touch()


def get_alone(folder: Path, batch: int) -> tuple[float, int]:
    client = chroma_client(folder)
    t0, n = time.perf_counter(), 0
    for name in SPACES:
        col = client.get_collection(name, embedding_function=None)
        total = col.count()
        for offset in range(0, total, batch):
            n += len(col.get(offset=offset, limit=batch, include=["embeddings", "documents", "metadatas"])["ids"])
    return time.perf_counter() - t0, n


def source_alone(folder: Path, batch: int, parallelism: int) -> tuple[float, int]:
    from vts.connectors.chroma.options import ChromaOptions
    from vts.connectors.chroma.source import ChromaSource

    source = ChromaSource(ChromaOptions(path=str(folder), batch_size=batch))
    t0 = time.perf_counter()
    tables = source.discover()
    by_name = {t.name: t for t in tables}
    n = sum(b.num_rows for s in source.splits(tables, parallelism) for b, _ in source.read(s, by_name[s.table]))
    return time.perf_counter() - t0, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000, help="documents per collection (three collections)")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--parallelism", type=int, default=2)
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-chroma-"))
    folder = work / "chroma"
    t0 = time.perf_counter()
    build(folder, args.rows, args.dim)
    print(f"folder: {folder} ({time.perf_counter() - t0:.1f}s to build)")
    seconds, n = get_alone(folder, args.batch)
    print(f"get alone: {n} records in {seconds:.2f}s = {n / seconds:,.0f} records/s")
    seconds, n = source_alone(folder, args.batch, args.parallelism)
    print(f"vts source alone: {n} records in {seconds:.2f}s = {n / seconds:,.0f} records/s")
    target = work / "copy.db"
    shutil.rmtree(work / "checkpoints", ignore_errors=True)
    if target.is_dir():  # Milvus Lite keeps a .db as a folder
        shutil.rmtree(target)
    target.unlink(missing_ok=True)
    job = {
        "env": {"parallelism": args.parallelism, "checkpoint": {"path": str(work / "checkpoints")}},
        "source": {"Chroma": {"path": str(folder), "batch_size": args.batch}},
        "sink": {"Milvus": {"url": str(target), "batch_size": args.batch}},
    }
    seconds = run_vts(job, work)["seconds"]
    total = 3 * args.rows
    print(
        f"vts run: {total} records in {seconds:.2f}s = {total / seconds:,.0f} records/s, peak RSS {peak_rss_mb():.0f} MB"
    )
    from pymilvus import MilvusClient

    milvus = MilvusClient(str(target))
    for name in SPACES:
        milvus.load_collection(name)
        got = milvus.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"]
        assert got == args.rows, (name, got)
    print("every collection holds every record")


if __name__ == "__main__":
    main()
