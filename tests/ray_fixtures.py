"""One local Ray instance for every Ray test of the session, inside the loopback-only network namespace.

Ray binds every interface, so it starts only where the namespace's sole
interface is ``lo`` (``make test`` runs the suite in one); elsewhere the
Ray tests skip, unless VTS_REQUIRE_MILVUS_STANDALONE=1 makes that a failure.
Import ``ray_cluster`` into a test module to use it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.conftest import REPO
from tests.services import milvus_standalone as ms

_started: list[str] = []  # the one instance's address, whichever module asked first


def ray_unavailable() -> str | None:
    try:
        import ray  # noqa: F401
    except ImportError:
        return "ray is not installed (pip install -e '.[ray]')"
    if not (ms.in_private_netns() and ms.loopback_up()):
        return "Ray binds every interface: it runs only in a loopback-only network namespace (run `make test`)"
    return None


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """The GCS address of a 2-CPU Ray instance whose workers import this checkout's vts."""
    reason = ray_unavailable()
    if reason:
        if os.environ.get("VTS_REQUIRE_MILVUS_STANDALONE") == "1":
            pytest.fail(f"Ray required but unavailable: {reason}")
        pytest.skip(reason)
    import ray

    if not _started:
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
        ray.init(
            address="local",
            num_cpus=2,
            include_dashboard=False,
            object_store_memory=200 * 1024 * 1024,
            log_to_driver=False,
            # workers import the code under test, not whatever vts the venv has installed
            runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}},
        )
        _started.append(ray.get_runtime_context().gcs_address)
    yield _started[0]
