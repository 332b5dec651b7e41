"""Every VtsError crosses a process boundary (pickle) and a deep copy unchanged.

The error classes are found by importing every module of ``vts`` and
``connectors`` and walking VtsError's subclasses, so a class added later is
covered without editing this file. Catalogue errors are built with every
entry of their catalogue.
"""

from __future__ import annotations

import copy
import importlib
import pickle
import pkgutil
import sys
from collections.abc import Iterator
from enum import Enum

import pytest

import vts
import vts.connectors
from vts.errors import CatalogError, ExitCode, VtsError


def _import_everything() -> None:
    for package in (vts, vts.connectors):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not info.name.endswith("__main__"):  # running vts/__main__ would start the CLI
                importlib.import_module(info.name)


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _catalogue(cls: type[CatalogError]) -> type[Enum]:
    """The connector's catalogue enum: the ``Code`` of the module defining the class."""
    code = getattr(sys.modules[cls.__module__], "Code", None)
    assert isinstance(code, type) and issubclass(code, Enum), f"{cls.__name__}: no Code enum beside it"
    return code


def _errors() -> list[VtsError]:
    _import_everything()
    classes = sorted({VtsError, *_subclasses(VtsError)}, key=lambda c: f"{c.__module__}.{c.__qualname__}")
    out: list[VtsError] = []
    for cls in classes:
        if issubclass(cls, CatalogError):
            if "prefix" not in vars(cls):  # the abstract base; its connectors' subclasses are covered
                continue
            for i, kind in enumerate(_catalogue(cls)):
                out.append(cls(kind, f"message {i} of {kind.name}", hint=f"hint {i}", transient=i % 2 == 0))
        else:
            out.append(cls(f"{cls.__name__} broke", hint="do this"))
            out.append(cls("with everything set", hint="h", code="VTS-77", exit_code=ExitCode.SCHEMA, transient=True))
    return out


ERRORS = _errors()


def test_every_error_class_of_the_codebase_is_covered() -> None:
    names = {type(e).__name__ for e in ERRORS}
    expected = {"VtsError", "ConfigError", "DataExistsError", "TargetDiffers", "CheckpointStoreError"}
    expected |= {"MilvusError", "PgvectorError", "QdrantError", "CheckpointMismatch", "JobFileError"}
    assert expected <= names


def _same(a: VtsError, b: VtsError) -> None:
    assert type(b) is type(a)
    assert str(b) == str(a)
    for name in ("message", "code", "hint", "exit_code", "transient", "args"):
        assert getattr(b, name) == getattr(a, name), name
    if isinstance(a, CatalogError):
        assert b.kind is a.kind  # type: ignore[attr-defined]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: f"{type(e).__name__}-{e.code}-{e.transient}")
def test_an_error_survives_pickling_with_its_class_message_code_hint_exit_code_and_transient_flag(
    error: VtsError,
) -> None:
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        _same(error, pickle.loads(pickle.dumps(error, protocol=protocol)))


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: f"{type(e).__name__}-{e.code}-{e.transient}")
def test_an_error_survives_a_deep_copy(error: VtsError) -> None:
    _same(error, copy.deepcopy(error))
    _same(error, copy.copy(error))


def test_a_raised_error_pickles_with_its_notes_and_stays_raisable() -> None:
    from vts.connectors.milvus.errors import Code, MilvusError

    try:
        raise MilvusError(Code.WRITE_DATA_FAIL, "writing 10 row(s)", transient=True) from ValueError("inner")
    except MilvusError as exc:
        exc.add_note("split c/*/1-of-1")
        back = pickle.loads(pickle.dumps(exc))
    assert back.__notes__ == ["split c/*/1-of-1"]
    assert back.transient and back.exit_code == ExitCode.FAILED
    with pytest.raises(MilvusError, match=r"\[MILVUS-17\] WRITE_DATA_FAIL: writing 10 row\(s\)"):
        raise back
