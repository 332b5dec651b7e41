"""BulkWriter staging: Parquet layout, file keys and sizes, read-back equality; local, S3 (moto), Azure (Azurite)."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from azure.core.exceptions import HttpResponseError
from botocore.exceptions import ClientError

from tests.bulk_fixtures import Staged, datagen, s3_config, source_table, unique
from vts.connectors.milvus.bulk.config import MB, BulkWriterConfig
from vts.connectors.milvus.bulk.errors import storage_error
from vts.connectors.milvus.bulk.storage import STORAGE_RETRY, AzureStorage, S3Storage
from vts.connectors.milvus.bulk.writer import split_stem
from vts.connectors.milvus.errors import MilvusError

ALL_TYPES = [
    {"name": "id", "type": "BIGINT", "primary_key": True},
    {"name": "vector", "type": "FLOAT_VECTOR", "dimension": 8},
    {"name": "title", "type": "STRING", "max_length": 64},
    {"name": "flag", "type": "BOOLEAN"},
    {"name": "small", "type": "SMALLINT"},
    {"name": "score", "type": "DOUBLE", "nullable": True, "null_ratio": 0.2},
    {"name": "meta", "type": "JSON"},
    {"name": "tags", "type": "ARRAY", "element_type": "BIGINT", "max_capacity": 16},
    {"name": "sparse", "type": "SPARSE_FLOAT_VECTOR"},
]


def _local_cfg(tmp_path: Path, **kw):
    folder = tmp_path / "stage"
    folder.mkdir(exist_ok=True)
    return {"cloud_id": "local", "local_path": str(folder), "prefix": "exports/vts", **kw}


def _check_equal(source: pa.Table, staged: pa.Table) -> None:
    """Staged rows (Milvus layout) equal the source rows, column by column."""
    staged = staged.sort_by("id")
    source = source.sort_by("id")
    assert staged.num_rows == source.num_rows
    assert staged.column("id").to_pylist() == source.column("id").to_pylist()
    if "vector" in source.column_names:
        assert staged.schema.field("vector").type == pa.list_(pa.float32())
        got = np.asarray(staged.column("vector").combine_chunks().flatten()).reshape(staged.num_rows, -1)
        want = np.asarray(source.column("vector").combine_chunks().flatten()).reshape(source.num_rows, -1)
        assert np.array_equal(got, want)
    for name in ("title", "flag", "small", "score", "tags"):
        if name in source.column_names:
            assert staged.column(name).to_pylist() == source.column(name).to_pylist(), name
    if "meta" in source.column_names:
        assert staged.schema.field("meta").type == pa.string()
        got = [json.loads(v) for v in staged.column("meta").to_pylist()]
        assert got == [json.loads(v) for v in source.column("meta").to_pylist()]
    if "sparse" in source.column_names:
        assert staged.schema.field("sparse").type == pa.string()
        for text, want in zip(staged.column("sparse").to_pylist(), source.column("sparse").to_pylist()):
            got = json.loads(text)
            assert got["indices"] == want["indices"]
            assert np.allclose(np.float32(got["values"]), np.float32(want["values"]))


def test_local_layout_all_types_reads_back_equal(tmp_path: Path) -> None:
    spec = datagen(5000, fields=ALL_TYPES, collection="alltypes")
    sink = {"bulk_writer_config": _local_cfg(tmp_path), "enable_dynamic_field": True}
    st = Staged(tmp_path, spec, sink, version="2.5.0")  # nullable and sparse need 2.4+
    infos = st.stage(parallelism=2)
    files = [f for info in infos for f in info["files"]]
    root = tmp_path / "stage"
    for f in files:
        assert f["key"].startswith("exports/vts/alltypes/_default/")
        assert f["path"] == str(root / f["key"])
        assert (root / f["key"]).stat().st_size == f["bytes"]
    staged = pa.concat_tables([pq.read_table(root / f["key"]) for f in files])
    # the exact column set Milvus expects: the dynamic field as $meta, nothing else
    assert staged.column_names == [*(f["name"] for f in ALL_TYPES), "$meta"]
    assert set(staged.column("$meta").to_pylist()) == {"{}"}
    _check_equal(source_table(st.source), staged)
    assert sum(i["rows"] for i in infos) == 5000
    assert st.staged == 5000
    assert not list(root.glob(".vts-spool/*"))  # no temp file left behind


def test_staged_vectors_are_stored_uncompressed_and_every_other_column_with_snappy(tmp_path: Path) -> None:
    fields = [*ALL_TYPES, {"name": "bits", "type": "BINARY_VECTOR", "dimension": 16}]
    st = Staged(
        tmp_path,
        datagen(500, fields=fields, collection="codecs"),
        {"bulk_writer_config": _local_cfg(tmp_path)},
        version="2.5.0",
    )
    (info,) = st.stage()
    chunks = pq.ParquetFile(tmp_path / "stage" / info["files"][0]["key"]).metadata.row_group(0)
    codecs = {
        chunks.column(i).path_in_schema.split(".")[0]: chunks.column(i).compression for i in range(chunks.num_columns)
    }
    assert codecs.pop("vector") == codecs.pop("bits") == "UNCOMPRESSED"  # embeddings do not compress: CPU for nothing
    assert set(codecs) == {"id", "title", "flag", "small", "score", "meta", "tags", "sparse"}
    assert set(codecs.values()) == {"SNAPPY"}, str(codecs)


def test_chunk_size_bounds_every_file(tmp_path: Path) -> None:
    spec = datagen(60_000, dim=32)  # ~8.6 MB of vectors
    chunk = 1.0
    st = Staged(tmp_path, spec, {"bulk_writer_config": _local_cfg(tmp_path, chunk_size=chunk, row_group_mb=0.25)})
    (info,) = st.stage()
    sizes = [f["bytes"] for f in info["files"]]
    assert len(sizes) >= 8
    assert max(sizes) <= chunk * MB
    assert min(sizes[:-1]) >= 0.6 * chunk * MB  # files are filled, not cut early
    starts = [int(f["key"].rsplit("-", 1)[1].split(".")[0]) for f in info["files"]]
    assert starts == list(np.cumsum([0] + [f["rows"] for f in info["files"]])[:-1])
    staged = pa.concat_tables([pq.read_table(tmp_path / "stage" / f["key"]) for f in info["files"]])
    _check_equal(source_table(st.source), staged)


def test_retry_replaces_and_resume_keeps_its_files(tmp_path: Path) -> None:
    cfg = _local_cfg(tmp_path, chunk_size=0.2)
    spec = datagen(20_000)
    first = Staged(tmp_path, spec, {"bulk_writer_config": cfg}).stage()[0]["files"]
    assert len(first) > 2
    # a retry from scratch overwrites the same names: nothing is left to import twice
    again = Staged(tmp_path, spec, {"bulk_writer_config": cfg}).stage()[0]["files"]
    assert [f["key"] for f in again] == [f["key"] for f in first]
    folder = tmp_path / "stage" / "exports/vts/bulk/_default"
    assert sorted(p.name for p in folder.iterdir()) == sorted(Path(f["key"]).name for f in first)
    # a resume at a checkpoint (rows_written = R) keeps the files below R and drops the rest
    cut = first[0]["rows"] + first[1]["rows"]
    st = Staged(tmp_path, spec, {"bulk_writer_config": cfg})
    writer = st.writer(st.splits()[0], start_rows=cut)
    info = st.finish(writer)
    writer.close()
    assert [f["key"] for f in info["files"]] == [f["key"] for f in first[:2]]
    assert info["rows"] == cut
    assert sorted(p.name for p in folder.iterdir()) == sorted(Path(f["key"]).name for f in first[:2])


def test_bad_rows_are_rejected_not_staged(tmp_path: Path) -> None:
    spec = datagen(
        100,
        fields=[
            {"name": "id", "type": "BIGINT", "primary_key": True},
            {"name": "v", "type": "FLOAT_VECTOR", "dimension": 4},
        ],
    )
    st = Staged(tmp_path, spec, {"bulk_writer_config": _local_cfg(tmp_path), "max_error_rows": 5})
    batch = pa.record_batch(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "v": pa.FixedSizeListArray.from_arrays(
                pa.array([0, 0, 0, 1, math.nan, 0, 0, 0, 1, 1, 1, 1], pa.float32()), 4
            ),
        }
    )
    writer = st.writer(st.splits()[0])
    writer.write(batch)
    info = st.finish(writer)
    writer.close()
    assert info["rows"] == 2 and st.rejects.count == 1
    assert "NaN" in (tmp_path / "rejects.jsonl").read_text()
    staged = pq.read_table(tmp_path / "stage" / info["files"][0]["key"])
    assert staged.column("id").to_pylist() == [1, 3]


def test_split_stem_is_safe_and_distinct() -> None:
    a, b = split_stem("coll/part a#1"), split_stem("coll/part_a_1")
    assert "/" not in a and " " not in a and a != b


# -- S3 on moto --------------------------------------------------------------------------------------


def test_s3_keys_sizes_and_read_back(tmp_path: Path, s3) -> None:
    bucket = unique("b").replace("_", "-")
    s3.create_bucket(bucket)
    spec = datagen(30_000, dim=16, collection="docs", partitions=["p1", "p2"])
    st = Staged(tmp_path, spec, {"bulk_writer_config": s3_config(s3, bucket, prefix="stage", chunk_size=0.5)})
    infos = st.stage()
    keys = s3.keys(bucket)
    files = [f for i in infos for f in i["files"]]
    assert {f["key"]: f["bytes"] for f in files} == keys  # every staged file, nothing else
    assert {k.rsplit("/", 1)[0] for k in keys} == {"stage/docs/p1", "stage/docs/p2"}
    assert all(size <= 0.5 * MB for size in keys.values())
    assert all(f["path"] == f["key"] for f in files)  # relative to the bucket, as Milvus reads it
    body = [s3.client().get_object(Bucket=bucket, Key=k)["Body"].read() for k in sorted(keys)]
    staged = pa.concat_tables([pq.read_table(io.BytesIO(b)) for b in body])
    _check_equal(source_table(st.source), staged)


def test_s3_wrong_credentials(tmp_path: Path, s3) -> None:
    bucket = unique("b").replace("_", "-")
    s3.create_bucket(bucket)
    cfg = s3_config(s3, bucket, prefix="stage", secret_key="not-the-secret")
    st = Staged(tmp_path, datagen(10), {"bulk_writer_config": cfg})
    with pytest.raises(MilvusError) as err:
        st.stage()
    assert err.value.code == "MILVUS-24"
    assert "refused the credentials" in err.value.message and bucket in err.value.message
    assert "access_key and secret_key" in err.value.hint


def test_s3_missing_bucket(tmp_path: Path, s3) -> None:
    st = Staged(tmp_path, datagen(10), {"bulk_writer_config": s3_config(s3, "no-such-bucket", prefix="stage")})
    with pytest.raises(MilvusError) as err:
        st.stage()
    assert err.value.code == "MILVUS-24"
    assert "'no-such-bucket' does not exist" in err.value.message
    assert "create the bucket" in err.value.hint


# -- Azure on Azurite ------------------------------------------------------------------------------


def _azure_cfg(az, container: str, **kw):
    return {"cloud_id": "azure", "connection_string": az.connection_string, "bucket_name": container, **kw}


def test_azure_keys_sizes_and_read_back(tmp_path: Path, azurite) -> None:
    container = unique("c").replace("_", "-")
    azurite.create_container(container)
    spec = datagen(20_000, dim=16, collection="docs")
    st = Staged(tmp_path, spec, {"bulk_writer_config": _azure_cfg(azurite, container, chunk_size=0.5)})
    infos = st.stage()
    blobs = azurite.blobs(container)
    files = [f for i in infos for f in i["files"]]
    assert {f["key"]: f["bytes"] for f in files} == blobs
    assert all(k.startswith("vts/docs/_default/") for k in blobs) and len(blobs) > 1
    assert all(size <= 0.5 * MB for size in blobs.values())
    cc = azurite.service().get_container_client(container)
    staged = pa.concat_tables([pq.read_table(io.BytesIO(cc.download_blob(k).readall())) for k in sorted(blobs)])
    _check_equal(source_table(st.source), staged)


def test_azure_wrong_key(tmp_path: Path, azurite) -> None:
    container = unique("c").replace("_", "-")
    azurite.create_container(container)
    bad = azurite.connection_string.replace("AccountKey=Eby8", "AccountKey=AAAA")
    st = Staged(
        tmp_path, datagen(10), {"bulk_writer_config": {**_azure_cfg(azurite, container), "connection_string": bad}}
    )
    with pytest.raises(MilvusError) as err:
        st.stage()
    assert err.value.code == "MILVUS-24" and "refused the credentials" in err.value.message


def test_azure_missing_container(tmp_path: Path, azurite) -> None:
    st = Staged(tmp_path, datagen(10), {"bulk_writer_config": _azure_cfg(azurite, "no-such-container")})
    with pytest.raises(MilvusError) as err:
        st.stage()
    assert err.value.code == "MILVUS-24" and "'no-such-container' does not exist" in err.value.message


@pytest.mark.parametrize("status,code", [(404, "ContainerNotFound"), (404, "NoSuchBucket"), (404, "404")])
def test_missing_bucket_is_named_even_when_the_request_id_contains_403(status: int, code: str) -> None:
    # Azurite's request ids are random; one with "-4032-" once made a missing container read as a refused key.
    exc = HttpResponseError(message=f"The specified container does not exist. RequestId:a956e6c1-326d-4032-9f66 {code}")
    exc.status_code, exc.error_code = status, code
    err = storage_error(exc, "azure", "no-such-container", "checking the container")
    assert err.code == "MILVUS-24" and "'no-such-container' does not exist" in err.message


@pytest.mark.parametrize("status,code", [(403, "AuthenticationFailed"), (403, "InvalidAccessKeyId"), (401, "")])
def test_refused_credentials_are_told_apart_from_a_missing_bucket(status: int, code: str) -> None:
    exc = ClientError(
        {"Error": {"Code": code, "Message": "denied"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )
    err = storage_error(exc, "aws", "bkt", "checking the bucket")
    assert err.code == "MILVUS-24" and "refused the credentials" in err.message


def test_server_errors_from_storage_are_retried_not_fatal() -> None:
    exc = ClientError({"Error": {"Code": "InternalError"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "PutObject")
    err = storage_error(exc, "aws", "bkt", "uploading a/b.parquet")
    assert err.code == "MILVUS-22" and err.transient


def test_storage_clients_retry_each_request_as_the_storage_policy_says(azurite) -> None:
    s3_client = S3Storage(BulkWriterConfig(bucket_name="b", minio_url="http://127.0.0.1:9")).client
    assert s3_client.meta.config.retries["total_max_attempts"] == STORAGE_RETRY.attempts + 1  # the first try too
    cfg = BulkWriterConfig(cloud_id="azure", bucket_name="c", connection_string=azurite.connection_string)
    retry = AzureStorage(cfg).client._config.retry_policy  # the SDK keeps its pipeline's policies there
    assert retry.total_retries == STORAGE_RETRY.attempts
    waits = [retry.get_backoff_time({"count": n}) for n in range(1, 8)]
    assert all(0 <= w <= STORAGE_RETRY.cap * (1 + STORAGE_RETRY.jitter) for w in waits)
    assert all(w <= STORAGE_RETRY.base * 2 ** (n - 1) * 2 for n, w in enumerate(waits, 1))  # the policy's curve
