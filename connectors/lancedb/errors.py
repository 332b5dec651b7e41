"""LANCEDB-01.. and the one place that maps lancedb / lance exceptions to them.

Both libraries are Rust cores behind Python bindings and raise plain
``ValueError`` / ``OSError`` / ``RuntimeError`` whose text says what happened:
"Table 'x' was not found", "Dataset at path ... was not found" (also for a
version cleaned up since the splits were cut), "Not found", object-store errors naming
the HTTP status for S3.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import ClassVar

from vts.errors import CatalogError, ExitCode


class Code(Enum):
    PATH_NOT_FOUND = (1, ExitCode.INVALID_CONFIG)
    TABLE_NOT_FOUND = (2, ExitCode.FAILED)
    NO_TABLES = (3, ExitCode.FAILED)
    NOT_SUPPORT_TYPE = (4, ExitCode.SCHEMA)
    INVALID_PARAM = (5, ExitCode.INVALID_CONFIG)
    CONNECT_FAILED = (6, ExitCode.CONNECTION)
    AUTH_FAILED = (7, ExitCode.CONNECTION)
    VERSION_GONE = (8, ExitCode.FAILED)
    READ_DATA_FAIL = (9, ExitCode.FAILED)


class LanceDBError(CatalogError):
    prefix = "LANCEDB"
    exits: ClassVar[Mapping[Enum, ExitCode]] = {c: c.value[1] for c in Code}


def wrap(exc: BaseException, what: str, where: str, table: str | None = None) -> LanceDBError:
    """Map an exception raised while doing ``what`` on ``where``; the caller raises it ``from None``."""
    if isinstance(exc, LanceDBError):
        return exc
    detail = _short(str(exc) or type(exc).__name__)
    low = detail.lower()
    if "_versions/" in low and ".manifest" in low and "not found" in low:
        return LanceDBError(
            Code.VERSION_GONE,
            f"{what}: the table version this run planned is gone from {where} ({detail})",
            hint="a compaction or cleanup_old_versions removed it; run the job again with --fresh",
        )
    if "not found" in low and table:
        return LanceDBError(
            Code.TABLE_NOT_FOUND,
            f"table '{table}' does not exist in {where}",
            hint="check 'tables' (leave it out to read every table of the database)",
        )
    if any(s in low for s in ("403", "401", "access denied", "invalidaccesskeyid", "signaturedoesnotmatch")):
        return LanceDBError(
            Code.AUTH_FAILED,
            f"{where} refused the credentials while {what} ({detail})",
            hint="check the keys in 'storage_options' (aws_access_key_id / aws_secret_access_key)",
        )
    if any(s in low for s in ("connection refused", "error sending request", "dns error", "timed out", "connect")):
        return LanceDBError(
            Code.CONNECT_FAILED,
            f"cannot reach {where} while {what} ({detail})",
            hint="check the uri and 'storage_options' (aws_endpoint, region, allow_http)",
            transient=True,
        )
    return LanceDBError(Code.READ_DATA_FAIL, f"{what} on {where} failed: {type(exc).__name__}: {detail}")


def _short(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
