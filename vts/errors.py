"""Error classes with codes.

Every failure a user can cause surfaces as a :class:`VtsError`: a stable code
(``VTS-03``, ``MILVUS-17``), a message naming the problem, a hint naming the fix,
and the process exit code the CLI returns. Connectors keep their own catalogue
(see ``connectors/milvus/errors.py``) and map client exceptions to it in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum, IntEnum
from typing import Any, ClassVar


class ExitCode(IntEnum):
    """Documented exit codes of the ``vts`` command."""

    OK = 0
    FAILED = 1  # the job ran and failed while moving data
    INVALID_CONFIG = 2  # the job file is invalid; nothing was contacted
    CONNECTION = 3  # a source or sink could not be reached or refused the credentials
    SCHEMA = 4  # the schema cannot be carried to the target; no data moved
    INTERRUPTED = 130


class VtsError(Exception):
    """Base of all errors vts reports to a user.

    ``transient`` marks errors a retry may cure (rate limits, resets); the
    engine retries those, and stops on the others.

    Errors cross process boundaries (Ray workers, ``multiprocessing``) and are
    copied, so every instance pickles and deep-copies to an equal one: class,
    message, code, hint, exit code, transient flag and any other attribute a
    subclass keeps (``kind`` for catalogue errors).
    """

    code: str = "VTS-00"
    exit_code: ExitCode = ExitCode.FAILED
    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        code: str | None = None,
        exit_code: ExitCode | None = None,
        transient: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code
        if exit_code is not None:
            self.exit_code = exit_code
        if transient is not None:
            self.transient = transient

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's own reduce calls ``type(self)(*self.args)``, which breaks for any subclass whose
        # __init__ takes other arguments (CatalogError takes ``kind`` first). Rebuild without __init__
        # instead: the instance's attributes are its whole state.
        return _restore, (type(self), self.args), self.__dict__.copy()

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}"
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


class ConfigError(VtsError):
    """The job file is invalid (read before anything connects)."""

    code = "VTS-01"
    exit_code = ExitCode.INVALID_CONFIG


class JobFileError(ConfigError):
    """The job file cannot be read or is not valid YAML."""

    code = "VTS-02"


class MissingEnvVarError(ConfigError):
    """A ``${VAR}`` in the job file has no value and no default."""

    code = "VTS-03"


class UnknownConnectorError(ConfigError):
    """A source, sink or transform names no registered connector."""

    code = "VTS-04"


class DataExistsError(VtsError):
    """``data_save_mode: ERROR_WHEN_DATA_EXISTS`` and the target holds rows."""

    code = "VTS-05"


class CatalogError(VtsError):
    """An error from a connector's numbered catalogue (MILVUS-17, QDRANT-03, ...).

    A subclass sets ``prefix``, ``exits`` (catalogue entry -> exit code;
    the others exit 1) and ``hints`` (the usual fix for an entry). ``kind`` is the entry, an Enum whose value is its
    number (or a tuple starting with it).
    """

    prefix: ClassVar[str]
    exits: ClassVar[Mapping[Enum, ExitCode]] = {}
    hints: ClassVar[Mapping[Enum, str]] = {}  # the fix to print when the raiser names none

    def __init__(self, kind: Enum, message: str, *, hint: str | None = None, transient: bool = False) -> None:
        number = kind.value[0] if isinstance(kind.value, tuple) else kind.value
        super().__init__(
            f"{kind.name}: {message}",
            hint=hint or self.hints.get(kind),
            code=f"{self.prefix}-{number:02d}",
            exit_code=self.exits.get(kind, ExitCode.FAILED),
            transient=transient,
        )
        self.kind = kind


def _restore(cls: type[VtsError], args: tuple[Any, ...]) -> VtsError:
    """An instance of ``cls`` with ``args`` but no __init__ run; pickle then sets its attributes."""
    return cls.__new__(cls, *args)
