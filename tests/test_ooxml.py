"""reports.ooxml, the workbook writer behind findings.xlsx, read back with openpyxl."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

from reports import ooxml


def _book(path: Path) -> Path:
    with ooxml.Workbook(path, title="Audit & <findings>", author="refund-audit") as book:
        sheet = book.add_sheet("O'Brien's list")
        sheet.set_column(0, 20, ooxml.WRAP)
        sheet.freeze_first_row()
        sheet.autofilter(4)
        sheet.row([("name", ooxml.HEADER), ("text", ooxml.HEADER), ("amount", ooxml.HEADER),
                   ("ok", ooxml.HEADER)])
        sheet.row([("tab\there", ooxml.CELL), ("=1+1 & <b>", ooxml.WRAP),
                   (1234.5, ooxml.AMOUNT), (True, ooxml.CELL)])
        sheet.row([("", ooxml.CELL), (None, ooxml.CELL), (-3, ooxml.AMOUNT),
                   (False, ooxml.CELL)])
        book.add_sheet("Empty")
    return path


def test_values_styles_and_layout_read_back(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(_book(tmp_path / "t.xlsx"))
    assert book.sheetnames == ["O'Brien's list", "Empty"]
    assert book.properties.title == "Audit & <findings>"
    assert book.properties.creator == "refund-audit"
    sheet = book["O'Brien's list"]
    assert list(sheet.iter_rows(values_only=True)) == [
        ("name", "text", "amount", "ok"),
        ("tab\there", "=1+1 & <b>", 1234.5, True),
        (None, None, -3.0, False)]
    assert sheet["B2"].data_type == "s"  # text stays text, never a formula
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:D3"
    assert sheet.column_dimensions["A"].width == pytest.approx(20.71, abs=0.01)
    assert sheet["A1"].font.b and sheet["A1"].fill.fgColor.rgb == "FFDDE6F0"
    assert sheet["C2"].number_format == "#,##0.00#"  # a third decimal shown (KWD)
    assert sheet["B2"].alignment.wrap_text and sheet["B2"].alignment.vertical == "top"
    assert list(book["Empty"].iter_rows(values_only=True)) == []


def test_every_part_is_well_formed_xml_without_doctype(tmp_path: Path) -> None:
    with zipfile.ZipFile(_book(tmp_path / "t.xlsx")) as archive:
        names = archive.namelist()
        assert {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/styles.xml",
                "xl/_rels/workbook.xml.rels", "xl/worksheets/sheet1.xml",
                "xl/worksheets/sheet2.xml", "docProps/core.xml"} <= set(names)
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        for name in names:
            root = etree.fromstring(archive.read(name), parser)
            assert root.getroottree().docinfo.doctype == ""
        workbook = archive.read("xl/workbook.xml").decode()
        # Excel keeps an autofilter's range under a hidden defined name, the sheet quoted.
        assert "'O''Brien''s list'!$A$1:$D$3" in workbook


def test_characters_xml_cannot_hold_are_written_as_excel_escapes(tmp_path: Path) -> None:
    assert ooxml.escape("a\x01b\x1f") == "a_x0001_b_x001F_"
    assert ooxml.escape("_x0041_") == "_x005F_x0041_"  # stays literal in Excel
    assert ooxml.escape("<&>") == "&lt;&amp;&gt;"
    path = tmp_path / "c.xlsx"
    with ooxml.Workbook(path) as book:
        book.add_sheet("S").row([("bell\x07", ooxml.CELL)])
    assert openpyxl.load_workbook(path)["S"]["A1"].value == "bell_x0007_"


def test_a_carriage_return_is_written_as_excel_escapes_it(tmp_path: Path) -> None:
    """XML reads a carriage return in text as a line feed (a lone CR and a CR LF alike):
    `a\rb` came back from the workbook as `a\nb`. It is written as Excel writes it, `_x000D_`
    (which openpyxl leaves as it is and Excel reads as the CR)."""
    assert ooxml.escape("a\rb") == "a_x000D_b"
    assert ooxml.escape("x\r\ny") == "x_x000D_\ny"
    assert ooxml.needs_escape("only\rhere")
    path = tmp_path / "cr.xlsx"
    with ooxml.Workbook(path) as book:
        book.add_sheet("S").row([("a\rb", ooxml.CELL), ("x\r\ny", ooxml.WRAP)])
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("xl/worksheets/sheet1.xml"),
                                etree.XMLParser(resolve_entities=False, no_network=True))
    texts = [t.text for t in root.iter(f"{{{ooxml._MAIN}}}t")]
    assert texts == ["a_x000D_b", "x_x000D_\ny"]  # no CR left for XML to turn into a LF


def test_white_space_at_either_end_is_kept_and_only_there_marked(tmp_path: Path) -> None:
    """Excel trims a text's leading and trailing white space unless its <t> says
    xml:space="preserve"; the writer says so exactly where there is such space."""
    texts = [" lead", "trail ", "\nnewline first", "tab last\t", "\u3000wide", "in  side",
             "two\nlines", "plain"]
    path = tmp_path / "w.xlsx"
    with ooxml.Workbook(path) as book:
        sheet = book.add_sheet("S")
        for text in texts:
            sheet.row([(text, ooxml.CELL)])
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("xl/worksheets/sheet1.xml"),
                                etree.XMLParser(resolve_entities=False, no_network=True))
    space = "{http://www.w3.org/XML/1998/namespace}space"
    marked = [t.get(space) == "preserve" for t in root.iter(f"{{{ooxml._MAIN}}}t")]
    assert marked == [True] * 5 + [False] * 3
    read = [row[0] for row in openpyxl.load_workbook(path)["S"].iter_rows(values_only=True)]
    assert read == texts


@pytest.mark.parametrize("name", ["", "x" * 32, "a/b", "a[1]", "'quoted'", "a:b"])
def test_sheet_names_excel_refuses_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="worksheet name"), \
            ooxml.Workbook(tmp_path / "n.xlsx") as book:
        book.add_sheet(name)
    assert not (tmp_path / "n.xlsx").exists()  # a failed write leaves no partial file


def test_duplicate_sheet_names_and_bad_cells_are_refused(tmp_path: Path) -> None:
    with ooxml.Workbook(tmp_path / "d.xlsx") as book:
        book.add_sheet("Findings")
        with pytest.raises(ValueError, match="two sheets"):
            book.add_sheet("findings")
        sheet = book.add_sheet("Other")
        with pytest.raises(ValueError, match="not a number"):
            sheet.row([(float("nan"), ooxml.CELL)])
        sheet.row_xml(3, "")
        with pytest.raises(ValueError, match="row 2 after row 3"):
            sheet.row_xml(2, "")
    assert ooxml.column_letters(0) == "A" and ooxml.column_letters(26) == "AA"
    assert ooxml.column_letters(16_383) == "XFD"


def test_an_error_mid_sheet_leaves_no_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    with pytest.raises(RuntimeError, match="stop"), ooxml.Workbook(path) as book:
        sheet = book.add_sheet("Findings")
        for k in range(50_000):  # more than one compressed chunk
            sheet.row([(f"row {k}", ooxml.CELL), (k, ooxml.AMOUNT)])
        raise RuntimeError("stop")
    assert not path.exists()


@pytest.mark.parametrize("where", ["last rows", "a later part", "text"])
def test_an_error_while_the_workbook_is_closed_leaves_no_partial_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """An error raised by `close` itself, at the end of a `with` block that raised nothing:
    the disk full as the sheet's last rows are deflated (in the second thread) or as a later
    part of the package is written, or a text the sheet's XML cannot encode (a lone
    surrogate, met when the rows are flushed). Before, the error went out of `__exit__`
    without `_abandon`: a partial, unreadable findings.xlsx was left (and with the text, the
    deflating thread waited for ever on its queue)."""
    import threading

    if where == "last rows":
        def full(self: object, data: bytes) -> int:
            raise OSError("disk full")

        monkeypatch.setattr(zipfile._ZipWriteFile, "write", full)
    elif where == "a later part":
        def full_later(self: object, info: object, data: object) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(zipfile.ZipFile, "writestr", full_later)
    path = tmp_path / "book.xlsx"
    with pytest.raises((OSError, UnicodeEncodeError)), ooxml.Workbook(path) as book:
        book.add_sheet("S").row([("row\ud800" if where == "text" else "row", ooxml.CELL)])
    assert not path.exists()
    assert not [t for t in threading.enumerate() if t.name == "xlsx-deflate"]


def _rows_book(path: Path, rows: int) -> tuple[list[bool], Path]:
    """A sheet of `rows` rows (more than one compressed chunk) and a small one; whether ISA-L
    deflated each."""
    used = []
    with ooxml.Workbook(path) as book:
        sheet = book.add_sheet("Findings")
        used.append(book.isal)
        for k in range(rows):
            sheet.row([(f"row {k} & <more>", ooxml.CELL), (k * 0.5, ooxml.AMOUNT)])
        book.add_sheet("Second").row([("last", ooxml.CELL)])
        used.append(book.isal)
    return used, path


def test_sheets_are_deflated_by_isal_where_installed_else_by_zlib(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sheets' deflate stream is ISA-L's where `isal` is installed (a dependency: the
    project's CI has it, so a Python release that renames zipfile's compressor fails here,
    not silently slower), zlib's where it is not; either way a valid zip whose every row
    reads back."""
    import sys

    pytest.importorskip("isal")
    used, fast = _rows_book(tmp_path / "isal.xlsx", 60_000)
    assert used == [True, True]
    monkeypatch.setitem(sys.modules, "isal", None)  # (an import of it raises ImportError)
    used, slow = _rows_book(tmp_path / "zlib.xlsx", 60_000)
    assert used == [False, False]
    for path in (fast, slow):
        with zipfile.ZipFile(path) as archive:
            assert archive.testzip() is None  # every entry's CRC checked
        book = openpyxl.load_workbook(path, read_only=True)
        rows = list(book["Findings"].iter_rows(values_only=True))
        assert len(rows) == 60_000 and rows[-1] == ("row 59999 & <more>", 29999.5)
        assert list(book["Second"].iter_rows(values_only=True)) == [("last",)]
    # The same sheets, deflated otherwise.
    with zipfile.ZipFile(fast) as a, zipfile.ZipFile(slow) as b:
        assert a.read("xl/worksheets/sheet1.xml") == b.read("xl/worksheets/sheet1.xml")
        assert (a.getinfo("xl/worksheets/sheet1.xml").compress_size
                != b.getinfo("xl/worksheets/sheet1.xml").compress_size)


def test_an_integer_is_written_as_one_and_reads_back_as_int(tmp_path: Path) -> None:
    """A count written as 1.0 read back as the float 1.0 (openpyxl, pandas); an integer of
    any kind (numpy's too) is now written as itself, a float as a float, and an integer a
    double cannot hold exactly as the number Excel keeps."""
    import numpy as np

    path = tmp_path / "n.xlsx"
    with ooxml.Workbook(path, title="n") as book:
        sheet = book.add_sheet("N")
        sheet.row([(1, ooxml.CELL), (np.int64(7), ooxml.CELL), (0, ooxml.CELL),
                   (2.0, ooxml.AMOUNT), (2 ** 60, ooxml.CELL)])
    values = next(openpyxl.load_workbook(path)["N"].iter_rows(values_only=True))
    assert values == (1, 7, 0, 2.0, float(2 ** 60))
    assert [type(v) for v in values] == [int, int, int, float, float]
    assert ooxml.cell_xml("A1", -(2 ** 53) + 1, 0) == f'<c r="A1" s="0"><v>{-(2 ** 53) + 1}</v></c>'
