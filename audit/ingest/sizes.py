"""The bound on one value's length, against hostile input.

An export an insider under audit could have altered may hold one cell of tens of megabytes
(a 50 MB cell of a CSV log was imported whole: 0.7 GB of memory, and then written whole
into the log, the quarantine and the reports). No real export's field comes near
`MAX_CELL`: a Zendesk comment is bounded at about 65,000 characters, a Jira text field at
32,767 by default, a Stripe metadata value at 500, an Excel cell at 32,767. A record with a
longer value is quarantined (`too_long_reason`), naming its file, row and field; the XES
reader's own limit (10,000,000 characters, the XML parser's) ends a file before that.

A value shown where it is not the point (the quarantine's `value` of a record, an error
line) is cut to its start with a visible marker (`cut`), so that one record does not make a
quarantine line of 50 MB.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MAX_CELL = 1_000_000
"""The longest value (characters) of any field the import takes: about 15 times the longest
real field found (a Zendesk comment, ~65,000 characters)."""

SHOWN = 1_000
"""Characters of an over-long value the quarantine shows (`cut`)."""

REPORT_VALUE = 10_000
"""The longest text report.html and compare.md write whole, and discovery.json, variants.csv
and compare.json: a longer one (a hostile export's value of up to `MAX_CELL`, which the
import takes) is cut to its start with the marker of `cut`; findings.json and findings.csv
keep it whole. Before, each such value was
written whole, once per place it is shown (a 170 MB input made a report of 234 MB)."""

QUARANTINE_CELL = 32_767
"""The longest value the quarantine shows whole: Excel's limit of a cell (the quarantine is
a CSV an auditor opens in a spreadsheet; a longer cell spills or is refused)."""


MAX_TEXT_FLOOR = 128 * MAX_CELL
"""The text (bytes, once decoded) a Parquet log may hold in all however small its file
(`max_log_text`): 128 values at `MAX_CELL`; 7 times a log of 20 notes of 900,000
characters, which compress to 57 KB (313 times)."""

MAX_EXPANSION = 1_000
"""How many times its file's size a Parquet log's text may be once decoded, above
`MAX_TEXT_FLOOR` (`max_log_text`). Measured: the demo's log holds 3.1 times its size,
a log of 1,000 e-mail threads of 70,000 characters 2.9; a log of 2,196 events of 14
labels of 200,000 characters holds 439 MB in 19-48 KB, 9,000-22,700 times (zstd; 19,322
bytes with the labels a dictionary, 22,730 times; 48,777 plain, 9,004 times). The tool
writes a log whose text would be more uncompressed (`audit.store.write_import`), so that
it reads every log it writes, where that is within `MAX_PLAIN_GROWTH` of its inputs."""


MAX_PLAIN_GROWTH = 10
"""How many times its inputs' bytes, added up, the text of a log the import writes plain
and uncompressed may be (`audit.store.write_import`: a log whose text compresses beyond
`max_log_text`): a log of legitimately long text holds about its inputs' text (a CSV of 20
notes of 900,000 characters: 1.0 times);
long values repeated from a small input (an XES trace's attribute copied onto each of its
events, 216 times; a Parquet log within `MAX_EXPANSION`) are refused instead of written
as large as their text."""


def max_log_text(file_bytes: int) -> int:
    """The most bytes of text (and binary values) a Parquet log of `file_bytes` may hold
    once decoded, its columns added up: Parquet stores a run or a repeat of one value in a
    few bytes, so that a 19 KB log held 439 MB of text (each value within `MAX_CELL`); a
    log whose text is in proportion to its bytes reads whatever its size."""
    return max(MAX_TEXT_FLOOR, MAX_EXPANSION * file_bytes)


MAX_NAME = 10_000
"""The longest column name (characters) the import takes: a real export's are short (a
Salesforce field label is at most 255 characters); a longer one is refused, as it would be
written into the log's schema and every report naming the column."""


def refuse_long_names(names: list[str], file: str | Path | None) -> None:
    """InputError naming the first column whose name is longer than `MAX_NAME`: before, a
    CSV column name of 1,200,000 characters was imported into the log whole."""
    from audit.errors import InputError

    for at, name in enumerate(names):
        if len(name) > MAX_NAME:
            raise InputError(f"column {at + 1}'s name is {len(name):,} characters long, "
                             f"longer than the {MAX_NAME:,} any real export's column name "
                             f"needs: {cut(name, 100)!r} (see docs/security.md)", file=file)


MAX_COLUMNS = 16_384
"""The most columns a file's records may have: Excel's widest sheet (column XFD), so that
no export made to be opened in a spreadsheet is refused. Each column costs the import
about a millisecond however few its rows (pandas' work per column, as it is mapped,
checked and written): a 2.7 MB CSV of 200,003 columns and 3 rows did not finish in 120 s,
one of 40,003 columns took 48 s and 0.68 GB."""


def refuse_many_columns(names: list[str], file: str | Path | None) -> None:
    """InputError where a file's records have more columns than `MAX_COLUMNS`, naming the
    count and the first column past the bound (by its place among the file's columns).
    The canonical columns (and the STATED ones correlation adds) are not counted: a
    canonical log `import` wrote holds the input's columns and these, and is read back by
    `check` and `import` (before, an input of as many columns as the bound was imported
    and its log refused)."""
    from audit import canonical as C
    from audit.errors import InputError

    own = {*C.COLUMNS, *C.STATED.values()}
    counted = [at for at, name in enumerate(names) if name not in own]
    if len(counted) > MAX_COLUMNS:
        besides = (f" besides {len(names) - len(counted):,} named as the canonical log's "
                   "columns" if len(counted) < len(names) else "")
        past = counted[MAX_COLUMNS]  # (named by its place in the file)
        raise InputError(f"{len(counted):,} columns{besides}, more than the {MAX_COLUMNS:,} of a "
                         "spreadsheet's widest sheet, which no real export passes (column "
                         f"{past + 1:,}: {cut(names[past], 100)!r}): refused "
                         "before its records are mapped, each column costing the import "
                         "about a millisecond (see docs/security.md)", file=file)


def refuse_many_joined_columns(joined: dict[str, str], names: list[str], input_: str,
                               file: str | Path) -> None:
    """Add to `joined` (a column's name -> the input it came from first, by its label) the
    columns of the log of an input (`input_`, read from `file`: `names`) not the canonical
    log's (nor the STATED ones); InputError, naming the input and those before it, where
    the inputs joined so far pass `MAX_COLUMNS`: the log they make would be refused by
    `check` and a second `import` (`refuse_many_columns`). Before, the log of two CSVs of
    37 columns of their own each (the bound at 40) was written with 74 and refused by
    every reading after."""
    from audit import canonical as C
    from audit.errors import InputError

    own = {*C.COLUMNS, *C.STATED.values()}
    added = 0
    for name in names:
        if name not in own and name not in joined:
            joined[name] = input_
            added += 1
    if len(joined) <= MAX_COLUMNS:
        return
    others: dict[str, int] = {}
    for of in joined.values():
        if of != input_:
            others[of] = others.get(of, 0) + 1
    listed = ", ".join(f"{of}: {count:,}" for of, count in list(others.items())[:5])
    if len(others) > 5:
        listed += f" and {len(others) - 5:,} other inputs"
    made = (f"its columns add {added:,} to the {len(joined) - added:,} of the inputs before "
            f"it ({listed}): a log of" if others else "its log would hold")
    past = list(joined)[MAX_COLUMNS]
    raise InputError(f"{made} {len(joined):,} columns besides the canonical log's, more than the "
                     f"{MAX_COLUMNS:,} of a spreadsheet's widest sheet, which `check` and "
                     f"`import` refuse to read (the first past the bound: "
                     f"{cut(past, 100)!r}, of {joined[past]}): refused before the log is "
                     "written; import these inputs apart, or with fewer columns (see "
                     "docs/security.md)", file=file)


def too_long(length: int) -> str:
    return (f"value of {length:,} characters, longer than the {MAX_CELL:,} any real export's "
            "field holds (see docs/security.md)")


def too_long_reason(length: int) -> str:
    return f"{too_long(length)}: not imported"


def cut(text: str, keep: int = SHOWN, *, told: bool = False) -> str:
    """`text`, or where longer than `keep` characters its start with a marker saying how
    long it is; `told`: and the first 16 hex digits of its SHA-256, so that two texts cut
    stay two (`cut_all`)."""
    if len(text) <= keep:
        return text
    if told:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return f"{text[:keep]}… [cut: {len(text):,} characters in all, sha256 {digest}]"
    return f"{text[:keep]}… [cut: {len(text):,} characters in all]"


def cut_all(value: object, keep: int = REPORT_VALUE, *, whole: tuple[str, ...] = ()) -> Any:
    """`value` (a document for JSON: mappings, lists, texts, numbers) with each text longer
    than `keep` characters cut (`cut`, its marker holding the text's digest), mapping keys
    too; the texts under a key named in `whole` are left as they are (a variant's
    sequence, joined of labels cut each). Before, the marker held the length alone: two
    activity labels of one length and the same first 10,000 characters were cut to one
    key, and discovery.json listed 3 activities of 4, their events adding to 15 of 18."""
    if type(value) is str:
        return cut(value, keep, told=True)
    if isinstance(value, dict):
        return {cut(key, keep, told=True) if type(key) is str else key:
                item if key in whole else cut_all(item, keep, whole=whole)
                for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [cut_all(item, keep, whole=whole) for item in value]
    return value


def size(value: object) -> int:
    """How long `value` is, counted as the bound counts: a text's characters, bytes' bytes (a
    Parquet binary column), and of a list or a mapping (a Parquet list or struct, an OCEL
    attribute holding a list or an object) the sizes of what it holds, added up; 0 for a
    number or a missing value. Before, only a text was measured: a Parquet column of
    binary, list or struct values took a value of 1,200,000 characters whole."""
    if type(value) is str:
        return len(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    if isinstance(value, dict):
        return sum(size(key) + size(item) for key, item in value.items())
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "US":
            return int(np.char.str_len(value).sum()) if value.size else 0
        if value.dtype != object:
            return 0
        return sum(size(item) for item in value.ravel().tolist())
    if isinstance(value, list | tuple | set | frozenset):
        return sum(size(item) for item in value)
    return 0


_HOLDERS = (bytes, bytearray, memoryview, dict, np.ndarray, list, tuple, set, frozenset)
"""What `size` measures besides a text (a number or a missing value is not looked into)."""


def lengths_over(values: pd.Series, limit: int = MAX_CELL) -> np.ndarray | None:
    """Per value of `values`, its length in characters where it is a text longer than
    `limit` (its `size`, where it is bytes, a list or a mapping), else 0; None where no
    value is (the usual case, found without a length per value where the column's text is
    held by Arrow: its byte lengths bound the characters)."""
    array = values.array
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = lengths_over(pd.Series(values.cat.categories), limit)
        if categories is None:
            return None
        codes = values.cat.codes.to_numpy()
        found: np.ndarray = np.where(codes >= 0, categories[np.maximum(codes, 0)], 0)
        return found
    if isinstance(array, pd.arrays.ArrowStringArray) or (
            hasattr(array, "__arrow_array__") and pd.api.types.is_string_dtype(values.dtype)):
        import pyarrow as pa
        import pyarrow.compute as pc

        chunked = pa.chunked_array(array.__arrow_array__())
        if not pa.types.is_string(chunked.type) and not pa.types.is_large_string(chunked.type):
            return None
        most = pc.max(pc.binary_length(chunked)).as_py()
        if most is None or most <= limit:  # (a character takes a byte at least)
            return None
        chars = pc.fill_null(pc.utf8_length(chunked), 0).to_numpy(zero_copy_only=False)
        over = np.where(chars > limit, chars, 0).astype(np.int64)
        return over if over.any() else None
    if values.dtype != object:
        return None
    texts = values.to_numpy()
    each = np.fromiter((len(v) if type(v) is str else size(v) if isinstance(v, _HOLDERS)
                        else 0 for v in texts), dtype=np.int64, count=len(texts))
    if not len(each) or int(each.max()) <= limit:
        return None
    return np.where(each > limit, each, 0)


def cut_values(quarantine: pd.DataFrame, column: str = "value") -> pd.DataFrame:
    """`quarantine` with each of its `column`'s texts longer than `QUARANTINE_CELL`
    characters cut to its start (`cut`); the frame itself where none is."""
    if column not in quarantine.columns or not len(quarantine):
        return quarantine
    over = lengths_over(quarantine[column].astype(object), QUARANTINE_CELL)
    if over is None:
        return quarantine
    values = quarantine[column].astype(object).to_numpy().copy()
    for at in np.flatnonzero(over):
        values[at] = cut(str(values[at]))
    quarantine = quarantine.copy()
    quarantine[column] = values
    return quarantine
