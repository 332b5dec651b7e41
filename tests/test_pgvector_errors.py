"""Bad input gives a PGVECTOR-xx error naming the problem and the fix, a non-zero exit, no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, run_vts, write_job
from tests.pgvector_fixtures import execute, unique
from tests.services.postgres import PASSWORD, PostgresServer


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], **source: Any) -> tuple[int, str]:
    job = {"source": {"Pgvector": source}, "sink": {"Milvus": {"url": str(tmp_path / "t.db")}}}
    code, out, err = run_vts("run", "-q", str(write_job(tmp_path / "job.yaml", job)), capsys=capsys)
    assert "Traceback" not in err + out
    return code, err


@pytest.fixture(scope="module")
def table(pg_url: str) -> str:
    t = unique("errs")
    execute(
        pg_url,
        f"""CREATE TABLE {t} (id int PRIMARY KEY, v vector(2) NOT NULL, raw bytea, span tstzrange,
            mixed vector, odd bit(5), grid int[])""",
        f"""INSERT INTO {t} VALUES (1, '[1,2]', '\\x00', '[2024-01-01,2024-02-01)', '[1,2,3]', B'10101', '{{1,2}}'),
                                   (2, '[3,4]', NULL, NULL, '[1,2]', B'00000', '{{{{1,2}},{{3,4}}}}')""",
    )
    return t


def test_unknown_table(pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(tmp_path, capsys, url=pg_url, table="public.no_such_table")
    assert code == 3
    assert "PGVECTOR-03" in err and "no_such_table" in err and "fix: check 'table'" in err


def test_wrong_password_is_never_printed(
    pg: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(tmp_path, capsys, url=pg.url_for(password="hunter2-wrong"), table="t")
    assert code == 3
    assert "PGVECTOR-02" in err and "password authentication failed" in err and "check 'user' and 'password'" in err
    assert "hunter2-wrong" not in err and PASSWORD not in err
    code, err = _run(
        tmp_path, capsys, host="127.0.0.1", port=pg.port, user="postgres", password="s3cret-wrong", database="postgres",
        table="t",
    )  # fmt: skip
    assert code == 3 and "PGVECTOR-02" in err and "s3cret-wrong" not in err


def test_unreachable_server_and_unknown_database(
    pg: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(tmp_path, capsys, url=f"postgresql://postgres:pw@127.0.0.1:{free_port()}/db", table="t")
    assert code == 3 and "PGVECTOR-01" in err and "Connection refused" in err and "fix:" in err
    code, err = _run(tmp_path, capsys, url=pg.url_for(database="nope"), table="t")
    assert code == 3 and "PGVECTOR-01" in err and '"nope" does not exist' in err and "check 'database'" in err


@pytest.mark.parametrize(
    ("column", "words"),
    [("raw", "type bytea"), ("span", "type tstzrange"), ("odd", "multiple of 8")],
)
def test_unsupported_column_type(
    pg_url: str,
    table: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    column: str,
    words: str,
) -> None:
    code, err = _run(tmp_path, capsys, url=pg_url, table=table, columns=["v", column])
    assert code == 4
    assert "PGVECTOR-07" in err and f"column '{column}'" in err and words in err and "'columns'" in err


def test_mixed_dimensions(pg_url: str, table: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(tmp_path, capsys, url=pg_url, table=table, columns=["mixed"])
    assert code == 4
    assert "PGVECTOR-08" in err and "column 'mixed'" in err and "(2 to 3)" in err and "vector_dims(mixed)" in err
    # with a where clause picking one dimension the same column migrates
    code, err = _run(tmp_path, capsys, url=pg_url, table=table, columns=["mixed"], where="vector_dims(mixed) = 2")
    assert code == 0, err


def test_multidimensional_array(pg_url: str, table: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(tmp_path, capsys, url=pg_url, table=table, columns=["v", "grid"])
    assert code == 4 and "PGVECTOR-07" in err and "2-dimensional array" in err


@pytest.mark.parametrize(
    ("source", "code_text", "exit_code"),
    [
        ({"columns": ["v", "nope"]}, "PGVECTOR-04", 3),
        ({"where": "idd > 3"}, "PGVECTOR-04", 3),
        ({"where": "id >>> 3"}, "PGVECTOR-06", 2),
        ({"incremental_column": "missing"}, "PGVECTOR-04", 3),
    ],
)
def test_bad_columns_and_sql(
    pg_url: str,
    table: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    source: dict[str, Any],
    code_text: str,
    exit_code: int,
) -> None:
    code, err = _run(tmp_path, capsys, url=pg_url, table=table, **source)
    assert code == exit_code and code_text in err and "fix:" in err, err


def test_bad_query(pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(tmp_path, capsys, url=pg_url, query="SELEC 1")
    assert code == 2 and "PGVECTOR-06" in err and "syntax error" in err and "fix the SQL" in err
    code, err = _run(tmp_path, capsys, url=pg_url, query="SELECT * FROM missing_table")
    assert code == 3 and "PGVECTOR-03" in err and "missing_table" in err


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ({"url": "postgresql://u@h/db"}, "exactly one of 'table' or 'query'"),
        ({"url": "mysql://u@h/db", "table": "t"}, "must start with postgresql://"),
        ({"url": "postgresql://u@h/db", "query": "select 1", "where": "x"}, "write them into the 'query'"),
        ({"url": "postgresql://u@h/db", "table": "t", "sslmode": "always"}, "sslmode"),
    ],
)
def test_invalid_options_are_config_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: dict[str, Any], words: str
) -> None:
    code, err = _run(tmp_path, capsys, **source)
    assert code == 2 and "VTS-01" in err and words in err
