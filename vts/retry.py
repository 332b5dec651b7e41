"""One retry policy (attempts, base, cap, jitter) for every retry loop in vts."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # retries after the first try (0 = no retry)
    base: float = 2.0  # first delay, seconds
    cap: float = 60.0  # longest delay
    jitter: float = 0.5  # delay *= uniform(1 - jitter, 1 + jitter)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1, 2, ...): doubling from ``base``, capped, jittered."""
        d = min(self.cap, self.base * 2 ** (attempt - 1))
        r = (rng or random).uniform(1 - self.jitter, 1 + self.jitter) if self.jitter else 1.0
        return d * r

    def run(
        self,
        fn: Callable[[], Any],
        *,
        transient: Callable[[BaseException], bool],
        on_retry: Callable[[BaseException, int, float], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Any:
        attempt = 0
        while True:
            try:
                return fn()
            except Exception as exc:
                if not transient(exc) or attempt >= self.attempts:
                    raise
                attempt += 1
                wait = self.delay(attempt)
                if on_retry:
                    on_retry(exc, attempt, wait)
                sleep(wait)
