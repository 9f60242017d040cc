"""Writing the canonical log and its quarantine to disk (the I/O edge of import)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from audit.csvtext import frame_csv
from audit.errors import InputError
from audit.ingest import ImportResult
from audit.safety import neutralise_frame


def write_quarantine(quarantine: pd.DataFrame, path: Path) -> Path:
    """quarantine.csv, with formula-like cells neutralised: it is opened in spreadsheets."""
    text = frame_csv(neutralise_frame(quarantine.astype(object)))
    with path.open("w", newline="", encoding="utf-8") as handle:
        handle.write(text)
    return path


def write_import(result: ImportResult, out: Path) -> dict[str, Path]:
    """Write LOG.parquet and quarantine.csv beside it; return what was written."""
    if out.suffix.lower() not in (".parquet", ".pq"):
        raise InputError("the canonical log is written as Parquet: name it *.parquet", file=out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        result.log.to_parquet(out, index=False)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", file=out) from exc
    quarantine = write_quarantine(result.quarantine, out.parent / "quarantine.csv")
    return {"log": out, "quarantine": quarantine}
