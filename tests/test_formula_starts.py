"""Formula starts after characters no reader sees: a spreadsheet (or a program before it)
may pass over any of them and read the formula after. The list here is written apart from
audit.safety's: every code point of Unicode's categories Cc, Cf, Zs, Zl, Zp (from the running
Python's unicodedata, code point by code point) and the default-ignorable code points (as
Unicode's DerivedCoreProperties.txt lists them). Before, audit.safety's list missed C1
controls, the soft hyphen, U+034F, the Hangul fillers and the tag characters:
is_formula('\\x80=1'), ('\\xad=1'), ('\\u3164=1') were False."""

from __future__ import annotations

import re
import unicodedata

from audit.safety import PASSED_OVER, is_formula, neutralise_cell, restored_cell
from reports.writers import _neutralised

DEFAULT_IGNORABLE = [(0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
                     (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
                     (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
                     (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
                     (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF)]
"""Default_Ignorable_Code_Point (Unicode 14.0's DerivedCoreProperties.txt)."""


def unseen() -> list[str]:
    """Every code point but NUL of the categories Cc, Cf, Zs, Zl, Zp, and every
    default-ignorable one."""
    chars = {chr(c) for c in range(1, 0x110000)
             if unicodedata.category(chr(c)) in {"Cc", "Cf", "Zs", "Zl", "Zp"}}
    chars.update(chr(c) for first, last in DEFAULT_IGNORABLE for c in range(first, last + 1))
    return sorted(chars)


def test_every_unseen_character_before_a_formula_start_is_passed_over() -> None:
    chars = unseen()
    assert {"\x80", "\x9f", "\xad", "\u034f", "\u115f", "\u1160", "\u3164", "\uffa0",
            "\U000e0001", "\U000e0041", "\U000e007f"} <= set(chars)
    missed = [f"U+{ord(c):04X}" for c in chars
              if not (is_formula(c + "=1") and is_formula(c + c + "\u200b+1")
                      and is_formula(" " + c + "@x"))]
    assert missed == []
    # (the class as a whole: the writers' one-pass search uses it)
    assert all(re.fullmatch("[" + PASSED_OVER + "]", c) for c in chars)


def test_written_cells_are_neutralised_and_read_back() -> None:
    chars = unseen()
    texts = [c + "=HYPERLINK(1)" for c in chars] + [c + "x" for c in chars]
    written = _neutralised(texts)  # (the CSV writers' column at once)
    assert written == [neutralise_cell(t) for t in texts]
    # (a tab and a carriage return are formula starts themselves)
    assert [w.startswith("'") for w in written] == [True] * len(chars) + [
        c in "\t\r" for c in chars]
    assert [restored_cell(w) for w in written] == texts
    assert [restored_cell(neutralise_cell("'" + t)) for t in texts] == ["'" + t for t in texts]
    # a column of none: left as it is
    assert _neutralised(["\x80x", "\u3164 y", "plain"]) == ["\x80x", "\u3164 y", "plain"]


def test_visible_characters_are_no_formula_start() -> None:
    for text in ("a=1", "\u00e9=1", "1-2", "RFD-1", "\u3163=1"):
        assert is_formula(text) is False, text
