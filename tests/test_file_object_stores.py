"""The File source on object stores, through pyarrow's filesystems: S3 (moto) and Azure Blob (Azurite)."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest

from tests import file_fixtures as ff
from tests.services.azurite import ACCOUNT, ACCOUNT_KEY
from vts.connectors.file.options import FileSourceOptions
from vts.connectors.file.source import FileSource
from vts.errors import VtsError
from vts.testing.sinks import unique
from vts.testing.sources import check_source


def _parquet(lo: int, hi: int) -> bytes:
    buf = io.BytesIO()
    pq.write_table(ff.table(lo, hi), buf, row_group_size=50)  # two splits a file, few requests
    return buf.getvalue()


@pytest.fixture
def bucket(s3) -> str:
    name = unique("files").replace("_", "-")
    s3.create_bucket(name)
    client = s3.client()
    for n in range(2):
        client.put_object(Bucket=name, Key=f"emb/part-{n}.parquet", Body=_parquet(n * 100, n * 100 + 100))
    client.put_object(Bucket=name, Key="emb/notes.txt", Body=b"not data")
    return name


def test_parquet_on_s3_matched_by_a_glob_passes_the_source_checks(s3, bucket: str) -> None:
    opts = FileSourceOptions(
        path=f"s3://{bucket}/emb/*.parquet", endpoint=s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key
    )
    check_source(FileSource(opts), expected_keys=set(range(200)))


def test_wrong_s3_credentials_are_file_08(s3, bucket: str) -> None:
    opts = FileSourceOptions(
        path=f"s3://{bucket}/emb/*.parquet", endpoint=s3.endpoint, access_key="no", secret_key="no"
    )
    with pytest.raises(VtsError) as err:
        FileSource(opts).discover()
    assert err.value.code == "FILE-08" and err.value.exit_code == 3 and "access_key" in (err.value.hint or "")


def test_an_unreachable_s3_endpoint_is_file_07_and_transient() -> None:
    opts = FileSourceOptions(path="s3://b/emb/*.parquet", endpoint="http://127.0.0.1:1", access_key="a", secret_key="b")
    with pytest.raises(VtsError) as err:
        FileSource(opts).discover()
    assert err.value.code == "FILE-07" and err.value.transient


def test_parquet_on_azure_blob_reads_every_row_once(azurite) -> None:
    name = unique("files").replace("_", "-")
    container = azurite.service().create_container(name)
    for n in range(2):
        container.upload_blob(f"emb/part-{n}.parquet", _parquet(n * 100, n * 100 + 100))
    opts = FileSourceOptions(
        path=f"abfs://{name}/emb/*.parquet",
        account_name=ACCOUNT,
        account_key=ACCOUNT_KEY,
        blob_endpoint=f"127.0.0.1:{azurite.port}",
    )
    source = FileSource(opts)  # the S3 test runs the whole check; Azurite answers slowly, so only a read here
    (table,) = source.discover()
    ids = [i for split in source.splits([table], 2) for b, _ in source.read(split, table) for i in b["id"].to_pylist()]
    assert sorted(ids) == list(range(200))
