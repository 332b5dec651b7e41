"""PARQUET-01.. : the Parquet sink's own catalogue.

Writing goes through the BulkWriter's staging writer, whose storage errors are
the Milvus sink's (MILVUS-22 for a file that cannot be written); schema
refusals are MILVUS-07 from the shared schema mapping (:mod:`vts.connectors.milvus.mapping`). This catalogue holds what
is the sink's alone: its folder, and the loader's manifest.
"""

from __future__ import annotations

from enum import Enum

from vts.errors import CatalogError, ExitCode


class Code(Enum):
    PATH_NOT_WRITABLE = 1
    MANIFEST_NOT_FOUND = 2
    MANIFEST_INVALID = 3


_EXIT = {
    Code.PATH_NOT_WRITABLE: ExitCode.CONNECTION,
    Code.MANIFEST_NOT_FOUND: ExitCode.INVALID_CONFIG,
    Code.MANIFEST_INVALID: ExitCode.INVALID_CONFIG,
}


class ParquetSinkError(CatalogError):
    prefix = "PARQUET"
    exits = _EXIT
