"""The checkpoint file says which layout it has: an older file without the number resumes, a newer one is
refused with VTS-08 and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vts.checkpoint import SCHEMA, Checkpoint, CheckpointMismatch
from vts.connector import Split

SPLITS = [
    Split("t/1-of-2", "t", None, 5, {"lo": None, "hi": 5}),
    Split("t/2-of-2", "t", None, 5, {"lo": 5, "hi": None}),
]


def _started(folder: Path) -> Path:
    cp = Checkpoint.open(folder, None, "fp", fresh=False)
    cp.start(SPLITS, {"cursor": 1})
    return next(folder.glob("*.json"))


def test_a_checkpoint_records_its_layout(tmp_path: Path) -> None:
    assert json.loads(_started(tmp_path).read_text())["schema"] == SCHEMA


def test_a_checkpoint_written_before_the_layout_number_resumes(tmp_path: Path) -> None:
    file = _started(tmp_path)
    old = json.loads(file.read_text())
    del old["schema"]
    old["state"] = {"t/1-of-2": {"position": 3, "rows_written": 3}}
    file.write_text(json.dumps(old))
    cp = Checkpoint.open(tmp_path, None, "fp", fresh=False)
    assert cp.resuming and cp.splits == SPLITS and cp.splits_state == {"cursor": 1}
    assert cp.record("t/1-of-2").position == 3


def test_a_checkpoint_of_a_later_layout_is_refused_with_the_fix(tmp_path: Path) -> None:
    file = _started(tmp_path)
    file.write_text(json.dumps({**json.loads(file.read_text()), "schema": SCHEMA + 1}))
    with pytest.raises(CheckpointMismatch) as info:
        Checkpoint.open(tmp_path, None, "fp", fresh=False)
    assert info.value.code == "VTS-08"
    assert f"layout {SCHEMA + 1}" in str(info.value) and "--fresh" in info.value.hint
    assert Checkpoint.open(tmp_path, None, "fp", fresh=True).resuming is False
