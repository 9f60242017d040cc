"""Parquet reader: typed columns pass through; timestamps keep their stored time zone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audit.errors import InputError
from audit.ingest.raw import RawTable


def read_parquet(path: Path) -> RawTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"not a readable Parquet file: {exc}", file=path) from exc
    frame = table.to_pandas()
    return RawTable(frame=frame, rows=np.arange(1, len(frame) + 1, dtype=np.int64),
                    system="parquet", file=path)
