"""Elasticsearch (the tests' emulator, in its own process) -> Milvus Lite, 768-d: vts beside a hand-written
PIT + search_after loop with the same client, and requests per 1 000 documents of each.

- loop: elasticsearch-py alone opens a PIT and pages through every document with ``_shard_doc`` +
  ``search_after``, ``--batch`` hits a request, vectors included (the source's limit through this client);
- vts:  ``vts run`` of an Elasticsearch -> Milvus Lite job with the same batch size.

The emulator is pure Python, so it, not Elasticsearch, bounds both sides: the numbers compare vts with
the loop, not with a real cluster.

    python benchmarks/bench_elasticsearch.py --rows 50000 [--parallelism 2] [--batch 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import peak_rss_mb, time_vts_job

REPO = Path(__file__).resolve().parent.parent
DIM = 768
COMPAT8 = "application/vnd.elasticsearch+json; compatible-with=8"
HEADERS = {"accept": COMPAT8, "content-type": COMPAT8}

SERVE = """
import sys, time, numpy as np
sys.path.insert(0, {repo!r})
from tests.es_emulator import Emulator
e = Emulator(version="9.2.0")
e._create("bench", {{"settings": {{"number_of_shards": 2}}, "mappings": {{"properties": {{
    "title": {{"type": "keyword"}}, "n": {{"type": "long"}},
    "emb": {{"type": "dense_vector", "dims": {dim}, "similarity": "cosine"}}}}}}}})
index = e.indices["bench"]
for lo in range(0, {rows}, 5000):
    block = np.random.default_rng([11, lo]).random((min(5000, {rows} - lo), {dim}), dtype=np.float32)
    for j, vec in enumerate(block.tolist()):
        i = lo + j
        index.put(f"d{{i:08d}}", {{"title": f"document {{i}}", "n": i, "emb": vec}})
e.__enter__()
print(e.url, flush=True)
while True:
    time.sleep(3600)
"""


def requests(url: str) -> int:
    from elasticsearch import Elasticsearch

    return Elasticsearch(url).perform_request("GET", "/_emulator/stats", headers=HEADERS).body["requests"]


def loop(url: str, batch: int) -> tuple[int, float]:
    from elasticsearch import Elasticsearch

    client = Elasticsearch(url, request_timeout=600)
    t0 = time.perf_counter()
    pit = client.perform_request("POST", "/bench/_pit?keep_alive=5m", headers=HEADERS).body["id"]
    after, rows = None, 0
    while True:
        body = {"size": batch, "pit": {"id": pit, "keep_alive": "5m"}, "sort": ["_shard_doc"],
                "_source": {"exclude_vectors": False}}  # fmt: skip
        if after is not None:
            body["search_after"] = after
        answer = client.perform_request("POST", "/_search", headers=HEADERS, body=body).body
        pit = answer["pit_id"]
        hits = answer["hits"]["hits"]
        rows += len(hits)
        if len(hits) < batch:
            break
        after = hits[-1]["sort"]
    client.perform_request("DELETE", "/_pit", headers=HEADERS, body={"id": pit})
    return rows, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--parallelism", type=int, default=2)
    args = ap.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE.format(repo=str(REPO), rows=args.rows, dim=DIM)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().strip()  # type: ignore[union-attr]
        before = requests(url)
        rows, seconds = loop(url, args.batch)
        loop_requests = requests(url) - before - 1
        print(json.dumps({"side": "loop", "rows": rows, "seconds": round(seconds, 2),
                          "vectors_per_s": round(rows / seconds), "requests_per_1000": round(1000 * loop_requests / rows, 2)}))  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            job = {
                "env": {"parallelism": args.parallelism},
                "source": {"Elasticsearch": {"hosts": [url], "index": "bench", "batch_size": args.batch}},
                "sink": {"Milvus": {"url": f"{tmp}/bench.db", "batch_size": args.batch}},
            }
            before = requests(url)
            seconds = time_vts_job(job, Path(tmp))
            vts_requests = requests(url) - before - 1
        print(json.dumps({"side": "vts", "rows": args.rows, "seconds": round(seconds, 2),
                          "vectors_per_s": round(args.rows / seconds), "requests_per_1000": round(1000 * vts_requests / args.rows, 2),
                          "peak_rss_mb": round(peak_rss_mb())}))  # fmt: skip
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
