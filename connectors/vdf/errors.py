"""VDF-01.. : the VDF source's catalogue.

Reading the Parquet files goes through the File source's readers; their
FILE-xx errors are re-coded here entry for entry (:func:`recode`), and
exceptions of pyarrow and the filesystems are mapped by
:func:`vts.connectors.file.errors.wrap` with this catalogue.
"""

from __future__ import annotations

from enum import Enum

from vts.connectors.file.errors import FileSourceError
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
    META_NOT_FOUND = 11
    META_INVALID = 12
    INDEX_NOT_FOUND = 13
    NOT_SUPPORT_METRIC = 14


_EXIT = {
    Code.PATH_NOT_FOUND: ExitCode.INVALID_CONFIG,
    Code.NO_FILES_MATCH: ExitCode.INVALID_CONFIG,
    Code.INVALID_PARAM: ExitCode.INVALID_CONFIG,
    Code.UNKNOWN_FORMAT: ExitCode.INVALID_CONFIG,
    Code.META_NOT_FOUND: ExitCode.INVALID_CONFIG,
    Code.INDEX_NOT_FOUND: ExitCode.INVALID_CONFIG,
    Code.SCHEMA_MISMATCH: ExitCode.SCHEMA,
    Code.NOT_SUPPORT_TYPE: ExitCode.SCHEMA,
    Code.NOT_SUPPORT_METRIC: ExitCode.SCHEMA,
    Code.STORAGE_UNREACHABLE: ExitCode.CONNECTION,
    Code.AUTH_FAILED: ExitCode.CONNECTION,
}


class VdfError(CatalogError):
    prefix = "VDF"
    exits = _EXIT
    Code = Code


def recode(err: FileSourceError) -> VdfError:
    """The same failure in this catalogue (the message without FILE's entry name)."""
    message = err.message.split(": ", 1)[1] if ": " in err.message else err.message
    return VdfError(Code[err.kind.name], message, hint=err.hint, transient=err.transient)
