"""Import of event logs: detect the format, read, map columns, convert, quarantine, assign ids.

`import_sources` is the one entry point; it returns the canonical log, the quarantine and the
per-file counts (read = imported + quarantined for every file).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.digest import FileStamp, file_stamp, sha256_of
from audit.errors import InputError
from audit.forked import waited, workers_stopped
from audit.ingest.mapping import (
    Mapping,
    case_spelt_event_columns,
    check_time_zone,
    pm4py_unread,
    resolution_note,
    resolve_columns,
)
from audit.ingest.normalise import (
    ABOVE_CHARGE_HINTS,
    QUARANTINE_COLUMNS,
    QUARANTINE_HINTS,
    RECORD_READ,
    REFUND_TOTAL_HINT,
    TICKET_HINT,
    empty_quarantine,
    field_only,
    no_mapped_update,
    normalise,
    record_read_filled,
)
from audit.ingest.raw import IdCells, RawTable
from audit.ingest.sizes import cut_values, refuse_many_joined_columns
from audit.memory import return_free_memory
from audit.words import counted

if TYPE_CHECKING:
    from audit.sources.config import SourcesConfig
    from audit.sources.servicenow import Join

_INPUT = "__input__"  # which input a row came from, while importing
_RESTATED = "__restated__"  # a canonical log's event of an export taken back: its input + 1
FORMATS = ("csv", "xes", "parquet", "ocel", "zendesk", "jira", "servicenow", "stripe", "paypal",
           "adyen", "roles")
SOURCE_SYSTEMS = ("zendesk", "jira", "servicenow", "stripe", "paypal", "adyen")
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
    """The file's rows (records) read: `imported + quarantined + deduplicated`. A record read
    twice is counted in `read` too, so that a file whose every record another input holds
    (a copy of a canonical log given beside it, an export given twice under two names) says
    what it held: before, `read 0` stood for a file whose 140 rows were read and dropped."""
    imported: int
    quarantined: int
    deduplicated: int = 0
    """Of `read`, the records read twice (same id, same content: exported twice in one file,
    or held by an input given before): dropped, counted."""
    path: str = ""
    """The input as given (`file` is its label, see input_labels), as `digests` keys it."""
    left_out: int = 0
    """Of `imported`, the charge records that correlation left out as sales (no ticket or
    refund refers to them): read and imported, but in no refund case."""
    repeated: int = 0
    """The events correlation added for this file's charge records: a charge refunded in
    several cases is an event in each, one added for each case after the first."""
    fields_unread: int = 0
    """The quarantine's lines of one field alone (`normalise.field_only`, their
    `record_read` yes: an approval's unreadable amount, a ticket's currency that is no code,
    a Zendesk order given as a list), each of a record read without that field: imported
    (or, where it states no activity, counted in the notes as such records are), so no part
    of `quarantined`, which counts the rows not imported. Before, such a line counted its row
    again in `read`. Lines, not fields: a currency that is no code has a line per amount of
    its ticket left unread."""

    @property
    def events(self) -> int:
        """The events of the log this file's records became: the imported records less
        those left out, plus the charges' events in further cases (`repeated`)."""
        return self.imported - self.left_out + self.repeated


@dataclass
class ImportResult:
    log: pd.DataFrame
    quarantine: pd.DataFrame
    files: list[FileCounts]
    notes: list[str] = field(default_factory=list)
    roles: object | None = None
    """The role history applied (audit.sources.roles.RoleHistory), if one was given."""
    told_apart: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    """The display names the Jira exports state with several accountIds, each such author
    named `<name> (<accountId>)` (`jira.told_apart_names`): per name (`person_key`), as
    shown and its accountIds; check warns where the log or the role history names one bare
    (`jira.told_apart_warnings`)."""
    correlation_problems: pd.DataFrame | None = None
    """References to ids no export contains (file, row, field, value, reason), if correlated;
    those events are kept."""
    digests: dict[str, str] = field(default_factory=dict)
    """SHA-256 of each event file, by its path as given, taken when it was read (or after,
    the file checked unchanged since: see `unhashed`)."""
    unhashed: dict[str, FileStamp] = field(default_factory=dict)
    """With `import_sources(defer_digests=True)`: the event files not hashed yet, by path as
    given, with their size and modification time when read (see digest.LaterDigests)."""
    from_export: np.ndarray | None = None
    """Per event of `log`, whether it was read from a source-system export in this import
    (what correlation takes): by the input it came from, not by its `source:file`, which a
    canonical log's events keep from the exports they were once read from; or a canonical
    log's event of an export taken back as its record stated it (`restated`). None once
    correlated (`import_and_correlate`), or for a result not made by `import_sources`."""
    quarantine_hints: pd.DataFrame | None = None
    """Per line of `quarantine` (by position), the charge and order of a payment record that
    names no ticket (`QUARANTINE_HINTS`, '' where none): correlation's cases name them
    (`audit.sources.pipeline`). None where no line has one, and once correlated."""
    disputes: pd.DataFrame | None = None
    """The quarantine lines of a chargeback or dispute of a payment (`audit.sources.payments.
    dispute_lines`) that correlation's cases name by the payment they name (texts: `case`,
    `charge`): a refund paid in such a case may have paid the customer back twice (the
    check warns of it). None where none, or before correlation."""
    not_itemised: pd.DataFrame | None = None
    """The quarantine lines of a Stripe Dashboard payment's refunded total (`audit.sources.
    payments.REFUND_NOT_ITEMISED`, picked by the kind its reader gave the line, `normalise.
    REFUND_TOTAL_HINT`, not by that text), by the payment they are of (texts: `charge`, from
    the line's hint, not its reason; `file`, `row`): the check tells the cases holding such a
    payment, and the payments no case holds. None where none, or before correlation."""
    above_charge: pd.DataFrame | None = None
    """The quarantine lines of a Stripe Dashboard payment whose `Amount Refunded` is above its
    `Amount` (`audit.sources.payments.REFUNDED_ABOVE_CHARGE`: money refunded beyond the
    charge, which the export states and no rule judges), by the payment they are of (texts:
    `charge`, `amount` and `currency`, the payment's id, Amount and Currency as its reader
    read them (`normalise.ABOVE_CHARGE_HINTS`, never the reason's text); `file`, `row`,
    `field`, `value`): the check warns of
    each and counts them, whether or not another input itemises the refunds. None where
    none, or before correlation."""
    restated: np.ndarray | None = None
    """Per event of `log`, where a canonical log's events of exports were taken back as
    their records stated them to be correlated again (`audit.correlate.restated`): the
    index among `files` of the log it came from, -1 for every other event. None where no
    event was taken back, and once correlated."""

    @property
    def read(self) -> int:
        return sum(f.read for f in self.files)

    @property
    def imported(self) -> int:
        """Records imported (before correlation, which may repeat a charge in two cases)."""
        return sum(f.imported for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def fields_unread(self) -> int:
        """Quarantine lines of one field alone, of records imported (`FileCounts`)."""
        return sum(f.fields_unread for f in self.files)

    @property
    def left_out(self) -> int:
        """Imported charge records that correlation left out as sales (`FileCounts`)."""
        return sum(f.left_out for f in self.files)

    @property
    def deduplicated(self) -> int:
        """Of `read`, the records read twice and dropped (`FileCounts.deduplicated`)."""
        return sum(f.deduplicated for f in self.files)

    def summary_lines(self) -> list[str]:
        """`import`'s lines (the demo's too): each file's counts, the total's, the notes;
        the counts with thousands separators ("read 2,185"), as check's first line counts
        the same log (before, "read 2185" here beside check's "read 2,185")."""
        lines = [
            f"{f.file} ({f.system}): read {f.read:,} = imported {f.imported:,} + quarantined "
            f"{f.quarantined:,}" + dropped_text(f.deduplicated, spec=",")
            + (f"; {left_out_text(f.left_out, spec=',')}" if f.left_out else "")
            + events_text(f) + unread_text(f.fields_unread, spec=",") for f in self.files
        ]
        cases = self.log[C.CASE].nunique() if len(self.log) else 0
        events = ("" if len(self.log) == self.imported
                  else f"{counted(len(self.log), 'event', spec=',')} in ")
        # (the duplicates dropped too, as each file's line and check's summary tell them:
        # before, the total's counts did not add up to the files' records without a word)
        lines.append(
            f"total: read {self.read:,} = imported {self.imported:,} + quarantined "
            f"{self.quarantined:,}" + dropped_text(self.deduplicated, spec=",")
            + (f", {left_out_text(self.left_out, spec=',')}" if self.left_out else "")
            + f"; {events}{counted(cases, 'case', spec=',')}"
            + unread_text(self.fields_unread, spec=","))
        return lines + self.notes


def dropped_text(count: int, *, spec: str = "") -> str:
    """The last term of `read = imported + quarantined`, where records were read twice:
    ` + 2 duplicates dropped` (they are part of `read`), else ''; the count formatted by
    `spec` ("," in check's first line: 1,024)."""
    return f" + {counted(count, 'duplicate', spec=spec)} dropped" if count else ""


def unread_text(count: int, *, spec: str = "") -> str:
    """Where the quarantine has lines of one field alone (`FileCounts.fields_unread`), how
    many: `; 1 quarantine line of one field alone (its record read without it)`, else ''.
    Lines, not fields nor records: a ticket's currency that is no code gives a line for each
    of the ticket's amounts it leaves unread, each naming the one currency cell (before,
    `2 fields quarantined alone` of that one cell). Their records are imported (or, stating
    no activity, counted in the notes), so no term of `read = imported + quarantined`."""
    if not count:
        return ""
    return (f"; {counted(count, 'quarantine line', spec=spec)} of one field alone ("
            + ("its record read without it)" if count == 1
               else "their records read without it)"))


def events_text(counts: FileCounts) -> str:
    """Where a file's imported records became another number of events (a charge refunded in
    several cases is an event in each; a charge left out as a sale is none), how many: the
    read counts of the line alone read as the file's events. Before, `read 136 = imported
    136` stood for 147 events without a word."""
    if counts.events == counts.imported:
        return ""
    again = (f", {counts.repeated:,} of them a charge's event repeated in a further case "
             "that refunds it" if counts.repeated else "")
    return (f"; {counted(counts.imported, 'record', spec=',')} imported -> "
            f"{counted(counts.events, 'event', spec=',')}{again}")


def left_out_text(count: int, *, spec: str = "") -> str:
    """How the summaries name the imported charge records left out of the refund cases (the
    count formatted by `spec`)."""
    return (f"{count:{spec}} of the imported: charge(s) left out as sales (no ticket or "
            "refund refers to them)")


def no_events_text(imported: ImportResult, purpose: str) -> str:
    """The error of an import that made no event (`discover`'s, `compare`'s): where every
    record imported was a charge left out as a sale, why, and that there is no refund case
    to `purpose` ("mine", "compare"). Before, "the log has no events" alone, of a download
    whose records were read and imported."""
    text = "the log has no events"
    if imported.imported and imported.left_out == imported.imported:
        whose = "its" if imported.imported == 1 else "each of its"
        text += (f": {whose} {counted(imported.imported, 'imported record', spec=',')} is "
                 "a charge no refund or ticket refers to, all left out as sales, so there "
                 f"is no refund case to {purpose}")
    return text


IMPORT_IT_FIRST = ("import it first, naming its format (refund-audit import FILE --format F "
                   f"--out LOG.parquet; F: {' | '.join(FORMATS)}), and give the log it writes")
"""How to read a file of an unknown type where no format can be named (`check`, `discover`,
`compare`): `detect_format`'s hint unless told another."""

NAME_ITS_FORMAT = (f"name its format: --format F or --source F:FILE (F: {' | '.join(FORMATS)}); "
                   "in a --project file, '- F: FILE'")
"""How to read a file of an unknown type in `refund-audit import`: its hint."""


def detect_format(path: Path, mapping: Mapping | None = None, *,
                  hint: str = IMPORT_IT_FIRST) -> str:
    """The format of a file: a source system when its layout says so, else by its suffix.
    A CSV holding the columns `mapping` names, or a case, an activity and a timestamp
    column, is a generic event log (see `audit.sources.detect_system`). Neither: an input
    error ending with `hint`, how to name the format where the file is given (before,
    "pass --format (csv | ...)" everywhere: `check --format` is the reports', and
    `discover` and `compare` have none)."""
    from audit.sources import detect_system

    if not path.exists():  # (not "unknown file type '.json'; name its format")
        raise InputError("no such file", file=path)
    system = detect_system(path, mapping)
    if system is not None:
        return system
    name = path.name.lower()
    for suffix, fmt in sorted(_SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    raise InputError(f"unknown file type '{''.join(path.suffixes) or path.name}'; {hint}",
                     file=path)


def detected_note(detected: list[tuple[str, str, Path]], mapping: Mapping) -> str:
    """The import's note naming the CSV files (label, format, path) taken for a source
    system's export (or a role history) by their columns, and how to read one as a generic
    event log instead."""
    from audit.sources import csv_signature

    named = "; ".join(
        f"{label} {'role history' if fmt == 'roles' else fmt} "
        f"({', '.join(csv_signature(fmt, path))})" for label, fmt, path in detected)
    unused = " (--mapping is for generic logs: not applied to these)" if mapping.source else ""
    return (f"read by their columns as: {named}{unused}; to read one as a generic event log "
            "instead: --format csv or --source csv:FILE, or a --mapping naming its case, "
            "activity and timestamp columns")


def input_labels(paths: Iterable[Path]) -> list[str]:
    """How each input is named in the log (`source_file`), the quarantine and the per-file
    counts (the run's manifest lists inputs by their paths): its file name, or, where
    several inputs share one, the shortest end of its path that tells them apart
    (`jan/stripe_charges.csv` and `feb/stripe_charges.csv`), so that an event's file and
    row name one record. The same file given twice is an input error (its records would
    be read twice), under any two names: another spelling of its path, a link to it,
    another case of its name where the file system ignores case."""
    given = list(paths)
    seen: dict[object, Path] = {}
    for path in given:
        try:  # the file itself (device and inode), whatever names lead to it
            info = path.stat()
            identity: object = (info.st_dev, info.st_ino)
        except OSError:  # (missing: reported when read) its path, made absolute
            identity = path.resolve()
        same = seen.setdefault(identity, path)
        if same is not path:
            raise InputError(f"given twice (also as {same}): each input is read once",
                             file=path)
    labels = [path.name for path in given]
    by_name: dict[str, list[int]] = {}
    for k, label in enumerate(labels):
        by_name.setdefault(label, []).append(k)
    for ks in by_name.values():
        if len(ks) < 2:
            continue
        parts = [Path(os.path.abspath(given[k])).parts for k in ks]
        for depth in range(2, max(len(p) for p in parts) + 1):
            ends = [Path(*p[-depth:]).as_posix() for p in parts]
            if len(set(ends)) == len(ends):
                break
        for k, end in zip(ks, ends, strict=True):
            labels[k] = end
    return labels


def _relabelled(one: _ReadFile, name: str, label: str) -> None:
    """`one`'s events, quarantined rows and notes named by `label` instead of the file's
    `name` (see input_labels)."""
    files = one.log[C.SOURCE_FILE] if C.SOURCE_FILE in one.log.columns else None
    if files is None:  # (an export none of whose records could be imported: no event)
        pass
    elif isinstance(files.dtype, pd.CategoricalDtype) and label not in files.cat.categories:
        one.log[C.SOURCE_FILE] = files.cat.rename_categories({name: label})
    else:  # (text, or a canonical log whose events name the label already: recoded later)
        one.log[C.SOURCE_FILE] = files.astype("string").replace({name: label})
    for frame in (one.broken, one.quarantine):
        if len(frame):
            frame["file"] = frame["file"].replace({name: label})
    one.notes = [label + note[len(name):] if note.startswith(f"{name}:") else note
                 for note in one.notes]


def read_raw(
    path: Path, fmt: str, *, encoding: str | None, object_type: str | None,
    sources_config: SourcesConfig | None = None, assume_tz: str | None = None,
    numbers: dict[str, str] | None = None, join: Join | None = None,
    follow_o2o: tuple[str, ...] = (),
) -> tuple[RawTable, pd.DataFrame]:
    """Read one file; return its records and the records that could not even be split.
    `numbers`: for a ServiceNow export, the ticket numbers the run's other ServiceNow
    exports hold (`servicenow_numbers`); `join`: the updates it shares with them
    (`audit.sources.servicenow.cut_updates`)."""
    if not path.exists():
        raise InputError("no such file", file=path)
    if fmt in SOURCE_SYSTEMS:
        from audit.sources import read_source

        return read_source(path, fmt, config=sources_config, encoding=encoding,
                           assume_tz=assume_tz, numbers=numbers, join=join)
    if fmt == "csv":
        from audit.ingest.csv_reader import read_csv

        table, ragged = read_csv(path, encoding=encoding, strings="arrow")
        broken = pd.DataFrame(
            {"file": path.name, "row": [r.row for r in ragged], "field": [r.field for r in ragged],
             "value": [r.text for r in ragged],
             "reason": [r.reason for r in ragged]},
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

        return (read_ocel(path, object_type, assume_tz=assume_tz, follow=follow_o2o),
                empty_quarantine())
    raise InputError(f"unknown format '{fmt}' (known: {', '.join(FORMATS)})", file=path)


def _time_text(times: pd.Series) -> pd.Series:
    """``times.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").astype("string")``, vectorised for the
    years 1000-9999 (where numpy writes the same text); strftime itself for anything else."""
    import pyarrow as pa

    wall = times.dt.tz_localize(None) if isinstance(times.dtype, pd.DatetimeTZDtype) else times
    micro = np.asarray(wall.to_numpy()).astype("datetime64[us]")
    present = ~np.isnat(micro)
    if present.any():
        years = micro[present].astype("datetime64[Y]").astype(np.int64) + 1970
        if years.min() < 1000 or years.max() > 9999:
            formatted: pd.Series = times.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").astype("string")
            return formatted
    text = pa.array(np.datetime_as_string(micro, unit="us"), type=pa.large_string(),
                    mask=~present)
    return pd.Series(pd.arrays.ArrowStringArray(text), index=times.index)


def _hex_ids(hashed: np.ndarray) -> pd.arrays.ArrowStringArray:
    """``[f"e{h:016x}" for h in hashed]`` as an Arrow string array, without a str per id."""
    import pyarrow as pa

    n = len(hashed)
    chars = np.empty((n, 17), dtype=np.uint8)
    chars[:, 0] = ord("e")
    if n:
        digits = np.asarray(hashed, dtype=np.uint64).astype(">u8").tobytes().hex()
        chars[:, 1:] = np.frombuffer(digits.encode("ascii"), dtype=np.uint8).reshape(n, 16)
    offsets = np.arange(0, 17 * (n + 1), 17, dtype=np.int64)
    ids = pa.Array.from_buffers(pa.large_string(), n,
                                [None, pa.py_buffer(offsets), pa.py_buffer(chars)])
    return pd.arrays.ArrowStringArray(ids)


def assign_event_ids(log: pd.DataFrame) -> pd.Series:
    """Stable ids: the source's own where it has one, else a hash of what the event says.

    The hash covers system, case, activity, time, resource and the occurrence number among
    identical events of one input, so the same export always yields the same ids, whatever
    the file is called and whatever is imported beside it: an event in two exports whose
    date ranges overlap has one id, and is one event (its repeat is dropped and counted), not
    two (before, the occurrences were counted over all inputs, so the second export's copy
    was occurrence 1, another id, and the event was imported twice).
    """
    given = log[C.EVENT_ID] if C.EVENT_ID in log.columns else None
    if given is not None and bool(given.notna().all()):
        return given.astype("string")  # every event has its source's id: nothing to derive
    key = pd.DataFrame({
        "system": log[C.SOURCE_SYSTEM].astype("string"),
        "case": log[C.CASE].astype("string"),
        "activity": log[C.ACTIVITY].astype("string"),
        "time": _time_text(log[C.TIMESTAMP]),
        "resource": log[C.RESOURCE].astype("string").fillna(""),
    })
    # (Counted within each input, when the log says which input each event came from.)
    within = key.assign(_input=log[_INPUT].to_numpy()) if _INPUT in log.columns else key
    key["occurrence"] = within.groupby(list(within.columns), sort=False).cumcount()
    del within
    hashed = pd.util.hash_pandas_object(key, index=False).to_numpy()
    derived = pd.Series(_hex_ids(hashed), index=log.index)
    if given is None:
        return derived
    return given.astype("string").fillna(derived)


@dataclass
class _ReadFile:
    """One input file read and normalised (what a worker process sends back)."""

    log: pd.DataFrame
    broken: pd.DataFrame
    quarantine: pd.DataFrame
    notes: list[str]
    system: str
    read: int
    deduplicated: int
    sha256: str
    """Of the file as it was read (just before): the manifest's digest of the input; '' where
    it is left for later (`stamp`) or the input is not a file."""
    id_hashes: np.ndarray | None = None
    """`canonical.text_hashes` of the events' ids (None: an id is missing, or not text)."""
    stamp: FileStamp | None = None
    """Where the digest is left for later: the file's size and modification time, taken
    just before it was read."""
    restated: np.ndarray | None = None
    """Per event, whether it was taken back as its record stated it (`_restated`)."""
    update_keys: object | None = None
    """Of a ServiceNow export read without a join: its distinct updates (RawTable's), for
    `_servicenow_cut`."""
    unusable: str = ""
    """Where every record of a source-system export is quarantined (a settlement report of
    fees and payouts to the merchant alone): why, `_every_one_quarantined`; its `log` is
    then empty, and the import goes on where another input gives records."""
    id_field: str = C.EVENT_ID
    """The file's column its event ids were read from (`Normalised.id_field`)."""
    id_cells: IdCells | None = None
    """Of an export: the column(s) and cells each record's event id was read from
    (`Normalised.id_cells`), else None (`id_field` names the column)."""
    people: object | None = None
    """Of a Jira export: its display names stated with an accountId (`jira.Accounts`)."""


def _every_one_quarantined(quarantine: pd.DataFrame, read: int) -> str:
    """Why no record of a file could be imported, stated in full (the quarantine is not
    written where this ends the run): its records counted per field and reason, e.g.
    ``every one of its 3 record(s) is quarantined: 2 for Type (not a settled payment ...),
    1 for Gross Currency (unknown currency ...)``. A record quarantined for two fields
    counts under each."""
    pairs = quarantine[["row", "field", "reason"]].astype(str).drop_duplicates()
    counted = pairs.groupby(["field", "reason"], sort=False).size()
    parts = [f"{n} for {field} ({reason})" if field else f"{n} ({reason})"
             for field, reason, n in zip(counted.index.get_level_values("field"),
                                         counted.index.get_level_values("reason"),
                                         counted.tolist(), strict=True)]
    return f"every one of its {read} record(s) is quarantined: " + ", ".join(parts)


def _repeats(log: pd.DataFrame, duplicated: pd.Series,
             exported: np.ndarray, correlated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The events to drop as repeats of another, and the event each is compared with and
    kept in its stead, by position in `log`. `duplicated`: all but the first of each
    repeated id; `exported`: per event, whether its input is a source-system export;
    `correlated`: whether correlation takes it (`_exported`: also a canonical log's event
    of an export taken back as its record stated it).

    Where exports are read beside an input that is not one (a canonical log), that input's
    events are kept, whatever the inputs' order: the events audited before stay, with their
    provenance. So the first of an id's events from such an input is kept where there is
    one. Where the log's events were not taken back (a log written before it kept what its
    records stated: they keep their cases, and an export's record beside them would be
    correlated alone), an export's record of a charge the log holds once per case
    (`<id>@<case>`, see audit.correlate) is a repeat of the first of those copies."""
    empty = np.empty(0, dtype=np.intp)
    mixed = bool(exported.any()) and not bool(exported.all())
    drop, keep = [empty], [empty]
    gone = np.zeros(len(log), dtype=bool)
    if duplicated.any():
        ids = log.loc[duplicated.to_numpy(dtype=bool), C.EVENT_ID].unique()
        involved = np.flatnonzero(C.text_isin(log[C.EVENT_ID], ids))
        # Sorted by id, then the log's events before the exports' records, then position:
        # by Arrow where the ids are its text (not a str per id sorted by pandas: 1.46M ids
        # in a month's run at 1M cases), each id's events then one run of equal neighbours.
        involved_ids = log[C.EVENT_ID].take(involved).reset_index(drop=True)
        # An id's copies in order of the log's events first, then (a payment record) the
        # most advanced status first, then their position (the inputs' order).
        rank, status = _status_keys(log, involved)
        export = exported[involved] if mixed else np.zeros(len(involved), dtype=bool)
        order = C.stable_order(pd.DataFrame({
            "id": involved_ids, "export": export, "rank": rank, "at": involved}),
            ["id", "export", "rank", "at"])
        ranked = C.sortable_text(involved_ids.take(order))
        later = (~C.run_starts(ranked) if ranked is not None else
                 involved_ids.take(order).astype(str).duplicated().to_numpy())
        order = _by_file_where_statuses_differ(
            log, involved, order, later, export, rank, status,
            correlated[involved] if mixed else np.ones(len(involved), dtype=bool))
        at = involved[order]
        # Each repeat's kept event: the first of its run of equal ids in the sort.
        first = np.maximum.accumulate(np.where(later, 0, np.arange(len(at))))
        drop.append(at[later])
        keep.append(at[first[later]])
        gone[at[later]] = True
    if mixed:
        from audit.correlate import copied_from

        from_export = correlated
        ids = log[C.EVENT_ID]
        named = ids.astype("string").str.contains("@", regex=False).fillna(False)
        candidates = np.flatnonzero(~from_export & named.to_numpy(dtype=bool))
        copied: dict[str, int] = {}
        for k, text, case in zip(candidates.tolist(),
                                 ids.take(candidates).astype(str).tolist(),
                                 log[C.CASE].take(candidates).astype(str).tolist(), strict=True):
            base = copied_from(text, case)
            if base is not None:
                copied.setdefault(base, k)
        if copied:
            records = np.flatnonzero(from_export & ~gone & C.text_isin(ids, copied))
            copies = np.array([copied[text] for text in ids.take(records).astype(str).tolist()],
                              dtype=np.intp)
            # A repeat of such a record (the same charge in two exports) is compared with
            # the log's copy too, not with the record it repeats, which is dropped here.
            for kept in keep[1:]:
                at = np.searchsorted(records, kept)
                hit = np.flatnonzero(at < len(records))
                hit = hit[records[at[hit]] == kept[hit]]
                kept[hit] = copies[at[hit]]
            drop.append(records)
            keep.append(copies)
    return np.concatenate(drop).astype(np.intp), np.concatenate(keep).astype(np.intp)


STATUS_PRECEDENCE = ("pending", "succeeded", ("failed", "reversed"))
"""Of one payment record given in several exports with different statuses, the copy kept:
the one of the most advanced status in this order (a pending refund succeeds, fails or is
cancelled; one that succeeded may fail or be reversed later), failed and reversed alike."""

_STATUS_RANK = {status: k + 1 for k, step in enumerate(STATUS_PRECEDENCE)
                for status in ((step,) if isinstance(step, str) else step)}

PRECEDENCE_TEXT = " < ".join(step if isinstance(step, str) else ", ".join(step)
                             for step in STATUS_PRECEDENCE)


def _status_keys(log: pd.DataFrame, involved: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per event at `involved` (of repeated ids), minus the rank of its payment status in
    `STATUS_PRECEDENCE` (so that the most advanced sorts first; 0 without one or for
    another), and a code of the status (trimmed, in lower case; -1 without one: failed and
    reversed share a rank, not a code). Only the events of repeated ids are read."""
    if C.PAYMENT_STATUS not in log.columns or not len(involved):
        return (np.zeros(len(involved), dtype=np.int64),
                np.full(len(involved), -1, dtype=np.int64))
    import pyarrow as pa
    import pyarrow.compute as pc

    # Per distinct status, not per event (a month's run repeats 1.46M ids at 1M cases): the
    # codes of a categorical column as they are, else Arrow's dictionary of the events'.
    column = log[C.PAYMENT_STATUS]
    if isinstance(column.dtype, pd.CategoricalDtype):
        of_event = np.asarray(column.cat.codes.to_numpy()[involved], dtype=np.int64)
        texts = pa.array(column.cat.categories.astype(str).to_numpy(dtype=object),
                         type=pa.large_string())
    else:
        encoded = pc.dictionary_encode(C.arrow_array(column.take(involved)),
                                       null_encoding="mask")
        of_event = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(
            zero_copy_only=False), dtype=np.int64)
        texts = encoded.dictionary.cast(pa.large_string())
    del column
    # Each distinct text trimmed and in lower case: its rank, and the code of that text.
    texts = pc.utf8_lower(pc.utf8_trim_whitespace(texts))
    known = pa.array(list(_STATUS_RANK), type=pa.large_string())
    ranks = np.array([0, *_STATUS_RANK.values()], dtype=np.int64)
    at = np.asarray(pc.fill_null(pc.index_in(texts, value_set=known), -1)
                    .to_numpy(zero_copy_only=False), dtype=np.int64)
    normal = np.asarray(pc.dictionary_encode(texts).indices.to_numpy(zero_copy_only=False),
                        dtype=np.int64)
    rank_of, code_of = np.r_[-ranks[at + 1], 0], np.r_[normal, -1]  # (-1: none stated)
    return rank_of[of_event], code_of[of_event]


def _by_file_where_statuses_differ(log: pd.DataFrame, involved: np.ndarray,
                                   order: np.ndarray, later: np.ndarray, export: np.ndarray,
                                   rank: np.ndarray, status: np.ndarray,
                                   correlated: np.ndarray) -> np.ndarray:
    """`order` (the repeated ids' events sorted: each id's copies one run, `later` all but
    its first) with the copies of each id whose payment statuses differ ordered, within
    their run, by a log's events that correlation does not take first (`correlated`, per
    involved event: a log written before it kept what its records stated keeps its cases),
    then the most advanced status (`rank`), the log's events before the exports' records
    (`export`), then their input's label and their row: so that the copy kept does not
    depend on the inputs' order (the position breaks ties in the other runs, as before: a
    sale the settlement report gives a terminal, in the input given first, is kept), and a
    month's run keeps a refund pending in last month's log as the next export states it
    now (succeeded, failed), not pending for ever. Only those runs are sorted again.
    `status`: each event's status code (`_status_keys`)."""
    if not len(order) or not (status >= 0).any():
        return order
    starts = np.flatnonzero(~later)
    coded = status[order]
    differ = np.minimum.reduceat(coded, starts) != np.maximum.reduceat(coded, starts)
    if not differ.any():
        return order
    run = np.cumsum(~later) - 1
    rows = np.flatnonzero(differ[run])  # (positions in the sort: whole runs, each in a row)
    taken = order[rows]
    events = involved[taken]
    again = C.stable_order(pd.DataFrame({
        "run": run[rows], "fixed": correlated[taken], "rank": rank[taken],
        "export": export[taken],
        "label": pd.Series(log[C.SOURCE_FILE].take(events).astype(str).to_numpy(),
                           dtype="string"),
        "row": pd.to_numeric(pd.Series(log[C.SOURCE_ROW].take(events).to_numpy()),
                             errors="coerce").fillna(0).to_numpy(dtype=np.int64)}),
        ["run", "fixed", "rank", "export", "label", "row"])
    order = order.copy()
    order[rows] = taken[again]
    return order


def _exported(log: pd.DataFrame, exported: np.ndarray) -> np.ndarray:
    """Per event of `log`, whether correlation takes it: read from an input that is a
    source-system export (`exported`, per input), or taken back from a canonical log's
    event as its record stated it (`_RESTATED`, see `_restated`)."""
    correlated = exported[log[_INPUT].to_numpy()]
    if _RESTATED in log.columns:
        correlated = correlated | (log[_RESTATED].to_numpy() > 0)
    return np.asarray(correlated, dtype=bool)


def _restated(one: _ReadFile, label: str, config: SourcesConfig | None) -> None:
    """`one` (a file that is not an export, read beside exports) with the events that a
    canonical log holds of exports taken back as their records stated them
    (`audit.correlate.restated`), marked in `one.restated`, their ids hashed again."""
    from audit.correlate import restated
    from audit.sources.config import load_sources_config

    one.restated, changed = restated(one.log, config or load_sources_config())
    count = int(one.restated.sum())
    if count:
        if one.id_hashes is not None and len(changed):  # a copy has the record's id again
            hashes = C.text_hashes(one.log[C.EVENT_ID].take(changed))
            if hashes is None:
                one.id_hashes = None
            else:
                one.id_hashes = one.id_hashes.copy()
                one.id_hashes[changed] = hashes
        one.notes.append(f"{label}: {count} event(s) of exports taken back as their "
                         "records stated them, to be correlated again with the exports "
                         "given beside")


def _held_in(label: str, file: object) -> str:
    """' (this copy from july.parquet)' where a quarantined copy was held by another input
    than the file its provenance names (a canonical log's event), else ''."""
    return "" if label == str(file) else f" (this copy from {label})"


def _duplicate_reason(file: str, row: object, label: str, *, correlated: bool,
                      event_id: str, statuses: tuple[str, str] | None = None,
                      mine: str = "") -> str:
    """The quarantine reason of a repeated event id's record with other values: the event
    id (the line's field and value name the export's cells it was read from; the id is
    what the canonical log holds, `event:id`), and where the kept event is (its file and
    row, and the input holding it where that is another: a canonical log keeps its
    events' provenance); `correlated`: an export's record beside a log's event, which is
    kept whether or not it came first. `statuses`: the record's payment status and the
    kept event's, where they differ (the most advanced is kept, `STATUS_PRECEDENCE`, also
    over a canonical log's event in a month's run); `mine`: `_held_in` of the record."""
    at = f"{file} row {row}" + ("" if label == file else f" in {label}")
    if correlated:
        return f"duplicate event id {event_id} (the correlated event at {at} is kept)"
    if statuses is not None:
        status, kept = statuses
        held_in = mine
        why = (f"the most advanced status, {PRECEDENCE_TEXT}"
               if _STATUS_RANK.get(status, 0) != _STATUS_RANK.get(kept, 0) else
               f"{status} and {kept} alike in {PRECEDENCE_TEXT}, the first by file and row")
        return (f"duplicate event id {event_id} with status {status}{held_in} (the copy at "
                f"{at}, status {kept}, is kept: {why})")
    return f"duplicate event id {event_id} (first at {at})"


def _statuses_differ(dups: pd.DataFrame, kept: pd.DataFrame) -> list[tuple[str, str] | None]:
    """Per repeated record and the event kept in its stead: their payment statuses where
    both state one and they differ (trimmed, in lower case), else None."""
    if C.PAYMENT_STATUS not in dups.columns:
        return [None] * len(dups)

    def texts(frame: pd.DataFrame) -> list[str | None]:
        return [None if pd.isna(v) else str(v).strip().lower()
                for v in frame[C.PAYMENT_STATUS].astype(object).tolist()]

    return [(mine, other) if mine is not None and other is not None and mine != other
            else None for mine, other in zip(texts(dups), texts(kept), strict=True)]


def _id_named(conflicts: pd.DataFrame, id_fields: list[str],
              id_cells: list[IdCells | None]) -> list[tuple[str, str]]:
    """Per record quarantined as a repeated event id with other values, the field and
    value its line names: an export's column(s) stating the id and their cells as written
    (`IdCells`, its input's), else the file's id column (`id_fields`: a generic log's
    mapped column, a canonical log's `event:id`) and the id."""
    named: list[tuple[str, str]] = []
    for k, row, event_id in zip(conflicts[_INPUT].tolist(), conflicts[C.SOURCE_ROW].tolist(),
                                conflicts[C.EVENT_ID].astype(str).tolist(), strict=True):
        cells = id_cells[int(k)]
        named.append(cells.of(event_id, int(row)) if cells is not None
                     else (id_fields[int(k)], event_id))
    return named


def _without_own_repeats(table: RawTable) -> list[str]:
    """`table`'s notes, less the reader's count of the records it dropped as exported twice
    (`audit.sources.common.Collector`): those are counted, with the repeats that the import
    drops among the files' events (an issue's histories given twice in one Jira export, an
    export's records in another), in the file's summary line (`+ N duplicates dropped`,
    a part of the file's `read`). Beside it the reader's part alone read as another count
    (`1 record(s) exported twice` beside `+ 2 duplicates dropped`)."""
    own = f"{Path(table.file).name}: {table.deduplicated} record(s) exported twice, " \
          "deduplicated"
    return [note for note in table.notes if note != own]


def _in_row_order(quarantine: pd.DataFrame) -> pd.DataFrame:
    """The quarantine by file (in the order the files first appear in it: the inputs'),
    then row; a row's fields as they were checked. Each file's entries came grouped by
    check (a record of the wrong field count, then times, amounts, channels, ...; an event
    id given twice last), so an export's rows 14, 29, 2788, 38 were listed in that order,
    not as a spreadsheet shows them."""
    if len(quarantine) < 2:
        return quarantine
    files = pd.factorize(quarantine["file"].astype(object))[0]
    rows = pd.to_numeric(quarantine["row"], errors="coerce").to_numpy(dtype=np.float64)
    order = np.lexsort((np.arange(len(quarantine)), rows, files))
    if (order == np.arange(len(order))).all():
        return quarantine
    return quarantine.iloc[order].reset_index(drop=True)


def _whole_records_unread(broken: pd.DataFrame, dropped: np.ndarray) -> pd.DataFrame:
    """`broken` (a reader's quarantine lines) with each line of one field alone (`RECORD_
    READ` yes) of a row `normalise` quarantined whole (`Normalised.dropped_rows`) set to
    no: its record was not imported. Before, a Jira issue with an unreadable amount and a
    reporter's name over the bound had a line 'record_read yes' beside the one of its
    record quarantined, and the summary counted 'one quarantine line of one field alone
    (its record read without it)'."""
    if not len(dropped) or RECORD_READ not in broken.columns or not len(broken):
        return broken
    rows = pd.to_numeric(broken["row"], errors="coerce").to_numpy()
    unread = (broken[RECORD_READ].astype(object).to_numpy() == "yes") & np.isin(rows, dropped)
    if not unread.any():
        return broken
    broken = broken.copy()
    broken.loc[unread, RECORD_READ] = "no"
    return broken


def _pm4py_spelt(column: str) -> bool:
    """Whether `column` is named as pm4py names a case attribute, `case:` first (any case):
    `Case Amount` is matched as `case:amount` (`norm` drops the punctuation), but is no
    pm4py name, and the import's notes say so."""
    return column.strip().lower().startswith("case:")


def _read_one(source: tuple[Path, str], *, mapping: Mapping, assume_tz: str | None,
              encoding: str | None, object_type: str | None,
              sources_config: SourcesConfig | None, hash_now: bool = True,
              release: bool = False,
              numbers: dict[Path, dict[str, str]] | None = None,
              joins: dict[Path, Join] | None = None,
              follow_o2o: tuple[str, ...] = ()) -> _ReadFile:
    path, fmt = source
    # Hashed here, in the worker, right before it is read: the manifest names the bytes
    # audited, and the main process does not read gigabytes again after the rules. Or, where
    # the caller hashes later (LaterDigests), stamped here to check the file is unchanged.
    is_file = path.is_file()
    digest = sha256_of(path) if is_file and hash_now else ""
    stamp = file_stamp(path) if is_file and not hash_now else None
    table, broken = read_raw(path, fmt, encoding=encoding, object_type=object_type,
                             sources_config=sources_config, assume_tz=assume_tz,
                             numbers=(numbers or {}).get(path),
                             join=(joins or {}).get(path), follow_o2o=follow_o2o)
    broken = cut_values(broken)  # (a record not split, or a cell of megabytes: its start)
    # Every record read, none usable. An export may hold none that is part of a refund
    # case (a settlement report of fees alone): its records are quarantined, with their
    # reasons, and the import goes on where another input gives records (import_sources
    # decides). Any other file is refused (a blank case id in each, comma decimals without
    # a mapping: the mapping is wrong), not audited as a file of no events. Either way the
    # reasons are stated here, in full: where the run ends, no quarantine is written.
    exported = fmt in SOURCE_SYSTEMS
    if len(table.frame) == 0 and len(broken):
        read = int(table.records_read or broken["row"].nunique())
        why = _every_one_quarantined(broken, read)
        if not exported:
            raise InputError(f"no record could be imported: {why}", file=path,
                             row=int(broken["row"].iloc[0]))
        return _ReadFile(pd.DataFrame(), broken, empty_quarantine(), _without_own_repeats(table),
                         table.system, read, table.deduplicated, digest, stamp=stamp,
                         unusable=why, update_keys=table.update_keys)
    if exported and len(table.frame) == 0 and table.skipped:
        # A page of a ticketing export whose updates change no mapped field (tags, an
        # assignee): no record, nothing wrong with one; beside inputs that give records a
        # note, alone the error (import_sources).
        return _ReadFile(pd.DataFrame(), broken, empty_quarantine(),
                         _without_own_repeats(table), table.system, 0, table.deduplicated,
                         digest, stamp=stamp, unusable=no_mapped_update(table),
                         update_keys=table.update_keys)
    own_mapping = Mapping() if exported else mapping
    result = normalise(table, own_mapping, assume_tz=assume_tz)
    broken = _whole_records_unread(broken, result.dropped_rows)
    unusable = ""
    if len(result.log) == 0 and len(result.quarantine):
        unusable = _every_one_quarantined(result.quarantine, result.records_read)
        if not exported:
            # The first record (its first field as quarantined): the quarantine is grouped
            # by check (times, then amounts, then channels), so its first entry could be a
            # record far down with an empty time while every record fails on its channel.
            rows = result.quarantine["row"].to_numpy(dtype=np.int64)
            first = result.quarantine.iloc[int(np.argmin(rows))]
            raise InputError(f"no record could be imported: {unusable}", file=path,
                             row=int(first["row"]), field=str(first["field"]) or None)
    notes, system, deduplicated = _without_own_repeats(table), \
        own_mapping.system or table.system, table.deduplicated
    update_keys, people = table.update_keys, table.people
    if not exported:  # which column feeds which (resolved as normalise did: cannot fail)
        columns = [str(c) for c in table.frame.columns]
        resolved = resolve_columns(columns, own_mapping, file=path, frame=table.frame)
        told = resolution_note(path.name, resolved, own_mapping)
        if told is not None:
            notes.append(told)
        unread = pm4py_unread(columns, resolved, table.frame, own_mapping)
        # (A header `case:...` is pm4py's naming; `Case Channel` is matched alike, as `norm`
        # drops the punctuation, but is no pm4py name: said as what it is.)
        unread_pm4py = [(n, c) for n, c in unread if _pm4py_spelt(n)]
        for group, how in ((unread_pm4py, "named as pm4py names our case attribute"),
                           ([u for u in unread if u not in unread_pm4py],
                            "named as our case attribute")):
            if not group:
                continue
            named = ", ".join(f"'{name}' ({canonical})" for name, canonical in group)
            notes.append(
                f"{path.name}: {named} not read: {how}, but "
                f"{'its' if len(group) == 1 else 'their'} values are not "
                f"ours (a channel: {', '.join(C.CHANNELS)}); to read it, give a mapping "
                "file whose values: table translates each of its values (values: "
                "{refund:channel: {Internet: ecommerce, ...}})")
        spelt = case_spelt_event_columns(columns, resolved, own_mapping)
        pm4py = [(n, c) for n, c in spelt if _pm4py_spelt(n)]
        plain = [(n, c) for n, c in spelt if (n, c) not in pm4py]
        for group, how in ((pm4py, "named as pm4py names a case attribute (an XES trace's, "
                                   "an OCEL object's)"),
                           (plain, "named as an attribute of the case")):
            if not group:
                continue
            one = len(group) == 1
            named = ", ".join(f"'{name}' ({canonical})" for name, canonical in group)
            column, target = group[0]
            notes.append(
                f"{path.name}: {named} not read: {how}, but {'it is' if one else 'they are'} "
                f"each event's own, and no column of the events gives "
                f"{'it' if one else 'them'}: no event states {'it' if one else 'them'}; to "
                f"give each event its case's value, name {'it' if one else 'each'} in a "
                f"mapping file (columns: {{{target}: {column}}})")
    notes += result.notes
    del table  # the raw columns that normalise replaced: not held beside the log's
    if release:  # read in the main process beside the workers: what it freed, given back
        return_free_memory()
    # Coded here, in the worker: the file's labels, people and systems are sent back and
    # held until the concat as codes, not as a string per event.
    C.compact(result.log)
    # Hashed here, in the worker: the main process finds repeated ids by the numbers.
    hashes = C.text_hashes(result.log[C.EVENT_ID]) if C.EVENT_ID in result.log else None
    return _ReadFile(result.log, broken, result.quarantine, notes, system,
                     result.records_read, deduplicated, digest, hashes, stamp,
                     unusable=unusable, update_keys=update_keys, id_field=result.id_field,
                     id_cells=result.id_cells, people=people)


PARALLEL_FROM_BYTES = 64 << 20
"""Inputs read in worker processes (one file each at a time) once their files together
are this large and there are at least two; below it, starting processes costs more."""


PARQUET_WORK = 10
"""A Parquet file's bytes hold about ten times the events of an export's (the 1M-case
log: 252 MB as Parquet, 2.6 GB as exports), so they count ten times in the reading's
share of work."""


TICKET_VALUES = (C.ORDER_ID, C.CURRENCY)
"""What a ticketing export gives each update of a ticket from the ticket as a whole (see
`audit.sources.ticketing.updates_to_table`)."""


def _ticket_values_filled(kept: pd.DataFrame, dups: pd.DataFrame, equal: np.ndarray,
                          content: list[str], among: np.ndarray, owner: np.ndarray,
                          ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For repeats (`dups`, each of `kept`'s row) that two ticketing exports give (rows
    `among`, both records from exports): marks in `equal` (rows by `content` columns) a
    ticket value (`TICKET_VALUES`) that one record states and the other lacks as agreeing,
    and gives, per column, the rows whose kept record lacks it and the values to fill in
    (the repeat's). `owner`: per row, the kept event (its position in the log).

    Where several repeats of one kept event state the value it lacks, the first that
    agrees on everything else fills it in, and a repeat stating another value is a
    conflict (not in `equal`): three exports of one update, the first without the
    ticket's order, would otherwise lose an order silently. A repeat that is a conflict
    for another reason neither fills the value in nor makes another one a conflict; the
    choice is made again until it holds (each round only takes agreement away)."""
    from audit.sources.config import TICKETING_SYSTEMS

    if not among.any():  # (a canonical log's repeats: none)
        return {}
    ticketing = list(TICKETING_SYSTEMS)
    pairs = among & _mask_of(kept[C.SOURCE_SYSTEM].astype("string").isin(ticketing)) \
        & _mask_of(dups[C.SOURCE_SYSTEM].astype("string").isin(ticketing))
    return _values_filled(kept, dups, equal, content, pairs, owner, TICKET_VALUES)


def _stripe_methods_filled(kept: pd.DataFrame, dups: pd.DataFrame, equal: np.ndarray,
                           content: list[str], among: np.ndarray, owner: np.ndarray,
                           ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """As `_ticket_values_filled`, for a Stripe payment (a purchase: no refund id) that two
    Stripe exports give (rows `among`): its payment method, which the Dashboard's payments
    export never states and the charges CSV and the balance report do, is the payment's, so
    a copy without it is the same record and the kept one takes it from the other. Before,
    the first copy was kept and the other quarantined as a conflict, so the method kept
    (and the rules' instrument comparisons) depended on the order of the inputs."""
    if not among.any() or C.PAYMENT_METHOD not in content:
        return {}
    def purchase(frame: pd.DataFrame) -> np.ndarray:
        stripe = _mask_of(frame[C.SOURCE_SYSTEM].astype("string") == "stripe")
        if C.REFUND_ID in frame.columns:
            stripe &= _mask_of(frame[C.REFUND_ID].isna()
                               | (frame[C.REFUND_ID].astype("string") == ""))
        return stripe
    pairs = among & purchase(kept) & purchase(dups)
    return _values_filled(kept, dups, equal, content, pairs, owner, (C.PAYMENT_METHOD,))


def _kept_swapped(drop: np.ndarray, keep: np.ndarray, rows: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """`drop` and `keep` (`_repeats`') with the repeats at `rows` kept in their kept
    event's stead: each row's kept event dropped in its place, and every other repeat of
    that event compared with (and, a conflict, naming) the one now kept."""
    drop, keep = drop.copy(), keep.copy()
    old, new = keep[rows], drop[rows]  # (one row per kept event: `_values_filled`'s first)
    order = np.argsort(old, kind="stable")
    old, new = old[order], new[order]
    at = np.minimum(np.searchsorted(old, keep), len(old) - 1)
    hit = old[at] == keep
    keep[hit] = new[at[hit]]
    drop[rows[order]] = old
    return drop, keep


def _values_filled(kept: pd.DataFrame, dups: pd.DataFrame, equal: np.ndarray,
                   content: list[str], pairs: np.ndarray, owner: np.ndarray,
                   names: tuple[str, ...]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """`_ticket_values_filled`'s work for the columns `names` of the repeats `pairs`."""
    filled: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if not pairs.any():
        return filled
    lacking: dict[str, tuple[int, np.ndarray, np.ndarray]] = {}  # column: at, rows, values
    for name in names:
        if name not in content:
            continue
        at = content.index(name)
        kept_blank = _same_text(dups[name], kept[name])[1]
        dup_blank = _same_text(kept[name], dups[name])[1]
        equal[pairs & (kept_blank | dup_blank), at] = True
        rows = np.flatnonzero(pairs & kept_blank & ~dup_blank)
        if len(rows):
            lacking[name] = (at, rows, dups[name].take(rows).astype("string")
                             .to_numpy(dtype=object))
    def fillers(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows that agree on everything, each one's first such row of its kept event."""
        live = np.flatnonzero(equal[rows].all(axis=1))
        return live, live[_first_of_each(owner[rows[live]])]
    changed = True
    while changed:
        changed = False
        for at, rows, texts in lacking.values():
            live, first = fillers(rows)
            other = live[texts[live] != texts[first]]
            if len(other):
                equal[rows[other], at] = False
                changed = True
    for name, (_, rows, _) in lacking.items():
        fills = np.unique(fillers(rows)[1])
        filled[name] = (rows[fills], dups[name].to_numpy(dtype=object)[rows[fills]])
    return filled


def _first_of_each(groups: np.ndarray) -> np.ndarray:
    """Per element, the position of the first element of its group (equal values of
    `groups`), in the given order."""
    order = np.argsort(groups, kind="stable")
    ranked = groups[order]
    starts = np.ones(len(ranked), dtype=bool)
    starts[1:] = ranked[1:] != ranked[:-1]
    first = np.empty(len(groups), dtype=np.intp)
    first[order] = order[np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))]
    return first


def _mask_of(values: pd.Series) -> np.ndarray:
    return values.fillna(False).to_numpy(dtype=bool)


def _same_text(first: pd.Series, second: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Row by row, whether `first` and `second` (the same column's values at two sets of
    rows) read the same as text, a missing value as empty, and whether `second`'s is empty:
    what ``astype("string").fillna("")`` of both would compare, without a text per row where
    the column is typed (a canonical log's repeats of a month's export: 730k rows by 25
    columns at 1M cases, 8.5 s as texts). Values of one type read the same as text where
    they are equal (a float's -0.0 and 0.0 aside, taken as equal here)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dtype = first.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        # each category's text numbered once (texts may repeat: 1 and "1"); missing as ""
        text = pd.Series(dtype.categories).astype("string").fillna("")
        number, _ = pd.factorize(pd.concat([text, pd.Series([""], dtype="string")],
                                           ignore_index=True))
        blank_number = number[-1]
        ids = [number[np.asarray(values.cat.codes)] for values in (first, second)]  # -1: last
        return ids[0] == ids[1], ids[1] == blank_number
    if isinstance(first.array, pd.arrays.ArrowStringArray):
        arrays = [pc.fill_null(pa.chunked_array(values.array.__arrow_array__()), "")
                  for values in (first, second)]
        same = pc.equal(*arrays).to_numpy(zero_copy_only=False)
        blank = pc.equal(arrays[1], "").to_numpy(zero_copy_only=False)
        return np.asarray(same, dtype=bool), np.asarray(blank, dtype=bool)
    if isinstance(dtype, pd.DatetimeTZDtype) or (
            isinstance(dtype, np.dtype) and dtype.kind in "fiumM"):
        missing = [np.asarray(values.isna()) for values in (first, second)]
        # (the arrays compared: to_numpy would make a Timestamp per tz-aware time, 1.6 s
        # for 730k)
        equal = np.asarray(first.array == second.array, dtype=bool)
        return equal | (missing[0] & missing[1]), missing[1]
    texts = [values.astype("string").fillna("").to_numpy(dtype=object)
             for values in (first, second)]
    return np.asarray(texts[0] == texts[1], dtype=bool), np.asarray(texts[1] == "", dtype=bool)


def _case_told(events: pd.DataFrame, exported: list[bool]) -> np.ndarray:
    """Per event quarantined, its case for the quarantine's `case` column: a generic log's
    case id; an export's record's ticket (the case it names; correlation decides the
    others'), '' where it names none."""
    case = events[C.CASE].astype("string").fillna("").to_numpy(dtype=object)
    ticket = (events[C.TICKET_ID].astype("string").fillna("").to_numpy(dtype=object)
              if C.TICKET_ID in events.columns else case)
    told: np.ndarray = np.where(np.asarray(exported, dtype=bool), ticket, case)
    return told


def _raised(read: _ReadFile | Exception | None) -> _ReadFile:
    if isinstance(read, Exception):
        raise read
    assert read is not None
    return read


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _servicenow_cut(read_files: Iterable[_ReadFile], events_in: list[tuple[Path, str]],
                    reader: Callable[..., _ReadFile], labels: dict[Path, str],
                    encoding: str | None, zone: Callable[[], str | None] = lambda: None,
                    ) -> tuple[Iterable[_ReadFile], Callable[..., _ReadFile]]:
    """`read_files`, where the run's ServiceNow exports share updates (a record's checkpoint
    with rows in two exports: an export paged by row count cuts the update at a page's
    end), the exports that share one read again with what `cut_updates` joins; and the
    reader, with those joins (for any later reading again). Each export's distinct updates
    come from its reading: exports that share none (most runs) are not read again. `zone`:
    the zone of the CSV exports' local times (for a CSV export beside a JSON pull)."""
    exports = [k for k, (_path, fmt) in enumerate(events_in) if fmt == "servicenow"]
    if len(exports) < 2:
        return read_files, reader
    from audit.sources.servicenow import cut_updates

    files = list(read_files)
    joins = cut_updates([events_in[k][0] for k in exports], labels, encoding=encoding,
                        updates=[cast(Any, files[k].update_keys) for k in exports], zone=zone)
    if not joins:
        return files, reader
    reader = partial(reader, joins=joins)
    for k in exports:
        if events_in[k][0] in joins:
            files[k] = reader(events_in[k])
    return files, reader


def _servicenow_zone(assume_tz: str | None, config: SourcesConfig | None) -> str | None:
    """The zone a ServiceNow CSV export's local times are read in (`servicenow.read`)."""
    if assume_tz is not None:
        return assume_tz
    from audit.sources.config import load_sources_config

    ticketing = (config or load_sources_config()).ticketing
    return ticketing["servicenow"].time_zone if "servicenow" in ticketing else None


def _servicenow_numbered(read_files: Iterable[_ReadFile], events_in: list[tuple[Path, str]],
                         reader: Callable[..., _ReadFile]) -> Iterable[_ReadFile]:
    """`read_files`, where a ServiceNow export has updates of records whose `number` row is
    in none of its rows (quarantined: their ticket number unknown) read again with the
    numbers the run's other inputs give those records: the ticket ids of their events read
    from the other ServiceNow exports and from canonical logs (Parquet), the earlier
    input's where two give one. A record's `number` row is written once, at insert: an
    export by date range (a month's beside the last, or beside last month's log) holds
    later updates of records whose number is in another input. Only such an export is read
    again; the others are as read."""
    exports = [k for k, (_path, fmt) in enumerate(events_in) if fmt == "servicenow"]
    givers = [k for k, (_path, fmt) in enumerate(events_in) if fmt in ("servicenow", "parquet")]
    if not exports or len(givers) < 2:
        return read_files
    files = list(read_files)
    lacking = [k for k in exports if _unnumbered(files[k].broken)]
    for k in lacking:
        numbers: dict[str, str] = {}
        for j in givers:
            if j != k:
                for document, number in _servicenow_numbers(files[j].log).items():
                    numbers.setdefault(document, number)
        if numbers:
            path = events_in[k][0]
            files[k] = reader(events_in[k], numbers={path: numbers})
    return files


def _unnumbered(quarantine: pd.DataFrame) -> bool:
    """Whether a ServiceNow export's quarantine holds updates whose ticket number is unknown."""
    if quarantine.empty:
        return False
    return bool(((quarantine["field"] == "documentkey")
                 & quarantine["reason"].astype(str).str.contains(
                     "so its ticket number is unknown", regex=False)).any())


def _servicenow_numbers(log: pd.DataFrame) -> dict[str, str]:
    """The ticket number of each ServiceNow record that a read file's events belong to, by
    its documentkey: their event ids are `servicenow:<documentkey>:<update>`, their ticket
    ids the records' numbers (an export's provisional ids, or a canonical log's)."""
    if C.EVENT_ID not in log.columns or C.TICKET_ID not in log.columns or log.empty:
        return {}
    ids = log[C.EVENT_ID].astype("string")
    tickets = log[C.TICKET_ID].astype("string")
    keep = (ids.str.startswith("servicenow:") & tickets.notna()).fillna(False).to_numpy(bool)
    if not keep.any():
        return {}
    documents = ids[keep].str.split(":", n=2).str[1]
    numbers: dict[str, str] = {}
    for document, number in zip(documents.tolist(), tickets[keep].tolist(), strict=True):
        if document and number:
            numbers.setdefault(str(document), str(number))
    return numbers


def _reading_processes(files: list[tuple[Path, str]], workers: int | None) -> int:
    if workers is not None:
        return max(1, min(workers, len(files)))
    if len(files) < 2:
        return 1
    size = sum(_size(path) for path, _ in files)
    if size < PARALLEL_FROM_BYTES:
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), len(files)))


def refuse_undecodable_name(path: Path) -> None:
    """A file name that is no UTF-8 text (bytes the file system holds, read back as
    surrogates) is an input error naming it with those bytes escaped: the name is written
    into the log's `source:file`, the manifest and the reports, which hold only text (before:
    a traceback from the Arrow or JSON writer, after the whole run)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        shown = str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise InputError("the file name is not UTF-8 text; rename the file",
                         file=shown) from None


JSON_EXPORTS = frozenset({"zendesk", "jira"})
"""The exports always read as JSON (a ServiceNow export is JSON where it is a pull,
`servicenow_json.is_json`): read as UTF-8, as JSON is exchanged (RFC 8259, section 8.1),
never by --encoding."""


def decoded_by_encoding(path: Path, fmt: str) -> bool:
    """Whether --encoding decodes an input of format `fmt`: a CSV (a generic log, a CSV
    export, a role history), not a JSON export (`JSON_EXPORTS`, a ServiceNow JSON pull),
    nor an XES, OCEL or Parquet log, whose bytes state their own encoding."""
    if fmt in JSON_EXPORTS or fmt in ("xes", "ocel", "parquet"):
        return False
    if fmt == "servicenow":
        from audit.sources.servicenow_json import is_json

        return not is_json(path)
    return True


def encoding_told(encoding: str, inputs: list[tuple[Path, str]], label_of: dict[Path, str]
                  ) -> str | None:
    """The import's note on --encoding where it decodes not every input read (`inputs`:
    path and format): none of them (`not used`), or the CSVs only, naming the JSON exports
    read as UTF-8 instead (the first three); None where it decodes every one. Before, a
    Zendesk or Jira export given with --encoding was read as UTF-8 whatever it named, and
    the run recorded the encoding as if applied, without a word."""
    left = [(path, fmt) for path, fmt in inputs if not decoded_by_encoding(path, fmt)]
    if not left:
        return None
    if len(left) == len(inputs):
        return (f"--encoding {encoding}: no input is a CSV, the only kind it decodes (a "
                "JSON export is read as UTF-8, as JSON is written; an XES, OCEL or Parquet "
                "log states its own): not used")
    json_read = [label_of[path] for path, fmt in left if fmt not in ("xes", "ocel", "parquet")]
    if not json_read:
        return None  # (the OCEL, XES and Parquet logs beside CSVs: as before, no note)
    shown = ", ".join(json_read[:3]) + (f" and {len(json_read) - 3:,} more"
                                        if len(json_read) > 3 else "")
    return (f"--encoding {encoding} decodes the CSV inputs only: {shown} "
            f"({'a JSON export' if len(json_read) == 1 else 'JSON exports'}) read as UTF-8, "
            "as JSON is written, not by it")


def import_sources(
    sources: list[tuple[Path, str | None]],
    *,
    mapping: Mapping | None = None,
    assume_tz: str | None = None,
    encoding: str | None = None,
    object_type: str | None = None,
    follow_o2o: tuple[str, ...] = (),
    sources_config: SourcesConfig | None = None,
    workers: int | None = None,
    sort: bool = True,
    defer_digests: bool = False,
    format_hint: str = IMPORT_IT_FIRST,
) -> ImportResult:
    """Import files (path, format or None to detect) into one canonical log, sorted by
    case, time, source file and row (`sort=False`: left in the order read, files in the
    order given, for a caller that orders the events itself, as correlation does).
    `format_hint` ends the error for a file of unknown type (see `detect_format`).

    Several large files are read in parallel, one worker process per core (`workers`: how
    many; None decides by size, see PARALLEL_FROM_BYTES; 1 reads in this process).

    Source-system exports (zendesk, stripe, ...) come out with provisional case ids (the
    ticket, charge or refund id); `audit.correlate` joins them into refund cases. A role
    history (format `roles`) is no events: it sets `org:role` per event by time.

    Each event file's SHA-256 is taken just before it is read, or, with `defer_digests`,
    left to the caller: `unhashed` then holds the files with their stamps when read, for
    `digest.LaterDigests` (the pipeline hashes them while correlation runs on one core).
    """
    mapping = mapping or Mapping()
    if assume_tz is not None:
        check_time_zone(assume_tz)
    for path, _ in sources:
        refuse_undecodable_name(path)
    logs: list[pd.DataFrame] = []
    quarantines: list[pd.DataFrame] = []
    counts: list[tuple[Path, str, int, int]] = []
    alone: list[int] = []  # per input (as `counts`): its lines of one field alone
    id_fields: list[str] = []  # per input (as `counts`): the column its event ids were read from
    id_cells: list[IdCells | None] = []  # per input: an export's, where its ids were read
    digests: dict[str, str] = {}
    unhashed: dict[str, FileStamp] = {}
    id_hashes: list[np.ndarray | None] = []
    notes: list[str] = []
    role_histories = []
    events_in: list[tuple[Path, str]] = []
    roles_in: list[tuple[Path, str]] = []  # (CSVs: --encoding decodes them)
    label_of = dict(zip((path for path, _ in sources),
                        input_labels(path for path, _ in sources), strict=True))
    detected: list[tuple[str, str, Path]] = []  # CSV files taken for an export by columns
    for path, given in sources:
        fmt = given or detect_format(path, mapping, hint=format_hint)
        if given is None and fmt in (*SOURCE_SYSTEMS, "roles") and \
                _SUFFIXES.get(path.suffix.lower()) == "csv":
            detected.append((label_of[path], fmt, path))
        if fmt == "roles":
            from audit.sources.roles import read_roles

            roles_in.append((path, fmt))
            role_histories.append(read_roles(path, encoding=encoding,
                                             assume_tz=assume_tz))
            continue
        events_in.append((path, fmt))
    if not role_histories and any(fmt in SOURCE_SYSTEMS for _path, fmt in events_in):
        # A month's run without the role history given again: the one the log's import
        # applied (kept in its metadata) gives this month's records their roles, as it gave
        # last month's; a role history given with them is theirs instead.
        from audit.sources.roles import log_history, unread_history_note

        for path, fmt in events_in:
            if fmt == "parquet" and (stored := log_history(path, label_of[path])) is not None:
                role_histories.append(stored)
                notes.append(f"{label_of[path]}: no role history given; the role history "
                             f"its import applied ({stored.read_from}) "
                             "gives the other inputs' records their roles")
            elif fmt == "parquet" and (unread := unread_history_note(
                    path, label_of[path])) is not None:
                notes.append(unread)

    reader: Callable[..., _ReadFile] = partial(
        _read_one, mapping=mapping, assume_tz=assume_tz, encoding=encoding,
        object_type=object_type, sources_config=sources_config, hash_now=not defer_digests,
        follow_o2o=follow_o2o)
    processes = _reading_processes(events_in, workers)
    read_files: Iterable[_ReadFile]
    if processes > 1:
        # Files are independent: read and normalised in worker processes, collected in the
        # order given, so the log is the same as read one after another.
        # Largest first, so that no big file starts last while the other workers idle.
        sizes = [_size(path) for path, _ in events_in]
        by_size = sorted(range(len(events_in)), key=lambda k: -sizes[k])
        # A file with a core's share of the work or more (a canonical log beside a month's
        # exports) is read here meanwhile: a worker would send its whole frame back through
        # a pipe (at 1M cases 20 s and a copy of 3 GB), and the others are done before it.
        work = [size * (PARQUET_WORK if fmt == "parquet" else 1)
                for size, (_path, fmt) in zip(sizes, events_in, strict=True)]
        most = max(range(len(events_in)), key=work.__getitem__)
        here = most if processes * work[most] >= sum(work) else None
        with ProcessPoolExecutor(processes - (here is not None)) as pool, \
                workers_stopped(pool):  # (interrupted: the workers stopped, not waited for)
            futures = {k: pool.submit(reader, events_in[k]) for k in by_size if k != here}
            own: _ReadFile | Exception | None = None
            if here is not None:
                try:
                    own = reader(events_in[here], release=True)
                except Exception as exc:  # raised in its place among the files, as a worker's
                    own = exc
            read_files = [_raised(own) if k == here else waited(futures[k])
                          for k in range(len(events_in))]
            del futures, own  # each holds its file's frame: the join frees them as it goes
    else:
        read_files = map(reader, events_in)  # one at a time: a file's raw cells freed early
    read_files, reader = _servicenow_cut(read_files, events_in, reader, label_of, encoding,
                                         partial(_servicenow_zone, assume_tz, sources_config))
    read_files = _servicenow_numbered(read_files, events_in, reader)
    # A canonical log beside exports: its events of exports are correlated again with the
    # exports' records, as they would be with its own exports read at once (see restated).
    beside_exports = any(fmt in SOURCE_SYSTEMS for _path, fmt in events_in)
    restating: list[np.ndarray] = []
    logs_input: list[int] = []  # each of `logs`: its input (among `counts`)
    people: list[tuple[str, pd.DataFrame, Any]] = []  # per Jira export: its names' accountIds
    before: list[tuple[str, pd.DataFrame]] = []  # the logs beside them (a month's run)
    joined: dict[str, str] = {}  # the columns of the inputs' logs, not the canonical log's
    unusable: list[tuple[Path, str, pd.DataFrame]] = []  # exports none of whose records
    for (path, fmt), one in zip(events_in, read_files, strict=True):
        if label_of[path] != path.name:
            _relabelled(one, path.name, label_of[path])
        if beside_exports and fmt not in SOURCE_SYSTEMS:
            _restated(one, label_of[path], sources_config)
        notes.extend(one.notes)
        if one.unusable:  # its records all in the quarantine, no event: counted, not joined
            unusable.append((path, one.unusable, pd.concat([one.broken, one.quarantine])))
        else:
            # (the joined log's columns: within the bound of its reading, or refused now,
            # not written to be refused by `check`)
            refuse_many_joined_columns(joined, [str(c) for c in one.log.columns],
                                       label_of[path], path)
            restating.append(one.restated if one.restated is not None
                             else np.zeros(len(one.log), dtype=bool))
            one.log[_INPUT] = len(counts)
            logs.append(one.log)
            logs_input.append(len(counts))
            id_hashes.append(one.id_hashes)
            if one.people is not None:
                people.append((label_of[path], one.log, one.people))
            elif fmt not in SOURCE_SYSTEMS:  # (a log of last month's exports: its names)
                before.append((label_of[path], one.log))
        quarantines.extend([one.broken, one.quarantine])
        id_fields.append(one.id_field)
        id_cells.append(one.id_cells)
        counts.append((path, one.system, one.read, one.deduplicated))
        alone.append(int(field_only(one.broken).sum()))
        if one.sha256:
            digests[str(path)] = one.sha256
        elif one.stamp is not None:
            unhashed[str(path)] = one.stamp
        del one
    del read_files  # from worker processes: a list that would keep every file's frame alive
    told_apart: dict[str, tuple[str, list[str]]] = {}
    if people or before:  # one person one name in every Jira export, before repeats are
        # found; and the names a log tells apart, for the warning where another input names
        # one bare (also a log checked without a Jira export: before, no warning)
        from audit.sources.jira import told_apart_across, told_apart_before, told_apart_names

        exports = len(people)
        people += [(label, log, told) for label, log in before
                   if (told := told_apart_before(log)) is not None]
        if exports and len(people) > 1:
            notes.extend(told_apart_across(people))
        told_apart = told_apart_names([one_people for _, _, one_people in people])
    del people, before
    return_free_memory()  # what a file read in this process left free (a canonical log: 0.6 GB)
    if unusable and not logs:  # no input gave a record: the reasons, as no quarantine is
        path, why, quarantined = unusable[0]  # written
        if len(unusable) == 1 and quarantined.empty:  # (one export of no mapped update)
            raise InputError(f"no records to import: {why}", file=path)
        others = (f" (and {len(unusable) - 1} other input(s) likewise: "
                  + ", ".join(label_of[p] for p, _, _ in unusable[1:]) + ")"
                  if len(unusable) > 1 else "")
        raise InputError(f"no record could be imported from any input: {why}{others}",
                         file=label_of[path], row=int(quarantined["row"].iloc[0])
                         if len(quarantined) else None)
    if sum(fmt == "servicenow" for _path, fmt in events_in) > 1:
        from audit.sources.servicenow import zone_notes_once

        notes = zone_notes_once(notes)  # (said once, not once per export's page)
    for path, why, quarantined in unusable:
        notes.append(f"{label_of[path]}: no record could be imported, {why}"
                     + (" (see the quarantine)" if len(quarantined) else "")
                     + "; the other inputs are imported")
    if not logs:  # (every input a role history: one that gives no events was refused above)
        from audit.sources.roles import KEY_COLUMNS as ROLE_COLUMNS

        histories = [label_of[path] for path, _ in sources]
        columns = ", ".join(ROLE_COLUMNS)
        what = (f"the only input is a role history (columns {columns}), which gives events "
                "their roles but holds no events; give it" if len(histories) == 1 else
                f"the only inputs are role histories ({', '.join(histories)}; columns {columns}), "
                "which give events their roles but hold no events; give them")
        raise InputError(f"no event source given: {what} with the event logs or exports",
                         file=sources[0][0])
    if detected and mapping.source:  # (the per-file lines name each system; the note
        # matters where a --mapping was given and is not applied to these files)
        notes.append(detected_note(detected, mapping))
    if encoding is not None:
        # (the role histories are CSVs, decoded by it)
        unapplied = encoding_told(encoding, events_in + roles_in, label_of)
        if unapplied is not None:
            notes.append(unapplied)
    if object_type is not None and not any(fmt == "ocel" for _path, fmt in events_in):
        # (before: taken without a word, as if it had chosen the cases)
        notes.append(f"--object-type {object_type}: no input is an OCEL 2.0 log, the only "
                     "kind it applies to: not used")
    if follow_o2o and not any(fmt == "ocel" for _path, fmt in events_in):
        notes.append(f"--follow-o2o {', '.join(follow_o2o)}: no input is an OCEL 2.0 log, "
                     "the only kind it applies to: not used")
    if any(mask.any() for mask in restating):  # which events are correlated, per event
        for k, one_log, mask in zip(logs_input, logs, restating, strict=True):
            one_log[_RESTATED] = np.where(mask, k + 1, 0).astype(np.int32)
    del restating
    # Every file's ids given as text (so assign_event_ids will leave them as they are): the
    # repeated ones found from the workers' hashes now, before the files are joined, so
    # that the hashes are not held beside the join's peak; else by a sort of the ids after.
    repeated = None
    if all(h is not None for h in id_hashes):
        hashed = np.concatenate([h for h in id_hashes if h is not None])
        del id_hashes
        repeated = C.duplicated_hashed(hashed, [one_log[C.EVENT_ID] for one_log in logs])
        del hashed
        return_free_memory()  # the hashes and their sort, not held through the join
    log = C.concat_coded(logs, release=True) if len(logs) > 1 else logs[0]
    logs.clear()  # the per-file frames: not held beside the whole log
    return_free_memory()  # what the files held, before the ids are sorted (if they are)
    log[C.EVENT_ID] = assign_event_ids(log)
    duplicated = pd.Series(C.duplicated_text(log[C.EVENT_ID]) if repeated is None else
                           repeated, index=log.index)
    del repeated
    merged_roles = None
    deduplicated: dict[int, int] = {}
    exported = np.array([fmt in SOURCE_SYSTEMS for _path, fmt in events_in], dtype=bool)
    from_input = exported[log[_INPUT].to_numpy()]
    correlated = _exported(log, exported)
    drop, keep = _repeats(log, duplicated, from_input, correlated)  # (by id: not by role)
    del duplicated
    # Before repeated ids are compared: a canonical log's events hold the people its logins
    # were resolved to, an export's records the logins. The notes count the events kept,
    # not the repeats dropped below (an issue twice in one Jira export, a file given twice).
    if role_histories:
        from audit.sources.roles import apply_roles, merge_roles

        merged_roles = merge_roles(role_histories)
        repeats = np.zeros(len(log), dtype=bool)
        repeats[drop] = True
        log, role_notes = apply_roles(log, merged_roles, repeats=repeats)
        del repeats
        return_free_memory()  # its per-event temporaries (0.45 GB at 1M cases)
        notes.extend(role_notes)
    if len(drop):
        dups, kept = log.take(drop), log.take(keep)
        # The same record in two exports (overlapping date ranges) is one event: drop and
        # count it. Two different records under one id are a conflict: quarantine.
        content = [c for c in log.columns
                   if c not in (_INPUT, _RESTATED, C.SOURCE_FILE, C.SOURCE_ROW, C.EVENT_ID)]
        compared = [_same_text(kept[c], dups[c]) for c in content]
        equal = np.column_stack([same for same, _ in compared])
        other_blank = np.column_stack([blank for _, blank in compared])
        del compared
        # An export's record beside an event of a log correlated before (a canonical log
        # given with the next exports, their date ranges overlapping) that was not taken
        # back as its record stated it (a log written before it kept that): the log's event
        # keeps its case and the ids correlation filled in, so the record is the same where
        # it agrees on every value the export states, its provisional case aside. (A log's
        # event taken back compares as another export's record of it.)
        mixed = correlated[drop] & ~correlated[keep]
        held = from_input[drop] & ~from_input[keep]  # an export's record, the log's kept
        if mixed.any():
            stated = equal[mixed] | other_blank[mixed]
            stated[:, content.index(C.CASE)] = True
            # The log's ticket id is its case's: none in a payout case, where a refund
            # naming a ticket no input held was kept (its other values still compared).
            if C.TICKET_ID in content:
                at = content.index(C.TICKET_ID)
                stated[:, at] |= _same_text(dups[C.TICKET_ID][mixed],
                                            kept[C.TICKET_ID][mixed])[1]
            equal[mixed] = stated
        # A log's event taken back keeps the role a role history gave it when the log was
        # made; without a role history beside, an export's record of it states none.
        taken_back = held & ~mixed
        if taken_back.any() and C.ROLE in content:
            at = content.index(C.ROLE)
            equal[taken_back, at] |= other_blank[taken_back, at]
        # A Jira update a log names bare (last month's, one Ben Carter then) and this
        # month's export names `Ben Carter (<accountId>)` (the other Ben Carter first
        # stated now): the same update, the name told apart (before: quarantined as a
        # duplicate event id). The log's event is kept as it names him (the warning names
        # the log's bare name); the notes count them.
        if told_apart and C.RESOURCE in content:
            at = content.index(C.RESOURCE)
            differ = np.flatnonzero(~equal[:, at])
            if len(differ):
                from audit.sources.jira import same_but_told_apart

                alike = same_but_told_apart(kept[C.RESOURCE].take(differ),
                                            dups[C.RESOURCE].take(differ), told_apart)
                equal[differ[alike], at] = True
                if alike.any():
                    notes.append(
                        f"{int(alike.sum()):,} Jira update(s) of an export repeat a log's "
                        "event but name its author with an accountId where the log names "
                        "him bare (a name told apart since): the same update, the log's "
                        "event kept as it names him (see the warning of that name)")
        # Two ticketing exports' records of one update: a ticket's order and currency are
        # the ticket's (its own fields, or the first its updates state in that export), so
        # an export without the update that states them (overlapping date ranges, the
        # ticket's creation in the earlier one) gives the same update without them. Not a
        # conflict: the kept record takes the value it lacks.
        both = correlated[drop] & correlated[keep]
        filled = _ticket_values_filled(kept, dups, equal, content, both, keep)
        # A Stripe payment in the Dashboard's payments export (no method) and in the charges
        # CSV or the balance report (its method): one record, whichever is given first.
        methods = _stripe_methods_filled(kept, dups, equal, content, both, keep)
        same = np.asarray(equal.all(axis=1), dtype=bool)
        if methods:
            # The copy stating the method is kept, not the first given filled in with it:
            # its file and row are the ones the findings cite (before, the Dashboard's copy
            # given first was kept, and a finding of the method cited that export, which
            # has no method column, where given second it cited the charges CSV).
            # (two exports' copies only: a canonical log's event taken back is kept, and
            # filled in, as a log's events are whatever the order)
            rows, values = methods.pop(C.PAYMENT_METHOD)
            logged = ~(from_input[drop[rows]] & from_input[keep[rows]])
            if logged.any():
                methods[C.PAYMENT_METHOD] = (rows[logged], values[logged])
            rows = rows[same[rows] & ~logged]
            if len(rows):
                drop, keep = _kept_swapped(drop, keep, rows)
                dups, kept = log.take(drop), log.take(keep)
        filled.update(methods)
        for k in dups[_INPUT][same]:
            deduplicated[int(k)] = deduplicated.get(int(k), 0) + 1
        conflicts, where = dups[~same], kept[~same]
        # A record quarantined as a conflict is not imported: its lines of one field alone
        # (a Dashboard payment's Amount Refunded) say so, and its file's line does not count
        # them as of a record read without the field (before: `imported 0 + quarantined 1;
        # 1 quarantine line of one field alone (its record read without it)`).
        inputs = conflicts[_INPUT].to_numpy(dtype=np.int64)
        for k in np.unique(inputs).tolist():
            at = 2 * k  # (each input's reader lines: `quarantines`' first of its two)
            quarantines[at] = _whole_records_unread(
                quarantines[at], conflicts[C.SOURCE_ROW].to_numpy()[inputs == k])
            alone[k] = int(field_only(quarantines[at]).sum())
        named = _id_named(conflicts, id_fields, id_cells)
        statuses = _statuses_differ(conflicts, where)
        restatused = sum(s is not None for s, log_kept in zip(statuses, held[~same],
                                                               strict=True) if not log_kept)
        if restatused:
            notes.append(f"{restatused} payment record(s) given in two exports with "
                         "different statuses: the copy of the most advanced status is kept "
                         f"({PRECEDENCE_TEXT}), the others quarantined")
        quarantines.append(pd.DataFrame({
            "file": conflicts[C.SOURCE_FILE].to_numpy(),
            "row": conflicts[C.SOURCE_ROW].to_numpy(),
            "field": [field for field, _ in named],
            "value": [value for _, value in named],
            "reason": [_duplicate_reason(str(f), r, label_of[events_in[int(k)][0]],
                                         correlated=bool(log_kept), event_id=str(i),
                                         statuses=differ,
                                         mine=_held_in(label_of[events_in[int(m)][0]], mf))
                       for f, r, k, log_kept, i, differ, m, mf in zip(
                           where[C.SOURCE_FILE], where[C.SOURCE_ROW], where[_INPUT],
                           held[~same], conflicts[C.EVENT_ID], statuses,
                           conflicts[_INPUT], conflicts[C.SOURCE_FILE], strict=True)],
            "case": _case_told(conflicts, [events_in[int(k)][1] in SOURCE_SYSTEMS
                                           for k in conflicts[_INPUT]])},
            columns=list(QUARANTINE_COLUMNS)))
        del dups, kept, conflicts, where
        for name, (rows, values) in filled.items():  # where the kept record is kept
            keeping = same[rows]
            if keeping.any():
                column = log[name].copy()
                column.iloc[keep[rows[keeping]]] = values[keeping]
                log[name] = column
        del filled
        retained = np.ones(len(log), dtype=bool)
        retained[drop] = False
        log = C.taken_frame([log], np.flatnonzero(retained))
    C.compact(log)  # labels, people, roles, systems, files: a code per event, not a string
    ordered = list(C.COLUMNS) + [c for c in log.columns if c not in C.COLUMNS]
    if sort:
        owned = [log[ordered]]
        del log
        log = C.sorted_frame(owned, [C.CASE, C.TIMESTAMP, C.SOURCE_FILE, C.SOURCE_ROW])
    else:
        log = log[ordered].reset_index(drop=True)
    quarantine = pd.concat([q for q in quarantines if len(q)], ignore_index=True) if any(
        len(q) for q in quarantines) else empty_quarantine()
    # Each value and case cut at a spreadsheet cell's length, whichever step quarantined it
    # (a refund in two exports, its conflict's line: before, a 40,000-character id whole).
    quarantine = cut_values(cut_values(record_read_filled(_in_row_order(quarantine))), "case")
    hints = None
    if QUARANTINE_HINTS[0] in quarantine.columns:  # (see QUARANTINE_HINTS, TICKET_HINT)
        hinted = [*QUARANTINE_HINTS, *([TICKET_HINT] if TICKET_HINT in quarantine.columns
                                       else []),
                  *(ABOVE_CHARGE_HINTS if ABOVE_CHARGE_HINTS[0] in quarantine.columns
                    else ()),
                  *([REFUND_TOTAL_HINT] if REFUND_TOTAL_HINT in quarantine.columns else [])]
        hints = quarantine[hinted].astype(object).fillna("")
        quarantine = quarantine.drop(columns=hinted)
    elif TICKET_HINT in quarantine.columns:  # (never without the others: not kept)
        quarantine = quarantine.drop(columns=[TICKET_HINT])
    imported = log[_INPUT].value_counts()
    from_export = (np.ones(len(log), dtype=bool) if exported.all() else
                   _exported(log, exported))
    files = []
    for i, (path, system, read, dropped) in enumerate(counts):
        twice = deduplicated.get(i, 0)
        # `read`: the file's records read (its reader's count, which leaves out the records
        # it dropped as exported twice in the file, `dropped`), those dropped included: the
        # records another input holds (`twice`) are in the reader's count already.
        files.append(FileCounts(label_of[path], system, read + dropped,
                                int(imported.get(i, 0)),
                                read - twice - int(imported.get(i, 0)), dropped + twice,
                                str(path), fields_unread=alone[i]))
    restated = (log[_RESTATED].to_numpy().astype(np.int64) - 1 if _RESTATED in log.columns
                else None)
    return ImportResult(log=log.drop(columns=[c for c in (_INPUT, _RESTATED)
                                              if c in log.columns]),
                        quarantine=quarantine, files=files, restated=restated,
                        notes=notes, roles=merged_roles, digests=digests, unhashed=unhashed,
                        from_export=from_export, quarantine_hints=hints,
                        told_apart=told_apart)
