"""The transforms' catalogue: TRANSFORM-01 ... (one place raises them: :func:`fail`)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import ClassVar, NoReturn

from vts.errors import CatalogError, ExitCode


class Code(Enum):
    INVALID_OPTION = 1  # an option that cannot work whatever the data (a bad regex, an unknown type name)
    COLUMN_NOT_FOUND = 2  # the transform names a column its input does not have
    INVALID_SQL = 3  # the Sql transform's query does not parse or does not bind
    NOT_SUPPORT_TYPE = 4  # a column's type is not one the transform (or the sink) can take
    MODEL_NOT_FOUND = 5  # the Embedding transform's model is not on this machine (or the endpoint does not serve it)
    EMBEDDING_AUTH = 6  # the embedding endpoint refused the API key
    EMBEDDING_UNAVAILABLE = 7  # the embedding endpoint could not be reached, or kept answering 429 / 5xx
    EMBEDDING_BAD_RESPONSE = 8  # the endpoint answered, but not with one vector of the right size per text


class TransformError(CatalogError):
    """A transform that cannot run on its input, found during discovery (``vts check``)."""

    prefix = "TRANSFORM"
    exits: ClassVar[Mapping[Enum, ExitCode]] = {
        Code.INVALID_OPTION: ExitCode.INVALID_CONFIG,
        Code.COLUMN_NOT_FOUND: ExitCode.SCHEMA,
        Code.INVALID_SQL: ExitCode.INVALID_CONFIG,
        Code.NOT_SUPPORT_TYPE: ExitCode.SCHEMA,
        Code.MODEL_NOT_FOUND: ExitCode.INVALID_CONFIG,
        Code.EMBEDDING_AUTH: ExitCode.CONNECTION,
        Code.EMBEDDING_UNAVAILABLE: ExitCode.CONNECTION,
    }
    hints: ClassVar[Mapping[Enum, str]] = {
        Code.COLUMN_NOT_FOUND: "use a column the transform's input has ('vts check' lists them)",
        Code.INVALID_SQL: "fix the query; it runs with DuckDB's SQL dialect",
    }


def fail(kind: Code, transform: str, message: str, hint: str | None = None, transient: bool = False) -> NoReturn:
    raise TransformError(kind, f"{transform}: {message}", hint=hint, transient=transient)


def require_columns(transform: str, names: list[str], wanted: list[str]) -> None:
    missing = [c for c in wanted if c not in names]
    if missing:
        fail(
            Code.COLUMN_NOT_FOUND,
            transform,
            f"column(s) {missing} not in its input",
            hint=f"its input columns are: {', '.join(names)}",
        )
