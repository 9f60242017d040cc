"""ServiceNow: the sys_audit table (or its history) exported as CSV.

Columns `documentkey` (the record's sys_id), `fieldname`, `oldvalue`, `newvalue`, `user`
(user name), `sys_created_on` (local time of the exporting user: set `time_zone`) and
`record_checkpoint` (the update count). The rows of one record and checkpoint are one update;
the ticket number comes from the `number` field written when the record was inserted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from audit.errors import InputError
from audit.ingest.csv_reader import read_csv
from audit.sources.common import (
    TEXT,
    BadValue,
    Collector,
    local_text,
    local_to_utc,
    none_if_empty,
    object_array,
    repeated_text,
    require_columns,
    stripped,
    text_codes,
    text_columns,
)
from audit.sources.config import TicketingConfig
from audit.sources.ticketing import Updates, fields_used, updates_to_table
from audit.words import counted

SYSTEM = "servicenow"
KEY_COLUMNS = ("documentkey", "fieldname", "oldvalue", "newvalue", "user", "sys_created_on")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def read(path: Path, cfg: TicketingConfig, *, encoding: str | None = None,
         assume_tz: str | None = None, numbers: dict[str, str] | None = None) -> Collector:
    """Read one sys_audit export. `numbers`: the ticket numbers of records (documentkey)
    that the run's other inputs give (`audit.ingest._servicenow_numbered`), for the updates
    of a record whose `number` row, written at insert, is in another export or was read
    into last month's log: its own `number` row wins."""
    table, ragged = read_csv(path, encoding=encoding, strings="arrow")
    frame = table.frame
    require_columns(list(frame.columns), KEY_COLUMNS, system="ServiceNow sys_audit", file=path)
    zone = assume_tz or cfg.time_zone  # (an explicit --assume-tz over the sources file's)
    if zone is None:
        raise InputError("sys_created_on has no time zone: set time_zone for servicenow in "
                         "the sources file or pass --assume-tz", file=path)
    collector = Collector(SYSTEM, path)
    for bad in ragged:
        collector.quarantine(bad.row, "(record)", bad.text,
                             f"{counted(bad.found, 'field')} where the header has {bad.expected}")
    # Column-wise, in Arrow text: the rows are grouped into updates, and the changes of the
    # fields the mapping reads are taken per update, by codes; a Python str only for the
    # values an update keeps.
    cells = text_columns(frame, [str(c) for c in frame.columns], only=(
        "documentkey", "fieldname", "newvalue", "user", "sys_created_on", "record_checkpoint"))
    rows = np.asarray(table.rows, dtype=np.int64)
    documents = stripped(cells["documentkey"])
    created, users = cells["sys_created_on"], cells["user"]
    stamps = (stripped(cells["record_checkpoint"]) if "record_checkpoint" in cells
              else repeated_text("", len(rows)))
    # An update is a record's checkpoint, else its rows of one time and user.
    group_text = pc.if_else(pc.equal(stamps, ""), pc.binary_join_element_wise(
        created, users, pa.scalar("|", TEXT)), stamps)
    # The same audit row exported twice (all fields but sys_id equal): read once.
    repeated = frame.duplicated(subset=[c for c in frame.columns if c != "sys_id"]
                                ).to_numpy(dtype=bool)
    kept = np.flatnonzero(~repeated)
    document_codes, document_names = text_codes(documents)
    group_codes, group_names = text_codes(group_text)
    # Counted in updates, as the records read are: an update (a record's checkpoint) some
    # of whose rows are exported again is one record exported twice, however many rows it
    # holds (before: each row, so a four-row update exported twice counted four beside
    # updates read).
    if repeated.any():
        width = len(group_names) + 1  # (codes from -1: a missing text)
        twice = (document_codes[repeated] + 1) * width + group_codes[repeated] + 1
        collector.deduplicated += len(np.unique(twice))
    group, first = _updates_of(document_codes[kept], group_codes[kept], len(group_names))
    first = kept[first]  # each update's first row, in the order the updates are first read
    field_codes, fields_named = text_codes(cells["fieldname"])
    field_names = fields_named.to_pylist()
    newvalues = cells["newvalue"]
    ticket = _numbers(document_codes, len(document_names), field_codes, field_names, newvalues,
                      cfg.number_field or "number")[document_codes[first]]
    elsewhere = " (nor in the other inputs read with it)" if numbers is not None \
        else ""
    if numbers:  # a record whose number row is in another export of the run
        for k in np.flatnonzero(_none(ticket)).tolist():
            ticket[k] = numbers.get(str(documents[int(first[k])].as_py()))
    first_at = pa.array(first)
    times = object_array(local_text(created.take(first_at), TIME_FORMAT, zone).to_pylist())
    good = np.ones(len(first), dtype=bool)
    # Times read column-wise where the zone's offset is plain; others one by one, and
    # updates without a ticket number or with a bad time quarantined in reading order.
    for k in np.flatnonzero(_none(ticket) | _none(times)).tolist():
        row = int(first[k])
        if ticket[k] is None:
            collector.quarantine(int(rows[row]), "documentkey", documents[row].as_py(),
                                 f"no '{cfg.number_field or 'number'}' row for this record "
                                 f"in the export{elsewhere}, so its ticket number is unknown")
            good[k] = False
            continue
        text = created[row].as_py()
        try:
            times[k] = local_to_utc(text, TIME_FORMAT, zone)
        except BadValue as exc:
            collector.quarantine(int(rows[row]), "sys_created_on", text, str(exc))
            good[k] = False
    position = np.cumsum(good) - 1  # an update's place among those read
    changed = _changes(group, good, position, field_codes[kept], field_names,
                       newvalues, kept, fields_used(cfg))
    at = pa.array(first[good])
    n = len(at)
    unchanged: dict[str, str | None] = {}  # every update's changes: not read
    updates = Updates(
        ticket=ticket[good].tolist(), time=times[good].tolist(),
        author=none_if_empty(stripped(users.take(at))).to_pylist(),
        record_id=pc.binary_join_element_wise(
            pa.scalar(SYSTEM, TEXT), documents.take(at), group_text.take(at),
            pa.scalar(":", TEXT)).to_pylist(),
        row=rows[first[good]].tolist(), changes=[unchanged] * n, public_comment=[False] * n,
        activity=[None] * n, amount=[None] * n)
    updates_to_table(updates, cfg, collector, changed=changed)
    return collector


def _none(values: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
    return np.fromiter((v is None for v in values.tolist()), dtype=np.bool_,
                       count=len(values))


def _updates_of(documents: npt.NDArray[np.int64], groups: npt.NDArray[np.int64],
                group_count: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Each row's update (numbered in the order the updates are first read: record, then
    checkpoint or time and user) and each update's first row. `groups`: codes below
    `group_count`."""
    if not len(documents):
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    update, _ = pd.factorize(documents * group_count + groups)
    first = np.unique(update, return_index=True)[1]
    return np.asarray(update, dtype=np.intp), np.asarray(first, dtype=np.intp)


def _numbers(documents: npt.NDArray[np.int64], n: int, fields: npt.NDArray[np.int64],
             field_names: list[str], values: pa.Array,
             number_field: str) -> npt.NDArray[np.object_]:
    """Per record (code): the first non-empty value its rows write to the number field
    (stripped), None where none does. `fields`: each row's field, a code into
    `field_names`."""
    numbers = object_array(None, n)
    if number_field not in field_names:
        return numbers
    at = np.flatnonzero(fields == field_names.index(number_field))
    stated = stripped(values.take(pa.array(at)))
    written = np.asarray(pc.not_equal(stated, "").to_numpy(zero_copy_only=False), dtype=bool)
    at = at[written]
    records, firsts = np.unique(documents[at], return_index=True)
    numbers[records] = object_array(
        stated.filter(pa.array(written)).take(pa.array(firsts)).to_pylist())
    return numbers


def _changes(update: npt.NDArray[np.intp], good: npt.NDArray[np.bool_],
             position: npt.NDArray[np.intp], fields: npt.NDArray[np.int64],
             field_names: list[str], values: pa.Array, kept: npt.NDArray[np.intp],
             names: list[str]) -> dict[str, dict[int, str | None]]:
    """For each of `names`: the updates read (`good`) that change it, by their place among
    those read (`position`), and the value their last row of that field writes (None where
    blank), as the updates' changes would give them to `updates_to_table`. `update` and
    `fields` are per kept row (`kept`: their rows in `values`)."""
    code_of = {name: k for k, name in enumerate(field_names)}
    changed: dict[str, dict[int, str | None]] = {}
    for name in names:
        code = code_of.get(name)
        if code is None:
            changed[name] = {}
            continue
        rows = np.flatnonzero(fields == code)[::-1]  # the last row of an update comes first
        updates, last = np.unique(update[rows], return_index=True)
        read = good[updates]
        written = values.take(pa.array(kept[rows[last[read]]]))
        blank = pc.equal(stripped(written), "")
        changed[name] = dict(zip(position[updates[read]].tolist(),
                                 pc.if_else(blank, pa.scalar(None, TEXT), written).to_pylist(),
                                 strict=True))
    return changed
