"""ServiceNow: the sys_audit table (or its history) exported as CSV.

Columns `documentkey` (the record's sys_id), `fieldname`, `oldvalue`, `newvalue`, `user`
(user name), `sys_created_on` (local time of the exporting user: set `time_zone`) and
`record_checkpoint` (the update count). The rows of one record and checkpoint are one update, at the
earliest time its rows state (a row stating none, or one more than `TIME_TOLERANCE` seconds from
the others, is quarantined, its change not read), by one user (a row naming another user than
the update's author, the user most of its rows name, is quarantined too, its change not read; a
row naming none is read; an update whose author cannot be told, no user named by most of its
rows, is not read, all its rows quarantined); the ticket number comes from the `number` field
written when the record was inserted. An update cut across two exports (pages by row count) is
read as one (`cut_updates`): its author decided and its time taken over its rows in both.
The same table pulled as JSON (the JSONv2 processor's `records`, the Table API's `result`) is
read into the same rows (`servicenow_json`), its times as UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from audit import canonical as C
from audit.errors import InputError
from audit.ingest.csv_reader import read_csv
from audit.ingest.raw import IdCells, RawTable
from audit.sources import servicenow_json
from audit.sources.common import (
    TEXT,
    BadValue,
    Collector,
    cells_of_rows,
    differ,
    holds,
    local_text,
    local_to_utc,
    none_if_empty,
    object_array,
    repeated_text,
    require_columns,
    stripped,
    text_codes,
    text_columns,
    written_cells,
)
from audit.sources.config import TicketingConfig
from audit.sources.ticketing import Updates, fields_used, updates_to_table
from audit.words import counted

SYSTEM = "servicenow"
KEY_COLUMNS = ("documentkey", "fieldname", "oldvalue", "newvalue", "user", "sys_created_on")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def read(path: Path, cfg: TicketingConfig, *, encoding: str | None = None,
         assume_tz: str | None = None, numbers: dict[str, str] | None = None,
         join: Join | None = None) -> Collector:
    """Read one sys_audit export. `numbers`: the ticket numbers of records (documentkey)
    that the run's other inputs give (`audit.ingest._servicenow_numbered`), for the updates
    of a record whose `number` row, written at insert, is in another export or was read
    into last month's log: its own `number` row wins. `join`: the updates this export
    shares with the run's other ServiceNow exports (`cut_updates`): rows of theirs that
    complete its updates, and its rows of updates read with another export's."""
    table, set_aside, pulled = _read_rows(path, encoding)
    frame = table.frame
    require_columns(list(frame.columns), KEY_COLUMNS, system="ServiceNow sys_audit", file=path)
    rows = np.asarray(table.rows, dtype=np.int64)
    if join is not None:
        frame, rows = join.applied(frame, rows)
    # (an explicit --assume-tz over the sources file's; a JSON pull's times are UTC)
    zone = servicenow_json.UTC_ZONE if pulled else assume_tz or cfg.time_zone
    if zone is None:
        raise InputError("sys_created_on has no time zone: set time_zone for servicenow in "
                         "the sources file or pass --assume-tz", file=path)
    collector = Collector(SYSTEM, path)
    if not pulled and assume_tz is not None and cfg.time_zone is not None and \
            assume_tz != cfg.time_zone:
        # (said, as --assume-tz over a mapping's zone is: it moves every time of the export)
        collector.notes.append(
            f"{path.name}: sys_created_on read in --assume-tz {assume_tz}, not in the "
            f"sources file's time_zone {cfg.time_zone} for ServiceNow")
    if not pulled and assume_tz is None:
        # (the zone is an assumption the sources file makes, the bundled one's Europe/London
        # included: said, as a time without a zone is read in no zone unsaid)
        collector.notes.append(
            f"{path.name}: sys_created_on read as local time in {zone}, the sources file's "
            "time_zone for ServiceNow (the zone of the exporting user; where theirs is "
            "another, pass --assume-tz)")
    if pulled and assume_tz is not None and assume_tz != zone:
        # (a zone given for this run's times that these times are not read in: said)
        collector.notes.append(
            f"{path.name}: sys_created_on read as UTC, the database's time a JSON pull "
            f"holds, not in --assume-tz {assume_tz} (for a CSV export's local times)")
    if join is not None:
        collector.notes.extend(join.notes)
    for row, name, value, reason in set_aside:
        collector.quarantine(row, name, value, reason)
    # Column-wise, in Arrow text: the rows are grouped into updates, and the changes of the
    # fields the mapping reads are taken per update, by codes; a Python str only for the
    # values an update keeps.
    cells = text_columns(frame, [str(c) for c in frame.columns], only=(
        "documentkey", "fieldname", "newvalue", "user", "sys_created_on", "record_checkpoint"))
    documents = stripped(cells["documentkey"])
    created, users = cells["sys_created_on"], cells["user"]
    group_text = _group_text(cells, len(rows))
    # (rows another export's update carries here are not this export's: not named)
    collector.id_cells = _id_cells(cells, documents, rows, len(rows) - (
        len(join.carried) if join is not None else 0))
    if join is None:  # (what cut_updates compares between the run's exports, as read)
        collector.update_keys = pc.unique(pc.binary_join_element_wise(
            documents, group_text, pa.scalar(_UNIT, TEXT)))
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
    # A row whose own time is no time, or more than TIME_TOLERANCE seconds from its
    # update's other rows: not read (its change, or its record's number, neither), and
    # quarantined below. The update is read at the earliest time of its rows kept.
    own = len(rows) - (len(join.carried) if join is not None else 0)
    # A row naming another user than the rest of its update (one user's transaction: the
    # author decides the segregation-of-duty rules): not read, and quarantined below;
    # left out of the update before its time is taken.
    votes = join.votes_by_update(documents, group_text, first) if join is not None else {}
    off_user, authors, unauthored = _off_user(stripped(users), kept, group, first, own, votes)
    carried_at: dict[int, float | None] = {}  # (instants of the rows joined, by row)
    if join is not None:
        for at_row, carried in enumerate(join.carried, start=own):
            carried_at[at_row] = _seconds(str(created[at_row].as_py() or "").strip(),
                                          carried.get("_pulled") == "1",
                                          assume_tz or cfg.time_zone)
    off_time, earliest = _off_time(created, kept, group, first, zone, own,
                                   excluded={row for row, _, _ in off_user},
                                   carried=carried_at)
    if earliest:  # (an update read at its earliest row's time, its row that one)
        first = first.copy()
        first[list(earliest)] = list(earliest.values())
    if off_time or off_user:
        field_codes = field_codes.copy()
        field_codes[[row for row, _, _ in off_time + off_user]] = -2  # (a code no field has)
    ticket = _numbers(document_codes, len(document_names), field_codes, field_names, newvalues,
                      cfg.number_field or "number")[document_codes[first]]
    elsewhere = " (nor in the other inputs read with it)" if numbers is not None \
        else ""
    if numbers:  # a record whose number row is in another export of the run
        for k in np.flatnonzero(_none(ticket)).tolist():
            ticket[k] = numbers.get(str(documents[int(first[k])].as_py()))
    if join is not None and join.quarantine:  # (with their records' numbers where known)
        number_of = dict(zip(document_names.to_pylist(), _numbers(
            document_codes, len(document_names), field_codes, field_names, newvalues,
            cfg.number_field or "number").tolist(), strict=True))
        for row, name, value, reason, document in join.quarantine:
            collector.quarantine(row, name, value, reason, case=number_of.get(document) or (
                numbers or {}).get(document))
    first_at = pa.array(first)
    times = object_array(local_text(created.take(first_at), TIME_FORMAT, zone).to_pylist())
    good = np.ones(len(first), dtype=bool)
    # An update no author of which can be told: not read (its rows quarantined below).
    good[sorted(unauthored)] = False
    # Times read column-wise where the zone's offset is plain; others one by one, and
    # updates without a ticket number or with a bad time quarantined in reading order.
    for k in np.flatnonzero((_none(ticket) | _none(times)) & good).tolist():
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
            collector.quarantine(int(rows[row]), "sys_created_on", text, str(exc),
                                 case=ticket[k])
            good[k] = False
    # An update joined with rows of another export (`cut_updates`, which judged them within
    # TIME_TOLERANCE seconds of its rows here) is read at the earliest time of all its rows,
    # theirs too (a JSON pull's as UTC, a CSV export's in its zone): as the export in one
    # file reads it (before: a row joined a few seconds earlier was ignored).
    time_row = first.copy()  # (the row whose time the update is read at)
    if join is not None and join.carried and len(kept):
        for j in np.flatnonzero(kept >= own).tolist():
            k, at_row = int(group[j]), int(kept[j])
            if not good[k] or times[k] is None:
                continue
            instant = carried_at[at_row]
            if instant is not None and \
                    instant < datetime.fromisoformat(times[k]).timestamp():
                times[k] = datetime.fromtimestamp(instant, UTC).isoformat()
                time_row[k] = at_row
    for row, k, reason in off_time:  # (in reading order, after their updates' lines)
        update = group_text[row].as_py()
        collector.quarantine(int(rows[row]), "sys_created_on", created[row].as_py(), (
            f"a row of update {update} of record {documents[row].as_py()} whose time is not "
            f"the update's (read at row {int(rows[int(first[k])])}'s "
            f"{created[int(first[k])].as_py()}, the earliest of its rows within "
            f"{TIME_TOLERANCE} seconds of each other; this row's is {reason}): the row is not "
            f"read, its change of {_named(cells['fieldname'][row].as_py())} left out of the "
            "update"),
            case=ticket[k])
    for row, k, reason in off_user:
        update = group_text[row].as_py()
        change = cells["fieldname"][row].as_py()
        collector.quarantine(int(rows[row]), "user", users[row].as_py(), (
            f"a row of update {update} of record {documents[row].as_py()} " + (
                f"whose user is not the update's (one user's transaction: {reason}): the "
                f"row is not read, its change of {_named(change)} left out of the update"
                if k not in unauthored else
                f"whose author is not known (one user's transaction: {reason}): the update "
                f"is not read, nor this row's change of {_named(change)}")), case=ticket[k])
    position = np.cumsum(good) - 1  # an update's place among those read
    # (the rows of the amounts', the currency's and the evidence items' changes: their
    # quarantine lines name them, not the update's first row)
    field_rows: dict[str, dict[int, int]] = {  # (filled by _changes)
        name: {} for name in [*cfg.amount_fields, *filter(None, [cfg.currency_field]),
                              *cfg.evidence_fields]}
    changed = _changes(group, good, position, field_codes[kept], field_names,
                       newvalues, kept, fields_used(cfg), field_rows, rows)
    at = pa.array(first[good])
    n = len(at)
    unchanged: dict[str, str | None] = {}  # every update's changes: not read
    author = none_if_empty(stripped(users.take(at))).to_pylist()
    for k, name in authors.items():  # (an update whose read row names none, or another)
        if good[k]:
            author[int(position[k])] = name
    updates = Updates(
        ticket=ticket[good].tolist(), time=times[good].tolist(),
        author=author,
        record_id=pc.binary_join_element_wise(
            pa.scalar(SYSTEM, TEXT), documents.take(at), group_text.take(at),
            pa.scalar(":", TEXT)),
        row=rows[first[good]].tolist(), changes=[unchanged] * n, public_comment=[False] * n,
        activity=[None] * n, amount=[None] * n)
    collector.fields.update({C.CASE: "number", C.TIMESTAMP: "sys_created_on"})
    # (the time's quarantine value as written, not in UTC)
    collector.field_values[C.TIMESTAMP] = cells_of_rows(
        updates.row, created.take(pa.array(time_row[good])))
    updates_to_table(updates, cfg, collector, changed=changed, field_rows=field_rows)
    return collector


_BY_CHECKPOINT = "documentkey, record_checkpoint"
_BY_TIME = "documentkey, sys_created_on, user"


def _named(fieldname: object) -> str:
    """A row's `fieldname` as a quarantine reason names it: quoted as repr shows it, the
    export's own text (`'u_receipt'`), so that no cell can pass for the reason's own words
    (a fieldname ending as another reason ends)."""
    return repr("" if fieldname is None else str(fieldname))


def _id_of_update(event_id: str) -> tuple[str, str]:
    """An update's record id `servicenow:<documentkey>:<update>` read back into its cells
    (`IdCells.derive`): the update is the record's checkpoint, or, where the export has
    none, its time and user (`_group_text`)."""
    prefix = f"{SYSTEM}:"
    if not event_id.startswith(prefix):
        return _BY_CHECKPOINT, event_id
    document, _, update = event_id.removeprefix(prefix).partition(":")
    if "|" in update:
        time, _, user = update.partition("|")
        return _BY_TIME, f"{document}, {time}, {user}"
    return _BY_CHECKPOINT, f"{document}, {update}"


def _id_cells(cells: dict[str, pa.Array], documents: pa.Array,
              rows: npt.NDArray[np.int64], own: int) -> IdCells:
    """Where the export's updates' record ids were read (`IdCells`): the record's
    `documentkey` and its update's `record_checkpoint` (else `sys_created_on` and `user`);
    kept as written where a cell has spaces around it (the id holds it trimmed), of the
    export's own rows (the first `own`: an update's record is read at its first row)."""
    named = ("documentkey", "sys_created_on", "user", "record_checkpoint")
    written = {c: cells[c] if c in cells else repeated_text("", len(rows)) for c in named}
    checkpoints = pc.fill_null(written["record_checkpoint"].cast(TEXT), "")
    differs = differ(written["documentkey"], documents)
    trimmed = stripped(checkpoints)
    by_checkpoint = np.asarray(pc.not_equal(trimmed, "").to_numpy(zero_copy_only=False),
                               dtype=bool)
    differs |= by_checkpoint & differ(checkpoints, trimmed)
    # (a documentkey holding a `:`, or a checkpoint a `|`, is not read back from the id:
    # `_id_of_update` splits it at those)
    differs |= holds(documents, ":") | (by_checkpoint & holds(trimmed, "|"))
    differs[own:] = False
    return IdCells(_id_of_update, written_cells(
        rows, differs, lambda at: [_BY_CHECKPOINT if c else _BY_TIME
                                   for c in by_checkpoint[at].tolist()], written))


def _read_rows(path: Path, encoding: str | None,
               ) -> tuple[RawTable, list[tuple[int, str, str, str]], bool]:
    """A sys_audit export's rows as text cells, the rows set aside (row, field, value,
    reason), and whether it is a JSON pull (`servicenow_json`: its times are UTC), whose
    records are read into the table the CSV export reads as, numbered by record."""
    if servicenow_json.is_json(path):
        pulled = servicenow_json.read_rows(path, KEY_COLUMNS, CONTENT)
        return pulled.table, pulled.quarantine, True
    table, ragged = read_csv(path, encoding=encoding, strings="arrow")
    return table, [(bad.row, bad.field, bad.text, bad.reason) for bad in ragged], False


_ZONE_NOTE = re.compile(r"(?P<file>.+?): (?P<said>sys_created_on read (?:as local time in "
                        r"|in --assume-tz |as UTC, the database's time).*)", re.DOTALL)


def zone_notes_once(notes: list[str]) -> list[str]:
    """`notes` with the note of how sys_created_on was read (the sources file's zone,
    --assume-tz over it, a JSON pull's UTC) said once where several exports have the same
    one, naming the first export and how many (an export in ten pages said it ten times):
    ``a.csv and 9 other ServiceNow exports: sys_created_on read as local time in ...``."""
    said: dict[str, list[str]] = {}
    for note in notes:
        if (found := _ZONE_NOTE.fullmatch(note)) is not None:
            said.setdefault(found.group("said"), []).append(found.group("file"))
    if all(len(files) < 2 for files in said.values()):
        return notes
    kept = []
    for note in notes:
        found = _ZONE_NOTE.fullmatch(note)
        files = said.get(found.group("said"), []) if found is not None else []
        if len(files) < 2 or found is None:
            kept.append(note)
        elif found.group("file") == files[0]:
            kept.append(f"{files[0]} and {counted(len(files) - 1, 'other ServiceNow export')}"
                        f": {found.group('said')}")
    return kept


def _group_text(cells: dict[str, pa.Array], n: int) -> pa.Array:
    """Per row, its update within its record: the record's checkpoint, else its time and
    user (an update is a record's checkpoint, else its rows of one time and user)."""
    stamps = (stripped(cells["record_checkpoint"]) if "record_checkpoint" in cells
              else repeated_text("", n))
    return pc.if_else(pc.equal(stamps, ""), pc.binary_join_element_wise(
        cells["sys_created_on"], cells["user"], pa.scalar("|", TEXT)), stamps)


def _update_keys(frame: pd.DataFrame) -> pa.Array:
    """Per row of a sys_audit frame: its update as one text, its record (documentkey,
    stripped), a unit separator and its update within the record (`_group_text`)."""
    cells = text_columns(frame, [str(c) for c in frame.columns], only=(
        "documentkey", "user", "sys_created_on", "record_checkpoint"))
    return pc.binary_join_element_wise(stripped(cells["documentkey"]),
                                       _group_text(cells, len(frame)), pa.scalar(_UNIT, TEXT))


_UNIT = "\x1f"


CONTENT = ("documentkey", "fieldname", "oldvalue", "newvalue", "user", "sys_created_on",
           "record_checkpoint")
"""The columns that say what an audit row is (its sys_id aside, and columns an export may
or may not hold): two exports' rows equal in these are one row exported twice."""


@dataclass
class Join:
    """What one ServiceNow export's reading takes from the run's other ServiceNow exports
    (`cut_updates`): an update (a record's checkpoint) cut in two by the paging of an export
    by row count has rows in two files."""

    carried: list[dict[str, str]] = field(default_factory=list)
    """Rows of other exports that complete this export's updates (cells by column, the row's
    number in its own file under "_row", and "1" under "_pulled" where that file is a JSON
    pull, its time UTC), read after its own rows."""
    dropped: set[str] = field(default_factory=set)
    """The updates (`_update_keys`) of this export whose rows are read with another
    export's."""
    quarantine: list[tuple[int, str, str, str, str]] = field(default_factory=list)
    """(row, field, value, reason, record) of rows that may not be joined."""
    notes: list[str] = field(default_factory=list)
    votes: dict[str, Vote] = field(default_factory=dict)
    """The users named by all rows, in every export, of the updates (`_update_keys`) this
    export reads with rows of another: its author is decided over them all (`Vote`)."""

    def votes_by_update(self, documents: pa.Array, groups: pa.Array,
                        first: npt.NDArray[np.intp]) -> dict[int, Vote]:
        """`votes` by update (its place in `first`, each update's first row)."""
        if not self.votes or not len(first):
            return {}
        at = pa.array(first)
        keys = pc.binary_join_element_wise(documents.take(at), groups.take(at),
                                           pa.scalar(_UNIT, TEXT))
        asked = np.flatnonzero(np.asarray(pc.is_in(keys, value_set=pa.array(
            list(self.votes), TEXT)).to_numpy(zero_copy_only=False), dtype=bool))
        return {int(k): self.votes[str(keys[int(k)].as_py())] for k in asked}

    def applied(self, frame: pd.DataFrame,
                rows: npt.NDArray[np.int64]) -> tuple[pd.DataFrame, npt.NDArray[np.int64]]:
        """`frame` (and its `rows`) without the rows dropped, with the rows carried."""
        if self.dropped:
            keep = ~np.asarray(pc.is_in(_update_keys(frame), value_set=pa.array(
                sorted(self.dropped), TEXT)).to_numpy(zero_copy_only=False), dtype=bool)
            frame, rows = frame[keep].reset_index(drop=True), rows[keep]
        if self.carried:
            columns = list(frame.columns)
            extra = pd.DataFrame([[row.get(str(c), "") for c in columns]
                                  for row in self.carried], columns=columns, dtype=object)
            frame = pd.concat([frame.astype(object), extra], ignore_index=True)
            rows = np.concatenate([rows, np.asarray(
                [int(row["_row"]) for row in self.carried], dtype=np.int64)])
        return frame, rows


def cut_updates(paths: list[Path], labels: dict[Path, str],
                encoding: str | None = None,
                updates: list[pa.Array | None] | None = None,
                zone: Callable[[], str | None] | None = None) -> dict[Path, Join]:
    """The updates that several of the run's ServiceNow exports hold rows of, joined: an
    export paged by row count cuts the update that spans a page's end, and the half
    without the stage change would otherwise be read as an update of no activity, its
    evidence, amount or ticket number lost. Each such update is read by the export that
    holds its first row read (in the inputs' order; a row left out for its user or time is
    none: an export all of whose rows of it are left out quarantines them and leaves the
    update to the next), with the rows the others add to it
    (`Join.carried`); the others leave their rows of it to that export (`Join.dropped`,
    with a note naming the rows), unless they hold the whole update (an export of an
    overlapping date range: read again and counted as exported twice, as before). The
    update's author is decided over its rows in all of them (`Vote`, as within an export;
    `Join.votes` for the export reading it): rows naming another user, or every row where
    no author can be told, and rows whose time (as an instant) lies more than
    `TIME_TOLERANCE` seconds from its rows there and those joined to it, are no part of it
    that can be told safely: quarantined in their own export, naming the file, row and
    field (rows a few seconds apart are one update, as within an export: a page may end
    between rows of an update that crosses a second boundary; the set of its rows read is
    `_window`'s over its rows in all of them naming its author, and the update is read at
    the earliest time of its rows, those joined too). Only exports
    that share an update get a `Join`. `updates`: per export, its distinct updates where its
    reading gave them (`Collector.update_keys`); else each export is read for them. `zone`:
    gives the zone of the CSV exports' local times, by which their rows' times are compared
    with a JSON pull's (UTC) where the exports sharing updates are of both kinds."""
    if len(paths) < 2:
        return {}
    # Each file's updates as texts (record, a unit separator, update), column-wise, its
    # distinct ones kept (not its frame: ten pages of a 1M-case export held at once cost the
    # import 0.6 GB at its peak); the files holding an update another holds are read again,
    # and those updates' rows taken as Python texts.
    distinct: list[tuple[int, pa.Array]] = []
    for k, path in enumerate(paths):
        # (Given: each export's distinct updates as its reading found them.)
        found = updates[k] if updates is not None else _file_update_keys(path, encoding)
        if found is not None:
            distinct.append((k, pc.unique(found)))
        del found
    if len(distinct) < 2:
        return {}
    every = pa.chunked_array([keys for _, keys in distinct], TEXT)
    counts = pc.value_counts(every)
    shared = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    del every, counts
    if not len(shared):  # (exports of other records, or of other updates: most runs)
        return {}
    sharing = [k for k, keys in distinct if pc.any(pc.is_in(keys, value_set=shared)).as_py()]
    del distinct
    # Per update (record, update): per file, its rows as (content, cells, row).
    held: dict[tuple[str, str], dict[int, list[
        tuple[tuple[str, ...], dict[str, str], int, float | None]]]] = {}
    pulled_ones = {k: servicenow_json.is_json(paths[k]) for k in sharing}
    # A CSV export beside a JSON pull: their times compared as instants (UTC), as the one
    # writes local times and the other UTC; else as written, as always.
    local_zone = zone() if zone is not None else None
    mixed_zone = local_zone if len(set(pulled_ones.values())) > 1 else None
    for k in sharing:
        table, _set_aside, pulled = _read_rows(paths[k], encoding)
        frame, rows = table.frame, np.asarray(table.rows, dtype=np.int64)
        keys = _update_keys(frame)
        at = np.flatnonzero(np.asarray(pc.is_in(keys, value_set=shared).to_numpy(
            zero_copy_only=False), dtype=bool))
        if not len(at):
            continue
        part = frame.iloc[at].astype(object)
        names = [str(c) for c in part.columns]
        for cells, key, number in zip(part.itertuples(index=False, name=None),
                                      keys.take(pa.array(at)).to_pylist(), rows[at].tolist(),
                                      strict=True):
            row = dict(zip(names, ("" if c is None else str(c) for c in cells), strict=True))
            content = tuple(row.get(c, "").strip() for c in CONTENT)
            # (the instant of its time as written: before, of a CSV export beside a JSON
            # pull, taken of the UTC text below, which is no time in TIME_FORMAT, so none,
            # and a row a second off the update's rows on another page not joined)
            instant = _seconds(content[5], pulled, local_zone)
            if mixed_zone is not None:
                content = (*content[:5], _instant(content[5], pulled, mixed_zone),
                           *content[6:])
            document, _, group = key.partition(_UNIT)
            held.setdefault((document, group), {}).setdefault(k, []).append(
                (content, row, number, instant))
        del table, frame, rows, keys
    joins: dict[Path, Join] = {}

    def join_of(k: int) -> Join:
        return joins.setdefault(paths[k], Join())

    # per owner: (record, update, file, its rows read with the owner's, a whole copy)
    cut: dict[int, list[tuple[str, str, int, list[int], bool]]] = {}
    for (document, group), files in held.items():
        if len(files) < 2:
            continue
        first_file, *rest = sorted(files)
        whole = {c for k in files for c, _, _, _ in files[k]}
        # The whole update exported again (an overlapping date range): read there too, and
        # counted as exported twice, as before; else its rows are read with the others'.
        joining = [k for k in rest if {c for c, _, _, _ in files[k]} != whole]
        # The update's rows, each once (the first file's copy), in the inputs' order.
        members: dict[tuple[str, ...], tuple[int, int, float | None]] = {}
        for k in [first_file, *joining]:
            for content, _, number, instant in files[k]:
                members.setdefault(content, (k, number, instant))
        # The update's author is decided over all its rows, here and joined, as within one
        # export (`_off_user`: the user most of them name, an empty user naming none).
        vote = Vote.of([content[4] for content in members])
        # Its time, as within one export (`_off_time`): the largest set of its rows read
        # (those naming its author) within TIME_TOLERANCE seconds of each other, over all
        # its rows on every page (before: the next page's rows compared with the rows of
        # the first page within TIME_TOLERANCE of its first row, even a row left out for its
        # user, or stating no time, which left the whole update out).
        authored = [content for content in members if vote.off(content[4]) is None]
        timed = [(i, instant) for i, content in enumerate(authored)
                 if (instant := members[content][2]) is not None]
        if timed and (vote.author is not None or not vote.counts):
            head = members[authored[0]][2]
            inside_at, _ = _window(sorted(timed, key=lambda t: (t[1], t[0])), head)
            inside = {authored[i] for i in inside_at}
        else:  # (no time stated: left to its first row's quarantine, as within an export)
            inside = set(authored)
        # Read by the export holding its first row read (of those within the set and naming
        # its author; before: its first row, even one left out, the update then read at that
        # row's time and naming it); the earlier exports' rows of it are quarantined there.
        owner = next((members[c][0] for c in members if c in inside), first_file)
        own = files[owner]
        contents = {content for content, _, _, _ in own}
        # (the time of its first row read there, as written, for the reason)
        stated = next((row for c, row, _, _ in own if c in inside), own[0][1]).get(
            "sys_created_on", "").strip()
        if joining or owner != first_file:
            join_of(owner).votes[document + _UNIT + group] = vote
        for k in [j for j in sorted(files) if j != owner]:
            theirs = files[k]
            again = k != first_file and k not in joining
            if not again:
                join_of(k).dropped.add(document + _UNIT + group)
            taken: list[int] = []
            for content, row, number, instant in theirs:
                why = vote.off(content[4])
                if content not in inside or why is not None:
                    if again:
                        continue  # (its own reading tells its time and user)
                    cut_at = (f"a row of update {group} of record {document}, cut between "
                              f"{labels[paths[owner]]} (from row {own[0][2]}) and this "
                              "export, ")
                    change = row.get("fieldname", "").strip()
                    written = row.get("sys_created_on", "").strip()
                    if why is None:
                        this = ("is empty" if not written else "is no time" if instant is None
                                else f"more than {TIME_TOLERANCE} seconds from them")
                        join_of(k).quarantine.append((
                            number, "sys_created_on", written,
                            f"a row of update {group} of record {document}, whose rows in "
                            f"{labels[paths[owner]]} (from row {own[0][2]}) state "
                            f"sys_created_on {stated} (this row's {this}): not one update, "
                            "not joined", document))
                    elif vote.author is not None:
                        join_of(k).quarantine.append((
                            number, "user", row.get("user", "").strip(),
                            f"{cut_at}whose user is not the update's (one user's "
                            f"transaction: {why}): not joined, its change of {_named(change)} left "
                            "out of the update", document))
                    else:
                        join_of(k).quarantine.append((
                            number, "user", row.get("user", "").strip(),
                            f"{cut_at}whose author is not known (one user's transaction: "
                            f"{why}): the update is not read, nor this row's change of "
                            f"{_named(change)}", document))
                    continue
                if content not in contents:
                    contents.add(content)
                    join_of(owner).carried.append({**row, "_row": str(number),
                                                   "_pulled": "1" if pulled_ones[k] else ""})
                    taken.append(number)
                elif not again:
                    taken.append(number)
            if taken:
                cut.setdefault(owner, []).append((document, group, k, taken, again))
    for owner, joined in cut.items():
        first_document, first_group, k, taken, _ = joined[0]
        by_file: dict[int, int] = {}
        for _d, _g, j, numbers, _again in joined:
            by_file[j] = by_file.get(j, 0) + len(numbers)
        join_of(owner).notes.append(
            f"{labels[paths[owner]]}: {len(joined)} update(s) cut between this export and "
            + ", ".join(f"{labels[paths[j]]} ({n} row(s))" for j, n in by_file.items())
            + " (pages of an export by row count?) read as one event each with their rows "
            f"there, e.g. update {first_group} of record {first_document} with "
            f"{labels[paths[k]]} row(s) {_rows_text(taken)}")
        for j in by_file:
            mine = [(d, g, numbers) for d, g, i, numbers, again in joined
                    if i == j and not again]
            if mine:
                join_of(j).notes.append(
                    f"{labels[paths[j]]}: {sum(len(n) for _, _, n in mine)} row(s) complete "
                    f"{len(mine)} update(s) cut at the end of {labels[paths[owner]]}, read "
                    f"with them there, e.g. rows {_rows_text(mine[0][2])} (update "
                    f"{mine[0][1]} of record {mine[0][0]})")
    return joins


def _instant(text: str, pulled: bool, zone: str) -> str:
    """A row's sys_created_on as UTC (ISO 8601): a JSON pull's as UTC, a CSV export's in
    `zone`; as written where it is no time there (it then matches no other row's)."""
    try:
        return local_to_utc(text, TIME_FORMAT, servicenow_json.UTC_ZONE if pulled else zone)
    except BadValue:
        return text


def _seconds(text: str, pulled: bool, zone: str | None) -> float | None:
    """A row's sys_created_on as an instant (seconds since the epoch): a JSON pull's as
    UTC, a CSV export's in `zone`; None where it is no time there, or no zone is known."""
    where = servicenow_json.UTC_ZONE if pulled else zone
    if where is None:
        return None
    try:
        return datetime.fromisoformat(local_to_utc(text, TIME_FORMAT, where)).timestamp()
    except BadValue:
        return None


def _file_update_keys(path: Path, encoding: str | None) -> pa.Array | None:
    """The update of each row of the sys_audit export at PATH (`_update_keys`), or None
    where it cannot be read as one (its reading tells what is wrong, in its place among
    the inputs)."""
    try:
        table, _set_aside, _pulled = _read_rows(path, encoding)
    except (InputError, OSError):
        return None
    if not set(KEY_COLUMNS) <= set(map(str, table.frame.columns)):
        return None
    return _update_keys(table.frame)


def _rows_text(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers[:5])) + (", ..." if len(numbers) > 5 else "")


#: Seconds the rows of one update (a record's checkpoint) may lie apart and still be read
#: as one update, at the earliest time they state. ServiceNow writes an update's sys_audit
#: rows in one transaction, each stamped as it is written: a large update (an insert of a
#: dozen fields, business rules running in between) can cross one or two second
#: boundaries. Five seconds holds that, yet far less than any time the audit judges by (an
#: SLA, a stage limit or a grace period is minutes to days), and a person's next update is a
#: new checkpoint anyway. A row further from the others is not read as part of the update.
TIME_TOLERANCE = 5


def _rows_of_split_updates(column: pa.Array, kept: npt.NDArray[np.intp],
                          group: npt.NDArray[np.intp], first: npt.NDArray[np.intp], own: int,
                          excluded: set[int] | None = None,
                          ) -> tuple[pa.Array, dict[int, list[int]]]:
    """`column`'s texts of the rows of `kept` (null as ""), and the updates to look at row by
    row, as {update: the positions in `kept` of its rows}: those of which a row of the
    export's own (the first `own`) states another text than the update's first row, or
    holds a row of `excluded` (rows, as rows of the export, already left out of their
    update: not among its positions, the update read from its others). Column-wise: the
    updates whose rows all state their first row's text are none of them."""
    if not len(kept):
        return pa.array([], pa.string()), {}
    blank = pa.scalar("", column.type)
    written = pc.fill_null(column.take(pa.array(kept)), blank)
    stated = pc.fill_null(column.take(pa.array(first[group])), blank)
    mine = kept < own
    differ = ~np.asarray(pc.equal(written, stated).to_numpy(zero_copy_only=False), dtype=bool)
    out = np.isin(kept, np.asarray(sorted(excluded or ()), dtype=kept.dtype))
    asked = np.unique(group[(differ & mine) | out])
    rows_of: dict[int, list[int]] = {}
    if len(asked):
        for j in np.flatnonzero(np.isin(group, asked) & mine & ~out).tolist():
            rows_of.setdefault(int(group[j]), []).append(j)
    return written, rows_of


@dataclass
class Vote:
    """The users the rows of one update (a record's checkpoint) name: how many of them name
    each (`counts`, empty users left out: they name none) of its `rows`."""

    counts: dict[str, int]
    rows: int

    @classmethod
    def of(cls, names: list[str]) -> Vote:
        counts: dict[str, int] = {}
        for name in names:
            if name:
                counts[name] = counts.get(name, 0) + 1
        return cls(counts, len(names))

    @property
    def author(self) -> str | None:
        """The user more of its rows name than all the others together (a majority of the
        rows naming one); None where none is (no author can be told), or none is named."""
        if not self.counts:
            return None
        name = max(self.counts, key=lambda n: self.counts[n])
        return name if 2 * self.counts[name] > sum(self.counts.values()) else None

    def off(self, name: str) -> str | None:
        """Why a row naming `name` is not read with the update, None where it is."""
        author = self.author
        if author is None:
            return None if not self.counts else (
                "no author can be told: no user is named by most of its rows naming one ("
                + ", ".join(f"{n} by {c}" for n, c in self.counts.items())
                + f", of its {self.rows} rows)")
        if name and name != author:
            return (f"its author is {author}, named by {self.counts[author]} of its "
                    f"{self.rows} rows; this row's is {name}")
        return None


def _off_user(users: pa.Array, kept: npt.NDArray[np.intp], group: npt.NDArray[np.intp],
              first: npt.NDArray[np.intp], own: int, given: dict[int, Vote] | None = None,
              ) -> tuple[list[tuple[int, int, str]], dict[int, str], set[int]]:
    """The rows (of `kept`) not read for their `user`, as (row, update, reason), by row; the
    author of each update whose rows do not all state its first row's user, as {update:
    author}; and the updates no author of which can be told. An update (a record's
    checkpoint) is one user's transaction; a row naming another has been edited or damaged,
    and the author decides the segregation-of-duty rules (four-eyes, self-approval). The
    author is the user named by more of its rows than all other users together (`Vote`): a
    row naming another is not read. Where no user is (three rows naming three users, two
    naming two), who made the update cannot be told: none of its rows is read. A row whose
    user is empty names no other and is read (its change belongs to the checkpoint;
    dropping it would lose a stage or evidence for a gap in a column), the update's author
    being the one its other rows name; an update none of whose rows names a user has none,
    as before. Only the export's own rows are asked (the first `own`: rows another export
    carries were compared by `cut_updates`); `given`: the votes over all rows, in every
    export, of updates joined with another export's rows (`Join.votes`), by update.
    Column-wise: updates whose rows all state their first row's user are not looked at,
    unless given."""
    written, rows_of = _rows_of_split_updates(users, kept, group, first, own)
    if given:
        for j in np.flatnonzero(np.isin(group, list(given)) & (kept < own)).tolist():
            k = int(group[j])
            if k not in rows_of or j not in rows_of[k]:
                rows_of.setdefault(k, []).append(j)
    found: list[tuple[int, int, str]] = []
    authors: dict[int, str] = {}
    unauthored: set[int] = set()
    for k, members in rows_of.items():
        named = [(j, str(written[j].as_py())) for j in sorted(members)]
        vote = (given or {}).get(k) or Vote.of([name for _, name in named])
        if not vote.counts:
            continue
        if vote.author is None:
            unauthored.add(k)
        else:
            authors[k] = vote.author
        found.extend((int(kept[j]), k, why) for j, name in named
                     if (why := vote.off(name)) is not None)
    return sorted(found), authors, unauthored


def _off_time(created: pa.Array, kept: npt.NDArray[np.intp], group: npt.NDArray[np.intp],
              first: npt.NDArray[np.intp], zone: str, own: int,
              excluded: set[int] | None = None,
              carried: dict[int, float | None] | None = None,
              ) -> tuple[list[tuple[int, int, str]], dict[int, int]]:
    """The rows (of `kept`) whose sys_created_on is not their update's, as (row, update,
    reason), by row, and the updates to be read at another row's time than their first
    row's, as {update: that row}. Rows of one update are rows of one record checkpoint,
    which ServiceNow writes in one transaction (an update without a checkpoint is its rows
    of one time and user: none differs). The update is the largest set of its rows whose
    times lie within `TIME_TOLERANCE` seconds of each other (of sets alike, the one holding
    its first row, else the earliest), read at the earliest time they state (of rows alike,
    the first); a row stating no time, or a time outside that set, was not exported as
    written, or is no part of it that can be told, and its time would otherwise be ignored
    unsaid. Updates none of whose rows states a time are left to their first row's
    quarantine. Only the export's own rows are asked (the first `own`: rows another export
    carries were compared with the update by `cut_updates`, a JSON pull's in UTC).
    Column-wise: updates whose rows all state their first row's text are not parsed.
    `excluded`: rows (as rows of the export, like those returned) already left out of their
    update (`_off_user`): not asked, and their update read at its earliest other row.
    `carried`: the instants (seconds, None for no time) of rows another export adds to its
    updates (from row `own` on, `Join.carried`), judged with the update's rows here (the
    set taken over all), as in one export, though only the export's own rows are returned
    and read at (`cut_updates` judged the others in their own export)."""
    written, rows_of = _rows_of_split_updates(created, kept, group, first, own, excluded)
    # (an update joined with rows of another export: its rows here judged with those)
    joined: dict[int, list[int]] = {}
    for j in np.flatnonzero(kept >= own).tolist() if carried else []:
        joined.setdefault(int(group[j]), []).append(j)
    for k in joined:
        if k not in rows_of:
            rows_of[k] = [j for j in np.flatnonzero(group == k).tolist()
                          if kept[j] < own and int(kept[j]) not in (excluded or ())]
    found: list[tuple[int, int, str]] = []
    earliest: dict[int, int] = {}
    for k, members in rows_of.items():
        at: dict[int, float] = {}
        for j in members:
            text = written[j].as_py()
            try:
                at[j] = datetime.fromisoformat(local_to_utc(text, TIME_FORMAT, zone)
                                               ).timestamp()
            except BadValue as exc:
                found.append((int(kept[j]), k, "empty" if not text.strip() else str(exc)))
        for j in joined.get(k, []):
            if (instant := (carried or {}).get(int(kept[j]))) is not None:
                at[j] = instant
        if not at:
            # (its update is quarantined at its first row; its other rows with it)
            found = [f for f in found if f[1] != k]
            continue
        # (the first row's time, where it states one: of the export's own rows, else of
        # those joined)
        head = at.get(members[0]) if members else at.get(joined.get(k, [-1])[0])
        inside, _ = _window(sorted(at.items(), key=lambda item: (item[1], item[0])), head)
        # (read at its earliest row here within the set; a joined row's time, where
        # earlier, is taken by `read`)
        mine = [j for j in inside if kept[j] < own]
        if mine:
            earliest[k] = int(kept[min(mine, key=lambda j: (at[j], j))])
        found.extend((int(kept[j]), k, "another time, more than "
                      f"{TIME_TOLERANCE} seconds from the update's")
                     for j in at if j not in inside and kept[j] < own)
    return sorted(found), earliest


def _window(order: list[tuple[int, float]], head: float | None) -> tuple[set[int], int]:
    """Of rows (key, seconds), sorted by seconds then key: the keys of the largest set
    whose times lie within `TIME_TOLERANCE` seconds of each other (of sets alike, the one
    holding `head`, the update's first row's time, else the earliest), and its earliest
    row's key. Windows [start, start + tolerance] from each row's time, in one pass (an
    update of many rows is not compared row by row with every other)."""
    seconds = [time for _, time in order]
    best, end = (-1, False, 0), 0
    for i, start in enumerate(seconds):
        end = max(end, i)
        while end + 1 < len(seconds) and seconds[end + 1] - start <= TIME_TOLERANCE:
            end += 1
        holds_head = head is not None and seconds[i] <= head <= seconds[end]
        key = (end - i + 1, holds_head, -i)
        if key > best:
            best = key
    low = -best[2]
    return {j for j, _ in order[low:low + best[0]]}, order[low][0]


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
             names: list[str], rows_of: dict[str, dict[int, int]] | None = None,
             row_numbers: npt.NDArray[np.int64] | None = None,
             ) -> dict[str, dict[int, str | None]]:
    """For each of `names`: the updates read (`good`) that change it, by their place among
    those read (`position`), and the value their last row of that field writes (None where
    blank), as the updates' changes would give them to `updates_to_table`. `update` and
    `fields` are per kept row (`kept`: their rows in `values`). `rows_of`, where given,
    is filled alike for the names it holds (its keys) with the export's row (`row_numbers`,
    per row of `values`) of each such last row: the row a quarantine line of that field
    names."""
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
        places = position[updates[read]].tolist()
        changed[name] = dict(zip(places,
                                 pc.if_else(blank, pa.scalar(None, TEXT), written).to_pylist(),
                                 strict=True))
        if rows_of is not None and row_numbers is not None and name in rows_of:
            rows_of[name] = dict(zip(places, row_numbers[kept[rows[last[read]]]].tolist(),
                                     strict=True))
    return changed
