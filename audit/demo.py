"""The demo: the bundled sample exports through the whole pipeline, with embedded defaults."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

from audit.ingest import import_sources
from audit.store import write_import

SAMPLE = "refund-sample"
"""Folder in sample_logs/ with the bundled generated sample (seed 42, 300 cases)."""


def run_demo(out: Path) -> list[str]:
    """Import the bundled sample into `out`; return the lines to print."""
    resource = files("sample_logs").joinpath(SAMPLE, "canonical.csv")
    with as_file(resource) as canonical:
        result = import_sources([(Path(canonical), "csv")])
    written = write_import(result, out / "canonical.parquet")
    lines = ["refund-audit demo: bundled sample 'refund-sample' (300 refund cases, 3 channels)"]
    lines += [f"  {line}" for line in result.summary_lines()]
    lines += [f"  {kind}: {path}" for kind, path in written.items()]
    return lines
