"""The one retry policy: how many times to try again, and how long to wait before each retry.

Every place that tries a failed operation again (a split from its
checkpoint, a rate-limited read, a reconnect, an import progress poll,
storage requests) takes a :class:`RetryPolicy` instead of writing its own
loop, so that they all count and wait the same way and are configured with
the same option names (``<what>_attempts``, ``<what>_backoff``,
``<what>_max_backoff``, ``<what>_jitter``).

Polling loops that wait for a job to finish are not retries and do not use it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

_MAX_DOUBLINGS = 64  # 2**64 x any sensible base is past any cap; beyond it floats would overflow


@dataclass(frozen=True)
class RetryPolicy:
    """Retries with exponential backoff and jitter.

    - ``attempts``: retries after the first try; 0 means no retry, so the
      operation runs at most ``attempts + 1`` times.
    - ``base``: seconds before the first retry; each further retry doubles it.
    - ``cap``: the longest wait before jitter is applied.
    - ``jitter``: each wait is multiplied by ``uniform(1 - jitter, 1 + jitter)``
      (0 <= jitter <= 1), so that workers failing together do not all come
      back at the same moment.

    Picklable and immutable: it crosses to workers inside options.
    """

    attempts: int = 3
    base: float = 2.0
    cap: float = 60.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.attempts < 0:
            raise ValueError(f"attempts must be >= 0, got {self.attempts}")
        if self.base < 0 or self.cap < 0:
            raise ValueError(f"base and cap must be >= 0 seconds, got {self.base} and {self.cap}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be between 0 and 1, got {self.jitter}")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1 for the first retry, 2, ...).

        ``base * 2**(attempt - 1)``, at most ``cap``, then multiplied by the
        jitter factor drawn from ``rng`` (the ``random`` module when None).
        """
        if attempt < 1:
            raise ValueError(f"attempt counts retries from 1, got {attempt}")
        wait = min(self.cap, self.base * 2.0 ** min(attempt - 1, _MAX_DOUBLINGS))
        if self.jitter:
            wait *= (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
        return wait

    def run(
        self,
        fn: Callable[[], T],
        *,
        transient: Callable[[BaseException], bool],
        on_retry: Callable[[BaseException, int, float], None] | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> T:
        """Call ``fn()`` and return its result, trying again while it fails transiently.

        After an exception, ``transient(exc)`` decides: False re-raises it at
        once; True waits :meth:`delay` seconds and calls ``fn`` again, up to
        ``attempts`` times, after which the last exception is re-raised as it
        was (the caller may wrap it in a coded error). Only ``Exception`` is
        caught: KeyboardInterrupt and SystemExit always go through at once.

        ``on_retry(exc, attempt, delay)`` is called before each wait (to log or
        count it); ``sleep`` does the waiting (a test's fake clock, or
        ``threading.Event.wait`` to wake early on a stop signal).
        """
        attempt = 0
        while True:
            try:
                return fn()
            except Exception as exc:
                if attempt >= self.attempts or not transient(exc):
                    raise
                attempt += 1
                wait = self.delay(attempt)
                if on_retry is not None:
                    on_retry(exc, attempt, wait)
                sleep(wait)


NO_RETRY = RetryPolicy(attempts=0)
