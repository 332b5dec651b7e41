"""RetryPolicy: how long it waits, how often it tries again, and what it gives back when it stops."""

from __future__ import annotations

import pickle
import random

import pytest

from vts.retry import NO_RETRY, RetryPolicy


class Flaky:
    """Fails with the given errors in order, then returns ``"ok"``."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def _always(exc: BaseException) -> bool:
    return True


def test_the_delay_doubles_from_base_and_stops_growing_at_cap() -> None:
    policy = RetryPolicy(base=2.0, cap=60.0, jitter=0)
    assert [policy.delay(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


def test_a_very_late_attempt_waits_cap_without_overflowing() -> None:
    assert RetryPolicy(base=1.0, cap=30.0, jitter=0).delay(100_000) == 30.0


def test_jitter_spreads_each_delay_within_its_bounds_and_a_seeded_rng_repeats_it() -> None:
    policy = RetryPolicy(base=10.0, cap=100.0, jitter=0.5)
    waits = [policy.delay(2, random.Random(seed)) for seed in range(200)]
    assert all(10.0 <= w <= 30.0 for w in waits)  # 20 s, times 0.5 .. 1.5
    assert max(waits) - min(waits) > 10  # spread, so throttled workers do not come back together
    assert policy.delay(2, random.Random(7)) == policy.delay(2, random.Random(7))


def test_the_first_retry_is_attempt_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        RetryPolicy().delay(0)


@pytest.mark.parametrize("kwargs", [{"attempts": -1}, {"base": -1.0}, {"cap": -0.5}, {"jitter": 1.5}, {"jitter": -0.1}])
def test_a_nonsensical_policy_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_run_returns_the_first_success_after_transient_failures_and_waits_before_each_retry() -> None:
    fn = Flaky(ConnectionError("reset"), ConnectionError("reset again"))
    sleeps: list[float] = []
    retries: list[tuple[str, int, float]] = []
    policy = RetryPolicy(attempts=3, base=0.5, cap=10, jitter=0)
    result = policy.run(
        fn, transient=_always, on_retry=lambda e, n, d: retries.append((str(e), n, d)), sleep=sleeps.append
    )
    assert result == "ok" and fn.calls == 3
    assert sleeps == [0.5, 1.0]
    assert retries == [("reset", 1, 0.5), ("reset again", 2, 1.0)]


def test_run_reraises_the_last_error_itself_once_the_attempts_are_spent() -> None:
    errors = [TimeoutError(f"try {i}") for i in range(4)]
    fn = Flaky(*errors, TimeoutError("never reached"))
    sleeps: list[float] = []
    with pytest.raises(TimeoutError) as info:
        RetryPolicy(attempts=3, jitter=0).run(fn, transient=_always, sleep=sleeps.append)
    assert info.value is errors[-1]  # unchanged, so the caller can wrap it in its coded error
    assert fn.calls == 4 and sleeps == [2.0, 4.0, 8.0]


def test_a_non_transient_error_is_raised_at_once_without_waiting() -> None:
    fn = Flaky(ConnectionError("reset"), ValueError("bad data"))
    sleeps: list[float] = []
    with pytest.raises(ValueError, match="bad data"):
        RetryPolicy(attempts=5, jitter=0).run(
            fn, transient=lambda e: isinstance(e, ConnectionError), sleep=sleeps.append
        )
    assert fn.calls == 2 and sleeps == [2.0]


def test_no_retry_calls_once() -> None:
    fn = Flaky(ConnectionError("reset"))
    with pytest.raises(ConnectionError):
        NO_RETRY.run(fn, transient=_always, sleep=pytest.fail)
    assert fn.calls == 1


def test_an_interrupt_is_never_retried() -> None:
    fn = Flaky(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        RetryPolicy().run(fn, transient=_always, sleep=pytest.fail)
    assert fn.calls == 1


def test_a_policy_pickles_and_compares_by_value() -> None:
    policy = RetryPolicy(attempts=5, base=0.1, cap=3.0, jitter=0.2)
    assert pickle.loads(pickle.dumps(policy)) == policy
    assert hash(policy) == hash(RetryPolicy(attempts=5, base=0.1, cap=3.0, jitter=0.2))
