"""Opening qdrant-client where it runs (driver or worker).

Server mode: every caller (discovery, each split's reader) opens its own
``QdrantClient`` and closes it; the client is thread-safe enough for that and
holds a connection pool per instance.

Local mode (``path``) is different: ``QdrantClient(path=...)`` loads the whole
folder into memory and then takes an exclusive, non-blocking file lock on
``<path>/.lock``. A second client on the same folder fails with "Storage
folder ... is already accessed by another instance" -- even in the same
process, even in another thread. So local mode here uses **one client per
folder per process**, shared by every reader thread and by discovery,
guarded by a lock: local mode is plain Python over dicts and numpy arrays, so
running scrolls one at a time costs nothing under the GIL and rules out races
in its internals. Opening is costly (the folder is unpickled into memory:
~2 s per 20 000 768-d points), and a run opens it for discovery, cutting splits
and reading in turn, so the shared client is reference-counted and closed only
after ``LINGER_SECONDS`` without users, at interpreter exit, or when
:func:`close_idle` is called (a program that runs vts in-process and then
opens the folder itself calls it first). Parallel splits still overlap their scrolls with the sink's
writes. A folder cannot be opened by two processes at once: with a
multi-process executor, serve the data from a Qdrant server instead.
"""

from __future__ import annotations

import atexit
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from vts.connectors.qdrant.errors import Code, QdrantError, wrap
from vts.connectors.qdrant.options import QdrantSourceOptions

T = TypeVar("T")

# qdrant-client's advice to local-mode users and its http+api_key notice: not the user's problem here
warnings.filterwarnings("ignore", message="Local mode is not recommended", category=UserWarning)
warnings.filterwarnings("ignore", message="Api key is used with an insecure connection", category=UserWarning)


class Handle:
    """A client plus the lock its calls run under (a no-op lock for server mode)."""

    def __init__(self, client: Any, lock: Any, options: QdrantSourceOptions) -> None:
        self.client = client
        self._lock = lock
        self._where = options.where()

    def call(self, what: str, fn: Callable[..., T], *args: Any, collection: str | None = None, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)``; client exceptions become coded errors."""
        try:
            with self._lock:
                return fn(*args, **kwargs)
        except QdrantError:
            raise
        except Exception as exc:
            raise wrap(exc, what, self._where, collection) from None


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class _Shared:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.users = 0
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None


LINGER_SECONDS = 10.0
_registry_lock = threading.Lock()
_local: dict[str, _Shared] = {}


def close_idle() -> None:
    """Close every local-mode client nobody uses now, releasing its folder lock."""
    with _registry_lock:
        for folder, shared in list(_local.items()):
            if shared.users == 0:
                _close(folder, shared)


def _close(folder: str, shared: _Shared) -> None:
    """Close one shared client; the caller holds ``_registry_lock``."""
    if shared.timer is not None:
        shared.timer.cancel()
        shared.timer = None
    if _local.get(folder) is shared:
        del _local[folder]
    with shared.lock, suppress(Exception):
        shared.client.close()


def _close_if_idle(folder: str, shared: _Shared) -> None:
    with _registry_lock:
        if shared.users == 0 and _local.get(folder) is shared:
            _close(folder, shared)


atexit.register(close_idle)


@contextmanager
def connect(options: QdrantSourceOptions) -> Iterator[Handle]:
    """A client for the options' Qdrant, closed (or released) on exit."""
    if options.path:
        with _local_client(options) as handle:
            yield handle
        return
    client = _open_remote(options)
    try:
        yield Handle(client, _NoLock(), options)
    finally:
        with suppress(Exception):
            client.close()


def _open_remote(options: QdrantSourceOptions) -> Any:
    from qdrant_client import QdrantClient

    kwargs: dict[str, Any] = {
        "prefer_grpc": options.prefer_grpc,
        "grpc_port": options.grpc_port,
        "timeout": options.timeout,
        "api_key": options.api_key.get_secret_value() if options.api_key else None,
        # the version check is an extra request whose failure is only a warning; errors come from the real calls
        "check_compatibility": False,
    }
    if options.url:
        kwargs["url"] = options.url
    else:
        kwargs.update(host=options.host, port=options.port, https=options.https)
    try:
        return QdrantClient(**kwargs)
    except Exception as exc:
        raise wrap(exc, "opening the client", options.where()) from None


@contextmanager
def _local_client(options: QdrantSourceOptions) -> Iterator[Handle]:
    folder = os.path.realpath(os.path.expanduser(options.path or ""))
    with _registry_lock:
        shared = _local.get(folder)
        if shared is None:
            shared = _Shared(_open_local(folder, options))
            _local[folder] = shared
        if shared.timer is not None:
            shared.timer.cancel()
            shared.timer = None
        shared.users += 1
    try:
        yield Handle(shared.client, shared.lock, options)
    finally:
        with _registry_lock:
            shared.users -= 1
            if shared.users == 0 and _local.get(folder) is shared:
                shared.timer = threading.Timer(LINGER_SECONDS, _close_if_idle, (folder, shared))
                shared.timer.daemon = True
                shared.timer.start()


def _open_local(folder: str, options: QdrantSourceOptions) -> Any:
    # QdrantClient(path=...) creates a missing folder: a source must not, and a typo deserves a clear error
    if not os.path.isdir(folder):
        raise QdrantError(
            Code.INVALID_PARAM,
            f"local-mode folder {options.path} does not exist",
            hint="set 'path' to the folder given to QdrantClient(path=...)",
        )
    if not os.path.isfile(os.path.join(folder, "meta.json")):
        raise QdrantError(
            Code.INVALID_PARAM,
            f"{options.path} is not a Qdrant local-mode folder (no meta.json)",
            hint="set 'path' to the folder given to QdrantClient(path=...); for a server use 'url'",
        )
    from qdrant_client import QdrantClient

    try:
        return QdrantClient(path=folder)
    except Exception as exc:
        raise wrap(exc, "opening the folder", options.where()) from None
