"""Smoke test of the real Milvus 2.3.5 standalone launcher with pymilvus 3.0.2.

Run inside a loopback-only network namespace (the server binds all interfaces):

    unshare --net sh -c 'ip link set lo up && .venv/bin/python -m pytest -q tests/test_milvus_standalone_smoke.py'

Server tests skip when milvus-server is not installed
(``bash tests/services/install_milvus_standalone.sh``) or when not in such a
namespace; set ``VTS_REQUIRE_MILVUS_STANDALONE=1`` (CI) to make that a failure.
"""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException

from tests.services import milvus_standalone as ms
from tests.services.milvus_standalone import MilvusStandalone, shared_instance

ROWS = 1000
DIM = 8


def _server_unavailable_reason() -> str | None:
    try:
        ms.find_milvus_server()
    except FileNotFoundError as exc:
        return str(exc)
    if not ms.in_private_netns():
        return "not in a loopback-only network namespace (run under `unshare --net`)"
    if not ms.loopback_up():
        return "loopback is down (run `ip link set lo up`)"
    return None


def _require_server() -> None:
    reason = _server_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("VTS_REQUIRE_MILVUS_STANDALONE") == "1":
        pytest.fail(f"Milvus standalone required but unavailable: {reason}")
    pytest.skip(reason)


def _require_installed() -> None:
    try:
        ms.find_milvus_server()
    except FileNotFoundError as exc:
        if os.environ.get("VTS_REQUIRE_MILVUS_STANDALONE") == "1":
            raise
        pytest.skip(str(exc))


@pytest.fixture
def standalone() -> MilvusStandalone:
    """The session's shared server without auth."""
    _require_server()
    return shared_instance(auth=False)


@pytest.fixture
def standalone_auth() -> MilvusStandalone:
    """The session's shared server with auth (root:Milvus)."""
    _require_server()
    return shared_instance(auth=True)


@pytest.fixture
def collection(standalone: MilvusStandalone) -> Iterator[tuple[MilvusClient, str]]:
    client = MilvusClient(uri=standalone.uri, token=standalone.token)
    name = f"smoke_{uuid.uuid4().hex[:8]}"
    yield client, name
    if client.has_collection(name):
        client.drop_collection(name)
    client.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _grpc_cause(exc: BaseException) -> grpc.RpcError | None:
    """The grpc error under a MilvusException (pymilvus raises `e from e`, so guard loops)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, grpc.RpcError):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


def _count(client: MilvusClient, name: str) -> int:
    res = client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")
    return int(res[0]["count(*)"])


# -- no server needed ------------------------------------------------------------


def test_in_private_netns_reads_this_namespace() -> None:
    names = [n for _, n in socket.if_nameindex()]
    assert ms.in_private_netns() == (names == ["lo"])


def test_refuses_to_start_outside_private_netns(monkeypatch: pytest.MonkeyPatch) -> None:
    _require_installed()
    monkeypatch.setattr(ms, "in_private_netns", lambda: False)
    with pytest.raises(RuntimeError, match="loopback-only network namespace"):
        MilvusStandalone().start()


def test_unknown_extra_config_key_is_rejected() -> None:
    _require_installed()
    with pytest.raises(ValueError, match=r"no\.such\.key"):
        MilvusStandalone(extra_config={"no.such.key": "1"}).start()


def test_unreachable_server_error() -> None:
    """What pymilvus 3.0.2 raises when nothing listens: code 2, grpc UNAVAILABLE."""
    port = _free_port()
    with pytest.raises(MilvusException) as info:
        MilvusClient(uri=f"http://127.0.0.1:{port}")
    assert info.value.code == 2
    assert f"Fail connecting to server on 127.0.0.1:{port}" in info.value.message
    cause = _grpc_cause(info.value)
    assert cause is not None and cause.code() == grpc.StatusCode.UNAVAILABLE


# -- shared server ---------------------------------------------------------------


def test_server_facts(standalone: MilvusStandalone) -> None:
    assert standalone.uri == f"http://127.0.0.1:{standalone.port}"
    assert standalone.health_port is not None
    # everything lives under the (possibly TMPDIR-redirected) temp dir
    assert Path(tempfile.gettempdir()).resolve() in standalone.data_dir.resolve().parents
    client = MilvusClient(uri=standalone.uri)
    assert client.get_server_version().startswith("v2.3.5")
    client.close()


def test_insert_flush_index_load_count(collection: tuple[MilvusClient, str]) -> None:
    client, name = collection
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("txt", DataType.VARCHAR, max_length=64)
    client.create_collection(name, schema=schema)

    vecs = np.random.default_rng(7).random((ROWS, DIM), dtype=np.float32)
    rows = [{"id": i, "vec": vecs[i].tolist(), "txt": f"row-{i}"} for i in range(ROWS)]
    assert client.insert(name, rows)["insert_count"] == ROWS
    client.flush(name)
    index = client.prepare_index_params()
    index.add_index("vec", index_type="IVF_FLAT", metric_type="L2", params={"nlist": 16})
    client.create_index(name, index)
    client.load_collection(name)

    assert _count(client, name) == ROWS
    got = client.query(name, filter="id >= 10 and id < 20", output_fields=["txt"], consistency_level="Strong")
    assert sorted(r["txt"] for r in got) == [f"row-{i}" for i in range(10, 20)]
    hits = client.search(name, data=[vecs[42].tolist()], limit=1, output_fields=["txt"])
    assert hits[0][0]["id"] == 42


def test_query_window_is_capped_at_16384(collection: tuple[MilvusClient, str]) -> None:
    """Real Milvus rejects offset+limit > 16384 (milvus-lite does not): use pk ranges."""
    client, name = collection
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection(name, schema=schema)
    index = client.prepare_index_params()
    index.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_index(name, index)
    client.load_collection(name)
    assert client.query(name, filter="id >= 0", offset=16000, limit=384) == []
    with pytest.raises(MilvusException, match=r"\(offset\+limit\) should be in range \[1, 16384\]"):
        client.query(name, filter="id >= 0", offset=16000, limit=385)


# -- shared server with auth -----------------------------------------------------


def test_auth_root_works_and_wrong_token_is_refused(standalone_auth: MilvusStandalone) -> None:
    srv = standalone_auth
    assert srv.token == "root:Milvus"
    client = MilvusClient(uri=srv.uri, token="root:Milvus")
    assert isinstance(client.list_collections(), list)
    client.close()

    refusals = {
        "root:wrong": "auth check failure, please check username and password are correct",
        "nobody:secret": "auth check failure, please check username and password are correct",
        "": "missing authorization in header",
    }
    for token, details in refusals.items():
        with pytest.raises(MilvusException) as info:
            MilvusClient(uri=srv.uri, token=token)
        # pymilvus 3.0.2 reports a refused login like an unreachable server ...
        assert info.value.code == 2
        assert "Fail connecting to server on 127.0.0.1" in info.value.message
        # ... the grpc error underneath tells them apart
        cause = _grpc_cause(info.value)
        assert cause is not None
        assert cause.code() == grpc.StatusCode.UNAUTHENTICATED
        assert cause.details() == details


# -- dedicated server (stops the shared one) -------------------------------------


def test_extra_config_reaches_server_and_stop_cleans_up() -> None:
    _require_server()
    srv = MilvusStandalone(extra_config={"common.defaultPartitionName": "p_default"})
    with srv:
        root = srv.root
        milvus_pid = srv.milvus_pid
        pgid = srv._proc.pid if srv._proc else None
        assert root is not None and milvus_pid is not None and pgid is not None
        client = MilvusClient(uri=srv.uri)
        client.create_collection("extra_cfg", dimension=DIM)
        assert client.list_partitions("extra_cfg") == ["p_default"]
        client.close()
    assert not srv.running
    assert not root.exists()
    assert not ms._group_pids(pgid) or all(ms._proc_state(p) in ("Z", "") for p in ms._group_pids(pgid))
    assert not Path(f"/tmp/milvus/server_id_{milvus_pid}").exists()
    with pytest.raises(RuntimeError, match="not running"):
        _ = srv.uri
