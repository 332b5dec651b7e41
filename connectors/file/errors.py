"""FILE-01.. and the one place that maps pyarrow / filesystem / parser exceptions to them.

pyarrow raises ``FileNotFoundError`` and ``PermissionError`` for local and
remote paths alike, ``OSError`` with the backend's text for a refused S3 or
Azure request or an unreachable endpoint ("AWS Error ACCESS_DENIED",
"Couldn't connect to server", "curlCode: 7"), and ``ArrowInvalid`` for a file
its reader cannot parse (a corrupt Parquet footer, a bad JSON line).
NumPy raises ``ValueError`` for a file that is not an ``.npy`` array.
The VDF source reads its Parquet through this module and maps the same
failures to its own catalogue (``connectors/vdf/errors.py``), entry for entry
by name.
"""

from __future__ import annotations

from enum import Enum

from vts.errors import CatalogError, ExitCode


class Code(Enum):
    PATH_NOT_FOUND = 1
    NO_FILES_MATCH = 2
    SCHEMA_MISMATCH = 3
    CORRUPT_FILE = 4
    NOT_SUPPORT_TYPE = 5
    READ_DATA_FAIL = 6
    STORAGE_UNREACHABLE = 7
    AUTH_FAILED = 8
    INVALID_PARAM = 9
    UNKNOWN_FORMAT = 10


_EXIT = {
    Code.PATH_NOT_FOUND: ExitCode.INVALID_CONFIG,
    Code.NO_FILES_MATCH: ExitCode.INVALID_CONFIG,
    Code.INVALID_PARAM: ExitCode.INVALID_CONFIG,
    Code.UNKNOWN_FORMAT: ExitCode.INVALID_CONFIG,
    Code.SCHEMA_MISMATCH: ExitCode.SCHEMA,
    Code.NOT_SUPPORT_TYPE: ExitCode.SCHEMA,
    Code.STORAGE_UNREACHABLE: ExitCode.CONNECTION,
    Code.AUTH_FAILED: ExitCode.CONNECTION,
}


class FileSourceError(CatalogError):
    prefix = "FILE"
    exits = _EXIT
    Code = Code


_UNREACHABLE = ("couldn't connect", "curlcode", "connection refused", "timed out", "could not resolve", "network")
_AUTH = ("access_denied", "accessdenied", "invalidaccesskeyid", "signaturedoesnotmatch", "authorization", "403")


def wrap(exc: BaseException, what: str, where: str, cls: type[CatalogError] = FileSourceError) -> CatalogError:
    """Map an exception met while ``what`` ("reading a.parquet") to a coded error of ``cls``'s catalogue.

    ``cls`` has a ``Code`` enum with the entries named here (FILE's or VDF's);
    the caller raises the result ``from None``.
    """
    if isinstance(exc, CatalogError):
        return exc
    codes = cls.Code  # type: ignore[attr-defined]
    text = " ".join(str(exc).split())[:300] or type(exc).__name__
    low = text.lower()
    if type(exc).__name__ in ("ArrowInvalid", "ArrowTypeError", "ValueError", "JSONDecodeError"):  # parsers
        return cls(
            codes.CORRUPT_FILE,
            f"cannot parse {where} ({what}): {text}",
            hint="the file is damaged or not in the format named by 'format': write it again, or exclude it from "
            "'path'",
        )
    if isinstance(exc, FileNotFoundError) or "not found" in low or "does not exist" in low or "nosuchkey" in low:
        return cls(
            codes.PATH_NOT_FOUND,
            f"{where} does not exist ({what})",
            hint="check 'path' (a file, a folder, a glob such as data/*.parquet, or s3://bucket/key)",
        )
    if isinstance(exc, PermissionError) or any(s in low for s in _AUTH):
        return cls(
            codes.AUTH_FAILED,
            f"{where} refused access while {what} ({text})",
            hint="check the credentials (s3: access_key/secret_key or the AWS environment; azure: account_name/"
            "account_key) and that they may read this path",
        )
    if any(s in low for s in _UNREACHABLE):
        return cls(
            codes.STORAGE_UNREACHABLE,
            f"cannot reach the storage of {where} while {what} ({text})",
            hint="check 'endpoint' (s3) or 'blob_endpoint' (azure) and that the object store runs",
            transient=True,
        )
    return cls(codes.READ_DATA_FAIL, f"{what} failed on {where}: {text}", transient=isinstance(exc, OSError))
