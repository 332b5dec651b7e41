"""Stages: work at the end of a run that has no rows to count (an index build), shown while it runs.

A connector that blocks on such work (``Sink.finalize``) wraps each piece in
``with stage("building the index of docs"):``. The driver chooses how that
shows: :func:`logged` writes two log lines, :class:`ConsoleStage` a spinner
with the elapsed time on stderr and then one line with the time it took.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

log = logging.getLogger("vts")

Stage = Callable[[str], AbstractContextManager[None]]
"""``stage(what)`` returns a context manager that spans the work described by ``what``."""


@contextmanager
def logged(what: str) -> Iterator[None]:
    """The stage as INFO log lines: when it starts and how long it took."""
    log.info("%s ...", what)
    started = time.monotonic()
    yield
    log.info("%s: %.1f s", what, time.monotonic() - started)


class ConsoleStage:
    """A spinner and the elapsed time while the stage runs, then ``vts: <what>: 41.2 s``.

    ``enabled=False`` (``vts run -q``) shows nothing. A failed stage prints
    no line: the error that ends the run says what happened.
    """

    def __init__(self, console: Console, enabled: bool = True) -> None:
        self.console = console
        self.enabled = enabled

    @contextmanager
    def __call__(self, what: str) -> Iterator[None]:
        if not self.enabled:
            with logged(what):
                yield
            return
        started = time.monotonic()
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        # a spinner only where it can redraw itself; a log file gets the closing line alone
        live = Progress(*columns, console=self.console, transient=True, disable=not self.console.is_terminal)
        with live as progress:
            progress.add_task(what, total=None)
            yield
        self.console.print(f"vts: {what}: {time.monotonic() - started:.1f} s", highlight=False)
