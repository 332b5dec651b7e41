"""ReadAhead: what a split's reader thread has read and its writer has not taken yet, bounded by bytes.

A bound in batches let the reader run ahead by as many rows as a batch
holds: a source that reads 100 rows per call (Pinecone's list + fetch) was at
most a few hundred rows ahead of a writer that sends 1 000 per insert, so
the two mostly took turns. A bound in bytes lets small batches queue up
while the writer's call is in flight, and keeps memory flat for large ones.
``queue.Queue`` bounds by item count only, hence this class.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from typing import Any

MAX_BYTES = 32 * 2**20  # per split: ~10 000 rows of 768-d float32
MIN_ITEMS = 2  # a batch larger than MAX_BYTES still gets one read ahead of the one being written


class ReadAhead:
    """A FIFO of ``(item, nbytes)``: ``put`` waits while the items held reach ``max_bytes`` (and number at
    least ``min_items``); ``get`` waits for an item. Both give up after ``timeout`` so the caller can check
    whether the run stopped."""

    def __init__(self, max_bytes: int = MAX_BYTES, min_items: int = MIN_ITEMS) -> None:
        self.max_bytes = max_bytes
        self.min_items = min_items
        self._items: deque[tuple[Any, int]] = deque()
        self._bytes = 0
        self._changed = threading.Condition()

    def put(self, item: Any, nbytes: int, timeout: float) -> bool:
        """Append ``item``; False if there was no room within ``timeout`` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._has_room(nbytes), timeout):
                return False
            self._items.append((item, nbytes))
            self._bytes += nbytes
            self._changed.notify_all()
            return True

    def get(self, timeout: float) -> Any:
        """The oldest item; raises ``queue.Empty`` after ``timeout`` seconds without one."""
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self._items), timeout):
                raise queue.Empty
            item, nbytes = self._items.popleft()
            self._bytes -= nbytes
            self._changed.notify_all()
            return item

    def _has_room(self, nbytes: int) -> bool:
        return len(self._items) < self.min_items or self._bytes + nbytes <= self.max_bytes
