"""VTS-style .conf jobs run end to end: HOCON twins of the YAML jobs, VTS's own reference files, the example chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import client_for, read_all, run_vts
from tests.pgvector_fixtures import execute, unique
from vts import config, registry

JOBS = Path(__file__).resolve().parent.parent / "jobs"
REFERENCE = Path(__file__).resolve().parent / "vts_reference"  # VTS's own job files, verbatim
# What the reference files' own placeholders need to load (their URLs are rewritten where a test runs them).
ENVIRONMENT = {
    "PG_URL": "postgresql://u:p@127.0.0.1:5432/db",
    "QDRANT_PATH": "./qdrant_data",
    "S3_ACCESS_KEY": "ak",
    "S3_SECRET_KEY": "sk",
    "ZILLIZ_URI": "https://in01-x.zillizcloud.com",
    "ZILLIZ_API_KEY": "zilliz-api-key-for-loading-only",
    "ZILLIZ_CLUSTER_ID": "in01-x",
    "AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k",
    # the examples' own variables, set so both forms load (the test after this one unsets some)
    "CHROMA_PATH": "./chroma_data",
    "LANCEDB_URI": "./lancedb_data",
    "FILES_PATH": "./emb/*.parquet",
    "VDF_PATH": "./export",
    "ES_URL": "http://127.0.0.1:9200",
    "KAFKA_BOOTSTRAP": "127.0.0.1:9092",
    "KAFKA_TOPIC": "docs",
    "PINECONE_API_KEY": "pinecone-key-for-loading-only",
    "PINECONE_INDEX": "products",
    "COLLECTION": "films",
    "KAFKA_MODE": "streaming",
    "MILVUS_URL": "http://127.0.0.1:19530",
}


def _same_job(a: config.Job, b: config.Job) -> None:
    assert a.env == b.env
    assert (type(a.source), a.source.options) == (type(b.source), b.source.options)
    assert [(type(t), t.options) for t in a.transforms] == [(type(t), t.options) for t in b.transforms]
    assert (type(a.sink), a.sink.options) == (type(b.sink), b.sink.options)


@pytest.mark.parametrize("yaml_job", sorted(p.name for p in JOBS.glob("*.yaml")))
def test_every_yaml_job_has_a_hocon_twin_that_loads_to_the_same_job(
    yaml_job: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    twin = JOBS / yaml_job.replace(".yaml", ".conf")
    assert twin.exists(), f"jobs/{twin.name} is missing"
    _same_job(config.load(JOBS / yaml_job), config.load(twin))


@pytest.mark.parametrize("yaml_job", ["milvus_to_parquet.yaml", "kafka_to_milvus.yaml", "datagen_on_ray.yaml"])
def test_a_twin_takes_the_same_defaults_when_its_variables_are_unset(
    yaml_job: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    for name in ("COLLECTION", "KAFKA_MODE", "RAY_ADDRESS", "MILVUS_URL", "MILVUS_TOKEN", "EXPORT_PATH"):
        monkeypatch.delenv(name, raising=False)
    _same_job(config.load(JOBS / yaml_job), config.load(JOBS / yaml_job.replace(".yaml", ".conf")))


def test_the_quickstart_and_its_twin_write_identical_collections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUICKSTART_ROWS", "300")
    rows = {}
    for suffix in ("yaml", "conf"):
        db = tmp_path / f"{suffix}.db"
        monkeypatch.setenv("QUICKSTART_DB", str(db))
        code, _, err = run_vts("run", "-q", str(JOBS / f"quickstart.{suffix}"), capsys=capsys)
        assert code == 0, err
        client = client_for(str(db))
        rows[suffix] = read_all(client, "quickstart", ["id", "vector", "title", "meta", "tags"])
        client.close()
    assert len(rows["conf"]) == 300 and rows["conf"] == rows["yaml"]


def test_vts_convert_prints_the_yaml_job_a_conf_job_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = JOBS / "transforms_demo.conf"
    code, out, err = run_vts("convert", str(conf), "-i", "rows=50", capsys=capsys)
    assert code == 0, err
    yaml_job = tmp_path / "demo.yaml"
    yaml_job.write_text(out)
    _same_job(config.load(yaml_job), config.load(conf, variables={"rows": "50"}))
    assert "Sql:" in out and "table_name: docs_typed" in out


def test_the_example_chain_of_three_transforms_writes_exactly_what_it_computes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.db"
    conf = JOBS / "transforms_demo.conf"
    code, _, err = run_vts("run", "-q", str(conf), "-i", "rows=400", "-i", f"db={db}", capsys=capsys)
    assert code == 0, err
    # The same rows, read straight from the source, transformed here by hand.
    job = config.load(conf, variables={"rows": "400"})
    (table,) = job.source.discover()
    source_rows = [
        r for s in job.source.splits([table], 1) for b, _ in job.source.read(s, table) for r in b.to_pylist()
    ]
    expected = []
    for r in source_rows:
        meta = json.loads(r["meta"])
        if meta["group"] < 5:
            v = np.asarray(r["vector"], dtype=np.float32)
            expected.append(
                {"id": r["id"], "vector": list(v / np.linalg.norm(v)), "title": r["title"].upper(),
                 "group_id": meta["group"], "label": meta["label"], "rank": meta["group"] * 10}
            )  # fmt: skip
    client = client_for(str(db))
    got = read_all(client, "docs", ["id", "vector", "title", "group_id", "label", "rank"])
    assert len(source_rows) == 400 and 0 < len(got) < 400
    assert [{k: v for k, v in g.items() if k != "vector"} for g in got] == [
        {k: v for k, v in e.items() if k != "vector"} for e in expected
    ]
    assert np.allclose([g["vector"] for g in got], [e["vector"] for e in expected], atol=1e-6)
    assert client.describe_index("docs", "vector")["metric_type"] == "IP"
    client.close()
    # verify re-reads the source through the same transforms and compares every value
    code, out, err = run_vts("verify", "--full", str(conf), "-i", "rows=400", "-i", f"db={db}", capsys=capsys)
    assert code == 0, out + err
    assert "equal" in out


def _reference(name: str) -> str:
    return (REFERENCE / name).read_text()


def test_vts_template_runs_fake_source_into_console(capsys: pytest.CaptureFixture[str]) -> None:
    path = Path("template.conf")
    path.write_text(_reference("vts__config__v2.batch.config.template.conf"))
    code, out, err = run_vts("run", str(path), capsys=capsys)
    assert code == 0, err
    printed = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(printed) == 16 and all(set(r) == {"table", "name", "age"} for r in printed)
    assert all(isinstance(r["name"], str) and isinstance(r["age"], int) for r in printed)
    assert "FakeSource.parallelism is ignored" in err and "checkpoints each split every 10 s" in err


def test_vts_milvus_to_milvus_example_copies_a_collection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source_db, target_db = tmp_path / "src.db", tmp_path / "dst.db"
    seed = {
        "source": {"DataGen": {"collection": "medium_articles", "row_count": 120}},
        "sink": {"Milvus": {"url": str(source_db)}},
    }
    seed_job = tmp_path / "seed.yaml"
    seed_job.write_text(json.dumps(seed))
    assert run_vts("run", "-q", str(seed_job), capsys=capsys)[0] == 0
    text = _reference("vts__seatunnel-examples__milvus_to_milvus.conf")
    text = text.replace("https://in01-***.aws-us-west-2.vectordb.zillizcloud.com:19530", str(source_db))
    text = text.replace("https://in01-***.aws-us-west-2.vectordb.zillizcloud.com:19542", str(target_db))
    path = tmp_path / "m2m.conf"
    path.write_text(text.replace('token="***"', 'token=""'))
    code, _, err = run_vts("run", "-q", str(path), capsys=capsys)
    assert code == 0, err
    fields = ["id", "vector", "title"]
    src, dst = client_for(str(source_db)), client_for(str(target_db))
    assert read_all(dst, "medium_articles", fields) == read_all(src, "medium_articles", fields)
    assert len(read_all(dst, "medium_articles", ["id"])) == 120


def test_vts_pg_to_milvus_example_reads_postgresql_through_its_jdbc_block(
    tmp_path: Path, pg: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    table = unique("items")
    execute(
        pg.url,
        f"CREATE TABLE {table} (id bigint PRIMARY KEY, embedding vector(3) NOT NULL, title text)",
        f"INSERT INTO {table} SELECT i, ARRAY[i, i * 2, -i]::real[]::vector(3), 'item ' || i "
        "FROM generate_series(1, 50) i",
    )
    text = _reference("vts__seatunnel-examples__pg_to_milvus.conf")
    text = text.replace("database-1-instance-1.***.us-east-1.rds.amazonaws.com:5432", f"127.0.0.1:{pg.port}")
    text = text.replace('password = "***"', 'password = "${pg_password}"').replace("public.items", f"public.{table}")
    text = text.replace("https://in01-***.aws-us-west-2.vectordb.zillizcloud.com:19542", str(tmp_path / "pg.db"))
    path = tmp_path / "pg.conf"
    path.write_text(text.replace('token="***"', 'token=""'))
    password = pg.url.split(":")[2].split("@")[0]
    code, _, err = run_vts("run", "-q", str(path), "-i", f"pg_password={password}", capsys=capsys)
    assert code == 0, err
    got = read_all(client_for(str(tmp_path / "pg.db")), table, ["id", "embedding", "title"])
    assert [(r["id"], r["embedding"], r["title"]) for r in got] == [
        (i, [float(i), 2.0 * i, -float(i)], f"item {i}") for i in range(1, 51)
    ]
    assert "driver is not needed" in err


def test_vts_qdrant_example_maps_onto_the_qdrant_source() -> None:
    # No Qdrant server runs here: the mapping is what can be checked; the source's own tests read.
    converted_job = config.build(_converted("vts__seatunnel-examples__qdrant.conf"))
    o = converted_job.source.options
    assert type(converted_job.source).name == "Qdrant"
    assert (o.host, o.grpc_port, o.prefer_grpc, o.https, o.collection_name, o.batch_size) == (
        "127.0.0.1", 6334, True, False, "midjourney", 100
    )  # fmt: skip
    assert o.api_key.get_secret_value() == "****" and converted_job.sink.options.batch_size == 10


def test_vts_pinecone_example_maps_onto_the_pinecone_source_when_vts_has_one() -> None:
    raw_text = _reference("vts__seatunnel-examples__pinecone.conf")
    from vts import hocon

    if "Pinecone" in registry.available()["source"]:
        job = config.build(hocon.convert(raw_text, "pinecone.conf", environ={}).raw)
        assert (job.source.options.index, job.source.options.merge_namespace) == ("book", True)
    else:
        with pytest.raises(Exception) as err:
            hocon.convert(raw_text, "pinecone.conf", environ={})
        assert getattr(err.value, "code", None) == "VTS-04" and "Pinecone" in str(err.value)


def _converted(name: str) -> dict[str, Any]:
    from vts import hocon

    return hocon.convert(_reference(name), name, environ={}).raw
