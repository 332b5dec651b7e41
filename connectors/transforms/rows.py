"""Rows a transform cannot handle: out of the batch, into the dead letters with their reason."""

from __future__ import annotations

import pyarrow as pa

from vts.rejects import SplitRejects


def reject(
    batch: pa.RecordBatch, reasons: dict[int, str], transform: str, rejects: SplitRejects | None
) -> pa.RecordBatch:
    """``batch`` without the rows in ``reasons`` (row index -> why), which go to ``rejects``."""
    if not reasons:
        return batch
    bad = sorted(reasons)
    if rejects is not None:
        rows = batch.take(pa.array(bad, pa.int64())).to_pylist()
        rejects.add(rows, [f"{transform}: {reasons[i]}" for i in bad])
    keep = [i for i in range(batch.num_rows) if i not in reasons]
    return batch.take(pa.array(keep, pa.int64()))
