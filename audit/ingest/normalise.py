"""Turn a RawTable into canonical rows plus quarantine rows, losing nothing.

Every record of the input ends in exactly one of the two: the canonical log, or the quarantine
(one line per failed field, with file, row, field, value and reason).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from audit import canonical as C
from audit.currency import CURRENCIES, minor_units
from audit.errors import InputError
from audit.ingest.mapping import Mapping, case_twins, resolve_columns
from audit.ingest.raw import FieldsOfRows, IdCells, RawTable
from audit.ingest.sizes import (
    cut,
    cut_values,
    lengths_over,
    refuse_long_names,
    refuse_many_columns,
    too_long_reason,
)
from audit.ingest.timestamps import SET_A_FORMAT, parse_timestamps
from audit.words import counted

T = TypeVar("T")

QUARANTINE_COLUMNS = ("file", "row", "field", "value", "reason", "case", "record_read")
QUARANTINE_HINTS = ("charge", "order")
"""Of a payment record that names no ticket, or a generic log's row that names no case (its
case id blank): the charge it is or refunds, and its order.
A reader gives them with its quarantine lines (`Collector.belongs`), `normalise` with the
lines of its own checks (an amount too large, a time out of range); the import holds them
apart (`ImportResult.quarantine_hints`) and, once correlated, names the case that charge or
order is in as the line's case (`audit.sources.pipeline`). Never written."""

ABOVE_CHARGE_HINTS = ("above_charge", "charge_amount", "charge_currency")
"""Of a Stripe Dashboard payment's `Amount Refunded` line where it is above the payment's
`Amount` (the kind of the line, told by its reader, never by its reason's text): the
payment's id, and its `Amount` (as read, in major units) and `Currency` as the export states
them. The import holds them apart with `QUARANTINE_HINTS` (`ImportResult.above_charge`);
before, the line was picked by a phrase of its reason, so another line quoting that phrase
(a Failed payment's cell) was counted, and the check took the Amount from the log. Never
written."""

REFUND_TOTAL_HINT = "refund_total"
"""Of a Stripe Dashboard payment's `Amount Refunded` line of a refund the export gives only
as a total (`audit.sources.payments.REFUND_NOT_ITEMISED`: a total read, unreadable, negative,
not stated under a refunded status, or above the payment's Amount): `yes`, told by its
reader (`Collector.quarantine`'s `not_itemised`), never by the reason's text (before, the
import picked such lines by that phrase, so a Failed payment's cell quoting it was counted as
a refund no input itemises). Held apart with `QUARANTINE_HINTS`; never written."""

TICKET_HINT = "ticket"
"""Of a generic log's row (a till's POS export, whose `source:system` is no export system):
the ticket it names (`ticket:id`), given with its quarantine lines beside
`QUARANTINE_HINTS`: where the import joins the log's events to the ticket's refund case
(`audit.sources.pipeline.join_generic_events`), the line names that case. Never written."""

RECORD_READ = "record_read"
"""The quarantine's column telling a line of one field alone (`yes`: an approval's unreadable
amount, a ticket's currency that is no code, a Zendesk order given as a list; its record was
read and imported without that field, so the line names no row left out) from a line of a
row not imported (`no`). Set by the reader that writes the line (`Collector.quarantine`'s
`alone`), never told from the line's text: before, the reason's ending told it, and an
export's own text (a ServiceNow `fieldname`) written into a reason could end alike, a row
not imported then counted as read. A quarantine written before the column (`LOG.
quarantine.csv` of an older import) has none: its lines are all of rows not imported."""


def field_only(quarantine: pd.DataFrame) -> np.ndarray:
    """Per line of `quarantine`, whether it quarantines one field of a record that was
    imported all the same (its `RECORD_READ` is `yes`): no row not imported. Such lines are
    written to the quarantine with the others but counted apart
    (`ImportResult.fields_unread`). A quarantine without the column: none."""
    if RECORD_READ not in quarantine.columns:
        return np.zeros(len(quarantine), dtype=bool)
    flags: np.ndarray = quarantine[RECORD_READ].astype(object).to_numpy() == "yes"
    return flags.astype(bool)


def record_read_filled(quarantine: pd.DataFrame) -> pd.DataFrame:
    """`quarantine` with its `RECORD_READ` column (added where missing) holding `no` on each
    line that states none (a line made by no reader: the normaliser's, the import's)."""
    column = (quarantine[RECORD_READ].astype(object) if RECORD_READ in quarantine.columns
              else pd.Series([None] * len(quarantine), index=quarantine.index, dtype=object))
    quarantine[RECORD_READ] = column.where(column == "yes", "no")
    first = [name for name in QUARANTINE_COLUMNS if name in quarantine.columns]
    return quarantine[first + [name for name in quarantine.columns if name not in first]]


_EXPORT_SYSTEMS = ("zendesk", "jira", "servicenow", "stripe", "paypal", "adyen")
"""The systems whose records an adapter reads (`audit.ingest.SOURCE_SYSTEMS`): a record's
case is decided by correlation, its ticket is the case it names."""
_PAYMENT_SYSTEMS = ("stripe", "paypal", "adyen")
"""Of those, the payment systems: a record naming no ticket gives its charge and order with
its quarantine lines (QUARANTINE_HINTS)."""
_PLAIN_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")
"""A plain decimal number: ASCII digits only (``\\d`` takes any script's digits, which Arrow's
cast refuses and pandas then made NaN: an amount lost without a quarantine line)."""
MAX_AMOUNT = 1e15
"""The largest amount taken (major units). Beyond it no refund is real, and 400 nines read
as infinity: summed, reported and written to JSON as such. Below it, an amount of a known
currency of 2^53 of its minor units or more (90,071,992,547,409.92 EUR, 9,007,199,254,740.992
KWD), where a float keeps no whole number of them, is refused too (`_refuse_sub_minor`)."""
_TOO_LARGE = "amount too large (beyond 10^15 major units)"


@dataclass
class Normalised:
    log: pd.DataFrame
    quarantine: pd.DataFrame
    records_read: int
    notes: list[str] = field(default_factory=list)
    """What the file's reading found worth telling (`merged_ids_note`)."""
    id_field: str = C.EVENT_ID
    """The file's column its event ids were read from, for the quarantine line of an id
    the import finds given twice with other content (a mapped `EID`, a canonical log's
    `event:id`); an export's records name theirs by `id_cells`."""
    id_cells: IdCells | None = None
    """Of an export a source adapter read: the column(s) and cells each record's event id
    was read from (`RawTable.id_cells`)."""
    dropped_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    """The reader's rows (`RawTable.rows`) of which no record was imported: each record of
    them quarantined here. A reader's line of one field alone of such a row (`RECORD_READ`
    yes) names no record read any more (`import`'s reading sets it to no)."""


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in QUARANTINE_COLUMNS})


def _by_codes(series: pd.Series, categories: pd.Series) -> pd.Series | None:
    """Categorical `series` with each category replaced by its text in `categories`; None
    where that text is not Arrow-backed."""
    if not isinstance(categories.array, pd.arrays.ArrowStringArray):
        return None
    import pyarrow as pa

    codes = series.cat.codes.to_numpy()
    values = pa.chunked_array(categories.array.__arrow_array__()).combine_chunks()
    taken = values.take(pa.array(codes, mask=codes < 0))
    return pd.Series(pd.arrays.ArrowStringArray(taken), index=series.index, name=series.name)


def _as_string(series: pd.Series) -> pd.Series:
    """``series.astype("string")``; a categorical of text (a Parquet dictionary column) is
    written as its categories' text taken by its codes (`canonical.category_text`: pandas
    would make a Python object for every row first, seconds a column at millions of rows);
    a zone-aware time beyond Python's years as `_far_time_text` writes it."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        text: pd.Series = C.category_text(series)
        return text
    try:
        return series.astype("string")
    except (NotImplementedError, OverflowError, ValueError):
        if not isinstance(series.dtype, pd.DatetimeTZDtype):
            raise
        return _far_time_text(series)


def _far_time_text(series: pd.Series) -> pd.Series:
    """A zone-aware time column as text where pandas cannot write it: a time beyond Python's
    years 1-9999 (Parquet's microseconds reach them) is written through Python's datetime,
    which raised NotImplementedError. numpy's ISO 8601 text instead, in UTC with the offset
    as pandas writes it (`-18525-10-08 23:54:18.648576+00:00`); missing stays missing."""
    utc = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    seconds = utc.astype("datetime64[s]")
    fraction = bool(((seconds != utc) & ~np.isnat(utc)).any())  # (all with it, as pandas)
    text = pd.Series(np.datetime_as_string(utc, unit="us" if fraction else "s"),
                     index=series.index, name=series.name, dtype="string")
    text = text.str.replace("T", " ", n=1, regex=False) + "+00:00"
    return text.mask(series.isna())


def _sorted_codes(series: pd.Series, texts: pd.Series) -> pd.Series | None:
    """Categorical `series` with each category replaced by its text in `texts` (missing where
    that is), kept as a categorical: each distinct text once, sorted by code point as
    `canonical.compact` sorts a coded column's categories, and the codes renumbered into
    them. What ``texts.take(codes)`` holds, without a string per row. None where `texts` is
    not Arrow-backed."""
    if not isinstance(texts.array, pd.arrays.ArrowStringArray):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pa.chunked_array(texts.array.__arrow_array__()).combine_chunks()
    values = values.cast(pa.large_string())
    if C.ascending_text(pd.Index(pd.arrays.ArrowStringArray(values))):
        # Distinct, sorted, nothing blank (a coded column of a canonical log `import`
        # wrote): the codes kept as they are, not renumbered into a copy beside the file's
        # (at 1M cases the evidence columns' copies made `normalise` 0.4 GB more).
        kept = C._trusted_categorical(series.array.codes,
                                      pd.Index(pd.arrays.ArrowStringArray(values)))
        return pd.Series(kept, index=series.index, name=series.name, copy=False)
    distinct = pc.unique(values.drop_null())
    distinct = distinct.take(pc.array_sort_indices(distinct))
    position = pc.index_in(values, value_set=distinct).fill_null(-1)
    renumber = np.append(np.asarray(position, dtype=np.int32), np.int32(-1))
    codes = renumber[series.cat.codes.to_numpy()]  # (a missing value's code -1: the last)
    coded = pd.Categorical.from_codes(
        codes, categories=pd.Index(pd.arrays.ArrowStringArray(distinct)))
    return pd.Series(coded, index=series.index, name=series.name)


def _with_columns(frame: pd.DataFrame, columns: dict[Any, Any]) -> pd.DataFrame:
    """`frame` with `columns` set as `frame[name] = values` would set each (a Series aligned
    on the index, a scalar repeated), the new ones joined in one step (see `normalise`)."""
    new = {name: values for name, values in columns.items() if name not in frame.columns}
    for name, values in columns.items():
        if name not in new:
            frame[name] = values
    if not new:
        return frame
    return pd.concat([frame, pd.DataFrame(new, index=frame.index)], axis=1)


def _text(series: pd.Series, *, coded: bool = False) -> pd.Series:
    """Strip text; blank becomes NA. Non-text values are written as text. A categorical is
    stripped one category at a time; with `coded` (a column the import codes anyway) it stays
    a categorical (`_sorted_codes`) instead of becoming a text per row."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        texts = _text(pd.Series(series.cat.categories))
        taken = _sorted_codes(series, texts) if coded else _by_codes(series, texts)
        if taken is not None:
            return taken
    out = _as_string(series)
    if isinstance(out.array, pd.arrays.ArrowStringArray):
        # What .str.strip() and .mask(eq("")) do, but sharing the input's buffers where
        # nothing is stripped or blank (most columns): less memory for large files.
        import pyarrow as pa
        import pyarrow.compute as pc

        values = pa.chunked_array(out.array.__arrow_array__())
        # Trimming only ever removes characters: where a block's trimmed texts are as long
        # as its texts, nothing in it is stripped. Looked at a block at a time, so that a
        # column with nothing to strip (most) is not copied whole to find that out (the
        # 7.3M event ids of a 1M-case log: 0.3 GB that Arrow's allocator then kept).
        stripped = any(
            pc.sum(pc.binary_length(pc.utf8_trim_whitespace(block))).as_py()
            != pc.sum(pc.binary_length(block)).as_py()
            for block in (values.slice(start, _TRIM_BLOCK)
                          for start in range(0, len(values), _TRIM_BLOCK)))
        trimmed = pc.utf8_trim_whitespace(values) if stripped else values
        blank = pc.equal(trimmed, pa.scalar("", type=trimmed.type))
        if pc.any(blank).as_py():
            trimmed = pc.if_else(blank, pa.scalar(None, type=trimmed.type), trimmed)
        return pd.Series(pd.arrays.ArrowStringArray(trimmed), index=out.index, name=out.name)
    out = out.str.strip()
    return out.mask(out.eq(""))


_TRIM_BLOCK = 1 << 18
"""Texts `_text` looks at a time for anything to strip."""


def merged_ids(raw: pd.Series, trimmed: pd.Series | None = None) -> dict[str, list[str]]:
    """The ids that two or more different texts of `raw` become once trimmed (`_text`: `" sp"`
    and `"sp "` are the case `sp`), each with those texts (sorted); `trimmed` is `_text(raw)`
    where the caller has it. A categorical is looked at by its categories in use."""
    if isinstance(raw.dtype, pd.CategoricalDtype):
        codes = raw.cat.codes.to_numpy()
        texts = _as_string(pd.Series(raw.cat.categories[np.unique(codes[codes >= 0])]))
        trimmed = None
    else:
        texts = _as_string(raw)
    if trimmed is None or isinstance(trimmed.dtype, pd.CategoricalDtype):
        trimmed = _text(texts)
    if _total_length(texts) == _total_length(trimmed):  # (trimming only ever removes)
        return {}
    differs = (texts != trimmed).fillna(False).to_numpy(dtype=bool)
    if not differs.any():  # (nothing trimmed: most files)
        return {}
    pairs = pd.DataFrame({"raw": texts.to_numpy(dtype=object),
                          "id": trimmed.to_numpy(dtype=object)})
    pairs = pairs[pairs["id"].isin(set(pairs["id"][differs]))].drop_duplicates()
    grouped = pairs.groupby("id", sort=True)["raw"].agg(lambda r: sorted(r))
    return {str(k): list(v) for k, v in grouped.items() if len(v) > 1}


def _total_length(text: pd.Series) -> int:
    """The length of all of `text`'s values together (in UTF-8 bytes where Arrow holds them)."""
    if isinstance(text.array, pd.arrays.ArrowStringArray):
        import pyarrow as pa
        import pyarrow.compute as pc

        values = pa.chunked_array(text.array.__arrow_array__())
        return int(pc.sum(pc.binary_length(values)).as_py() or 0)
    return int(text.str.len().sum())


def merged_ids_note(file: str, merged: dict[str, list[str]]) -> str:
    """The note telling the case ids of one file that differ only in the spaces around them,
    and are one case: "audits.csv: 1 case written with different spaces around its id is
    one case (case ids are read trimmed): ' sp', 'sp ' -> 'sp'"."""
    shown = "; ".join(f"{', '.join(repr(t) for t in texts)} -> {case!r}"
                      for case, texts in list(merged.items())[:3])
    more = f"; and {len(merged) - 3:,} more" if len(merged) > 3 else ""
    one = len(merged) == 1
    return (f"{file}: {counted(len(merged), 'case', spec=',')} written with different spaces "
            f"around {'its id is one case' if one else 'their ids are one case each'} (case "
            f"ids are read trimmed): {shown}{more}")


def _translated(text: pd.Series, table: dict[str, str] | None) -> pd.Series:
    """Each text that `table` (a mapping's `values:` for the column) names replaced by its
    value; a categorical's categories replaced and kept coded."""
    if not table:
        return text
    if isinstance(text.dtype, pd.CategoricalDtype):
        categories = pd.Series(text.cat.categories).astype("string")
        changed = categories.where(~categories.isin(list(table)),
                                   categories.map(table)).astype("string")
        coded = _sorted_codes(text, changed)
        if coded is not None:
            return coded
    known = _mask(text.isin(list(table)))
    if not known.any():
        return text
    result = text.astype(object)
    result[known] = [table[str(v)] for v in text[known].tolist()]
    return result.astype(text.dtype) if not isinstance(text.dtype, pd.CategoricalDtype) \
        else result.astype("string")


def _changed_case(text: pd.Series, method: str) -> pd.Series:
    """``text.str.upper()`` or ``.lower()``; a categorical's categories changed and kept
    coded."""
    if isinstance(text.dtype, pd.CategoricalDtype):
        changed = getattr(pd.Series(text.cat.categories).astype("string").str, method)()
        coded = _sorted_codes(text, changed)
        if coded is not None:
            return coded
    result: pd.Series = getattr(text.str, method)()
    return result


def _composed(text: pd.Series) -> pd.Series:
    """`text` in Unicode's composed form (NFC): `ausgeführt` written as `u` and a combining
    diaeresis (as some editors and systems on macOS write it) is the `ü` of the same label
    elsewhere. Canonically equivalent texts look alike and mean alike, but compare unequal:
    a policy or SOP naming `Auszahlung ausgeführt` in one form mapped no event of a log
    holding the other, and every payout was an unmapped activity. The policy's labels and
    tasks and the SOPs' task names are composed as read (`audit.policy`,
    `conformance.bpmn.clean_name`; roles and people are compared by keys that fold them).
    A categorical's categories composed and kept coded; text that is all ASCII (most) is
    returned as it is."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(text.dtype, pd.CategoricalDtype):
        categories = pd.Series(text.cat.categories).astype("string")
        if categories.str.isascii().all():
            return text
        coded = _sorted_codes(text, _composed(categories))
        if coded is not None:
            return coded
    if isinstance(text.array, pd.arrays.ArrowStringArray):
        values = pa.chunked_array(text.array.__arrow_array__())
        if pc.all(pc.string_is_ascii(values), skip_nulls=True).as_py() is not False:
            return text
        composed = pc.utf8_normalize(values, form="NFC")
        return pd.Series(pd.arrays.ArrowStringArray(composed), index=text.index,
                         name=text.name)
    return text.map(lambda v: unicodedata.normalize("NFC", v) if isinstance(v, str) else v)


def _flags(reason: pd.Series, candidates: np.ndarray) -> np.ndarray:
    """``reason.ne("").to_numpy()``, looking only at the candidate rows (the others are known
    to have no reason)."""
    flags = candidates.copy()
    if flags.any():
        flags[flags] = reason.to_numpy(dtype=object)[flags] != ""
    return flags


def _mask(condition: pd.Series) -> np.ndarray:
    return condition.to_numpy(dtype=bool, na_value=False)


def _arrow_cast(text: pd.Series, dtype: str) -> pd.Series | None:
    """Arrow-backed `text` cast by Arrow to numpy `dtype` ('int64', 'float64'), without a
    Python str per row; None where the text is not Arrow-backed, Arrow refuses a value, or
    (integers) a value is missing: the caller's pandas way decides those."""
    if not isinstance(text.array, pd.arrays.ArrowStringArray):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        numbers = pc.cast(pa.chunked_array(text.array.__arrow_array__()),
                          pa.int64() if dtype == "int64" else pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if dtype == "int64" and numbers.null_count:
        return None
    return pd.Series(numbers.to_numpy(), index=text.index, name=text.name, dtype=dtype)


def _row_numbers(text: pd.Series) -> pd.Series:
    """``text.astype("int64")``; Arrow-backed text of plain integers is cast by Arrow (the same
    numbers), anything Arrow refuses goes the pandas way."""
    cast = _arrow_cast(text, "int64")
    if cast is not None:
        return cast
    converted: pd.Series = text.astype("int64")
    return converted


def _numbers(text: pd.Series) -> pd.Series:
    """``pd.to_numeric(text, errors="coerce")`` as float64 for text already known to be plain
    decimals (or missing): Arrow-backed text is cast by Arrow (correctly rounded, as Python's
    float() is), anything Arrow refuses (e.g. non-ASCII digits) goes the pandas way."""
    cast = _arrow_cast(text, "float64")
    if cast is not None:
        return cast
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _is_number(values: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(values.dtype)
            and not pd.api.types.is_bool_dtype(values.dtype))


def _typed_amounts(values: pd.Series) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """Amounts that a typed input (Parquet, a canonical log) holds as numbers: taken as they
    are, not written as text and read back. An infinite or negative value is quarantined, as
    its text would be, and so is a NaN that a reader keeps apart from a missing value (XES
    `<float value="NaN"/>`, see `xes.typed_array`: the text "NaN" is quarantined too); a
    missing one stays missing."""
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    not_finite = np.isinf(numbers)
    if isinstance(values.array, pd.arrays.FloatingArray):  # (NaN and <NA> told apart)
        not_finite |= np.isnan(numbers) & ~values.isna().to_numpy(dtype=bool)
    with np.errstate(invalid="ignore"):
        negative = ~not_finite & (numbers < 0)
        large = ~not_finite & (numbers > MAX_AMOUNT)
    # The reasons as codes (a byte per row, not a pointer): read only at the flagged rows.
    codes = np.zeros(len(numbers), dtype=np.int8)
    codes[not_finite] = 1
    codes[negative] = 2
    codes[large] = 3
    reasons = pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index([
        "", "not a finite number", "negative amount (amounts are magnitudes in major units)",
        _TOO_LARGE])), index=values.index)
    flagged = not_finite | negative | large
    if flagged.any():
        numbers = np.where(flagged, np.nan, numbers)
    numbers = numbers + 0.0  # -0.0 is 0.0 (it is no negative amount, nor shown as -0.00)
    return pd.Series(numbers, index=values.index, name=values.name), reasons, flagged


def sub_minor_reason(code: str) -> str:
    """The reason of an amount with more decimals than its currency has minor units."""
    units = minor_units(code)
    return (f"more decimals than {code} has ({units}): not a whole number of its minor units "
            f"(an amount in {code} has at most {counted(units, 'decimal')})")


_EXACT = 2.0 ** 53
"""Minor units beyond which a float keeps no whole number of them (2^53 + 1 has none)."""


def inexact_reason(code: str) -> str:
    """The reason of an amount in `code` too large for a float to keep its minor units."""
    units = minor_units(code)
    largest = _EXACT / 10.0 ** units
    return (f"amount too large to keep exactly: 2^53 minor units of {code} or more "
            f"({largest:,.{units}f}), where a float keeps no whole number of them")


_AMOUNT_BLOCK = 1 << 20
"""Amounts `_refuse_sub_minor` looks at a time."""


def minor_unit_faults(values: np.ndarray,
                      currencies: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per amount (`values`, floats in major units, NaN for none) in the currency at its
    position in `currencies`: (whether it is no whole number of that currency's minor
    units, whether it is 2^53 of them or more); both false for no amount and for amounts
    of no or an unknown currency. An amount is a whole number of minor units where it is
    the float nearest to one: `round(amount * 10^units) / 10^units` gives it back (within
    4 ulps, for a reader whose float is not the nearest one). Column-wise: each distinct
    currency's minor units looked up once, by its code (not a comparison of every row's
    text per currency: 7M amounts 0.47 -> 0.26 s)."""
    codes, uniques = pd.factorize(currencies)
    units = [minor_units(str(c)) if str(c) in CURRENCIES else -1 for c in uniques]
    judged = ~np.isnan(values) & np.array([u >= 0 for u in units] + [False])[codes]
    if not judged.any():  # (no amount, or none of a known currency)
        return judged, judged
    factor = np.array([10.0 ** max(u, 0) for u in units] + [1.0])[codes]
    scaled = values * factor
    large = judged & (np.abs(scaled) >= _EXACT)
    with np.errstate(invalid="ignore"):
        back = np.round(scaled) / factor
        off = judged & ~large & (np.abs(values - back) > 4 * np.spacing(np.abs(values)))
    return np.asarray(off, dtype=bool), np.asarray(large, dtype=bool)


def _refuse_sub_minor(amounts: pd.Series, currencies: pd.Series,
                      reasons: dict[str, pd.Series], flags: dict[str, np.ndarray]) -> None:
    """Mark the amounts (not already refused) with more decimals than their row's currency
    has minor units, `100.5` JPY or `10.123` EUR, for the quarantine (`sub_minor_reason`).
    Before, they were imported and the findings rounded them half-even to the currency's
    units, silently. An amount is a whole number of minor units where it is the float
    nearest to one: `round(amount * 10^units) / 10^units` gives it back (within 4 ulps, for
    a reader whose float is not the nearest one). Before, a difference of up to 10^-6 minor
    units passed, so 1.0000000001 EUR and 1000.0000001 JPY were imported as they were
    written and shown as 1.00 and 1000. Amounts of 2^53 minor units and beyond, where a
    float keeps no whole number of them (99999999999999.99 EUR read as 1e14), are marked
    too (`inexact_reason`). Amounts of no or an unknown currency are not judged; trailing
    zeros (`10.10`) are no extra decimals."""
    # A block of rows at a time (its temporaries, not the log's: a canonical log's 7M
    # amounts are read beside the month's exports at the import's peak).
    found = np.zeros(len(amounts), dtype=bool)
    exceeding = np.zeros(len(amounts), dtype=bool)
    why: dict[str, str] = {}
    too_large: dict[str, str] = {}
    for start in range(0, len(amounts), _AMOUNT_BLOCK):
        block = slice(start, start + _AMOUNT_BLOCK)
        values = amounts.iloc[block].to_numpy(dtype="float64", na_value=np.nan)
        off, large = minor_unit_faults(values, currencies.iloc[block])
        if off.any() or large.any():
            found[block] = off | large
            exceeding[block] = large
            for code in currencies.iloc[block][off].unique().tolist():
                why.setdefault(str(code), sub_minor_reason(str(code)))
            for code in currencies.iloc[block][large].unique().tolist():
                too_large.setdefault(str(code), inexact_reason(str(code)))
    already = flags.get(C.AMOUNT)
    if already is not None:
        found &= ~already
    if not found.any():
        return
    reason = reasons.get(C.AMOUNT)
    reason = (pd.Series("", index=amounts.index, dtype=object) if reason is None
              else reason.astype(object))
    off = found & ~exceeding
    reason[off] = np.array([why[str(c)] for c in currencies[off].tolist()], dtype=object)
    large = found & exceeding
    if large.any():
        reason[large] = np.array([too_large[str(c)] for c in currencies[large].tolist()],
                                 dtype=object)
    reasons[C.AMOUNT] = reason
    flags[C.AMOUNT] = found if already is None else (already | found)


def _stray_mark(mark: str, mapping: Mapping) -> str:
    """Why an amount holding `mark`, neither the decimal mark nor the thousands separator,
    is quarantined."""
    separator = (f"the thousands separator {mapping.thousands!r}" if mapping.thousands
                 else "a thousands separator (none is set)")
    return (f"not a plain decimal number: {mark!r} is neither the decimal mark "
            f"{mapping.decimal!r} nor {separator}: set 'decimal'/'thousands' in a mapping "
            "file for this notation")


def _not_plain(mapping: Mapping) -> str:
    """Why an amount that is no number in the mapping's notation is quarantined: the way to
    write one in that notation (`1.234,56` where the mapping says `decimal: ","` and
    `thousands: "."`), not the default's `1234.56` a mapping has already set aside."""
    if mapping.decimal == "." and not mapping.thousands:
        return ("not a plain decimal number (write 1234.56; set 'decimal'/'thousands' in a "
                "mapping file for other notations)")
    example = (f"1{mapping.thousands}234{mapping.decimal}56" if mapping.thousands
               else f"1234{mapping.decimal}56")
    thousands = f", thousands {mapping.thousands!r}" if mapping.thousands else ""
    return (f"not a plain decimal number (write {example}, as the mapping's decimal "
            f"{mapping.decimal!r}{thousands} say)")


def other_digit(value: str) -> str:
    """The first digit of `value` that is not one of ASCII 0-9 (Arabic-Indic, full-width, ...),
    or ''."""
    return next((c for c in value if c.isdecimal() and not c.isascii()), "")


def other_digit_reason(digit: str) -> str:
    """Why an amount holding `digit` (`other_digit`) is refused: every reader's words."""
    return (f"digits other than ASCII 0-9 ({digit!r}, {unicodedata.name(digit, '?')}): "
            "write amounts with the digits 0-9")


def _parse_amounts(
    text: pd.Series, mapping: Mapping
) -> tuple[pd.Series, pd.Series, np.ndarray]:
    cleaned = text
    misgrouped = pd.Series(False, index=text.index)
    if mapping.thousands:
        # A separator only between groups of three digits, before any decimal mark: with
        # `thousands: ","`, "49,99" is no 4999 and "1,5" no 15 (a decimal comma misread).
        sep, mark = re.escape(mapping.thousands), re.escape(mapping.decimal)
        grouped = rf"^[+-]?[0-9]{{1,3}}(?:{sep}[0-9]{{3}})+(?:{mark}[0-9]*)?$"
        misgrouped = (text.str.contains(mapping.thousands, regex=False)
                      & ~text.str.fullmatch(grouped)).fillna(False).astype(bool)
        cleaned = cleaned.str.replace(mapping.thousands, "", regex=False)
    if mapping.decimal == ",":
        cleaned = cleaned.str.replace(",", ".", regex=False)
    plain = (cleaned.str.fullmatch(_PLAIN_NUMBER.pattern).fillna(False).astype(bool)
             & ~misgrouped)
    # A mark that is neither the decimal mark nor the thousands separator: with `decimal:
    # ","` and no thousands, "1.234" (meaning 1234) read as 1.234 once "." was left as it
    # stood. Such a value is quarantined, as "1,234" is with the default decimal ".".
    stray: dict[str, pd.Series] = {}
    for mark in (".", ","):
        if mark in (mapping.decimal, mapping.thousands):
            continue
        if mark == "." and mapping.decimal == ",":  # (a "." left reads as a decimal point)
            stray[mark] = text.str.contains(mark, regex=False).fillna(False).astype(bool)
            plain &= ~stray[mark]
        elif (~plain & text.notna()).any():  # (a "," left makes the text no number anyway)
            stray[mark] = (~plain & text.str.contains(mark, regex=False)
                           .fillna(False).astype(bool))
    values = _numbers(cleaned.where(plain))
    reasons = pd.Series("", index=text.index, dtype=object)
    not_plain = text.notna() & ~plain
    negative = plain & values.lt(0)
    large = plain & values.gt(MAX_AMOUNT)  # (400 nines read as infinity)
    unread = plain & text.notna() & values.isna()  # (never a silent NaN)
    reasons[not_plain] = _not_plain(mapping)
    reasons[misgrouped] = (
        f"the thousands separator {mapping.thousands!r} is not between groups of three "
        "digits (a decimal mark written another way?)")
    for mark, holding in stray.items():
        reasons[holding] = _stray_mark(mark, mapping)
    # Digits of another script ("١٢", "１２") are refused, not read: the notation's marks
    # (Arabic "٫" and "٬", full-width "．" and "，") are no 'decimal'/'thousands' a mapping
    # names, so half of such a number would be read. A Python str only for the quarantined
    # rows that hold a character beyond ASCII.
    non_ascii = _mask(not_plain).copy()
    if non_ascii.any():
        non_ascii[non_ascii] = _mask(text[non_ascii].str.contains(r"[^\x00-\x7f]"))
    for row in np.flatnonzero(non_ascii).tolist():
        digit = other_digit(text.iloc[row])
        if digit:
            reasons.iloc[row] = other_digit_reason(digit)
    reasons[negative] = "negative amount (amounts are magnitudes in major units)"
    reasons[large] = _TOO_LARGE
    reasons[unread] = "not read as a number"
    flagged = _flags(reasons, _mask(not_plain) | _mask(negative) | _mask(large)
                     | _mask(unread))
    # "-0" and "-0.00" are no negative amount: read as 0.0, not as -0.0 (shown "-0.00").
    return values.where(~flagged) + 0.0, reasons, flagged


_UPDATES = {"zendesk": "audit(s)", "jira": "changelog history(-ies)",
            "servicenow": "sys_audit update(s)"}
"""How a ticketing system's updates are called, for the empty-file message."""


def no_mapped_update(raw: RawTable) -> str:
    """Why a ticketing export read whole gives no record: none of its updates states an
    activity the sources configuration maps."""
    unit = _UPDATES.get(raw.system, "update(s)")
    return (f"{raw.skipped} {unit} read, none of which states an activity the sources "
            f"configuration maps (a change of a field its `ticketing.{raw.system}` names in "
            "`activities` or as `label_field`): check the field ids there (--sources-config)")


def _at_row(error: InputError, rows: np.ndarray,
            fields_at: Callable[[np.ndarray], str | np.ndarray]) -> InputError:
    """`error` naming the field its row was read from (`RawTable.field_rows`), where the
    rows of its column were read from different fields; else `error` itself."""
    if error.row is None:
        return error
    flagged = rows == error.row
    if not flagged.any():
        return error
    named = fields_at(flagged)
    field = str(named if isinstance(named, str) else named[0])
    if field == error.field:
        return error
    return error.again(field=field)


def _of_an_export(error: InputError) -> InputError:
    """`error` of an export's times without the advice to set a mapping file's
    timestamp_format: an export is read as its system writes it, no mapping applies."""
    advice = f"; {SET_A_FORMAT}"
    if not error.message.endswith(advice):
        return error
    return error.again(error.message.removesuffix(advice) + " (an export's times are read as "
                       "its system writes them: a mapping file does not apply to it)")


_GLANCE = 256
"""Values `_refuse_bytes_not_utf8` looks at for a column's first value."""


def _refuse_bytes_not_utf8(values: pd.Series, rows: np.ndarray, file: str | Path | None,
                           field: str) -> None:
    """InputError naming the first row of `values`, a column a canonical column is read
    from, whose value is bytes that are not UTF-8 text. Such a column (a Parquet column of
    the binary type: bytes, no text declared) is read as text, and pandas' decoding of a
    bad one failed with a traceback. Only a column of Python objects is looked at (no text
    or number column is), and only where its first value is bytes (a glance at its first
    values, not a scan: the exports' object columns of text at 1M cases); it is checked as
    one Arrow array, and the rows are looked at one by one only to name the bad one."""
    if values.dtype != object:
        return
    first = next((v for v in values.array[:_GLANCE]
                  if v is not None and v is not pd.NA and not (isinstance(v, float) and v != v)),
                 None)
    if first is None and len(values) > _GLANCE:
        if pd.api.types.infer_dtype(values, skipna=True) != "bytes":
            return
    elif not isinstance(first, bytes):
        return
    import pyarrow as pa

    try:
        pa.array(values.to_numpy(), type=pa.binary(), from_pandas=True).cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    else:
        return
    for k, value in enumerate(values.tolist()):
        if isinstance(value, bytes):
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"not UTF-8 text: {value[:40]!r} (a column of bytes is "
                                 "read as text)", file=file, row=int(rows[k]),
                                 field=field) from None
    # (bytes beside other values, all UTF-8: read as text as before)


_NESTED_KINDS = (("struct", "a struct (several named fields)"), ("map", "a map (keys and values)"),
                 ("fixed_size_list", "a list"), ("large_list", "a list"), ("list", "a list"))


def _refuse_nested(nested: dict[str, str], resolved: dict[str, str],
                   file: str | Path | None) -> None:
    """InputError naming the first column of a nested type (`RawTable.nested`: a Parquet
    list, struct or map) that a canonical column is read from (mapped, an evidence column,
    or a canonical log's own): each of its cells holds several values, which were written as
    Python reprs (an activity `['Approve']`, a resource `{'n': 'a'}`). Checked on the file's
    schema, once per file. Nested columns that nothing is read from travel along as before."""
    read_from = {source: name for name, source in resolved.items()}
    for column, kind in nested.items():
        target = read_from.get(column) or (
            column if column in C.COLUMNS or column.startswith(C.EVIDENCE_PREFIX) else None)
        if target is None:
            continue
        what = next((said for prefix, said in _NESTED_KINDS if kind.startswith(prefix)),
                    "several values")
        raise InputError(
            f"holds {what} per row (type {kind}), where {target} needs one value per row: "
            f"map {target} to a column of one value (text, number or time) per row, or "
            "flatten this one before the import", file=file, field=column)


NOT_WHOLE = ("not a whole number: read from a column of numbers (floats) as text, where "
             "a whole number reads as its digits (1.0 as 1) and this one names no id")
"""Why a fraction or an infinity in a float column read as text is quarantined."""
_EXACT_UP_TO = {16: 2**11, 32: 2**24, 64: 2**53}
"""Per float width (bits), the magnitude up to which it holds every whole number: from
there on one is stored as a nearby one (float32: 16,777,217 as 16,777,216)."""


def beyond_exact(width: int = 64) -> str:
    """Why a whole number from `_EXACT_UP_TO[width]` on, in a float column (float`width`)
    read as text, is quarantined: the float it is may stand for a nearby whole number (the
    limit itself too: float32's 16,777,216 is also what 16,777,217 is stored as)."""
    limit = _EXACT_UP_TO[width]
    power = limit.bit_length() - 1
    return (f"a whole number of 2^{power} ({limit:,}) or more in a float{width} column, which "
            f"holds whole numbers exactly only up to {limit:,} (one beyond is stored as a "
            "nearby one): its digits may not be the ones written")


BEYOND_EXACT = beyond_exact(64)
"""Why a float64 of 2^53 or more read as text is quarantined (`beyond_exact`)."""


def _whole_number_text(values: pd.Series, width: int = 64) -> tuple[
        pd.Series, pd.Series, tuple[np.ndarray, np.ndarray]]:
    """A float column read as text (a case or order id, written by a tool that made the
    column float, e.g. pandas with a missing value): a whole number as its digits (1.0 as
    "1", so that it matches the id "1" of another file; the text "1.0" did not), a missing
    value or NaN missing. A fraction or infinity (`NOT_WHOLE`) or a magnitude from
    `_EXACT_UP_TO[width]` on (`beyond_exact`; `width` the bits of the column's floats as
    the file stores them: a float32 column is read as float64) is made missing and
    flagged: (the texts, the values as the file holds them to show for the flagged rows,
    (not whole, beyond exact)). Vectorised."""
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    given = ~np.isnan(numbers)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(numbers) & (np.floor(numbers) == numbers)
        exact = np.abs(numbers) < float(_EXACT_UP_TO[width])
    not_whole = given & ~whole
    beyond = given & whole & ~exact
    good = whole & exact
    digits = pd.Series(np.where(good, numbers, 0.0).astype(np.int64), index=values.index,
                       name=values.name).astype("string").mask(~good)
    shown = digits
    if not_whole.any() or beyond.any():
        shown = digits.mask(not_whole | beyond, values.astype("string"))
    return digits, shown, (not_whole, beyond)


def _agreed(frame: pd.DataFrame, rows: np.ndarray, canonical: str, read: str,
            twins: list[str], file: Path,
            values: dict[str, str] | None = None) -> tuple[pd.Series, int]:
    """Column `read` (the one case attribute `canonical` is read from), where it is blank
    filled from `twins`, the file's other spellings of it (pm4py's `case:channel` beside
    `refund:channel`: `mapping.case_twins`). A row where two of them are given (not blank)
    and differ is an input error naming the row and the columns (and the values as
    written): which one holds the case's value is no guess to make (the channel decides
    which SOP and evidence judge the case). They are compared as they are read: each
    translated by `values` (the mapping's `values:` table of `canonical`: `Abo` beside
    `subscription` agrees where it says `Abo: subscription`), a channel then without case;
    an id as written. Returned with the number of its blank rows filled."""
    def text(name: str) -> pd.Series:
        values = frame[name].astype("string").str.strip()
        return values.mask(values.eq("").fillna(False))

    def as_read(written: pd.Series) -> pd.Series:
        read_as = _translated(written, values)
        return read_as.str.casefold() if canonical == C.CHANNEL else read_as

    column = frame[read]
    out = text(read)
    blank = int(out.isna().sum())
    for twin in twins:
        other = text(twin)
        differ = (as_read(out) != as_read(other)).fillna(False)
        differ &= out.notna() & other.notna()
        if differ.any():
            at = int(np.flatnonzero(differ.to_numpy(dtype=bool))[0])
            n = int(differ.sum())
            raise InputError(
                f"columns '{read}' and '{twin}' both give {canonical} (pm4py names a case "
                f"attribute with a 'case:' prefix) and disagree on {n:,} "
                f"row{'s' if n != 1 else ''}, here '{out.iloc[at]}' and "
                f"'{other.iloc[at]}': leave one of them out of the file, or name the one "
                f"to read in a mapping file (--mapping; columns: {{{canonical}: ...}})",
                file=file, row=int(rows[at]), field=f"{read}, {twin}")
        fill = (out.isna() & other.notna()).to_numpy(dtype=bool)
        if fill.any():  # (the cells as written: the quarantine shows them so)
            column = column.astype(object).mask(fill, frame[twin].astype(object))
            out = out.fillna(other)
    return column, blank - int(out.isna().sum())


def normalise(raw: RawTable, mapping: Mapping, *, assume_tz: str | None) -> Normalised:
    """Map, convert and check one input file. Raises InputError if the file is unusable."""
    frame = raw.frame.reset_index(drop=True)
    rows = np.asarray(raw.rows, dtype=np.int64)
    file = raw.file
    if len(frame) == 0 and raw.skipped:  # a ticketing export read whole, no update mapped
        raise InputError(f"no records to import: {no_mapped_update(raw)}", file=file)
    if len(frame) == 0:
        raise InputError("no records to import (the file is empty or has only a header)",
                         file=file)
    refuse_many_columns([str(c) for c in frame.columns], file)
    refuse_long_names([str(c) for c in frame.columns], file)
    resolved = resolve_columns([str(c) for c in frame.columns], mapping, file=file,
                               frame=frame)
    # A reader keeps a float column's NaN apart from its missing values (a Float64 array:
    # XES, Parquet) so that an amount of NaN is quarantined, and an attribute's travels
    # along; in a column read as text (a case id, a ticket id, an evidence item) NaN is
    # missing, as before, not the text "nan".
    texts = {source for name, source in resolved.items() if name != C.AMOUNT}
    for name in [c for c in frame.columns
                 if (c in texts or str(c).startswith(C.EVIDENCE_PREFIX))
                 and isinstance(frame[c].array, pd.arrays.FloatingArray)]:
        frame[name] = frame[name].to_numpy(dtype="float64", na_value=np.nan)
    for name in resolved.values():
        _refuse_bytes_not_utf8(frame[name], rows, file, str(name))
    twin_notes: list[str] = []
    for attribute, twins in case_twins([str(c) for c in frame.columns], resolved, frame,
                                       mapping).items():
        frame[resolved[attribute]], filled = _agreed(frame, rows, attribute,
                                                     resolved[attribute], twins, file,
                                                     mapping.values.get(attribute))
        twin_notes.append(
            f"{file.name}: {', '.join(repr(t) for t in twins)} (pm4py's name of a case "
            f"attribute) agree{'s' if len(twins) == 1 else ''} with '{resolved[attribute]}', "
            f"read as {attribute}, on every row giving both"
            + (f"; {counted(filled, 'row')} where '{resolved[attribute]}' is blank read "
               f"from {'it' if len(twins) == 1 else 'them'}" if filled else ""))
    if raw.nested:
        _refuse_nested(raw.nested, resolved, file)
    from audit.sources.jira import CSV_EXPORT_TOLD, jira_csv_columns

    jira_csv = jira_csv_columns(list(map(str, frame.columns)))
    for required in (C.CASE, C.ACTIVITY, C.TIMESTAMP):
        if required not in resolved and required not in mapping.constants:
            raise InputError(
                f"no column for '{required}' (found: {', '.join(map(str, frame.columns))}); "
                f"name it in a mapping file (--mapping)"
                + (f"; {CSV_EXPORT_TOLD}" if jira_csv else ""), file=file, field=required)

    out: dict[str, pd.Series] = {}
    reasons: dict[str, pd.Series] = {}
    flags: dict[str, np.ndarray] = {}
    shown: dict[str, pd.Series] = {}

    def source(name: str) -> pd.Series:
        if name in resolved:
            return frame[resolved[name]]
        if name in mapping.constants:
            return pd.Series(mapping.constants[name], index=frame.index, dtype=object)
        return pd.Series(pd.NA, index=frame.index, dtype="string")

    def field_name(name: str) -> str:
        """The column the quarantine and errors name: the export's (`RawTable.fields`)
        where an adapter wrote the canonical column, else the file's mapped column."""
        found = resolved.get(name, name)
        return raw.fields.get(name, found) if found == name else found

    def from_reader(table: dict[str, T], name: str) -> T | None:
        """What the reader told in `table` (`RawTable.field_rows`, `field_values`,
        `field_notes`) of canonical column `name`, where the column is not the file's own
        mapped column (an adapter wrote it); else None."""
        return table.get(name) if resolved.get(name, name) == name else None

    def per_row(lookup: FieldsOfRows, flagged: np.ndarray) -> np.ndarray:
        """`lookup` (a reader's `FieldsOfRows`) of the flagged rows, as an object array."""
        at = np.flatnonzero(flagged)
        each = np.empty(len(at), dtype=object)
        each[:] = list(lookup(frame, at, rows[at]))
        return each

    def reason_at(name: str, reason: pd.Series, flagged: np.ndarray) -> np.ndarray:
        """The reasons of the flagged rows, with what the reader adds about where the
        column's values were read (`RawTable.field_notes`)."""
        reasons: np.ndarray = reason[flagged].to_numpy()
        note = from_reader(raw.field_notes, name)
        if note:
            reasons = np.asarray([f"{r}{note}" for r in reasons.tolist()], dtype=object)
        return reasons

    def fields_at(name: str, flagged: np.ndarray) -> str | np.ndarray:
        """`field_name`, or per flagged row the field it was read from where the rows of
        the column were read from different fields (`RawTable.field_rows`)."""
        lookup = from_reader(raw.field_rows, name)
        return field_name(name) if lookup is None else per_row(lookup, flagged)

    def values_at(name: str, flagged: np.ndarray) -> np.ndarray:
        """The value of each flagged row as the quarantine shows it: the text the file
        wrote where the reader converted it (`RawTable.field_values`), else as read."""
        lookup = from_reader(raw.field_values, name)
        if lookup is not None:
            return per_row(lookup, flagged)
        values: np.ndarray = _as_string(shown[name][flagged]).fillna("").astype(
            object).to_numpy()
        return values

    for column in C.SCHEMA:
        name = column.name
        if name.startswith("source:"):
            continue
        raw_values = source(name)
        if column.kind == "timestamp":
            try:
                parsed = parse_timestamps(
                    raw_values, rows=rows, file=file, column=field_name(name),
                    timestamp_format=mapping.timestamp_format,
                    assume_tz=assume_tz or mapping.assume_tz)
            except InputError as exc:  # (naming the field of the row it names)
                error = _at_row(exc, rows, partial(fields_at, name))
                raise (_of_an_export(error) if raw.system in _EXPORT_SYSTEMS
                       else error) from exc
            out[name] = parsed.values
            reasons[name] = parsed.reasons.where(parsed.bad, "")
            flags[name] = _flags(reasons[name], _mask(parsed.bad))
            shown[name] = raw_values  # written as text for the quarantined rows only
            continue
        if column.kind == "amount" and _is_number(raw_values):
            shown[name] = raw_values  # written as text for the quarantined rows only
            out[name], reasons[name], flags[name] = _typed_amounts(raw_values)
            continue
        not_whole: tuple[np.ndarray, np.ndarray] | None = None
        if column.kind == "string" and pd.api.types.is_float_dtype(raw_values.dtype):
            # (a column of floats read as text, an id most often: a dtype check per column)
            width = raw.narrow_floats.get(resolved.get(name, ""), 64)
            raw_values, shown_floats, not_whole = _whole_number_text(raw_values, width)
        text = _text(raw_values, coded=column.coded)
        shown[name] = text if not_whole is None else shown_floats
        if column.kind == "amount":
            values, reasons[name], flags[name] = _parse_amounts(text, mapping)
            out[name] = values
            continue
        checks: list[tuple[pd.Series, str]] = []  # (failed, reason), later ones win
        if name == C.ACTIVITY:  # (what the policy and the SOPs name)
            text = _composed(text)
        if name == C.CURRENCY:
            text = _changed_case(text, "upper")
            checks.append((text.notna() & ~text.isin(CURRENCIES),
                           "unknown currency (not an ISO 4217 code)"))
        elif name in (C.CHANNEL, C.PAYMENT_STATUS):
            text = _changed_case(_translated(text, mapping.values.get(name)), "lower")
            assert column.allowed is not None
            checks.append((text.notna() & ~text.isin(column.allowed),
                           f"not one of {', '.join(column.allowed)}"))
        if column.required and name != C.EVENT_ID:  # ids are assigned after import
            checks.append((text.isna(), "empty value"))
        if not_whole is not None:
            checks.append((pd.Series(not_whole[0], index=frame.index), NOT_WHOLE))
            checks.append((pd.Series(not_whole[1], index=frame.index), beyond_exact(width)))
        out[name] = text
        touched = np.zeros(len(frame), dtype=bool)
        for failed, _ in checks:
            touched |= _mask(failed)
        if touched.any():  # (a column of reasons only where some row has one)
            reason = pd.Series("", index=frame.index, dtype=object)
            for failed, why in checks:
                reason[failed] = why
            reasons[name] = reason
            flags[name] = _flags(reason, touched)

    if C.AMOUNT in out and C.CURRENCY in out:
        _refuse_sub_minor(out[C.AMOUNT], out[C.CURRENCY], reasons, flags)
    canonical = pd.DataFrame(out, copy=False)
    notes = twin_notes
    if jira_csv:
        # Read with a mapping naming its columns: one event per issue, its status now. Told,
        # not refused: a status-history export of another tool may name its columns so.
        notes.append(
            f"{file.name}: read with the mapping as a generic log, one event per row; its "
            "columns are a Jira issue CSV export's (its column 'Issue key'), which holds "
            "each issue as it stands now, not the history of its statuses: who approved, "
            "paid and closed it, and when, are no events of this log; to audit them, export "
            "the issues as JSON with their changelog (expand=changelog; docs/sources.md, "
            "Jira)")
    if C.CASE in resolved:  # (two texts of one file that trimming makes one case: told)
        merged = merged_ids(frame[resolved[C.CASE]], out[C.CASE])
        if merged:
            notes.append(merged_ids_note(file.name, merged))
    # The columns added to the canonical ones, in order, set at once: inserted one by one,
    # a file of many columns (hundreds, or a hostile one of thousands) took time growing
    # with their square and printed pandas' "highly fragmented" warning on stderr.
    added: dict[Any, Any] = {}
    for name, column_name in resolved.items():  # evidence columns named in the mapping
        if name.startswith(C.EVIDENCE_PREFIX):
            added[name] = _text(frame[column_name], coded=True)
    # Evidence columns and any other source columns travel along under their own names.
    used = set(resolved.values())
    for name in frame.columns:
        if name in used:
            continue
        target = name if name not in C.COLUMNS else f"raw:{name}"
        values = frame[name]
        if str(name).startswith(C.EVIDENCE_PREFIX):
            values = _text(values, coded=True)
        elif raw.arrow_text:
            values = values.astype(object)
        added[target] = values
    for name in mapping.constants:
        if name.startswith(C.EVIDENCE_PREFIX):
            added[name] = mapping.constants[name]
    canonical = _with_columns(canonical, added)

    provenance = (C.SOURCE_SYSTEM, C.SOURCE_FILE, C.SOURCE_ROW)
    if all(c in frame.columns for c in provenance) and frame[list(provenance)].notna().all().all():
        # A canonical log written by an earlier import keeps the provenance of the original rows.
        for name in provenance:
            values = frame[name]
            coded = None
            if name in C.CODED and isinstance(values.dtype, pd.CategoricalDtype):
                coded = _sorted_codes(values, pd.Series(values.cat.categories).astype("string"))
            if coded is not None:  # (coded anyway by the import)
                canonical[name] = coded
            elif raw.arrow_text:
                # the 'str' dtype that pandas infers for the str objects, without making them
                canonical[name] = values.astype("str").array
            else:
                canonical[name] = values.to_numpy()
            canonical.pop(f"raw:{name}")
        try:
            canonical[C.SOURCE_ROW] = _row_numbers(canonical[C.SOURCE_ROW])
        except (ValueError, TypeError, OverflowError) as exc:
            # (A canonical log's provenance, or a file naming its columns so: a row number
            # is a whole number; which row of the original file is meant is unknown else.)
            digits = canonical[C.SOURCE_ROW].astype("string").str.fullmatch(r"\s*[+-]?\d{1,18}\s*")
            unread = np.flatnonzero(~digits.fillna(False).to_numpy(dtype=bool))
            first = int(unread[0]) if len(unread) else 0
            raise InputError(f"not a row number: {str(frame[C.SOURCE_ROW].iloc[first])!r} "
                             "(a file with source:system, source:file and source:row is read "
                             "as a canonical log's provenance)", file=file,
                             row=int(rows[first]), field=C.SOURCE_ROW) from exc
    else:
        canonical[C.SOURCE_SYSTEM] = mapping.system or raw.system
        canonical[C.SOURCE_FILE] = file.name
        canonical[C.SOURCE_ROW] = rows

    # Each row's case where it can be told: a generic log's case id; an export's record's
    # ticket (its case, where it names one: correlation decides the others' cases).
    # A value longer than any real export's field (a hostile cell of megabytes, in any
    # column, read or travelling along): its record is quarantined, naming the field.
    too_long = {name: over for name in frame.columns
                if (over := lengths_over(frame[name])) is not None}
    case_text = np.empty(0, dtype=object)
    hints: dict[str, np.ndarray] = {}
    if too_long or any(flagged.any() for flagged in flags.values()):
        told = out[C.TICKET_ID] if raw.system in _EXPORT_SYSTEMS else out[C.CASE]
        case_text = _as_string(told).fillna("").astype(object).to_numpy()
        if raw.system in _PAYMENT_SYSTEMS or raw.system not in _EXPORT_SYSTEMS:
            # (a payment record naming no ticket, a generic log's row naming no case: its
            # charge and order, as its reader gives them with its own lines: QUARANTINE_HINTS)
            unnamed = case_text == ""
            hints = {hint: np.where(unnamed, _as_string(out[name]).fillna("").astype(object)
                                    .to_numpy(), "").astype(object)
                     for hint, name in zip(QUARANTINE_HINTS, (C.CHARGE_ID, C.ORDER_ID),
                                           strict=True)}
        if raw.system not in _EXPORT_SYSTEMS and C.TICKET_ID in out:
            # (a generic log's row naming a ticket: its line names the ticket's case once
            # the log's events join it, TICKET_HINT)
            hints[TICKET_HINT] = _as_string(out[C.TICKET_ID]).fillna("").astype(object) \
                .to_numpy()
    problems = [
        pd.DataFrame({"file": file.name, "row": rows[mask], "field": fields_at(name, mask),
                      "value": values_at(name, mask),
                      "reason": reason_at(name, reason, mask),
                      "case": case_text[mask],
                      **{hint: values[mask] for hint, values in hints.items()}})
        for name, reason in reasons.items()
        if (mask := flags[name]).any()
    ]
    bad_rows = np.zeros(len(frame), dtype=bool)
    for flagged in flags.values():
        bad_rows |= flagged
    for name, over in too_long.items():
        mask = over > 0
        label = str(name)
        problems.append(pd.DataFrame({
            "file": file.name, "row": rows[mask],
            "field": field_name(label),
            "value": [cut(str(v)) for v in frame[name][mask].tolist()],
            "reason": [too_long_reason(int(n)) for n in over[mask].tolist()],
            "case": [cut(str(c)) for c in case_text[mask].tolist()],
            **{hint: values[mask] for hint, values in hints.items()}}))
        bad_rows |= mask
    # (no copy of every column when no row is bad)
    log = (canonical.loc[~bad_rows] if bad_rows.any() else canonical).reset_index(drop=True)
    quarantine = (cut_values(cut_values(pd.concat(problems, ignore_index=True)), "case")
                  if problems else empty_quarantine())
    dropped = (np.setdiff1d(rows[bad_rows], rows[~bad_rows]) if bad_rows.any()
               else np.empty(0, dtype=np.int64))
    return Normalised(log, quarantine, int(raw.records_read or len(frame)), notes,
                      id_field=field_name(C.EVENT_ID), id_cells=raw.id_cells,
                      dropped_rows=dropped)
