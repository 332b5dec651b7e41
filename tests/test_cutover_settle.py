"""vts cutover counts a run as caught up only once it stays level: a change the source shows late is waited for."""

from __future__ import annotations

from typing import Any

import pytest

from vts import cutover
from vts.status import JobStatus, SplitStatus


def _stream(backlog: int) -> JobStatus:
    return JobStatus("cp", True, [SplitStatus("t-changes", "t", "in progress", 4, 0, backlog, 0.1)])


def test_a_change_that_shows_after_the_first_level_look_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    # level, then the slot shows a commit made before it (synchronous_commit=off), then applied and level for good
    looks = iter([_stream(0), _stream(1), _stream(1)] + [_stream(0)] * 100)
    seen: list[int] = []

    def status(job: Any) -> JobStatus:
        st = next(looks)
        seen.append(st.backlog or 0)
        return st

    monkeypatch.setattr(cutover, "status", status)
    monkeypatch.setattr(cutover, "_streaming", lambda job: None)
    monkeypatch.setattr(cutover, "SETTLE", 0.05)
    said: list[str] = []
    st = cutover.wait_level(object(), deadline=5, poll=0.01, said=said.append)  # type: ignore[arg-type]
    assert st.backlog == 0
    assert seen[:3] == [0, 1, 1] and len(seen) > 4  # not returned at the first level look
    assert said == ["waiting: 0 split(s) not finished, 1 behind"]
