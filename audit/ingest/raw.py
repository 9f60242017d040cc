"""The shape every reader hands to the normaliser: the records of one file, as read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

IdOfText = Callable[[str], tuple[str, str]]
"""Of an event id a reader made, the export's column(s) stating it and their cells, as
`IdCells.derive` gives them."""

FieldsOfRows = Callable[[pd.DataFrame, np.ndarray, np.ndarray], Sequence[str]]
"""Of a `RawTable` (its frame), the positions of some of its rows and their row numbers:
the field each of those rows' value of one canonical column was read from (or, as
`RawTable.field_values`, that value's text as the file wrote it)."""


@dataclass(frozen=True, eq=False)
class IdCells:
    """Of an export a source adapter read: where each record's event id was read, for the
    quarantine line of an id that the import finds given twice with other content (in two
    exports, or an export beside a canonical log): the export's column(s) stating the id
    (several joined with ", ", as a time read from several columns is named) and their
    cells as the export wrote them (joined likewise), not the id the reader made of them
    (`stripe:ch_...`, `zendesk:101:9002`), which appears nowhere in the export.

    Looked up for those records only, in the importing process after the files are read
    (a worker process's reader is gone by then): so it is small and can be pickled.
    `derive` reads the cells back from the event id (the reader made it of their trimmed
    text; a module-level function, or a `functools.partial` of one); `written` holds, by
    row number, the records whose cells `derive` does not give as written (spaces around
    a cell, a type written `Settled` and read `settled`): found column-wise while reading,
    usually none. `other_rows` (sorted row numbers) and `other`: records whose id was read
    from another column than `derive` names, which `other` names (an Adyen sale whose
    report states a `Modification Reference`): a row number each, not a record's cells, as
    a report may give every row so (a settlement details report of a million rows).
    """

    derive: IdOfText
    written: dict[int, tuple[str, str]] = field(default_factory=dict)
    other_rows: np.ndarray | None = None
    other: IdOfText | None = None

    def of(self, event_id: str, row: int) -> tuple[str, str]:
        """The field and value of the record at `row` whose event id is `event_id`."""
        found = self.written.get(row)
        if found is not None:
            return found
        if self.other is not None and self.other_rows is not None:
            at = int(np.searchsorted(self.other_rows, row))
            if at < len(self.other_rows) and int(self.other_rows[at]) == row:
                return self.other(event_id)
        return self.derive(event_id)


@dataclass
class RawTable:
    """The records of one input file before mapping and type conversion.

    ``frame`` has one row per input record, columns named as in the file (XES keys such as
    ``concept:name``; trace attributes prefixed ``case:``), values as read: strings, or numbers
    and booleans where the format types them. Timestamps stay text (or pandas datetimes for
    Parquet) so that one place decides on time zones. ``rows`` holds the source row number of each
    record: the spreadsheet row for CSV (header = row 1), the 1-based event ordinal for XES and
    OCEL, the 1-based row for Parquet.
    """

    frame: pd.DataFrame
    rows: np.ndarray
    system: str
    file: Path
    notes: list[str] = field(default_factory=list)
    """Lines for the run summary, e.g. events that a flattening left out of scope and why."""
    records_read: int | None = None
    """Records read from the file; defaults to ``len(frame)``."""
    deduplicated: int = 0
    """Records exported twice (same id, same content) that the reader dropped and counted;
    not part of ``records_read``."""
    skipped: int = 0
    """Updates of a ticketing export that change no field its sources configuration maps
    (tags, assignee): no events, counted in the notes; not part of ``records_read``."""
    update_keys: object | None = None
    """Of a ServiceNow export: its distinct updates (record and update, a pyarrow array of
    texts), by which `audit.sources.servicenow.cut_updates` finds the updates that exports
    paged by row count cut in two."""
    people: object | None = None
    """Of a Jira export: its display names stated with an accountId (`jira.Accounts`)."""
    arrow_text: bool = False
    """The text cells are Arrow-backed pandas string columns rather than object columns of
    str (the CSV fast path); columns that pass through unconverted are handed on as object."""
    fields: dict[str, str] = field(default_factory=dict)
    """Of an export a source adapter read (its records carry canonical column names): per
    canonical column, the export's column (or ticket field) its values were read from, as
    the auditor sees it (Stripe `amount`, PayPal `Gross`, Zendesk `created_at`): the
    quarantine and the errors of the normaliser name it instead of the canonical name."""
    field_rows: dict[str, FieldsOfRows] = field(default_factory=dict)
    """Where the rows of one canonical column were read from different fields (a ticket's
    amount from one of several amount fields): a function giving the field of each of the
    rows asked (`FieldsOfRows`). Called for quarantined rows only, so that the rows
    imported cost nothing."""
    field_values: dict[str, FieldsOfRows] = field(default_factory=dict)
    """Where a reader converted a canonical column's values (Stripe's minor units to major
    ones, a PayPal time to UTC): a function giving, of each of the rows asked, the text of
    the cell (or cells, joined with ", " as `fields` names them) as the file wrote it, for
    the quarantine's `value`, so that the auditor finds it in the file. Called for
    quarantined rows only, as `field_rows`."""
    field_notes: dict[str, str] = field(default_factory=dict)
    """Per canonical column, what its quarantine lines' reason adds about where the value
    was read (a ticket's currency, stated by another update than the row's)."""
    id_cells: IdCells | None = None
    """Of an export a source adapter read: where its records' event ids were read
    (`IdCells`)."""
    nested: dict[str, str] = field(default_factory=dict)
    """Of a typed file (Parquet): its columns of a nested type (list, struct, map), each
    with its type as the file declares it. Their cells are Python lists, dicts or tuples;
    read as text they would become Python reprs (`['Approve']`), so the normaliser refuses
    one that a canonical column is read from, naming it (`normalise`)."""
    narrow_floats: dict[str, int] = field(default_factory=dict)
    """Of a typed file (Parquet): its float columns narrower than float64, each with its
    bit width (32, 16). The reader widens them to float64, so the normaliser learns here
    that such a column read as text (an id) holds whole numbers exactly only up to 2^24
    (float32) or 2^11 (float16), not float64's 2^53 (`normalise`)."""

    def __post_init__(self) -> None:
        if len(self.rows) != len(self.frame):
            raise ValueError("rows must number the frame's records one to one")
        if self.records_read is None:
            self.records_read = len(self.frame)
