"""Neutralising spreadsheet formulas in cells we write (CSV, XLSX) so Excel never runs them,
and making invisible text-direction controls visible where a reader looks at the text."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # (pandas is not loaded for the console's error line, which uses this)
    import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\x00")
"""What a text cell that a spreadsheet would read as a formula starts with: OWASP's = + - @
tab and carriage return, and the NUL that ASVS 5.0 (1.2.10) lists besides (a program that
drops it reads what follows)."""
PASSED_OVER = (
    r"\x01-\x20\x7f-\xa0\xad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2"
    r"\u115f-\u1160\u1680\u17b4-\u17b5\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u206f"
    r"\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\U000110bd\U000110cd"
    r"\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff")
"""What a program may pass over before reading a cell besides a NUL (a regular expression's
character class, without its brackets): every code point of Unicode's categories Cc
(control characters: C0 but NUL, DEL, C1), Cf (format: the byte order mark, zero-width
space and joiners, bidirectional controls, soft hyphen, tag characters U+E0000-E007F), Zs,
Zl and Zp (spaces, line and paragraph separators), and the default-ignorable code points
(Unicode's Default_Ignorable_Code_Point: the combining grapheme joiner U+034F, the Hangul
fillers U+115F, U+1160, U+3164, U+FFA0, variation selectors, U+E0000-E0FFF): none draws
anything a reader sees, and a program may trim them as white space, or drop them as what
it cannot show, and read what follows. Precomputed once from `unicodedata` (Unicode 14.0,
Python 3.11: in ranges, a class the regular expression engine matches in constant time;
computing it at import took 0.3 s), tests/test_formula_starts.py derives it again from
the running Python's `unicodedata`."""
_PASSED_OVER = re.compile(r"[\s\x00" + PASSED_OVER + "]+")
_PASSED_OVER_ONE = re.compile("[" + PASSED_OVER + "]")


def is_formula(text: str) -> bool:
    """Whether a spreadsheet may read `text` as a formula: it starts with a formula start,
    or does after white space, control characters or characters that draw nothing
    (" =1+1", "\u00a0=HYPERLINK(...)", "\\x01=cmd", "\ufeff=cmd": some programs trim a
    cell before reading it, or drop what they cannot show)."""
    if text.startswith(FORMULA_START):
        return True
    first = text[:1]  # (most texts start with a visible character: no search)
    if not first or (first > " " and first != "\x7f" and not first.isspace()
                     and (first.isascii() or _PASSED_OVER_ONE.match(first) is None)):
        return False
    skipped = _PASSED_OVER.match(text)
    return skipped is not None and text[skipped.end():].startswith(FORMULA_START)


def needs_apostrophe(text: str) -> bool:
    """Whether `neutralise_cell` writes `text` with an apostrophe before it: a spreadsheet
    may read it as a formula (`is_formula`), or it is such a text after apostrophes
    (`'=x`, `''-1`). The second keeps the written form invertible: `=x` is written `'=x`
    and `'=x` is written `''=x`, so that of a written cell that starts with an apostrophe
    before such a text exactly one apostrophe is the one added (`restored_cell`); without
    it, `=x` and `'=x` were both written `'=x`, and a case id `'=x` read back as `=x`.
    A spreadsheet that shows the apostrophe added as a prefix shows the text as it is."""
    return is_formula(text.lstrip("'"))


def neutralise_cell(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would read as a formula (or such a text after
    apostrophes: `needs_apostrophe`) with an apostrophe.

    Numbers are left alone: a negative amount is a number, not a formula.
    """
    if isinstance(value, str) and needs_apostrophe(value):
        return "'" + value
    return value


def restored_cell(text: str) -> str:
    """The text `neutralise_cell` wrote as `text`: one apostrophe taken off where it added
    one (`''=x` is `'=x`, `'=x` is `=x`); any other text as it is (`'plain`)."""
    return text[1:] if text.startswith("'") and needs_apostrophe(text[1:]) else text


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells are safe to open in a spreadsheet."""
    import pandas as pd
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_string_dtype(column) or column.dtype == object:
            out[name] = column.map(neutralise_cell, na_action="ignore")
    return out


HIDDEN = re.compile("[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
"""Characters that draw nothing but change what a reader sees: the bidirectional controls
(U+202E RIGHT-TO-LEFT OVERRIDE shows `RFD-1\u202e9,99` as `RFD-199,9`, "Trojan Source"),
the directional marks, the zero-width space, word joiner and no-break space (two case ids
that look alike)."""
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""C0 controls but tab and line breaks, and DEL: an ESC in a text written to a terminal or a
Markdown file would be read as a command, not seen."""


def shown_controls(text: str) -> str:
    """`text` with each `HIDDEN` character written as `[U+XXXX]`, so that what a report shows
    is what the input holds (the findings, CSV and JSON keep the text as it is)."""
    if text.isascii():
        return text
    return HIDDEN.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


def shown_all_controls(text: str) -> str:
    """`shown_controls`, and C0 control characters (not tab or line breaks) shown too."""
    return shown_controls(CONTROL.sub(lambda m: f"[U+{ord(m.group()):04X}]", text))


LINE_BREAK = re.compile("[\n\r\x85\u2028\u2029]")
"""What ends a line in a text file: line feed and carriage return (CommonMark's line
endings), and NEL and the Unicode line and paragraph separators (which an editor shows as
one)."""


def shown_on_one_line(text: str) -> str:
    """`shown_all_controls`, and each line break (`LINE_BREAK`) shown too: for a value
    written into a line of a text file (compare.md), where the text after a line break
    would begin a line of its own (in Markdown, a role `cs\\n# x` wrote a heading `x`), and
    for every console line (`audit.cli`, `audit.progress`), where a case id `R9\\nerror: x`
    printed `error: x` as if the tool had said it (a carriage return wrote over the start
    of its own line)."""
    return LINE_BREAK.sub(lambda m: f"[U+{ord(m.group()):04X}]", shown_all_controls(text))
