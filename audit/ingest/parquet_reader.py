"""Parquet reader: typed columns pass through; timestamps keep their stored time zone."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from audit.errors import InputError
from audit.ingest.raw import RawTable
from audit.memory import available_memory

LEAST_BYTES_PER_ROW = 200
"""Memory an imported row takes at the least: measured, a log of three columns of one value
took 500 bytes a row (5,000,000 rows: 2.6 GB), one of 400,000 cases of five events 680
(2,000,000 rows: 1.5 GB), the 1M-case audit's 7M events 370 each (its peak, 2.6 GB)."""

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


def read_parquet(path: Path) -> RawTable:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    _refuse_rows_beyond_memory(path)
    try:
        # Column chunks read as they are decoded, not all buffered first (pre_buffer is for
        # object stores' latency): the 1M-case log's peak 2.1 -> 1.9 GB, no slower here.
        table = pq.read_table(path, pre_buffer=False)
        _ = table.column_names  # (each decoded from the bytes Parquet stores: checked here)
    except UnicodeDecodeError as exc:
        raise InputError(f"a column name is not UTF-8 text: {exc.object!r}",
                         file=path) from exc
    except (OSError, pa.ArrowException) as exc:
        _refuse_a_name_twice(path)
        raise InputError(f"not a readable Parquet file: {_one_line(exc)}",
                         file=path) from exc
    _check_data(table, path)
    _refuse_text_beyond_bound(table, path)
    table = _extensions_as_storage(table)
    nested = {f.name: str(f.type) for f in table.schema if pa.types.is_nested(f.type)}
    narrow = {f.name: f.type.bit_width for f in table.schema
              if pa.types.is_floating(f.type) and f.type.bit_width < 64}
    table = _narrow_floats_widened(table)
    kept = _not_a_number_kept(table)
    # Each column's Arrow buffers freed as it is converted (self_destruct; the table is not
    # used after), the columns kept apart (split_blocks: no consolidation into 2-D blocks,
    # a copy): reading a 1M-case log written by `import` peaked at 2.65 GB, 2.28-2.39 GB
    # so, in the same 4.0-4.1 s. (`normalise`, which follows, peaks at 2.67 GB either way.)
    # An unsigned 64-bit column as pandas' UInt64: with a missing value, integer_object_nulls
    # made it Python ints, which the log's writing took for int64 (a value from 2^63 up
    # overflowed: a traceback).
    unsigned = {pa.uint64(): pd.UInt64Dtype()}.get
    try:
        frame = table.to_pandas(self_destruct=True, split_blocks=True,
                                integer_object_nulls=True, types_mapper=unsigned)
    except (pa.ArrowException, ValueError):  # (UnicodeDecodeError, JSONDecodeError too)
        # The pandas dtypes that a file written by pandas keeps in its metadata do not fit
        # its columns (a column rewritten with another type by another tool: text made a
        # struct, which pandas' text dtype cannot take), or that metadata is damaged (not
        # UTF-8, not JSON: read even where it is not followed). Read again (the conversion
        # may have freed the table's buffers), by the Parquet types alone.
        del table
        table = _extensions_as_storage(
            pq.read_table(path, pre_buffer=False).replace_schema_metadata(None))
        try:
            frame = table.to_pandas(self_destruct=True, split_blocks=True,
                                    integer_object_nulls=True, ignore_metadata=True,
                                    types_mapper=unsigned)
        except (pa.ArrowException, ValueError) as exc:
            raise InputError(f"its columns cannot be read into a table: {_one_line(exc)}",
                             file=path) from exc
    del table
    # What the decoding freed, given back before the columns are converted (by numpy and
    # pandas, which do not allocate from Arrow's pool): about 0.3 GB at 1M cases.
    pa.default_memory_pool().release_unused()
    for name, floats in kept.items():
        frame[name] = floats
    return RawTable(frame=frame, rows=np.arange(1, len(frame) + 1, dtype=np.int64),
                    system="parquet", file=path, nested=nested,
                    narrow_floats=narrow)


def _refuse_text_beyond_bound(table: pa.Table, path: Path) -> None:
    """InputError naming the column holding the most text where the table's text (and
    binary values) once decoded (`text_beyond_bound`) is more than `max_log_text` of the
    file's size, before the values are made Python objects (Arrow holds the columns
    decoded already, save a dictionary column's values: Parquet's decoding of a plain
    column is not bounded).
    Before, a column was bounded by its rows (65,536 characters a row on average, at least
    16,000,000): the tool refused its own log of a valid CSV (20 notes of 900,000
    characters; 1,000 e-mail threads of 70,000), and a dictionary column (the tool's own
    `concept:name`), a view, a list or a struct of text was not measured at all."""
    per_column = held_by_column(table)  # (measured once, for both bounds)
    over = text_beyond_bound(table, path.stat().st_size, per_column)
    if over is None:
        _refuse_text_beyond_memory(per_column, path)
        return
    from audit.ingest.sizes import MAX_EXPANSION, MAX_TEXT_FLOOR

    name, held, total, bound = over
    size = path.stat().st_size
    raise InputError(
        f"its values hold {total:,} bytes of text once decoded ({held:,} in this column) in a "
        f"file of {size:,} bytes ({total // max(size, 1):,} times its size), more than the "
        f"{bound:,} a log may ({MAX_EXPANSION:,} times its size, at least "
        f"{MAX_TEXT_FLOOR:,}): refused before its values are made Python objects (a few KB "
        "of Parquet can hold a long value once per row, as no export's text compresses; "
        "see docs/security.md)", file=path, field=name)


def _refuse_text_beyond_memory(held: dict[str, int], path: Path) -> None:
    """InputError naming the column holding the most text where the table's text once
    decoded (`held`, per column as `held_by_column` measures it, added up) is more than the
    memory left
    (`available_memory`): its values made Python objects take that again at the least.
    The bound against the file's size (`max_log_text`) has no absolute cap: a Parquet log
    of 1 GB may hold 1 TB. Before, such a log was made Python objects until the memory ran
    out (a MemoryError traceback, or the system's out-of-memory killer)."""
    left = available_memory()
    if left is None:
        return
    total = sum(held.values())
    if total <= left:
        return
    name = max(held, key=lambda n: held[n])
    gib = 1 << 30
    raise InputError(
        f"its values hold {total:,} bytes of text once decoded ({held[name]:,} in this "
        f"column), whose import needs at least {total / gib:.1f} GiB of memory more, but "
        f"{left / gib:.1f} GiB is available: refused before its values are made Python "
        "objects; import it where more memory is free, or in parts", file=path, field=name)


def held_by_column(table: pa.Table) -> dict[str, int]:
    """Per column of `table`, the bytes of text and binary values it holds once decoded
    (`held_text` of its chunks)."""
    return {name: sum(held_text(chunk) for chunk in column.chunks)
            for name, column in zip(table.column_names, table.columns, strict=True)}


def text_beyond_bound(table: pa.Table, size: int, held: dict[str, int] | None = None
                      ) -> tuple[str, int, int, int] | None:
    """Where the text (and binary values) `table`'s columns hold once decoded, added up
    (`held`, else `held_by_column`), is more than `max_log_text(size)` of a file of `size`
    bytes: the column holding the most, its bytes, the table's, and the bound; None where
    it is within."""
    from audit.ingest.sizes import max_log_text

    bound = max_log_text(size)
    if held is None:
        held = held_by_column(table)
    total = sum(held.values())
    if total <= bound:
        return None
    name = max(held, key=lambda n: held[n])
    return name, held[name], total, bound


def held_text(array: pa.Array) -> int:
    """The bytes of text and binary values `array` holds once decoded, in every type: a
    string's (plain, large or view) or a binary's (fixed size too: its width a value), an
    extension type's by its storage, a dictionary's values by how many indices name each
    (without decoding them), a list's, a map's and a struct's values added up; 0 of a type
    that holds none (numbers, times, booleans). Before, a fixed-size binary column and an
    extension type (arrow.json, arrow.opaque over text) measured 0: a 51 KB log holding
    900 MB of fixed-size binary values was imported (2.78 GB)."""
    import pyarrow as pa

    kind = array.type
    if isinstance(kind, pa.BaseExtensionType):
        return held_text(array.storage)
    if pa.types.is_dictionary(kind):
        values = array.dictionary
        if isinstance(values.type, pa.BaseExtensionType):
            values = values.storage
        indices = array.indices.drop_null().to_numpy(zero_copy_only=False)
        if not len(values) or not len(indices):
            return 0
        lengths = _value_lengths(values)
        if lengths is None:
            # (a dictionary of nested values, which Parquet does not write: each value
            # measured once, as often as its indices name it)
            lengths = np.array([held_text(values.slice(k, 1)) for k in range(len(values))],
                               dtype=np.int64)
        counts = np.bincount(indices, minlength=len(values))
        return int(np.dot(counts, lengths))
    lengths = _value_lengths(array)
    if lengths is not None:
        return int(lengths.sum())
    if pa.types.is_map(kind):
        first, last = array.offsets[0].as_py(), array.offsets[-1].as_py()
        return held_text(array.values.slice(first, last - first))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or \
            pa.types.is_fixed_size_list(kind) or pa.types.is_list_view(kind) or \
            pa.types.is_large_list_view(kind):
        return held_text(array.flatten())
    if pa.types.is_struct(kind):
        return sum(held_text(field) for field in array.flatten())
    if pa.types.is_union(kind):
        return sum(held_text(array.field(k)) for k in range(kind.num_fields))
    return 0


def _value_lengths(array: pa.Array) -> np.ndarray | None:
    """Each value's bytes (int64, a missing value's 0) where `array` is of a flat type of
    text or binary values; all 0 where it is of a flat type of no text (numbers, times);
    None where it is nested (a list, map, struct, union, dictionary or extension type)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_string_view(kind) or pa.types.is_binary_view(kind) or \
            pa.types.is_fixed_size_binary(kind):
        valid = array.is_valid().to_numpy(zero_copy_only=False)
    if pa.types.is_string_view(kind) or pa.types.is_binary_view(kind):
        # (each view's first 4 bytes are its length)
        views = np.frombuffer(array.buffers()[1], dtype=np.int32).reshape(-1, 4)
        lengths = views[array.offset:array.offset + len(array), 0].astype(np.int64)
        return np.where(valid, lengths, 0)
    if pa.types.is_fixed_size_binary(kind) and not pa.types.is_decimal(kind):
        return np.where(valid, np.int64(kind.byte_width), np.int64(0))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or \
            pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        lengths = pc.binary_length(array).fill_null(0).to_numpy(zero_copy_only=False)
        return np.asarray(lengths, dtype=np.int64)
    if pa.types.is_nested(kind) or pa.types.is_dictionary(kind) or \
            isinstance(kind, pa.BaseExtensionType):
        return None
    return np.zeros(len(array), dtype=np.int64)


def _refuse_rows_beyond_memory(path: Path) -> None:
    """InputError where the file's rows (its footer's count) need more memory than is left
    (`available_memory`), at `LEAST_BYTES_PER_ROW` each: Parquet stores a run of one value
    in a few bytes, so 565 KB held 50,000,000 rows, whose import took more than 6 GB (a
    MemoryError traceback, or the system's out-of-memory killer). A footer that cannot be
    read is left to the reading, which says so."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        rows = pq.read_metadata(path).num_rows
    except (OSError, pa.ArrowException, UnicodeDecodeError):
        return
    need = rows * LEAST_BYTES_PER_ROW
    left = available_memory()
    if left is None or need <= left:
        return
    gib = 1 << 30
    raise InputError(
        f"holds {rows:,} rows in {path.stat().st_size:,} bytes, whose import needs at least "
        f"{need / gib:.1f} GiB of memory ({LEAST_BYTES_PER_ROW} bytes a row at the least), "
        f"but {left / gib:.1f} GiB is available: refused before reading (a few kilobytes of "
        "Parquet can hold millions of rows of one value); import it where more memory is "
        "free, or in parts", file=path)


def _extensions_as_storage(table: pa.Table) -> pa.Table:
    """`table` with each column of an extension type (arrow.json, arrow.opaque, arrow.uuid,
    another tool's) as the values it stores (text, binary, a list...), read as any column
    of that type is. Before, such a column ended the import with `internal error
    (KeyError: 'payload')` (pandas' conversion looked up a dtype for it that it had not
    made)."""
    import pyarrow as pa

    for k, (name, column) in enumerate(zip(table.column_names, table.columns, strict=True)):
        if isinstance(column.type, pa.BaseExtensionType):
            storage = column.type.storage_type
            stored = pa.chunked_array([chunk.storage for chunk in column.chunks], storage)
            table = table.set_column(k, pa.field(name, storage), stored)
    return table


def _narrow_floats_widened(table: pa.Table) -> pa.Table:
    """`table` with each float32 column as float64 by its shortest decimal
    text: 12.34 stored as float32 is 12.34, not 12.340000152587890625 (what widening the
    binary value gives). Before, such an amount was quarantined as having "more decimals
    than EUR has (2)" while the quarantine showed 12.34, and 0.1 was imported as
    0.10000000149011612. Column-wise, in Arrow (its float-to-text cast is the shortest
    text that reads back as the same float32; its text-to-float cast is correctly
    rounded); NaN, infinities and missing values stay as they were. (A float16 column is
    widened as it is: Arrow writes no shortest text of it.)"""
    import pyarrow as pa
    import pyarrow.compute as pc

    for k, (name, column) in enumerate(zip(table.column_names, table.columns, strict=True)):
        if pa.types.is_floating(column.type) and column.type.bit_width == 32:
            widened = pc.cast(pc.cast(column, pa.string()), pa.float64())
            table = table.set_column(k, pa.field(name, pa.float64()), widened)
    return table


def _one_line(exc: BaseException) -> str:
    """pyarrow's message of `exc` on one line (some go on over several: the schema, a
    second sentence), as an error line is."""
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def _refuse_a_name_twice(path: Path) -> None:
    """InputError naming a column name the file's schema gives twice, where it does (the
    table cannot be read then, and pyarrow's message lists the whole schema); nothing
    where the schema cannot be read either."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except (OSError, pa.ArrowException, UnicodeDecodeError):
        return
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(f"column '{name}' appears twice in the file's schema",
                             file=path, field=name)
        seen.add(name)


def _not_a_number_kept(table: pa.Table) -> dict[str, pd.arrays.FloatingArray]:
    """Each float column holding a NaN (not a missing value) as a pandas Float64 array whose
    NaN stays apart from its missing values (<NA>), as `xes.typed_array` keeps them: to_pandas
    makes both NaN, and an amount of NaN was then imported as not recorded, where a CSV
    "NaN" and an infinite amount are quarantined (`normalise._typed_amounts`). The common
    case, no NaN, is converted as before (numpy float64); finding out is a vectorised
    is_nan per float column."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    kept: dict[str, pd.arrays.FloatingArray] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if not pa.types.is_floating(column.type) or not len(column):
            continue
        if not pc.any(pc.is_nan(column)).as_py():
            continue
        floats = column.cast(pa.float64())
        missing = floats.is_null().to_numpy(zero_copy_only=False)
        values = floats.fill_null(0.0).to_numpy()
        kept[name] = pd.arrays.FloatingArray(values.astype(np.float64, copy=True), missing)
    return kept


def _check_data(table: pa.Table, path: Path) -> None:
    """InputError (row, column) unless every value is what its type says: Parquet stores
    text as bytes, and bytes that are not UTF-8 would fail deep in the conversion."""
    import pyarrow as pa

    try:
        table.validate(full=True)  # text as UTF-8 included
    except pa.ArrowInvalid as exc:
        for name, column in zip(table.column_names, table.columns, strict=True):
            try:
                column.validate(full=True)
            except pa.ArrowInvalid as bad:
                raise InputError(f"not valid data in this column: {_one_line(bad)}", file=path,
                                 row=_first_invalid_row(column), field=name) from bad
        raise InputError(f"not valid Parquet data: {_one_line(exc)}", file=path) from exc


def _first_invalid_row(column: pa.ChunkedArray) -> int | None:
    """The 1-based row of the first text in `column` that is not UTF-8 (plain or dictionary
    text), None where it is another kind of column."""
    import pyarrow as pa

    start = 0
    for chunk in column.chunks:
        kind = chunk.type
        values, indices = chunk, None
        if pa.types.is_dictionary(kind):
            values, indices = chunk.dictionary, chunk.indices
        text = values.type
        if not (pa.types.is_string(text) or pa.types.is_large_string(text)):
            start += len(chunk)
            continue
        raw = values.view(pa.large_binary() if pa.types.is_large_string(text) else pa.binary())
        for k, value in enumerate(raw.to_pylist()):
            if value is None:
                continue
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                if indices is None:
                    return start + k + 1
                at = np.flatnonzero(indices.to_numpy(zero_copy_only=False) == k)
                if len(at):
                    return start + int(at[0]) + 1
        start += len(chunk)
    return None
