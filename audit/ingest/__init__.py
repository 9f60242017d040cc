"""Import of event logs: detect the format, read, map columns, convert, quarantine, assign ids.

`import_sources` is the one entry point; it returns the canonical log, the quarantine and the
per-file counts (read = imported + quarantined for every file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from audit import canonical as C
from audit.errors import InputError
from audit.ingest.mapping import Mapping, check_time_zone
from audit.ingest.normalise import QUARANTINE_COLUMNS, empty_quarantine, normalise
from audit.ingest.raw import RawTable

_INPUT = "__input__"  # which input a row came from, while importing
FORMATS = ("csv", "xes", "parquet", "ocel")
_SUFFIXES = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".xes": "xes", ".xes.gz": "xes",
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonocel": "ocel", ".xmlocel": "ocel", ".sqlite": "ocel",
}


@dataclass(frozen=True)
class FileCounts:
    file: str
    system: str
    read: int
    imported: int
    quarantined: int


@dataclass
class ImportResult:
    log: pd.DataFrame
    quarantine: pd.DataFrame
    files: list[FileCounts]
    notes: list[str] = field(default_factory=list)

    @property
    def read(self) -> int:
        return sum(f.read for f in self.files)

    @property
    def imported(self) -> int:
        return len(self.log)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    def summary_lines(self) -> list[str]:
        lines = [
            f"{f.file} ({f.system}): read {f.read} = imported {f.imported} + quarantined "
            f"{f.quarantined}" for f in self.files
        ]
        cases = self.log[C.CASE].nunique() if len(self.log) else 0
        lines.append(
            f"total: read {self.read} = imported {self.imported} + quarantined "
            f"{self.quarantined}; {cases} cases")
        return lines + self.notes


def detect_format(path: Path) -> str:
    name = path.name.lower()
    for suffix, fmt in sorted(_SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    raise InputError(
        f"unknown file type '{''.join(path.suffixes) or path.name}'; pass --format "
        f"({' | '.join(FORMATS)})", file=path)


def read_raw(
    path: Path, fmt: str, *, encoding: str | None, object_type: str | None
) -> tuple[RawTable, pd.DataFrame]:
    """Read one file; return its records and the records that could not even be split."""
    if not path.exists():
        raise InputError("no such file", file=path)
    if fmt == "csv":
        from audit.ingest.csv_reader import read_csv

        table, ragged = read_csv(path, encoding=encoding)
        broken = pd.DataFrame(
            {"file": path.name, "row": [r.row for r in ragged], "field": "(record)",
             "value": [r.text for r in ragged],
             "reason": [f"{r.found} fields where the header has {r.expected}" for r in ragged]},
            columns=list(QUARANTINE_COLUMNS))
        return table, broken
    if fmt == "xes":
        from audit.ingest.xes import read_xes

        return read_xes(path), empty_quarantine()
    if fmt == "parquet":
        from audit.ingest.parquet_reader import read_parquet

        return read_parquet(path), empty_quarantine()
    if fmt == "ocel":
        from audit.ingest.ocel import read_ocel

        return read_ocel(path, object_type), empty_quarantine()
    raise InputError(f"unknown format '{fmt}' (known: {', '.join(FORMATS)})", file=path)


def assign_event_ids(log: pd.DataFrame) -> pd.Series:
    """Stable ids: the source's own where it has one, else a hash of what the event says.

    The hash covers system, case, activity, time, resource and the occurrence number among
    identical events, so the same export always yields the same ids, whatever the file is called.
    """
    given = log[C.EVENT_ID] if C.EVENT_ID in log.columns else None
    key = pd.DataFrame({
        "system": log[C.SOURCE_SYSTEM].astype("string"),
        "case": log[C.CASE].astype("string"),
        "activity": log[C.ACTIVITY].astype("string"),
        "time": log[C.TIMESTAMP].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").astype("string"),
        "resource": log[C.RESOURCE].astype("string").fillna(""),
    })
    key["occurrence"] = key.groupby(list(key.columns), sort=False).cumcount()
    hashed = pd.util.hash_pandas_object(key, index=False).to_numpy()
    derived = pd.Series([f"e{h:016x}" for h in hashed], index=log.index, dtype="string")
    if given is None:
        return derived
    return given.astype("string").fillna(derived)


def import_sources(
    sources: list[tuple[Path, str | None]],
    *,
    mapping: Mapping | None = None,
    assume_tz: str | None = None,
    encoding: str | None = None,
    object_type: str | None = None,
) -> ImportResult:
    """Import files (path, format or None to detect) into one canonical log."""
    mapping = mapping or Mapping()
    if assume_tz is not None:
        check_time_zone(assume_tz)
    logs: list[pd.DataFrame] = []
    quarantines: list[pd.DataFrame] = []
    counts: list[tuple[str, str, int]] = []
    notes: list[str] = []
    for path, fmt in sources:
        table, broken = read_raw(path, fmt or detect_format(path), encoding=encoding,
                                 object_type=object_type)
        notes.extend(table.notes)
        if len(table.frame) == 0 and len(broken):
            raise InputError("no record has as many fields as the header", file=path,
                             row=int(broken["row"].iloc[0]))
        result = normalise(table, mapping, assume_tz=assume_tz)
        result.log[_INPUT] = len(counts)
        logs.append(result.log)
        quarantines.extend([broken, result.quarantine])
        counts.append((path.name, mapping.system or table.system, result.records_read))
    log = pd.concat(logs, ignore_index=True) if len(logs) > 1 else logs[0]
    log[C.EVENT_ID] = assign_event_ids(log)
    duplicated = log[C.EVENT_ID].duplicated(keep="first")
    if duplicated.any():
        first = log.loc[~duplicated].set_index(C.EVENT_ID)
        dups = log.loc[duplicated]
        where = first.loc[dups[C.EVENT_ID], [C.SOURCE_FILE, C.SOURCE_ROW]].to_numpy()
        quarantines.append(pd.DataFrame({
            "file": dups[C.SOURCE_FILE].to_numpy(), "row": dups[C.SOURCE_ROW].to_numpy(),
            "field": C.EVENT_ID, "value": dups[C.EVENT_ID].astype(object).to_numpy(),
            "reason": [f"duplicate event id (first at {f} row {r})" for f, r in where]}))
        log = log.loc[~duplicated]
    ordered = list(C.COLUMNS) + [c for c in log.columns if c not in C.COLUMNS]
    log = log[ordered].sort_values(
        [C.CASE, C.TIMESTAMP, C.SOURCE_FILE, C.SOURCE_ROW], kind="stable").reset_index(drop=True)
    quarantine = pd.concat([q for q in quarantines if len(q)], ignore_index=True) if any(
        len(q) for q in quarantines) else empty_quarantine()
    imported = log[_INPUT].value_counts()
    files = [
        FileCounts(name, system, read, int(imported.get(i, 0)), read - int(imported.get(i, 0)))
        for i, (name, system, read) in enumerate(counts)
    ]
    return ImportResult(log=log.drop(columns=_INPUT), quarantine=quarantine, files=files,
                        notes=notes)
