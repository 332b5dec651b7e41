"""Kafka (Tansu) -> Milvus Lite server, 768-d JSON messages: vts beside a hand-written loop, and streaming latency.

- loop:      confluent-kafka consumes every partition and MilvusClient upserts ``--sink-batch`` rows a call
             (the same client libraries vts uses, none of its checks: the speed a user could hand-write);
- vts:       ``vts run`` of the batch-mode job over the same topic into another collection;
- latency:   ``vts run`` in streaming mode while a producer sends ``--rate`` messages/s for ``--seconds``;
             each message carries its send time, and the benchmark polls Milvus for the rows' arrival.

Messages are produced one record per request batch: Tansu reports a
partition's end offset as its last batch's base offset + 1, so batched
production would make a batch-mode split (vts's and Kafka's semantics) stop early.

    python benchmarks/bench_kafka.py --rows 100000 [--partitions 3]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from common import run_vts

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DIM = 768

from tests.conftest import LiteServer  # noqa: E402
from tests.services.tansu import Tansu  # noqa: E402


def produce(bootstrap: str, topic: str, lo: int, hi: int, partitions: int) -> float:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "batch.num.messages": 1})
    vectors = np.random.default_rng(7).random((hi - lo, DIM), dtype=np.float32).round(5)
    t0 = time.perf_counter()
    for i in range(lo, hi):
        value = json.dumps({"id": i, "title": f"doc {i}", "group": i % 10, "vec": vectors[i - lo].tolist()})
        while True:
            try:
                p.produce(topic, key=str(i).encode(), value=value.encode(), partition=i % partitions)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    p.flush(120)
    return time.perf_counter() - t0


def hand_loop(bootstrap: str, topic: str, partitions: int, rows: int, url: str, batch: int) -> float:
    from confluent_kafka import Consumer, TopicPartition
    from pymilvus import DataType, MilvusClient

    client = MilvusClient(url)
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("title", DataType.VARCHAR, max_length=65535)
    schema.add_field("group", DataType.INT64)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index("vec", index_type="AUTOINDEX", metric_type="COSINE")
    client.create_collection("loop", schema=schema, index_params=index)
    t0 = time.perf_counter()
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "loop", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    seen, buf = 0, []
    while seen < rows:
        for m in c.consume(batch, 1.0):
            if m.error() is None:
                buf.append(json.loads(m.value()))
                seen += 1
        if len(buf) >= batch or (buf and seen >= rows):
            client.upsert("loop", buf)
            buf = []
    c.close()
    seconds = time.perf_counter() - t0
    client.close()
    return seconds


def latency(bootstrap: str, url: str, work: Path, rate: int, seconds: int, partitions: int) -> list[float]:
    from confluent_kafka import Producer
    from pymilvus import MilvusClient

    from tests.conftest import write_job

    topic = "stream"
    job = write_job(
        work / "stream.yaml",
        {
            "env": {"checkpoint": {"path": str(work / "cp"), "interval": 1}},
            "source": {
                "Kafka": {
                    "bootstrap_servers": bootstrap,
                    "topics": [topic],
                    "mode": "streaming",
                    "poll_timeout": 0.2,
                    "field_schema": [
                        {"name": "id", "type": "BIGINT", "primary_key": True},
                        {"name": "sent", "type": "DOUBLE"},
                        {"name": "vec", "type": "FLOAT_VECTOR", "dimension": DIM},
                    ],
                }
            },
            "sink": {"Milvus": {"url": url}},
        },
    )
    proc = subprocess.Popen([sys.executable, "-m", "vts", "run", "-q", str(job)], cwd=work)
    client = MilvusClient(url)
    while not client.has_collection(topic):
        time.sleep(0.2)
    time.sleep(2)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "batch.num.messages": 1})
    sent: dict[int, float] = {}
    vec = np.random.default_rng(3).random(DIM).round(5).tolist()

    def send() -> None:
        start = time.monotonic()
        for i in range(rate * seconds):
            while time.monotonic() < start + i / rate:
                time.sleep(0.0005)
            sent[i] = time.time()
            p.produce(
                topic,
                key=str(i).encode(),
                value=json.dumps({"id": i, "sent": sent[i], "vec": vec}).encode(),
                partition=i % partitions,
            )
            p.poll(0)
        p.flush(60)

    t = threading.Thread(target=send)
    t.start()
    seen: dict[int, float] = {}
    client.load_collection(topic)
    deadline = time.time() + seconds + 60
    while len(seen) < rate * seconds and time.time() < deadline:
        now = time.time()
        top = len(sent)
        ids = [i for i in range(max(0, top - 3 * rate), top) if i not in seen]
        for chunk in range(0, len(ids), 1000):
            got = client.query(
                topic, filter=f"id in {ids[chunk : chunk + 1000]}", output_fields=["id"], consistency_level="Strong"
            )
            for r in got:
                seen.setdefault(r["id"], now)
        time.sleep(0.1)
    t.join()
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    client.close()
    return sorted(seen[i] - sent[i] for i in seen)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--sink-batch", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-kafka-") as tmp:
        work = Path(tmp)
        server = LiteServer(work / "lite")
        (work / "lite").mkdir()
        url = server.ensure()
        try:
            with Tansu(work / "tansu.log") as broker:
                broker.create_topic("bench", args.partitions)
                broker.create_topic("stream", args.partitions)
                produced = produce(broker.bootstrap, "bench", 0, args.rows, args.partitions)
                print(f"produced {args.rows:,} messages in {produced:.1f}s ({args.rows / produced:,.0f}/s)")
                loop = hand_loop(broker.bootstrap, "bench", args.partitions, args.rows, url, args.sink_batch)
                print(f"hand loop: {loop:.1f}s, {args.rows / loop:,.0f} messages/s")
                job = {
                    "env": {"parallelism": args.partitions, "checkpoint": {"path": str(work / "cp")}},
                    "source": {"Kafka": {"bootstrap_servers": broker.bootstrap, "topics": ["bench"]}},
                    "sink": {
                        "Milvus": {"url": url, "batch_size": args.sink_batch, "collection_rename": {"bench": "vts"}}
                    },
                }
                seconds = run_vts(job, work)["seconds"]
                print(
                    f"vts batch: {seconds:.1f}s, {args.rows / seconds:,.0f} messages/s (includes startup, "
                    "schema inference, index build)"
                )
                lat = latency(broker.bootstrap, url, work, args.rate, args.seconds, args.partitions)
                if lat:
                    q = np.quantile(lat, [0.5, 0.95, 0.99])
                    print(
                        f"streaming at {args.rate}/s: {len(lat):,} rows seen; latency p50 {q[0]:.2f}s "
                        f"p95 {q[1]:.2f}s p99 {q[2]:.2f}s max {lat[-1]:.2f}s"
                    )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
