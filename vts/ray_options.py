"""Options of the Ray executor (``env.ray`` in a job file); reading them needs no Ray."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from vts.connector import Options


class RayOptions(Options):
    address: str = Field(
        "local",
        description="'local' starts a Ray instance on this machine for the run; 'auto' joins the cluster this "
        "machine is a node of; 'host:6379' a cluster's head (GCS). Ray Client (ray://) is not supported.",
    )
    num_cpus: float = Field(1.0, gt=0, description="CPUs each split task reserves on the cluster.")
    resources: dict[str, float] = Field(
        default_factory=dict, description="Other resources each split task reserves (custom ones, 'memory' in bytes)."
    )
    runtime_env: dict[str, Any] | None = Field(
        None,
        description="Ray runtime_env of the job (pip, py_modules, env_vars, ...): how the workers get vts and "
        "its connectors when their image lacks them.",
    )
    max_retries: int = Field(
        3, ge=0, description="Runs of a split again, from its last checkpoint, after its worker process died."
    )
    object_store_memory: int | None = Field(
        None, gt=0, description="Bytes of object store for a 'local' instance (Ray's default: 30% of memory)."
    )
    log_to_driver: bool = Field(False, description="Show the workers' logs on this terminal, beside the progress.")
