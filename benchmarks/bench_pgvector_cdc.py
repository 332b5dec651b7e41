"""PostgreSQL CDC (job.mode STREAMING) -> Milvus Lite server, 768-d: sustained change rate, and a burst.

A PostgreSQL with ``wal_level=logical`` and a ``milvus-lite server`` are
started on 127.0.0.1; a table of ``--rows`` rows (more if the phases need more) (id, 768-d vector, title)
is snapshotted by ``vts run`` (streaming), then:

- sustained: for each rate in ``--rates``, a writer commits that many
  single-row UPDATEs a second (new vector, title ``u<n>``; one transaction
  each, each of another row) for ``--seconds``, while a monitor counts the
  rows Milvus shows with such a title every 0.1 s. Changes are applied in
  commit order, so that count says which is the oldest change Milvus does
  not show yet; the lag at a moment is how long ago it was committed. A rate
  is kept up with when the lag late in its phase is no larger than early in
  it (bounded) — the report gives both. (The writer is one client: on a
  loaded machine it may not reach the rate asked; the rate reached is reported.)
- burst: one UPDATE of ``--burst`` rows (one transaction), then the time
  until Milvus holds all of them (counted by their new title).

    python benchmarks/bench_pgvector_cdc.py --rows 10000 --rates 100,200,400 --seconds 8 --burst 10000
    unshare --net sh -c 'ip link set lo up; python benchmarks/bench_pgvector_cdc.py --target 235 ...'
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DIM = 768
TABLE = "cdc_bench"

from tests.conftest import LiteServer, client_for  # noqa: E402
from tests.services.postgres import PostgresServer  # noqa: E402


def vec(rng: np.random.Generator) -> str:
    return "[" + ",".join(f"{x:.4f}" for x in rng.random(DIM)) + "]"


def load(url: str, rows: int) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, embedding vector({DIM}) NOT NULL, title text NOT NULL)"
        )
        conn.execute(
            f"INSERT INTO {TABLE} SELECT i, (SELECT array_agg(random()) FROM generate_series(1, {DIM}) k WHERE i >= 0)::vector, "
            f"'row ' || i FROM generate_series(0, {rows - 1}) i"
        )


class Counter:
    """Counts the rows of the bench's collection that match a filter, with a client of its own.

    pymilvus shares one channel per address, so a count must not wait behind another client's call; each
    count has a deadline and a failed one (a connection the server dropped: GOAWAY too_many_pings) opens
    a new client and says None, so a long measurement does not end on it.
    """

    def __init__(self, milvus: str, what: str) -> None:
        self.milvus, self.what = milvus, what
        self.client = self._open()

    def _open(self):
        from pymilvus import MilvusClient

        return MilvusClient(uri=self.milvus, dedicated=True)

    def __call__(self, filter: str) -> int | None:
        try:
            res = self.client.query(
                TABLE, filter=filter, output_fields=["count(*)"], consistency_level="Strong", timeout=10
            )
        except Exception as e:
            print(f"{self.what}: {type(e).__name__}: {e}; reconnecting", file=sys.stderr, flush=True)
            self.close()
            self.client = self._open()
            return None
        return int(res[0]["count(*)"])

    def close(self) -> None:
        self.client.close()


APPLIED = 'title like "u%"'  # updates Milvus shows: each one gave a row of its own a title 'u<sequence number>'


def sustained(url: str, milvus: str, rate: int, seconds: float, seq0: int) -> tuple[dict, int]:
    import psycopg

    rng = np.random.default_rng(rate)
    vectors = [vec(rng) for _ in range(256)]
    commits: list[float] = []  # commit time of the update with sequence number seq0 + i (row id seq0 + i + 1)
    seen: list[tuple[float, int]] = []  # (when, updates Milvus showed then, all phases together)
    stop = threading.Event()

    def monitor() -> None:
        count = Counter(milvus, "monitor")
        try:
            while not stop.is_set():
                n = count(APPLIED)
                if n is not None:
                    seen.append((time.time(), n))
                    time.sleep(0.1)
        finally:
            count.close()

    mon = threading.Thread(target=monitor, daemon=True)
    mon.start()
    with psycopg.connect(url, autocommit=True) as conn:
        t0 = time.time()
        i = 0
        while i < int(rate * seconds):  # exactly that many: the table holds a row for each (main)
            due = t0 + i / rate
            if time.time() < due:
                time.sleep(max(0.0, due - time.time()))
            conn.execute(
                f"UPDATE {TABLE} SET embedding = %s, title = %s WHERE id = %s",
                [vectors[i % 256], f"u{seq0 + i}", seq0 + i + 1],
            )
            commits.append(time.time())
            i += 1
        written = time.time() - t0
    deadline = time.time() + 300
    while (not seen or seen[-1][1] < seq0 + i) and time.time() < deadline:
        time.sleep(0.1)
    stop.set()
    mon.join()

    def lag_at(at: float, shown: int) -> float:
        nxt = shown - seq0  # the oldest update of this phase Milvus does not show yet
        return 0.0 if nxt >= len(commits) or commits[nxt] > at else at - commits[nxt]

    during = [(at, lag_at(at, n)) for at, n in seen if at <= t0 + written]
    half = [lag for at, lag in during if at <= t0 + written / 2]
    late = [lag for at, lag in during if at > t0 + written * 0.75]
    return {
        "rate_asked": rate,
        "changes_per_s": round(i / written, 1),
        "lag_max_s": round(max((lag for _, lag in during), default=0.0), 2),
        "lag_first_half_max_s": round(max(half, default=0.0), 2),
        "lag_last_quarter_max_s": round(max(late, default=0.0), 2),
        "caught_up_s_after_writes_stopped": round((seen[-1][0] - commits[-1]) if seen else float("nan"), 2),
    }, seq0 + i


def burst(url: str, milvus: str, n: int) -> dict:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        t0 = time.time()
        conn.execute(
            f"UPDATE {TABLE} SET title = 'burst', embedding = embedding + array_fill(1, ARRAY[{DIM}])::vector "
            f"WHERE id BETWEEN 1 AND {n}"
        )
        committed = time.time()
    count = Counter(milvus, "burst")
    try:
        while (count('title == "burst"') or 0) < n:
            if time.time() - committed > 300:
                raise TimeoutError("the burst did not arrive in 300 s")
            time.sleep(0.1)
    finally:
        count.close()
    done = time.time()
    return {"updates": n, "commit_s": round(committed - t0, 2), "lag_s": round(done - committed, 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--rates", default="100,300,1000")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--burst", type=int, default=10_000)
    ap.add_argument(
        "--target",
        choices=["lite", "235"],
        default="lite",
        help="milvus-lite server, or Milvus 2.3.5 standalone (run inside unshare --net: it binds every interface)",
    )
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed bench still stops its servers (finally)
    work = Path(tempfile.mkdtemp(prefix="vts-cdc-bench-"))
    pg = PostgresServer(settings={"wal_level": "logical", "max_replication_slots": "4", "max_wal_senders": "4"})
    pg.start()
    if args.target == "235":
        from tests.services import milvus_standalone as ms

        if not ms.in_private_netns():
            sys.exit("Milvus 2.3.5 binds every interface: run this inside unshare --net (see the README)")
        lite = ms.MilvusStandalone().start()
        milvus = lite.uri
    else:
        lite = LiteServer(work)
        milvus = lite.ensure()
    proc = None
    rates = [int(r) for r in args.rates.split(",")]
    # every sustained update changes a row of its own (its title counts it), so the table holds them all
    rows = max(args.rows, args.burst + 1, int(sum(rates) * args.seconds) + 1)
    try:
        load(pg.url, rows)
        job = work / "job.yaml"
        job.write_text(
            json.dumps(
                {
                    "env": {"job.mode": "STREAMING", "checkpoint": {"path": str(work / "cp"), "interval": 1}},
                    "source": {"Pgvector": {"url": pg.url, "table": TABLE, "poll_interval": 0.1}},
                    "sink": {"Milvus": {"url": milvus, "sink.buffer-flush.interval": 0.2}},
                }
            )
        )
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        vts = Path(sys.executable).with_name("vts")
        log = (work / "vts.log").open("w")
        t0 = time.time()
        proc = subprocess.Popen(
            [str(vts), "--log-level", "DEBUG", "run", str(job), "--quiet"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        c = client_for(milvus)
        while True:
            assert proc.poll() is None, (work / "vts.log").read_text()
            if c.has_collection(TABLE) and c.get_load_state(TABLE)["state"].name == "Loaded":  # 2.3.5 queries need it
                res = c.query(TABLE, filter="", output_fields=["count(*)"], consistency_level="Strong")
                if int(res[0]["count(*)"]) >= rows:
                    break
            time.sleep(0.2)
        c.close()
        out: dict = {
            "target": args.target,
            "rows": rows,
            "dim": DIM,
            "snapshot_s": round(time.time() - t0, 1),
            "sustained": [],
        }
        seq = 0
        for rate in rates:
            result, seq = sustained(pg.url, milvus, rate, args.seconds, seq)
            out["sustained"].append(result)
            print(json.dumps(result), flush=True)
        out["burst"] = burst(pg.url, milvus, args.burst)
        print(json.dumps(out, indent=2))
        print(f"vts's log: {work / 'vts.log'}")
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        lite.stop()
        pg.stop()


if __name__ == "__main__":
    main()
