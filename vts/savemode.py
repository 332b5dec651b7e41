"""Save modes: what happens to a target before rows are written, decided in one table.

VTS's two options, read by the engine for every sink through its
:class:`~vts.connector.TargetCatalog`:

=============================  ============  ===========================================
schema_save_mode               target        action
=============================  ============  ===========================================
CREATE_SCHEMA_WHEN_NOT_EXIST   missing       create it
RECREATE_SCHEMA                exists        drop it, create it again (rows go with it)
RECREATE_SCHEMA                missing       create it
ERROR_WHEN_SCHEMA_NOT_EXIST    missing       refuse (VTS-13)
IGNORE                         missing       refuse (VTS-13)
any but IGNORE                 exists        refuse if its schema cannot take the rows (VTS-14)
=============================  ============  ===========================================

then, for a target that exists and is kept: ``data_save_mode`` APPEND_DATA
keeps its rows, DROP_DATA deletes them, ERROR_WHEN_DATA_EXISTS refuses a
target holding rows (VTS-05). A resumed run applies none of this: its target
must still exist (VTS-15) and still match.

:func:`decide` only reads, and raises every refusal before any action is
taken; :func:`apply` then acts. ``vts check`` prints the decision (a dry run)
and ``vts run`` applies it after the sink's preflight passed, so nothing is
dropped or deleted while a check can still fail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from vts.errors import DataExistsError, ExitCode, VtsError

if TYPE_CHECKING:
    from vts.connector import TargetCatalog

log = logging.getLogger("vts")


class SchemaSaveMode(StrEnum):
    CREATE_SCHEMA_WHEN_NOT_EXIST = "CREATE_SCHEMA_WHEN_NOT_EXIST"
    RECREATE_SCHEMA = "RECREATE_SCHEMA"
    ERROR_WHEN_SCHEMA_NOT_EXIST = "ERROR_WHEN_SCHEMA_NOT_EXIST"
    IGNORE = "IGNORE"


class DataSaveMode(StrEnum):
    APPEND_DATA = "APPEND_DATA"
    DROP_DATA = "DROP_DATA"
    ERROR_WHEN_DATA_EXISTS = "ERROR_WHEN_DATA_EXISTS"


class TargetMissing(VtsError):
    code = "VTS-13"
    exit_code = ExitCode.SCHEMA


class TargetIncompatible(VtsError):
    code = "VTS-14"
    exit_code = ExitCode.SCHEMA


class TargetGone(VtsError):
    code = "VTS-15"


Op = Literal["create", "recreate", "delete_rows", "keep"]


@dataclass(frozen=True)
class Action:
    """What the save modes do to one target; ``rows`` is what it held when decided."""

    target: str
    op: Op
    rows: int = 0
    warning: str | None = None

    def describe(self, dry_run: bool) -> str:
        would = "would " if dry_run else ""
        if self.op == "create":
            return f"{would}create `{self.target}`"
        if self.op == "recreate":
            return f"{would}drop `{self.target}` ({self.rows:,} row(s)) and create it again"
        if self.op == "delete_rows":
            return f"{would}delete {self.rows:,} row(s) from `{self.target}`"
        return f"{would}write into `{self.target}` ({self.rows:,} row(s) already there, kept)"


def decide(
    catalog: TargetCatalog, schema_mode: SchemaSaveMode, data_mode: DataSaveMode, resuming: bool = False
) -> list[Action]:
    """Read the targets and return the action for each; raise the first refusal. Changes nothing."""
    actions = []
    for target in catalog.targets:
        exists = catalog.exists(target)
        if resuming:
            if not exists:
                raise TargetGone(
                    f"`{target}`, written by the interrupted run, is gone: resuming would lose rows",
                    hint="run again with --fresh (an embedded Milvus Lite file can lose data when the process "
                    "writing it is killed; use a Milvus server for long migrations)",
                )
            _refuse_mismatch(catalog, target)
            actions.append(Action(target, "keep", catalog.rows(target)))
            continue
        if not exists:
            if schema_mode in (SchemaSaveMode.ERROR_WHEN_SCHEMA_NOT_EXIST, SchemaSaveMode.IGNORE):
                raise TargetMissing(
                    f"`{target}` does not exist and schema_save_mode is {schema_mode.value}",
                    hint="create it first, or use schema_save_mode CREATE_SCHEMA_WHEN_NOT_EXIST",
                )
            actions.append(Action(target, "create"))
            continue
        rows = catalog.rows(target)
        if schema_mode == SchemaSaveMode.RECREATE_SCHEMA:
            actions.append(Action(target, "recreate", rows))
            continue
        if schema_mode != SchemaSaveMode.IGNORE:
            _refuse_mismatch(catalog, target)
        if data_mode == DataSaveMode.ERROR_WHEN_DATA_EXISTS and rows:
            raise DataExistsError(
                f"`{target}` already holds {rows:,} row(s) and data_save_mode is ERROR_WHEN_DATA_EXISTS",
                hint="use data_save_mode APPEND_DATA (upserts by key) or DROP_DATA, or pick another target",
            )
        if data_mode == DataSaveMode.DROP_DATA and rows:
            actions.append(Action(target, "delete_rows", rows))
        else:
            actions.append(Action(target, "keep", rows, catalog.append_warning(target, rows) if rows else None))
    return actions


def _refuse_mismatch(catalog: TargetCatalog, target: str) -> None:
    problems = catalog.mismatches(target)
    if problems:
        raise TargetIncompatible(
            f"existing `{target}` does not match the source: " + "; ".join(problems),
            hint="use schema_save_mode RECREATE_SCHEMA to rebuild it, collection_rename to write elsewhere, "
            "or field_schema to map the fields",
        )


def apply(catalog: TargetCatalog, actions: list[Action]) -> None:
    """Carry out decided actions (after every check passed)."""
    for a in actions:
        if a.op != "keep":
            log.info("%s", a.describe(dry_run=False))
        if a.op == "recreate":
            catalog.drop(a.target)
            catalog.create(a.target)
        elif a.op == "create":
            catalog.create(a.target)
        elif a.op == "delete_rows":
            catalog.delete_rows(a.target)
        catalog.prepare_writes(a.target)
        if a.warning:
            log.warning("%s", a.warning)
