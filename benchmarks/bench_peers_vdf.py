"""vector-io (PyPI ``vdf-io``) beside vts: Milvus 2.3.5 -> Milvus 2.3.5, export plus import, end to end.

vector-io pins an old pymilvus, so it runs from its own venv (``.venv-bench-peers``,
``make bench-peers``): ``export_vdf milvus`` writes its VDF folder (Parquet +
VDF_META.json), ``import_vdf milvus`` reads it into the server. Source and
target share the one 2.3.5 server a namespace can hold, and vector-io imports
into a collection named like the exported one, so between the two steps the
collection is renamed in VDF_META.json (the format's own index map), as a user
moving within one server would. Both tools' targets are read back and every
vector compared bit for bit with the source (``altered_vectors``).

Qdrant -> Milvus and Pinecone -> Milvus through vector-io are not benched:
vector-io's Qdrant exporter needs a Qdrant server (none exists here; vts reads
the local-mode folder), and its Pinecone exporter's client (pinecone-client 4)
speaks an API version the emulator (2026-07, the SDK vts uses) does not.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_milvus_to_milvus import setup  # noqa: F401  (the path's setup, by name)
from bench_milvus_to_milvus import vts as vts_copy
from common import client
from measure import REPO, BenchPath, Side

PEERS_VENV = REPO / ".venv-bench-peers"


def _vectors(url: str, name: str) -> dict[Any, np.ndarray]:
    """Every row's vector by primary key (as text: vector-io turns integer keys into strings)."""
    from common import read_pages

    c = client(url)
    return {str(r["id"]): np.asarray(r["vector"], dtype=np.float32) for page in read_pages(c, name) for r in page}


def _types(url: str, name: str) -> dict[str, str]:
    from pymilvus import DataType

    return {f["name"]: DataType(f["type"]).name for f in client(url).describe_collection(name)["fields"]}


def _altered(url: str, src: str, dst: str) -> dict[str, Any]:
    want, got = _vectors(url, src), _vectors(url, dst)
    missing = [k for k in want if k not in got]
    altered = sum(1 for k, v in want.items() if k in got and not np.array_equal(v, got[k]))
    before, after = _types(url, src), _types(url, dst)
    changed = [f"{k}: {t} -> {after.get(k, 'missing')}" for k, t in before.items() if after.get(k) != t]
    return {
        "missing_rows": len(missing),
        "altered_vectors": altered,
        "extra_rows": len(set(got) - set(want)),
        "schema_changes": changed,
    }


def vts(env: dict[str, Any]) -> dict[str, Any]:
    result = vts_copy(env)
    result.update(_altered(env["milvus_url"], env["src"], f"vts_{env['tag']}"))
    return result


def vector_io(env: dict[str, Any]) -> dict[str, Any]:
    if not (PEERS_VENV / "bin" / "export_vdf").exists():
        raise SystemExit(f"vector-io is not installed in {PEERS_VENV}: run `make bench-peers`")
    url, name, out = env["milvus_url"], f"vdf_{env['tag']}", Path(env["work"]) / f"vdf-{env['tag']}"
    out.mkdir(parents=True, exist_ok=True)
    # vector-io records $USER as the export's author and fails without it (unset under CI and make's shell)
    run_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"ZILLIZ_CLOUD_TOKEN": ""}
    run_env.setdefault("USER", "vts-bench")
    t0 = time.perf_counter()
    _run("export_vdf_cli", ["milvus", "-u", url, "-t", "", "-c", env["src"]], run_env, out)
    [folder] = [p for p in out.iterdir() if (p / "VDF_META.json").exists()]
    meta_path = folder / "VDF_META.json"
    meta = json.loads(meta_path.read_text())
    meta["indexes"] = {name: next(iter(meta["indexes"].values()))}  # into a new collection, not the source
    meta_path.write_text(json.dumps(meta))
    _run("import_vdf_cli", ["-d", str(folder), "milvus", "-u", url, "-t", ""], run_env, out)
    seconds = time.perf_counter() - t0
    from common import count

    result = {"seconds": seconds, "rows": count(client(url), name)}
    result.update(_altered(url, env["src"], name))
    return result


# Both CLIs end by asking pypi.org for a newer vdf-io and fail when it cannot be reached (the bench runs in
# a loopback-only namespace): the entry point, with that check made a no-op before the CLI imports it.
_ENTRY = (
    "import sys, vdf_io.scripts.check_for_updates as u; u.check_for_updates = lambda: None; "
    "import importlib; sys.argv = sys.argv[1:]; importlib.import_module('vdf_io.' + sys.argv[0]).main()"
)


def _run(cli: str, args: list[str], env: dict[str, str], cwd: Path) -> None:
    """vector-io's ``vdf_io.<cli>`` main, in its venv."""
    cmd = [str(PEERS_VENV / "bin" / "python"), "-c", _ENTRY, cli, *args]
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        raise SystemExit(f"{cli} exited {out.returncode}: {(out.stderr or out.stdout)[-1500:]}")


PATHS = [
    BenchPath(
        name="Milvus 2.3.5 -> Milvus 2.3.5: vts beside vector-io",
        module=__name__,
        sides=(Side("vts", "vts", "vts"), Side("vector-io export + import", "peer", "vector_io")),
        services=("milvus235",),
        setup="setup",
        quick_rows=1_000,
        full_rows=20_000,
        needs_netns=True,
        params={"server": "milvus235"},
        notes="bit-exactness: altered_vectors counts target vectors that differ from the source's; "
        "schema_changes lists the source fields whose type the target does not keep",
    )
]
