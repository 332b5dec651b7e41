"""Retry options: one naming scheme (<what>_attempts, _backoff, _max_backoff, _jitter), VTS's names as aliases."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import yaml

from vts import config
from vts.connectors.milvus.source_options import MilvusSourceOptions
from vts.errors import ConfigError
from vts.retry import RetryPolicy


def _job(env: dict[str, Any] | None = None, source: dict[str, Any] | None = None) -> config.Job:
    job = {
        "env": env or {},
        "source": {"Milvus": {"url": "./in.db", **(source or {})}} if source is not None else {"DataGen": {}},
        "sink": {"Milvus": {"url": "./out.db"}},
    }
    return config.parse(yaml.safe_dump(job), environ={})


def test_split_retries_default_to_three_doubling_from_two_seconds_with_jitter() -> None:
    assert _job().env.split_retry == RetryPolicy(attempts=3, base=2.0, cap=60.0, jitter=0.5)


def test_the_new_split_retry_names_and_vts_names_give_the_same_policy() -> None:
    new = _job({"retry_attempts": 5, "retry_backoff": 0.5, "retry_max_backoff": 8, "retry_jitter": 0})
    vts = _job({"split_retries": 5, "retry_backoff": 0.5, "retry_max_backoff": 8, "retry_jitter": 0})
    assert new.env.split_retry == vts.env.split_retry == RetryPolicy(attempts=5, base=0.5, cap=8.0, jitter=0.0)


def test_an_option_given_by_both_its_names_is_refused_naming_both() -> None:
    with pytest.raises(ConfigError, match="'retry_attempts' and 'split_retries' are the same option"):
        _job({"split_retries": 1, "retry_attempts": 2})


def test_a_vts_name_is_checked_like_the_new_one() -> None:
    with pytest.raises(ConfigError, match=r"'env.split_retries' should be greater than or equal to 0 \(got -1\)"):
        _job({"split_retries": -1})
    with pytest.raises(ConfigError, match="'split_retries' must be a number, not true"):
        _job({"split_retries": True})
    with pytest.raises(ConfigError, match="retry_jitter"):
        _job({"retry_jitter": 2})


def test_a_misspelt_vts_name_suggests_it() -> None:
    with pytest.raises(ConfigError) as info:
        _job({"split_retrys": 2})
    assert "unknown option 'env.split_retrys'" in str(info.value) and "did you mean 'split_retries'?" in str(info.value)


def test_rate_limited_reads_wait_the_same_each_time_by_default_as_in_vts() -> None:
    policy = MilvusSourceOptions().rate_limit_retry
    assert policy == RetryPolicy(attempts=3, base=30.0, cap=30.0, jitter=0.0)
    assert [policy.delay(n) for n in (1, 2, 3)] == [30.0, 30.0, 30.0]


def test_rate_limit_options_take_vts_names_and_may_grow_the_wait() -> None:
    vts = _job(source={"rate_limit_retries": 4, "rate_limit_wait": 5}).source.options
    new = _job(source={"rate_limit_attempts": 4, "rate_limit_backoff": 5}).source.options
    assert vts.rate_limit_retry == new.rate_limit_retry == RetryPolicy(attempts=4, base=5.0, cap=5.0, jitter=0.0)
    growing = _job(source={"rate_limit_backoff": 5, "rate_limit_max_backoff": 15, "rate_limit_jitter": 0.25})
    policy = growing.source.options.rate_limit_retry
    assert (policy.cap, policy.jitter) == (15.0, 0.25)
    assert RetryPolicy(policy.attempts, policy.base, policy.cap, 0).delay(3) == 15.0  # 5, 10, then 20 capped at 15


def test_a_policy_travels_to_workers_with_the_options() -> None:
    options = _job(source={"rate_limit_wait": 2}).source.options
    assert pickle.loads(pickle.dumps(options)).rate_limit_retry == options.rate_limit_retry
