"""The delimiter guess of a CSV file (`csv_reader._sniff`) on hostile and wide starts."""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path

import pytest

from audit.ingest import csv_reader
from audit.ingest.csv_reader import read_csv, sniff_delimiter


def _no_sniffer(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(self: csv.Sniffer, sample: str, delimiters: str | None = None) -> object:
        raise AssertionError("csv.Sniffer's regular expressions backtrack on quotes")

    monkeypatch.setattr(csv.Sniffer, "sniff", refused)


def test_a_start_of_quotes_is_guessed_by_counting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines of single quotes after commas (what makes csv.Sniffer's regular expressions
    backtrack: 20 lines of 10,000 characters took more than 220 s of CPU before the import
    was stopped) are guessed by counting, without csv.Sniffer; the header's ';' counted
    outside the double quotes. The work: one split and one count per line and candidate."""
    _no_sniffer(monkeypatch)
    lines = ["case;activity;time"] + [",'" * 50 + '"a;b";c;d' for _ in range(20)]
    assert sniff_delimiter("\n".join(lines)) == ";"
    calls: list[int] = []
    counts = csv_reader._counts

    def counted(given: list[str]) -> list[list[tuple[int, bool]]]:
        calls.append(sum(len(line) for line in given))
        return counts(given)

    monkeypatch.setattr(csv_reader, "_counts", counted)
    assert sniff_delimiter("\n".join(lines)) == ";"
    assert calls == [sum(len(line) for line in lines)]  # (each line handed once)


@pytest.mark.parametrize("width", [21_000, 25_000])
@pytest.mark.parametrize("fast", [True, False])
def test_a_json_last_column_keeps_the_delimiter(tmp_path: Path, fast: bool, width: int,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A ';' export whose last column is a quoted JSON cell of 21,000-25,000 characters:
    ';' guessed, every row read. Before, csv.Sniffer counted the commas inside the quotes
    and guessed ',': all 60 rows quarantined (the import refused)."""
    monkeypatch.setattr(csv_reader, "FAST_PATH", fast)
    header = ["case", "activity", "time", "amount", "payload"]
    rows = [[f"C{at}", "Refund", "2026-07-01T00:00:00Z", "9.90", json.dumps(
        {"id": f"re_{at}", "items": [{"sku": f"S{k}", "qty": 1, "price": "9.90"}
                                     for k in range(width // 44)]})] for at in range(60)]
    source = tmp_path / "json.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=";", lineterminator="\n").writerows([header, *rows])
    table, ragged = read_csv(source)
    assert not ragged
    assert list(table.frame.columns) == header
    assert table.frame.values.tolist() == rows


@pytest.mark.parametrize(("lines", "expected"), [
    (["case;activity;amount, EUR", "C1;Refund;9,90", "C2;Paid;10,00"], ";"),
    (["case,activity,note", 'C1,Refund,"line one;', 'line two; three"', "C2,Paid,ok"], ","),
    (['"case"|"activity"|"note"', '"C1"|"Refund"|"a, b; c"', '"C2"|"Paid"|"d\te"'], "|"),
    (["case\tactivity\tnote, free", "C1\tRefund\ta,b", "C2\tPaid\tc"], "\t"),
    (["case,activity", "C1,Refund"], ","),
    (["just one column", "a", "b"], ","),
    (['case;activity;"note', 'C1;a;"b'], ";"),  # (a quote left open: each line alone)
], ids=["decimal-commas", "note-over-lines", "all-quoted", "tab", "plain", "none",
        "open-quote"])
def test_the_guess_counts_outside_quotes_as_the_header_does(
        lines: list[str], expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_sniffer(monkeypatch)
    assert sniff_delimiter("\n".join(lines)) == expected


def test_blank_lines_before_the_header_cost_no_copy(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The csv module path guesses the delimiter of a file with a blank line before its
    header without a copy of its text: the memory held while it guesses is that of the
    same file without the blank line. Before, it handed the guess the text after the blank
    lines, a copy of the whole file (here 4 MB more while guessing; freed after, so the
    read's peak, later, was the same)."""
    monkeypatch.setattr(csv_reader, "FAST_PATH", False)
    held: list[int] = []
    sniff = csv_reader._sniff

    def measured(lines: list[str]) -> str:
        held.append(tracemalloc.get_traced_memory()[0])
        return sniff(lines)

    monkeypatch.setattr(csv_reader, "_sniff", measured)
    row = "C{};Refund;2026-07-01T00:00:00Z;" + "n" * 200
    body = "case;activity;time;note\n" + "\n".join(row.format(k) for k in range(20_000))
    for name, text in (("plain.csv", body), ("blank.csv", "\n" + body)):
        source = tmp_path / name
        source.write_text(text + "\n", encoding="utf-8")
        tracemalloc.start()
        try:
            table, ragged = read_csv(source)
        finally:
            tracemalloc.stop()
        assert not ragged and len(table.frame) == 20_000
    assert len(body) > 4_000_000 and held[1] < held[0] + 1_000_000, held


def _semicolon_export(rows: list[str]) -> str:
    """A ';' export whose header holds a comma ('amount, EUR'), with `rows` after it."""
    return "case;activity;time;amount, EUR;note\n" + "\n".join(rows) + "\n"


_NOTES = [f'C{i};Refund;2026-07-01T10:00:00Z;{i}.90;"Customer called, asked for refund\n'
          'Approved, per policy\nPaid out, closed"' for i in range(20)]
"""20 records of 3 lines (61 lines with the header): the first 50 lines end inside a note."""

_INCH = [f'C{i};Refund;2026-07-01T10:00:00Z;{i},90;"Customer called, asked\nApproved, ok"'
         for i in range(8)]
_INCH.insert(3, 'C99;Refund;2026-07-01T10:00:00Z;1,00;Monitor 27" wide')
"""8 records of 2 lines and one unquoted inch mark (27"), which leaves a quote open."""


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("rows", [_NOTES, _INCH], ids=["notes-past-line-50", "inch-mark"])
def test_a_quote_open_at_the_end_keeps_the_closed_records(
        tmp_path: Path, rows: list[str], fast: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a quote is still open at the end of the lines guessed from (a note over lines
    cut by the 50th line; an unquoted inch mark), the records closed before it are counted
    as records and the open tail left out: ';' guessed, every row read. Before, every line
    was recounted on its own, the notes' lines (commas, no ';') outvoting the header's
    ',': ',' guessed and the import refused (exit code 2; csv.Sniffer guessed ';')."""
    _no_sniffer(monkeypatch)
    monkeypatch.setattr(csv_reader, "FAST_PATH", fast)
    text = _semicolon_export(rows)
    assert sniff_delimiter(text) == ";"
    source = tmp_path / "export.csv"
    source.write_text(text, encoding="utf-8")
    table, ragged = read_csv(source)
    assert list(table.frame.columns) == ["case", "activity", "time", "amount, EUR", "note"]
    assert len(table.frame) + len(ragged) == len(rows)
    assert len(table.frame) >= len(rows) - 1  # (the inch mark's record may take the rest)


def test_the_open_tail_alone_is_dropped_where_two_records_closed() -> None:
    """Two records closed before the open quote: those two, the open tail left out (before,
    each of the four lines alone); fewer than two: each line alone, as before."""
    semicolon, comma = csv_reader._DELIMITERS.index(";"), csv_reader._DELIMITERS.index(",")
    assert csv_reader._counts(['case;activity;"note', "C1;a;b"])[semicolon] == \
        [(2, False), (2, False)]
    counts = csv_reader._counts(["a;b", "c;d", 'e;"f,', "g,h"])
    assert counts[semicolon] == [(1, False), (1, False)]
    # (read with ',', the quote is within a field: a character of it, no quote opened)
    assert counts[comma] == [(0, False), (0, False), (1, True), (1, False)]


def _inch_mark_then_notes() -> str:
    """A ';' export of 48 records, 71 lines: a header holding a comma ('amount, EUR'), an
    early row ending `Monitor 27" curved` (an unquoted inch mark), then notes of 3 lines
    quoted, a comma on each line (the 50th line inside one)."""
    lines = ["case_id;activity;timestamp;amount, EUR;note", "1;Order;2026-01-01 10:00;10.00;ok",
             "1;Approve;2026-01-02 10:00;0.00;fine", "1;Approve;2026-01-02 10:00;0.00;fine",
             '2;Order;2026-01-01 11:00;499.00;Monitor 27" curved']
    n = 3
    while len(lines) < 70:
        for _ in range(3):
            lines.append(f"{n};Approve;2026-01-02 10:00;0.00;fine")
            n += 1
        lines += [f'{n};Refund;2026-01-03 10:00;5.00;"Customer says, broken',
                  "second line, with comma", 'third line, end."']
        n += 1
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("fast", [True, False])
def test_an_inch_mark_opens_no_quote(tmp_path: Path, fast: bool,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A quote within a field (`27"`) is a character of it, as the csv module reads: ';'
    guessed, the 48 records read. Before, it opened a quote for every candidate, each
    later note's quotes read the other way round: ',' guessed, the import refused (exit
    code 2; csv.Sniffer guessed ';')."""
    _no_sniffer(monkeypatch)
    monkeypatch.setattr(csv_reader, "FAST_PATH", fast)
    text = _inch_mark_then_notes()
    assert sniff_delimiter(text) == ";"
    source = tmp_path / "export.csv"
    source.write_text(text, encoding="utf-8")
    table, ragged = read_csv(source)
    assert list(table.frame.columns)[3:] == ["amount, EUR", "note"]
    assert len(table.frame) == 48 and len(ragged) == 0
    assert table.frame["note"].iloc[3] == 'Monitor 27" curved'


def test_the_source_detection_guesses_past_a_head_cut_in_a_note(tmp_path: Path) -> None:
    """The 64 KiB head the source detection reads (`sources._head`), cut inside a note of
    a ';' export: ';' and its header. Before, the open quote at the cut had every line
    counted alone: ',' and a header of 'case;activity;time;amount' and 'EUR;note'."""
    from audit.sources import _csv_header, _head

    note = "\n".join(f"line {k}, then" + " more words" * 150 for k in range(5))
    source = tmp_path / "export.csv"
    source.write_text(_semicolon_export(
        [f'C{i};Refund;2026-07-01;{i}.90;"{note}"' for i in range(60)]), encoding="utf-8")
    head = _head(source)
    assert head is not None and len(head) == 1 << 16 and head.count("\n") < 50
    assert head.count('"') % 2 == 1  # (cut inside a note)
    found = _csv_header(head)
    assert found is not None
    assert found[1:] == (";", ["case", "activity", "time", "amount, EUR", "note"])


@pytest.mark.parametrize("rows", [
    # One unquoted cell holding ',"' among 40 rows that fit.
    [f"C{k};Create ticket;2026-07-01 10:00:{k:02d};12.50" for k in range(40)]
    + ['C99;Kunde sagte,"bitte erstatten";2026-07-01 10:00:00;12.50'],
    # Inch marks (within a field whatever the delimiter) and one such cell.
    [f'C{k};Monitor 27" curved;2026-07-01 10:00:00;{k}' for k in range(1, 5)]
    + ['C9;said,"refund now" twice;2026-07-01 10:00:00;3']], ids=["one-cell", "inch-marks"])
def test_one_cell_quoting_after_a_comma_does_not_outweigh_the_rows_that_fit(
        rows: list[str]) -> None:
    """A ';' export whose header holds a comma (`amount, EUR`): a cell `said,"refund now"`
    (a quote within a field read with ';', a quoted cell's start read with ',') does not
    turn the guess to ','. Before (the fewest records holding a quote within a field
    first), one such record outweighed every row repeating the header's count: ',' and
    the import refused (no column for the case)."""
    lines = ["case_id;activity;timestamp;amount, EUR", *rows]
    assert sniff_delimiter("\n".join(lines) + "\n") == ";"
    assert [len(r) for r in csv.reader(lines, delimiter=";")] == [4] * len(lines)
