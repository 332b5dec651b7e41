"""CHROMA-01.. and the one place that maps chromadb exceptions to them.

chromadb 1.x (a Rust core behind Python bindings) raises, locally and over HTTP alike:
``chromadb.errors.NotFoundError`` for a missing collection, ``InvalidArgumentError``
for bad arguments, ``ChromaAuthError`` / ``AuthorizationError`` for refused
credentials, and, when no server answers, ``ValueError("Could not connect to a
Chroma server...")`` from ``HttpClient`` or an httpx transport error mid-run.
A folder locked by another process is found before chromadb sees it
(:mod:`vts.connectors.chroma.client`): chromadb would wait up to 1000 s on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import ClassVar

from vts.errors import CatalogError, ExitCode


class Code(Enum):
    CONNECT_FAILED = (1, ExitCode.CONNECTION)
    AUTH_FAILED = (2, ExitCode.CONNECTION)
    PATH_NOT_FOUND = (3, ExitCode.INVALID_CONFIG)
    FOLDER_LOCKED = (4, ExitCode.CONNECTION)
    COLLECTION_NOT_FOUND = (5, ExitCode.FAILED)
    NO_COLLECTIONS = (6, ExitCode.FAILED)
    NOT_SUPPORT_TYPE = (7, ExitCode.SCHEMA)
    METADATA_CONFLICT = (8, ExitCode.SCHEMA)
    COLLECTION_CHANGED = (9, ExitCode.FAILED)
    READ_DATA_FAIL = (10, ExitCode.FAILED)
    FOLDER_OUTDATED = (11, ExitCode.CONNECTION)


class ChromaError(CatalogError):
    prefix = "CHROMA"
    exits: ClassVar[Mapping[Enum, ExitCode]] = {c: c.value[1] for c in Code}


def wrap(exc: BaseException, what: str, where: str, collection: str | None = None) -> ChromaError:
    """Map a chromadb exception raised while doing ``what`` on ``where``; the caller raises it ``from None``."""
    if isinstance(exc, ChromaError):
        return exc
    name = type(exc).__name__
    detail = _short(str(exc) or name)
    low = detail.lower()
    if "unapplied migrations" in low:
        return ChromaError(
            Code.FOLDER_OUTDATED,
            f"{where} was written by an older Chroma, whose schema chromadb would upgrade in place on opening",
            hint="upgrade a copy (open it once with chromadb.PersistentClient) and point 'path' at the copy; "
            "vts never changes the folder it reads",
        )
    if name == "NotFoundError" or ("does not exist" in low and "collection" in low):
        if collection:
            return ChromaError(
                Code.COLLECTION_NOT_FOUND,
                f"collection '{collection}' does not exist in {where}",
                hint="check 'collections' (leave it out to read every collection); `chroma` lists them",
            )
        return ChromaError(
            Code.COLLECTION_NOT_FOUND,
            f"{what} on {where}: {detail}",
            hint="check 'tenant' and 'database' (default_tenant / default_database)",
        )
    if name in ("ChromaAuthError", "AuthorizationError") or "unauthorized" in low or "forbidden" in low:
        return ChromaError(
            Code.AUTH_FAILED,
            f"{where} refused the credentials while {what} ({detail})",
            hint="check 'headers' (e.g. x-chroma-token: ${CHROMA_TOKEN})",
        )
    if "could not connect to a chroma server" in low or _unreachable(exc):
        return ChromaError(
            Code.CONNECT_FAILED,
            f"cannot reach Chroma at {where} while {what} ({detail})",
            hint="check 'url' and that the server runs (`chroma run --host 127.0.0.1 --port 8000`)",
            transient=True,  # mid-run, a dropped connection is retried from the split's last position
        )
    # a server pushing back or failing inside may answer the next try
    transient = name in ("RateLimitError", "InternalError")
    return ChromaError(Code.READ_DATA_FAIL, f"{what} on {where} failed: {name}: {detail}", transient=transient)


def _unreachable(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ in (
            "ConnectError",
            "ConnectTimeout",
            "ReadTimeout",
            "ReadError",
            "RemoteProtocolError",
        ):
            return True
        if isinstance(current, ConnectionError | TimeoutError):
            return True
        current = current.__cause__ or current.__context__
    return False


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
