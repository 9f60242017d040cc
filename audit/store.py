"""Writing the canonical log and its quarantine to disk (the I/O edge of import)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from audit.csvtext import frame_csv
from audit.errors import InputError
from audit.ingest import ImportResult
from audit.safety import neutralise_frame


def write_quarantine(quarantine: pd.DataFrame, path: Path) -> Path:
    """quarantine.csv, with formula-like cells neutralised: it is opened in spreadsheets."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        handle.write(frame_csv(quarantine.iloc[:0]))
        for start in range(0, len(quarantine), _BLOCK):  # a block's text at a time
            block = quarantine.iloc[start:start + _BLOCK]
            handle.write(frame_csv(neutralise_frame(block.astype(object)), header=False))
    return path


def write_problems(problems: pd.DataFrame, path: Path) -> Path:
    """correlation.csv: the correlation problems (file, row, field, value, reason: a refund
    naming a ticket or charge no export holds, a refund stating another order than its
    charge's), written as quarantine.csv is; the events are in the log."""
    from audit.ingest.normalise import QUARANTINE_COLUMNS

    return write_quarantine(problems.reindex(columns=list(QUARANTINE_COLUMNS)), path)


_ARROW_COLUMN = re.compile(r"Conversion failed for column (.+?) with type")
_BLOCK = 20_000
"""Quarantined rows written at a time (as pandas' to_csv did): their text, not the whole
file's, is held."""


def write_import(result: ImportResult, out: Path) -> dict[str, Path]:
    """Write LOG.parquet and quarantine.csv beside it (and correlation.csv, where exports
    were correlated); return what was written."""
    if out.suffix.lower() not in (".parquet", ".pq"):
        raise InputError("the canonical log is written as Parquet: name it *.parquet", file=out)
    import pyarrow as pa

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        result.log.to_parquet(out, index=False)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", file=out) from exc
    except pa.ArrowException as exc:
        # (A column no Parquet type holds, e.g. numbers beside text: the readers keep such
        # a column as text, and this is the net under them, not a traceback.)
        detail = "; ".join(str(part) for part in exc.args)
        failed = _ARROW_COLUMN.search(detail)
        raise InputError(f"cannot write the canonical log as Parquet: {detail}", file=out,
                         field=failed.group(1) if failed else None) from exc
    written = {"log": out, "quarantine": write_quarantine(result.quarantine,
                                                         out.parent / "quarantine.csv")}
    if result.correlation_problems is not None:  # (exports were correlated)
        written["correlation problems"] = write_problems(result.correlation_problems,
                                                         out.parent / "correlation.csv")
    return written
