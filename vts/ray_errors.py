"""The Ray executor's error catalogue (RAY-01..08), and the one place that maps Ray's exceptions to it."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, ClassVar

from vts.errors import CatalogError, ExitCode


class Code(Enum):
    NOT_INSTALLED = 1
    CLUSTER_UNREACHABLE = 2
    NOT_SHAREABLE = 3
    NOT_ENOUGH_RESOURCES = 4
    WORKER_LOST = 5
    TASK_FAILED = 6
    CLIENT_MODE = 7
    STREAMING = 8


class RayError(CatalogError):
    prefix = "RAY"
    exits: ClassVar[Mapping[Enum, ExitCode]] = {
        Code.NOT_INSTALLED: ExitCode.INVALID_CONFIG,
        Code.CLUSTER_UNREACHABLE: ExitCode.CONNECTION,
        Code.NOT_SHAREABLE: ExitCode.INVALID_CONFIG,
        Code.NOT_ENOUGH_RESOURCES: ExitCode.INVALID_CONFIG,
        Code.CLIENT_MODE: ExitCode.INVALID_CONFIG,
        Code.STREAMING: ExitCode.INVALID_CONFIG,
    }
    hints: ClassVar[Mapping[Enum, str]] = {
        Code.NOT_INSTALLED: "pip install 'vts[ray]' (or set 'env.executor: local')",
        Code.CLUSTER_UNREACHABLE: "check 'env.ray.address' and that the cluster is up ('ray status' on its head)",
        Code.NOT_ENOUGH_RESOURCES: "lower 'env.ray.num_cpus' / 'env.ray.resources', or add nodes to the cluster",
        Code.WORKER_LOST: "see the worker's log ('ray logs', or /tmp/ray/session_latest/logs); if the kernel "
        "killed it for memory, lower the source's batch_size or reserve more with 'env.ray.resources'",
        Code.TASK_FAILED: "see the worker's log ('ray logs', or /tmp/ray/session_latest/logs)",
        Code.CLIENT_MODE: "run vts on a node of the cluster with 'address: auto' (ray job submit -- vts run "
        "job.yaml, or a KubeRay RayJob), or give the head's GCS address host:6379",
        Code.STREAMING: "run a streaming job with 'env.executor: local' (a batch job from the same source runs on Ray)",
    }


def unreachable(address: str, exc: BaseException) -> RayError:
    """``ray.init`` failed: the cluster at ``address`` is not there, or refused us."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if address == "local":
        return RayError(
            Code.CLUSTER_UNREACHABLE,
            f"could not start a local Ray instance: {reason}",
            hint="see Ray's logs in /tmp/ray/session_latest/logs (a machine short of memory or CPU times out), "
            "or run with 'env.executor: local'",
        )
    return RayError(Code.CLUSTER_UNREACHABLE, f"cannot connect to the Ray cluster at '{address}': {reason}")


def from_task(ray: Any, exc: BaseException, split_id: str) -> BaseException:
    """What a split task's failure means on the driver.

    The error a split raised, exactly as the local executor would raise it
    (a VtsError keeps its class, code, hint, exit code and transient flag
    through pickling); Ray's own failures (a runtime_env that cannot be set
    up, a task that cannot be scheduled) as a coded error.
    """
    if isinstance(exc, ray.exceptions.RayTaskError):
        cause = exc.cause
        if isinstance(cause, BaseException) and not isinstance(cause, ray.exceptions.RayError):
            return cause
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, ray.exceptions.RuntimeEnvSetupError):
        return RayError(
            Code.TASK_FAILED,
            f"split {split_id}: Ray could not set up the task's runtime_env: {first}",
            hint="check 'env.ray.runtime_env' (pip packages, py_modules, working_dir) on the cluster's nodes",
        )
    return RayError(Code.TASK_FAILED, f"split {split_id} failed on Ray: {type(exc).__name__}: {first}")
