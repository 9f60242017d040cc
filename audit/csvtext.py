"""CSV text made column by column: the findings' CSV and the quarantine's.

csv.writer (and pandas' to_csv, which uses it) looks up every character of every cell, and
on Python 3.11 (the project's), with a line feed as the line end, leaves a cell holding a
carriage return unquoted, which csv.reader then reads as the end of the row: a hostile
value with a lone CR broke a row. Here each column is searched as a whole for what needs
quoting, and such a cell is always quoted.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def csv_fields(texts: list[str]) -> list[str]:
    """One column's texts as CSV fields: quoted where a text holds a comma, a quote, a line
    feed or a carriage return, its quotes doubled. The column is searched once as a whole
    first: most columns (rules, cases, times, amounts, fingerprints) hold none of those."""
    whole = "\x00".join(texts)
    if '"' not in whole and "," not in whole and "\n" not in whole and "\r" not in whole:
        return texts
    fields: list[str] = []
    append = fields.append
    for text in texts:
        if '"' in text:
            append('"' + text.replace('"', '""') + '"')
        elif "," in text or "\n" in text or "\r" in text:
            append('"' + text + '"')
        else:
            append(text)
    return fields


def csv_lines(columns: Sequence[list[str]]) -> str:
    """Rows of texts given column by column as CSV text, a line feed after each row: the
    text `csv.writer(lineterminator="\n")` (minimal quoting) writes, but for a cell holding
    a carriage return without a line feed, which is quoted here (see the module's note)."""
    if not columns or not len(columns[0]):
        return ""
    if len(columns) == 1:  # csv.writer quotes a row of one empty field: not a blank line
        return "".join((field or '""') + "\n" for field in csv_fields(columns[0]))
    return "\n".join(map(",".join, zip(*map(csv_fields, columns), strict=True))) + "\n"


def frame_csv(frame: pd.DataFrame, *, header: bool = True) -> str:
    """A frame's CSV text (with its header: `header`), as `frame.to_csv(index=False,
    lineterminator="\n")` writes a frame of texts and numbers (missing values empty, texts
    as they are, other values by their str(): pandas formats dates and float32 its own
    way), a lone CR quoted."""
    columns: list[list[str]] = [[str(name)] if header else [] for name in frame.columns]
    for at in range(len(columns)):
        column = frame.iloc[:, at]
        missing = column.isna().to_numpy(dtype=bool)
        columns[at] += ["" if gone else v if isinstance(v, str) else str(v)
                        for v, gone in zip(column.to_numpy(dtype=object).tolist(),
                                           missing.tolist(), strict=True)]
    return csv_lines(columns)
