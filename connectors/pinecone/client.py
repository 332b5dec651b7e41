"""Opening the pinecone SDK where it runs, and calling it.

Building an SDK client is costly (it loads the CA bundle into a new SSL
context: ~0.3 s, more on a busy machine) and a run would build one per driver
call and per split. So a process keeps one client per (URL, key, timeout),
built on first use and shared by every caller in it: the SDK's client holds
an httpx connection pool, which is thread-safe, so readers and their fetch
threads share it. The connector itself still holds only options; a worker
process builds its own clients.

The control plane answers an index's ``host`` without a scheme; it is reached
with the scheme of the control plane itself (https for Pinecone, whatever a
private ``controller_host`` uses).

Rate limits: the SDK retries a 429 three times honouring ``Retry-After``, but
its per-host retry budget (gRFC A6: a token per retry, a tenth back per
success) runs dry under sustained throttling and then every 429 surfaces.
:func:`call` retries those ``max_retries`` more times, waiting what the
server asked, before the error reaches the engine as transient.
"""

from __future__ import annotations

import atexit
import random
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar

from vts.connectors.pinecone.errors import Code, PineconeError, wrap
from vts.connectors.pinecone.options import PineconeSourceOptions

T = TypeVar("T")
CONTROL_PLANE = "https://api.pinecone.io"


_lock = threading.Lock()
_clients: dict[tuple[str, str, str, float], Any] = {}


def _shared(kind: str, url: str, options: PineconeSourceOptions, build: Callable[[], Any]) -> Any:
    key = (kind, url, options.api_key.get_secret_value(), options.timeout)
    with _lock:
        found = _clients.get(key)
        if found is None:
            try:
                found = _clients[key] = build()
            except Exception as exc:
                raise wrap(exc, f"opening the {kind} client", options.where()) from None
        return found


def control(options: PineconeSourceOptions) -> Any:
    from pinecone import Pinecone

    host = options.controller_host or ""
    return _shared(
        "control-plane",
        host,
        options,
        lambda: Pinecone(api_key=options.api_key.get_secret_value(), host=host or None, timeout=options.timeout),
    )


def data(options: PineconeSourceOptions, host: str) -> Any:
    from pinecone import Index

    return _shared(
        "data-plane",
        host,
        options,
        lambda: Index(host=host, api_key=options.api_key.get_secret_value(), timeout=options.timeout),
    )


def data_url(options: PineconeSourceOptions, described_host: str | None) -> str:
    """The data plane's URL: ``host`` as given, else the described host with the control plane's scheme."""
    if options.host:
        return options.host.rstrip("/") if "://" in options.host else f"https://{options.host.rstrip('/')}"
    if not described_host:
        raise PineconeError(
            Code.SERVER_RESPONSE_FAILED,
            f"{options.where()} has no host yet (is it still initializing?)",
            hint="wait until the index is Ready, or give 'host'",
        )
    # the SDK prefixes https:// to the bare host the API answers; a private control plane sets the scheme
    bare = described_host.split("://", 1)[-1].rstrip("/")
    base = options.controller_host or CONTROL_PLANE
    scheme = base.split("://", 1)[0] if "://" in base else "https"
    return f"{scheme}://{bare}"


def call(options: PineconeSourceOptions, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run an SDK call; client exceptions become coded errors, rate limits are waited out first."""
    attempt = 0
    while True:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            err = wrap(exc, what, options.where())
            if err.kind is not Code.RATE_LIMITED or attempt >= options.max_retries:
                raise err from None
            wait = getattr(err, "retry_after", None)
            if wait is None:
                wait = min(30.0, 0.25 * 2**attempt)
            time.sleep(min(60.0, wait) + random.uniform(0, 0.1))
            attempt += 1


def close(client: Any) -> None:
    """Release a client after use: shared clients stay open for the process's next caller."""
    del client


@atexit.register
def _close_all() -> None:
    with _lock:
        for c in _clients.values():
            with suppress(Exception):  # closing a pool that already failed tells the user nothing
                c.close()
        _clients.clear()
