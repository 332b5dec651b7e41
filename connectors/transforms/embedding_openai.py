"""An OpenAI-compatible ``POST /embeddings`` endpoint: one request per batch of texts, retried on 429 / 5xx.

httpx does the HTTP; the request and its retries are written here rather than through the ``openai`` package
because the endpoint is often not OpenAI's own (vLLM, Ollama, TEI, Azure, Doubao, Zhipu), and every answer must
end in this transform's coded errors with the right transient flag, not in another client's exception types.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from vts.connectors.transforms.errors import Code, fail

NAME = "Embedding"
MAX_WAIT = 60.0  # longest Retry-After honoured between two attempts
# The size of an endpoint's vectors, asked once per process when the job gives no dimension (the driver during
# discovery, then each worker process on its first batch, to check every answer against the discovered column).
_DIMENSIONS: dict[tuple[str, str, str | None], int] = {}


@dataclass(frozen=True)
class Endpoint:
    api_path: str
    model: str
    api_key: str | None
    timeout: float
    max_retries: int


def _wait(response: httpx.Response, attempt: int) -> float:
    """Seconds before the next attempt: the server's Retry-After (seconds or a date), else exponential backoff."""
    given = response.headers.get("retry-after")
    if given:
        try:
            return min(MAX_WAIT, max(0.0, float(given)))
        except ValueError:
            when = email.utils.parsedate_to_datetime(given)
            if when is not None:
                return min(MAX_WAIT, max(0.0, when.timestamp() - time.time()))
    return min(MAX_WAIT, 0.5 * 2**attempt)


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except ValueError:
        return response.text[:200]
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error or response.text[:200])


def embed(endpoint: Endpoint, texts: list[str]) -> np.ndarray:
    """One float32 row per text, in the order of ``texts``."""
    body = {"model": endpoint.model, "input": texts, "encoding_format": "float"}
    headers = {"Content-Type": "application/json"}
    if endpoint.api_key:
        headers["Authorization"] = f"Bearer {endpoint.api_key}"
    attempt = 0
    with httpx.Client(timeout=endpoint.timeout) as client:
        while True:
            try:
                response = client.post(endpoint.api_path, json=body, headers=headers)
            except httpx.HTTPError as exc:
                if attempt < endpoint.max_retries:
                    time.sleep(min(MAX_WAIT, 0.5 * 2**attempt))
                    attempt += 1
                    continue
                fail(
                    Code.EMBEDDING_UNAVAILABLE,
                    NAME,
                    f"{endpoint.api_path} could not be reached: {type(exc).__name__}: {exc}",
                    hint="check api_path (the full URL of the /embeddings endpoint) and that the service is up; "
                    "raise timeout for a slow one",
                    transient=True,
                )
            status = response.status_code
            if (status == 429 or status >= 500) and attempt < endpoint.max_retries:
                time.sleep(_wait(response, attempt))
                attempt += 1
                continue
            break
    return _vectors(endpoint, response, len(texts))


def probe(endpoint: Endpoint) -> int:
    key = (endpoint.api_path, endpoint.model, endpoint.api_key)
    if key not in _DIMENSIONS:
        _DIMENSIONS[key] = int(embed(endpoint, ["dimension probe"]).shape[1])
    return _DIMENSIONS[key]


def _vectors(endpoint: Endpoint, response: httpx.Response, count: int) -> np.ndarray:
    status = response.status_code
    if status in (401, 403):
        fail(
            Code.EMBEDDING_AUTH,
            NAME,
            f"{endpoint.api_path} refused the API key (HTTP {status}): {_message(response)}",
            hint="set api_key to a key this endpoint accepts (e.g. api_key: ${OPENAI_API_KEY})",
        )
    if status == 404:
        fail(
            Code.MODEL_NOT_FOUND,
            NAME,
            f"{endpoint.api_path} answered 404 for model {endpoint.model!r}: {_message(response)}",
            hint="check model (a name this endpoint serves) and api_path (e.g. https://api.openai.com/v1/embeddings)",
        )
    if status == 429 or status >= 500:
        fail(
            Code.EMBEDDING_UNAVAILABLE,
            NAME,
            f"{endpoint.api_path} still answered HTTP {status} after {endpoint.max_retries} retries: "
            f"{_message(response)}",
            hint="lower env.parallelism or single_vectorized_input_number, or raise max_retries; "
            "vts retries the split from its last checkpoint",
            transient=True,
        )
    if status != 200:
        fail(
            Code.EMBEDDING_BAD_RESPONSE,
            NAME,
            f"{endpoint.api_path} refused the request (HTTP {status}): {_message(response)}",
            hint="check model and single_vectorized_input_number against the endpoint's limits",
        )
    try:
        data: list[dict[str, Any]] = response.json()["data"]
        ordered = sorted(data, key=lambda d: d["index"])  # the index, not the list order, says which text it is
        vectors = np.asarray([d["embedding"] for d in ordered], dtype=np.float32)
    except (ValueError, KeyError, TypeError) as exc:
        fail(
            Code.EMBEDDING_BAD_RESPONSE,
            NAME,
            f"{endpoint.api_path} answered with no usable data[].embedding: {type(exc).__name__}: {exc}",
            hint="api_path must be an OpenAI-compatible /embeddings endpoint",
        )
    if vectors.ndim != 2 or len(vectors) != count or [d["index"] for d in ordered] != list(range(count)):
        fail(
            Code.EMBEDDING_BAD_RESPONSE,
            NAME,
            f"{endpoint.api_path} answered {len(data)} embedding(s) for {count} text(s)",
            hint="api_path must be an OpenAI-compatible /embeddings endpoint that takes a list as input",
        )
    return vectors
