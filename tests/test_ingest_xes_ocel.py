"""Tests of the XES and OCEL 2.0 readers, against pm4py as the reference and hostile input."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from lxml import etree

from audit.errors import InputError
from audit.ingest.ocel import read_ocel
from audit.ingest.xes import read_xes

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PM4PY_TESTS = DATA / "pm4py-tests"
OCEL_DIR = PM4PY_TESTS / "ocel"
OCEL_FILES = ("ocel20_example.jsonocel", "ocel20_example.xmlocel", "ocel20_example.sqlite")
EXAMPLE_ZONE = "Europe/Amsterdam"
"""The zone of the OCEL 2.0 example's times without one (its XML and SQLite encodings)."""
OBJECT_TYPES = ("Invoice", "Payment", "Purchase Order", "Purchase Requisition")
DTD_MESSAGE = "XES files must not contain a DTD or entity declarations"

BILLION_LAUGHS = """<?xml version="1.0"?>
<!-- a comment before the DTD must not hide it -->
<!DOCTYPE log [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<log>
  <trace>
    <string key="concept:name" value="&lol9;"/>
    <event><string key="concept:name" value="&lol9;"/></event>
  </trace>
</log>
"""


def shared(*parts: str) -> Path:
    """A file of the shared test data; its absence is a failure, never a skip."""
    path = PM4PY_TESTS.joinpath(*parts)
    assert DATA.is_dir(), f"shared test data folder missing: {DATA} (expected next to the repo)"
    assert path.is_file(), f"shared test data file missing: {path}"
    return path


@pytest.fixture(scope="session")
def pm4py() -> Any:
    import pm4py as module  # imported lazily: it is slow and only the reference here

    return module


@pytest.fixture
def fed_to_lxml(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every byte the readers hand to lxml, to show a refused document never reaches it."""
    fed: list[bytes] = []

    class SpyParser(etree.XMLPullParser):
        def feed(self, data: Any) -> None:
            fed.append(bytes(data))
            super().feed(data)

    monkeypatch.setattr(etree, "XMLPullParser", SpyParser)
    return fed


def write(path: Path, text: str, *, compress: bool = False) -> Path:
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


# --- XES against pm4py ------------------------------------------------------------------------

XES_LOGS = [
    pytest.param("running-example.xes", 6, 42, id="running-example"),
    pytest.param("08_receipt.xes.gz", 1434, 8577, id="receipt"),
    pytest.param("bpic2012.xes.gz", 13087, 262200, id="bpic2012", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("name", "cases", "events"), XES_LOGS)
def test_xes_counts_match_pm4py(pm4py: Any, name: str, cases: int, events: int) -> None:
    path = shared(name)
    table = read_xes(path)
    reference = pm4py.read_xes(str(path), variant="iterparse")  # not r4pm's (needs polars)

    frame = table.frame
    assert len(frame) == events == len(reference)
    assert frame["case:concept:name"].nunique() == cases == reference["case:concept:name"].nunique()
    assert table.records_read == events
    assert table.system == "xes"
    assert table.file == path
    assert table.rows.tolist() == list(range(1, events + 1))
    ours = Counter(zip(frame["case:concept:name"], frame["concept:name"], strict=True))
    theirs = Counter(zip(reference["case:concept:name"], reference["concept:name"], strict=True))
    assert ours == theirs
    # The text is left as written, but it must denote the instants pm4py parsed from it.
    parsed = pd.to_datetime(frame["time:timestamp"], format="ISO8601", utc=True)
    assert sorted(parsed) == sorted(pd.to_datetime(reference["time:timestamp"], utc=True))


def test_xes_values_as_written_in_the_file() -> None:
    table = read_xes(shared("running-example.xes"))
    first = table.frame.iloc[0]
    assert first["case:concept:name"] == "3"
    assert first["case:creator"] == "Fluxicon Nitro"
    assert first["concept:name"] == "register request"
    assert first["org:resource"] == "Pete"
    assert first["time:timestamp"] == "2010-12-30T14:32:00.000+01:00"
    assert first["Costs"] == "50"  # declared <string> in the file, so it stays text
    assert table.frame["time:timestamp"].iloc[1] == "2010-12-30T15:06:00.000+01:00"
    assert table.notes == []


def test_xes_gz_trace_attributes_and_dates_stay_text() -> None:
    frame = read_xes(shared("08_receipt.xes.gz")).frame
    case = frame[frame["case:concept:name"] == "case-10011"]
    assert case["time:timestamp"].iloc[0] == "2011-10-11T13:45:40.276+02:00"
    assert case["time:timestamp"].iloc[2] == "2011-11-24T15:36:51.302+01:00"
    assert set(case["case:channel"]) == {"Internet"}
    assert set(case["case:startdate"]) == {"2011-10-11T13:42:22.688+02:00"}
    assert case["concept:name"].iloc[0] == "Confirmation of receipt"
    assert "case:concept:name" in frame.columns and "concept:name" in frame.columns


@pytest.mark.slow
def test_bpic2012_parses_whole() -> None:
    """Every event of BPIC2012 read (its import time is measured in bench/, against
    pm4py's, not here: a timed test fails on a loaded machine and proves nothing)."""
    table = read_xes(shared("bpic2012.xes.gz"))
    assert len(table.frame) == 262200


# --- XES typing and structure -----------------------------------------------------------------

TYPED_XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <global scope="event"><string key="concept:name" value="UNKNOWN"/></global>
  <classifier name="Activity" keys="concept:name"/>
  <string key="concept:name" value="log-level, ignored"/>
  <trace>
    <string key="concept:name" value="c1"/>
    <event>
      <string key="concept:name" value="a"/>
      <date key="time:timestamp" value="2024-03-31T01:30:00.000+01:00"/>
      <int key="n" value="7"/>
      <float key="x" value="1.5"/>
      <boolean key="ok" value="true"/>
      <id key="uid" value="u-1"/>
      <string key="parent" value="kept"><string key="child" value="ignored"/></string>
      <list key="items"><values><string key="item" value="ignored"/></values></list>
    </event>
    <event>
      <string key="concept:name" value="b"/>
      <date key="time:timestamp" value="2024-03-31 03:30"/>
    </event>
  </trace>
  <trace><string key="concept:name" value="empty"/></trace>
  <trace>
    <event><string key="concept:name" value="c"/><boolean key="ok" value="false"/></event>
    <string key="concept:name" value="c2"/>
    <int key="priority" value="3"/>
  </trace>
</log>
"""


def test_xes_value_types_and_missing_values(tmp_path: Path) -> None:
    table = read_xes(write(tmp_path / "typed.xes", TYPED_XES))
    frame = table.frame
    assert len(frame) == 3
    assert frame["case:concept:name"].tolist() == ["c1", "c1", "c2"]
    assert str(frame["n"].dtype) == "Int64"
    assert frame["n"].iloc[0] == 7 and pd.isna(frame["n"].iloc[1])
    assert frame["x"].dtype == "float64"
    assert str(frame["ok"].dtype) == "boolean"
    assert frame["ok"].tolist()[0] is True and frame["ok"].tolist()[2] is False
    assert frame["uid"].iloc[0] == "u-1"
    assert frame["time:timestamp"].tolist()[:2] == [
        "2024-03-31T01:30:00.000+01:00",
        "2024-03-31 03:30",
    ]
    assert frame["parent"].iloc[0] == "kept"
    assert "child" not in frame.columns and "items" not in frame.columns
    assert "item" not in frame.columns
    assert str(frame["case:priority"].dtype) == "Int64"
    assert frame["case:priority"].tolist()[2] == 3
    assert table.notes == ["1 trace without events", "typed.xes: 1 event list or container "
                           "attribute(s) left out (no value of their own): 'items' (1)"]
    assert table.rows.tolist() == [1, 2, 3]


def test_xes_gzip_is_detected_by_content_not_name(tmp_path: Path) -> None:
    hidden = write(tmp_path / "plain-name.xes", TYPED_XES, compress=True)
    misnamed = write(tmp_path / "not-compressed.xes.gz", TYPED_XES)
    assert len(read_xes(hidden).frame) == 3
    assert len(read_xes(misnamed).frame) == 3


def test_xes_with_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.xes"
    path.write_bytes(b"\xef\xbb\xbf" + TYPED_XES.encode("utf-8"))
    assert len(read_xes(path).frame) == 3


def test_xes_bad_typed_value_names_line_and_field(tmp_path: Path) -> None:
    text = '<log>\n<trace>\n<event>\n<int key="amount" value="12.5"/>\n</event>\n</trace>\n</log>'
    with pytest.raises(InputError) as caught:
        read_xes(write(tmp_path / "bad-int.xes", text))
    assert caught.value.row == 4
    assert caught.value.field == "amount"


@pytest.mark.parametrize(("kind", "value"), [
    ("int", "99999999999999999999999"), ("int", "-9223372036854775809"), ("int", "1_000"),
    ("float", "1_0.5")])
def test_xes_values_beyond_their_type_name_line_and_field(tmp_path: Path, kind: str,
                                                          value: str) -> None:
    """An XES int is an xs:long: beyond 64 bits (before: an OverflowError crashed the read
    with no line), or written with Python's digit separator, it is not a valid value."""
    text = (f'<log>\n<trace>\n<event>\n<{kind} key="ref" value="{value}"/>\n</event>\n'
            '</trace>\n</log>')
    with pytest.raises(InputError, match=f"not a valid XES {kind} value") as caught:
        read_xes(write(tmp_path / "big.xes", text))
    assert (caught.value.row, caught.value.field) == (4, "ref")
    edge = text.replace(value, "-9223372036854775808" if kind == "int" else "1.5")
    assert read_xes(write(tmp_path / "edge.xes", edge)).frame["ref"].tolist() == [
        -9223372036854775808 if kind == "int" else 1.5]


# --- hostile and malformed XES ----------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_xes_with_entity_declarations_is_refused_unexpanded(
    tmp_path: Path, fed_to_lxml: list[bytes], compress: bool
) -> None:
    path = write(tmp_path / "laughs.xes", BILLION_LAUGHS, compress=compress)
    with pytest.raises(InputError) as caught:
        read_xes(path)
    assert caught.value.message == DTD_MESSAGE
    assert caught.value.row == 3  # the line of <!DOCTYPE
    assert caught.value.file == str(path)
    # Refused before lxml saw a byte, so no entity can have been expanded.
    assert fed_to_lxml == []
    assert "lollol" not in str(caught.value)


def test_xes_dtd_in_utf16_is_refused(tmp_path: Path, fed_to_lxml: list[bytes]) -> None:
    text = BILLION_LAUGHS.replace(
        '<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>'
    )
    path = tmp_path / "laughs16.xes"
    path.write_bytes(text.encode("utf-16"))
    with pytest.raises(InputError, match="must not contain a DTD"):
        read_xes(path)
    assert fed_to_lxml == []


UTF7_HIDDEN_DTD = (
    '<?xml version="1.0" encoding="UTF-7"?>\n'
    # In UTF-7 "+AC0ALQA+-" is "-->": libxml2 ends the comment there, and reads the DOCTYPE
    # that a byte-wise reading of the prolog takes as still inside the comment.
    '<!-- x +AC0ALQA+- <!DOCTYPE log [<!ENTITY a "INJECTED">]><!-- -->\n'
    '<log xes.version="1.0" xmlns="http://www.xes-standard.org/"><trace>'
    '<string key="concept:name" value="C1&a;"/><event>'
    '<string key="concept:name" value="a"/>'
    '<date key="time:timestamp" value="2024-03-01T10:00:00Z"/></event></trace></log>\n')


def test_xes_declaring_an_encoding_that_hides_markup_is_refused(
        tmp_path: Path, fed_to_lxml: list[bytes]) -> None:
    """A DOCTYPE hidden from the prolog check by UTF-7 (its entity expanded into the case
    id before: "C1INJECTED") is refused, naming the encoding, before lxml sees a byte."""
    path = tmp_path / "utf7.xes"
    path.write_bytes(UTF7_HIDDEN_DTD.encode("ascii"))
    with pytest.raises(InputError, match="names encoding 'UTF-7'") as caught:
        read_xes(path)
    assert caught.value.row == 1 and caught.value.file == str(path)
    assert fed_to_lxml == []


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "windows-1252", "US-ASCII", "utf-8"])
def test_xes_declaring_an_ascii_based_encoding_is_read(tmp_path: Path, encoding: str) -> None:
    text = TYPED_XES.replace('encoding="UTF-8"', f'encoding="{encoding}"').replace(
        'value="a"', 'value="caf\u00e9"' if encoding != "US-ASCII" else 'value="a"')
    path = tmp_path / "declared.xes"
    path.write_bytes(text.encode(encoding))
    table = read_xes(path)
    assert table.frame["concept:name"].iloc[0] == ("a" if encoding == "US-ASCII" else "caf\u00e9")


def test_xes_external_dtd_is_refused(tmp_path: Path) -> None:
    text = '<?xml version="1.0"?>\n<!DOCTYPE log SYSTEM "http://example.invalid/x.dtd">\n<log/>'
    with pytest.raises(InputError, match="must not contain a DTD") as caught:
        read_xes(write(tmp_path / "external.xes", text))
    assert caught.value.row == 2


def test_xes_undeclared_entity_is_malformed_not_expanded(tmp_path: Path) -> None:
    text = '<log>\n<trace>\n<event><string key="a" value="&secret;"/></event>\n</trace>\n</log>'
    with pytest.raises(InputError, match="line 3") as caught:
        read_xes(write(tmp_path / "entity.xes", text))
    assert caught.value.row == 3


def test_xes_malformed_xml_reports_the_line(tmp_path: Path) -> None:
    text = (
        '<?xml version="1.0"?>\n<log>\n  <trace>\n    <event>\n'
        '      <string key="concept:name" value="a">\n    </event>\n  </trace>\n</log>\n'
    )
    with pytest.raises(InputError) as caught:
        read_xes(write(tmp_path / "broken.xes", text))
    assert caught.value.row == 6
    assert "line 6: malformed XML: " in caught.value.one_line()
    assert caught.value.file == str(tmp_path / "broken.xes")


@pytest.mark.parametrize(("body", "said"), [
    ("<log>" * 300 + "</log>" * 300, "nested more than 256 elements deep"),
    ('<log><trace><string key="concept:name" value="' + "r" * 10_000_001 + '"/></trace></log>',
     "longer than 10,000,000 characters"),
])
def test_xes_beyond_the_readers_limits_is_told_in_one_line(tmp_path: Path, body: str,
                                                           said: str) -> None:
    """A hostile XES nested 300 deep, or holding a value of 10 MB, is refused by libxml2's
    limits; the error was its message as it is: 'use XML_PARSE_HUGE option' (an option of
    the library, which no user can set), ', line 2, column 1285' after the line the error
    already names, and, for a long value, a line break inside it (two lines on stderr)."""
    with pytest.raises(InputError) as caught:
        read_xes(write(tmp_path / "deep.xes", '<?xml version="1.0"?>\n' + body))
    message = caught.value.one_line()
    assert said in message
    assert "XML_PARSE_HUGE" not in message and "\n" not in message
    assert ", line " not in message and caught.value.row is not None


def test_xes_truncated_file_is_an_input_error(tmp_path: Path) -> None:
    data = shared("running-example.xes").read_bytes()[:5000]
    with pytest.raises(InputError, match="malformed XML"):
        read_xes(write(tmp_path / "cut.xes", data.decode("utf-8", errors="ignore")))
    compressed = gzip.compress(shared("running-example.xes").read_bytes())
    (tmp_path / "cut.xes.gz").write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(InputError):
        read_xes(tmp_path / "cut.xes.gz")


def _gzip_bomb(path: Path, head: bytes, filler: bytes, tail: bytes, size: int) -> Path:
    """A gzip file of `head`, `filler` repeated to `size` bytes, and `tail`: about a
    thousandth of its decompressed size (real logs compress 20 to 45 times, the shared
    test data's XES logs)."""
    with gzip.GzipFile(path, "wb", compresslevel=9) as stream:
        stream.write(head)
        block = filler * ((1 << 20) // len(filler))
        for _ in range(size // len(block)):
            stream.write(block)
        stream.write(tail)
    return path


@pytest.mark.parametrize(("name", "read"), [
    ("bomb.xes.gz", lambda path: read_xes(path)),
    ("bomb.xmlocel.gz", lambda path: read_ocel(path, "T")),
    ("bomb.jsonocel.gz", lambda path: read_ocel(path, "T")),
], ids=["xes", "ocel-xml", "ocel-json"])
def test_a_gzip_bomb_is_refused_before_it_is_decompressed(
        tmp_path: Path, name: str, read: Any) -> None:
    """A few kilobytes of gzip that decompress to gigabytes: refused as soon as what was
    decompressed passes GZIP_FREE bytes and GZIP_MOST_RATIO times the compressed bytes read
    (before, OCEL JSON was decompressed whole: a 4 MB file of 4 GB of spaces took 4.3 GB and
    ended in MemoryError, an internal error; and XES of many small elements was streamed to
    its end however large)."""
    from audit.ingest.xes import GZIP_FREE, GZIP_MOST_RATIO

    if name.endswith(".jsonocel.gz"):
        head, filler, tail = b'{"objects": [], "events": []', b" ", b"}"
    else:
        head, filler, tail = b'<?xml version="1.0"?>\n<log>', b"<!-- padding -->", b"</log>"
    path = _gzip_bomb(tmp_path / name, head, filler, tail, GZIP_FREE + (8 << 20))
    assert path.stat().st_size * GZIP_MOST_RATIO < GZIP_FREE
    with pytest.raises(InputError) as caught:
        read(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert f"more than {GZIP_MOST_RATIO} times" in message and "gunzip" in message


def _one_key_each(tmp_path: Path, kind: str, events: int) -> Path:
    """A log of `events` events, each with an attribute of a key no other event has."""
    if kind == "xes":
        body = "".join(
            f'<trace><string key="concept:name" value="c{i}"/><event><string '
            f'key="concept:name" value="a"/><date key="time:timestamp" '
            f'value="2026-01-01T00:00:00Z"/><string key="k{i}" value="v"/></event></trace>\n'
            for i in range(events))
        return write(tmp_path / "keys.xes", f'<?xml version="1.0"?>\n<log>\n{body}</log>\n')
    document = {
        "objects": [{"id": f"o{i}", "type": "T"} for i in range(events)],
        "events": [{"id": f"e{i}", "type": "A", "time": "2026-01-01T00:00:00Z",
                    "attributes": [{"name": f"k{i}", "value": "v"}],
                    "relationships": [{"objectId": f"o{i}"}]} for i in range(events)]}
    return write(tmp_path / "keys.jsonocel", json.dumps(document, indent=1))


@pytest.mark.parametrize("kind", ["xes", "ocel"])
def test_attributes_of_a_key_each_are_refused_before_their_table_is_made(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """Each event with an attribute key of its own makes a table of events x keys, nearly
    all empty: 4 MB of XES (20,000 events) took 6.7 GB and more than 300 s, and OCEL JSON
    4.4 GB, both stopped by a timeout. Refused once the table would pass SPARSE_FREE cells
    (lowered here) with fewer than one in SPARSE_RATIO of them filled, naming the key and
    where it came."""
    import audit.ingest.xes as xes

    monkeypatch.setattr(xes, "SPARSE_FREE", 100_000)
    path = _one_key_each(tmp_path, kind, 2_000)
    with pytest.raises(InputError) as caught:
        read_xes(path) if kind == "xes" else read_ocel(path, "T")
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "attribute keys" in message and "refused" in message
    assert caught.value.field is not None and caught.value.field.startswith("k")
    assert caught.value.row is not None  # (its line, or its record's)


@pytest.mark.parametrize("kind", ["xes", "ocel"])
def test_attributes_of_a_key_each_within_the_bound_are_read(
        tmp_path: Path, kind: str) -> None:
    """The same log, its table below SPARSE_FREE cells: read, each key a column."""
    path = _one_key_each(tmp_path, kind, 300)
    frame = (read_xes(path) if kind == "xes" else read_ocel(path, "T")).frame
    assert len(frame) == 300 and {"k0", "k299"} <= set(frame.columns)


def _trace_keys(tmp_path: Path, traces: int, keys: int, events: int, *,
                shared: bool) -> Path:
    """A log of `traces` traces of `events` events each; each trace has `keys` attribute
    keys, the same in every trace (`shared`) or its own."""
    def trace(t: int) -> str:
        own = "".join(f'<string key="k{k if shared else t * keys + k}" value="v{t}"/>\n'
                      for k in range(keys))
        return (f'<trace><string key="concept:name" value="c{t}"/>\n{own}'
                + '<event><string key="concept:name" value="a"/></event>\n' * events
                + "</trace>\n")

    body = "".join(trace(t) for t in range(traces))
    return write(tmp_path / "trace-keys.xes", f'<?xml version="1.0"?>\n<log>\n{body}</log>\n')


@pytest.mark.parametrize(("traces", "keys", "events", "shared"),
                         [(1, 400, 2_000, True), (40, 10, 500, False)])
def test_trace_keys_copied_onto_every_event_are_bounded_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, traces: int, keys: int, events: int,
        shared: bool) -> None:
    """A trace's attributes are copied onto each of its events: the events' table is events
    x (their own keys + the traces'), bounded like the table of the events' own keys (cells
    per value read). Before, only the traces' table (traces x trace keys) was: one trace of
    4,000 keys and 40,000 events (2.3 MB of XES) was read as 160 million cells, 1.7 GB;
    traces with keys of their own alike. Refused (SPARSE_FREE lowered here), naming a trace
    key and the line of its first use."""
    import audit.ingest.xes as xes

    monkeypatch.setattr(xes, "SPARSE_FREE", 100_000)
    path = _trace_keys(tmp_path, traces, keys, events, shared=shared)
    # (the traces' own table within the bound: traces x trace keys)
    assert traces * (1 + keys * (1 if shared else traces)) <= 100_000
    with pytest.raises(InputError) as caught:
        read_xes(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: line ") and "refused" in message
    assert "of them the traces', each copied onto every event of its trace" in message
    key = caught.value.field
    assert key is not None and key.startswith("k")
    lines = path.read_text(encoding="utf-8").splitlines()
    first = next(n for n, text in enumerate(lines, 1) if f'key="{key}"' in text)
    assert caught.value.row == first
    # The same log with SPARSE_FREE as it is: read, each trace key on each of its events.
    monkeypatch.undo()
    frame = read_xes(path).frame
    assert len(frame) == traces * events
    assert frame[f"case:{key}"].notna().sum() == (traces if shared else 1) * events


def test_trace_keys_of_a_real_shape_are_read_past_the_free_cells(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Traces sharing their keys (as real logs' do), each key copied onto every event: read
    with no free cells at all (SPARSE_FREE 0), the table well within the bound."""
    import audit.ingest.xes as xes

    monkeypatch.setattr(xes, "SPARSE_FREE", 0)
    frame = read_xes(_trace_keys(tmp_path, 50, 20, 40, shared=True)).frame
    assert len(frame) == 2_000 and frame["case:k19"].notna().all()


def test_keys_that_came_early_are_refused_at_the_end_naming_the_sparsest_and_its_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys that came with the first event, rows without them after: refused once the log
    is read (SPARSE_FREE lowered here), naming the key that adds most empty cells (the one
    with the fewest values; of those, the latest to come) and the line of its first use.
    Before, the key named was the last to come, whatever its values (here a key every
    event has), and no line."""
    import audit.ingest.xes as xes

    monkeypatch.setattr(xes, "SPARSE_FREE", 100_000)
    first = "".join(f'<string key="k{k}" value="v"/>\n' for k in range(300))
    body = (f'<trace><string key="concept:name" value="c"/>\n<event>\n{first}</event>\n'
            + '<event><string key="org:resource" value="r"/></event>\n' * 2_000
            + "</trace>\n")
    path = write(tmp_path / "early.xes", f'<?xml version="1.0"?>\n<log>\n{body}</log>\n')
    with pytest.raises(InputError) as caught:
        read_xes(path)
    assert caught.value.field == "k299"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert caught.value.row == lines.index('<string key="k299" value="v"/>') + 1
    assert str(caught.value).startswith(f"{path}: line {caught.value.row}: ")


def test_a_real_gzip_log_is_read_whatever_its_size_beyond_the_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bound is on the ratio, not the size: a real log compressed 19 times (08_receipt)
    decompressed past GZIP_FREE (lowered to 1 MiB here) is read whole, as pm4py counts it."""
    import audit.ingest.xes as xes

    monkeypatch.setattr(xes, "GZIP_FREE", 1 << 20)
    frame = read_xes(shared("08_receipt.xes.gz")).frame
    assert len(frame) == 8577


@pytest.mark.parametrize(
    "text",
    [
        '<?xml version="1.0"?>\n<feed><entry/></feed>',
        "not xml at all",
        "",
        '<log><event><string key="concept:name" value="a"/></event></log>',
    ],
    ids=["other-root", "text", "empty", "event-outside-trace"],
)
def test_not_xes_is_an_input_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(InputError):
        read_xes(write(tmp_path / "other.xes", text))


def test_ocel_xml_given_as_xes_is_refused() -> None:
    with pytest.raises(InputError, match="outside a <trace>"):
        read_xes(shared("ocel", "ocel20_example.xmlocel"))


# --- OCEL 2.0 against pm4py -------------------------------------------------------------------


def flattened(table: Any) -> Counter[tuple[str, str, str]]:
    frame = table.frame
    return Counter(
        zip(frame["case:concept:name"], frame["concept:name"], frame["ocel:eid"], strict=True)
    )


@pytest.mark.parametrize("object_type", OBJECT_TYPES)
def test_ocel_encodings_agree_with_each_other_and_pm4py(pm4py: Any, object_type: str) -> None:
    results = {}
    for name in OCEL_FILES:
        path = shared("ocel", name)
        table = read_ocel(path, object_type, assume_tz=EXAMPLE_ZONE)
        reference = pm4py.ocel_flattening(pm4py.read_ocel2(str(path)), object_type)
        assert len(table.frame) == len(reference), name
        assert table.records_read == len(reference), name
        cases = table.frame["case:concept:name"].nunique()
        assert cases == reference["case:concept:name"].nunique(), name
        expected = Counter(
            zip(
                reference["case:concept:name"],
                reference["concept:name"],
                reference["ocel:eid"],
                strict=True,
            )
        )
        assert flattened(table) == expected, name
        assert table.system == "ocel"
        # The example numbers its events e1..e13 in file order.
        assert table.rows.tolist() == [int(e[1:]) for e in table.frame["ocel:eid"]], name
        results[name] = flattened(table)
    assert len({frozenset(c.items()) for c in results.values()}) == 1


def test_ocel_counts_and_notes() -> None:
    expected = {"Invoice": (9, 3, 4), "Payment": (3, 3, 10), "Purchase Order": (5, 2, 8)}
    for name in OCEL_FILES:
        for object_type, (rows, cases, outside) in expected.items():
            table = read_ocel(shared("ocel", name), object_type, assume_tz=EXAMPLE_ZONE)
            assert len(table.frame) == rows
            assert table.frame["case:concept:name"].nunique() == cases
            assert table.notes[0] == (
                f"{outside} of 13 events relate to no '{object_type}' object and are not "
                "part of these cases"
            )


@pytest.mark.parametrize(
    ("name", "stamp"),
    [
        ("ocel20_example.jsonocel", "2022-01-14T11:00:00+00:00"),
        ("ocel20_example.xmlocel", "2022-01-14T12:00:00"),
        ("ocel20_example.sqlite", "2022-01-14 12:00:00"),
    ],
)
def test_ocel_row_content(name: str, stamp: str) -> None:
    frame = read_ocel(shared("ocel", name), "Invoice", assume_tz=EXAMPLE_ZONE).frame
    e5 = frame[frame["ocel:eid"] == "e5"].iloc[0]
    assert e5["case:concept:name"] == "R1"
    assert e5["concept:name"] == "Insert Invoice"
    assert e5["time:timestamp"] == stamp  # raw text, whatever the encoding wrote
    assert e5["ocel:qualifier"] == "Invoice created with identifier"
    assert e5["invoice_inserter"] == "Luke"
    assert pd.isna(e5["payment_inserter"])


@pytest.mark.parametrize("name", OCEL_FILES)
def test_ocel_object_attributes_as_of_the_event(name: str) -> None:
    invoices = read_ocel(shared("ocel", name), "Invoice",
                         assume_tz=EXAMPLE_ZONE).frame.set_index("ocel:eid")
    r3 = invoices[invoices["case:concept:name"] == "R3"]["case:is_blocked"]
    assert r3.to_dict() == {"e9": "No", "e10": "No", "e11": "Yes", "e12": "No", "e13": "No"}
    orders = read_ocel(shared("ocel", name), "Purchase Order",
                       assume_tz=EXAMPLE_ZONE).frame.set_index("ocel:eid")
    assert orders.loc["e3", "case:po_quantity"] == "500"
    assert orders.loc["e4", "case:po_quantity"] == "600"
    assert orders.loc["e3", "case:po_product"] == "Cows"
    assert "case:is_blocked" not in orders.columns


@pytest.mark.parametrize("name", OCEL_FILES)
@pytest.mark.parametrize("object_type", [None, "Refund"])
def test_ocel_unknown_object_type_lists_the_types(name: str, object_type: str | None) -> None:
    with pytest.raises(InputError) as caught:
        read_ocel(shared("ocel", name), object_type, assume_tz=EXAMPLE_ZONE)
    message = caught.value.message
    assert "choose --object-type" in message
    assert (
        "Invoice (3 objects), Payment (3), Purchase Order (2), Purchase Requisition (1)" in message
    )
    if object_type:
        assert "'Refund'" in message


def test_ocel_sqlite_is_opened_read_only(tmp_path: Path) -> None:
    copy = tmp_path / "copy.sqlite"
    shutil.copyfile(shared("ocel", "ocel20_example.sqlite"), copy)
    before = copy.read_bytes()
    read_ocel(copy, "Invoice")
    assert copy.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.sqlite"]


def _in_wal_mode(copy: Path) -> None:
    """`copy` (a SQLite file) switched to write-ahead logging, as a live database is."""
    with closing(sqlite3.connect(copy)) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.commit()


def test_ocel_sqlite_in_wal_mode_is_read_without_a_file_made_beside_it(tmp_path: Path) -> None:
    """A database in WAL mode (a live system's copied as it was): before, opening it
    read-only made a -shm and a -wal file beside the input."""
    copy = tmp_path / "copy.sqlite"
    shutil.copyfile(shared("ocel", "ocel20_example.sqlite"), copy)
    _in_wal_mode(copy)
    before = copy.read_bytes()
    assert len(read_ocel(copy, "Invoice").frame) == 9
    assert copy.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.sqlite"]


def test_ocel_sqlite_with_a_write_ahead_log_beside_it_is_refused(tmp_path: Path) -> None:
    """A -wal file beside the database holds changes the file does not: SQLite read them
    (an event deleted there was gone: 8 events of 9) though the file, which the import
    names and digests, was byte for byte the log of 9. Refused, naming the -wal; an empty
    one (a database closed cleanly) is read."""
    live = tmp_path / "live"
    live.mkdir()
    source = live / "log.sqlite"
    shutil.copyfile(shared("ocel", "ocel20_example.sqlite"), source)
    _in_wal_mode(source)
    clean = source.read_bytes()
    copied = tmp_path / "log.sqlite"
    with closing(sqlite3.connect(source)) as connection:
        connection.execute("PRAGMA wal_autocheckpoint = 0")
        connection.execute("DELETE FROM event WHERE ocel_id = 'e6'")
        connection.commit()
        # (copied while the database is open: its change in the -wal alone)
        shutil.copyfile(source, copied)
        shutil.copyfile(live / "log.sqlite-wal", tmp_path / "log.sqlite-wal")
    assert copied.read_bytes() == clean
    with pytest.raises(InputError) as caught:
        read_ocel(copied, "Invoice")
    message = str(caught.value)
    assert message.startswith(f"{copied}: a SQLite write-ahead log lies beside it "
                              "(log.sqlite-wal, ")
    (tmp_path / "log.sqlite-wal").write_bytes(b"")
    assert len(read_ocel(copied, "Invoice").frame) == 9


def test_ocel_sqlite_journals_refused_only_where_they_hold_a_change(tmp_path: Path) -> None:
    """A rollback journal left by journal_mode=PERSIST (its header zeroed once its change was
    committed: the file is complete) is read past; one starting with the journal's magic (a
    change never finished) is refused; a -wal beside the file a symbolic link names is
    refused too. Before, the PERSIST journal was refused for being non-empty, and the -wal
    beside a link's target not looked for."""
    source = tmp_path / "persist" / "log.sqlite"
    source.parent.mkdir()
    shutil.copyfile(shared("ocel", "ocel20_example.sqlite"), source)
    with closing(sqlite3.connect(source)) as connection:
        connection.execute("PRAGMA journal_mode = PERSIST")
        connection.execute("CREATE TABLE zz (x)")
        connection.commit()
    journal = source.with_name("log.sqlite-journal")
    assert journal.stat().st_size > 0
    assert len(read_ocel(source, "Invoice").frame) == 9
    journal.write_bytes(bytes.fromhex("d9d505f920a163d7") + journal.read_bytes()[8:])
    with pytest.raises(InputError, match="a SQLite rollback journal lies beside it"):
        read_ocel(source, "Invoice")
    journal.unlink()
    source.with_name("log.sqlite-wal").write_bytes(b"\x37\x7f\x06\x82" + b"\0" * 28)
    link = tmp_path / "link.sqlite"
    link.symlink_to(source)
    with pytest.raises(InputError) as caught:
        read_ocel(link, "Invoice")
    assert str(caught.value).startswith(
        f"{link}: a SQLite write-ahead log lies beside it ({source}-wal, 32 bytes)")


@pytest.mark.parametrize("suffix", ["-journal", "-wal"])
def test_ocel_sqlite_with_a_fifo_named_as_its_journal_is_read(tmp_path: Path,
                                                               suffix: str) -> None:
    """A FIFO named `log.sqlite-journal` (or `-wal`) beside the database holds no change:
    the database is read (9 events). Before, the journal check opened it and the import
    hung, waiting for a writer (run in a process of its own, so that this cannot hang)."""
    source = tmp_path / "log.sqlite"
    shutil.copyfile(shared("ocel", "ocel20_example.sqlite"), source)
    os.mkfifo(source.with_name(source.name + suffix))
    script = ("import sys; from pathlib import Path; from audit.ingest.ocel import read_ocel; "
              "print(len(read_ocel(Path(sys.argv[1]), 'Invoice').frame))")
    try:
        done = subprocess.run([sys.executable, "-c", script, str(source)], capture_output=True,
                              text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("the import waited on the FIFO")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "9"


# --- hostile and malformed OCEL ---------------------------------------------------------------


def test_ocel_xml_with_entity_declarations_is_refused(
    tmp_path: Path, fed_to_lxml: list[bytes]
) -> None:
    with pytest.raises(InputError, match="must not contain a DTD or entity declarations") as caught:
        read_ocel(write(tmp_path / "laughs.xmlocel", BILLION_LAUGHS), "Invoice")
    assert caught.value.row == 3
    assert fed_to_lxml == []


def test_ocel_malformed_xml_reports_the_line(tmp_path: Path) -> None:
    lines = shared("ocel", "ocel20_example.xmlocel").read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if 'pr_approver">Tania' in line)
    lines[index] = lines[index].replace("</attribute>", "</attribut>")
    with pytest.raises(InputError) as caught:
        read_ocel(write(tmp_path / "broken.xmlocel", "\n".join(lines)), "Invoice")
    assert caught.value.row == index + 1
    assert f"line {index + 1}" in caught.value.message


def test_ocel_malformed_json_reports_the_line(tmp_path: Path) -> None:
    lines = shared("ocel", "ocel20_example.jsonocel").read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if '"id": "e5"' in line)
    lines[index] = lines[index].replace('"e5",', '"e5" "e6",')
    with pytest.raises(InputError) as caught:
        read_ocel(write(tmp_path / "broken.jsonocel", "\n".join(lines)), "Invoice")
    assert (caught.value.unit, caught.value.row) == ("line", index + 1)
    assert f"broken.jsonocel: line {index + 1}: malformed JSON" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"objects": []}', "'events'"),
        ('{"objects": [{"id": "o1", "type": "T"}], "events": [{"id": "e1", "type": "A"}]}', "time"),
        ("[]", "top level"),
        ('{"ocel:events": {}, "ocel:objects": {}}', "OCEL 1.0"),
        ("[" * 100_000, "JSON"),
    ],
    ids=["no-events", "event-without-time", "array", "ocel-1.0", "deeply-nested"],
)
def test_ocel_json_missing_parts(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        read_ocel(write(tmp_path / "bad.jsonocel", text), "T")


def test_ocel_sqlite_that_is_not_ocel(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE event (x)")
    with pytest.raises(InputError, match="missing table"):
        read_ocel(other, "Invoice")
    junk = write(tmp_path / "junk.sqlite", "SQLite format 3\x00 but then nothing useful")
    with pytest.raises(InputError, match="SQLite"):
        read_ocel(junk, "Invoice")


def test_ocel_sqlite_event_without_time(tmp_path: Path) -> None:
    copy = tmp_path / "copy.sqlite"
    shutil.copyfile(shared("ocel", "ocel20_example.sqlite"), copy)
    with sqlite3.connect(copy) as connection:
        connection.execute("DELETE FROM event_InsertInvoice WHERE ocel_id = 'e6'")
    connection.close()
    with pytest.raises(InputError, match="no time") as caught:
        read_ocel(copy, "Invoice")
    assert caught.value.row == 6


@pytest.mark.parametrize("table", ["event_InsertInvoice", "object", "event_object",
                                   "object_Invoice"])
def test_ocel_sqlite_column_computed_when_read_is_refused(tmp_path: Path, table: str) -> None:
    """A virtual generated column is computed by SQLite as each row is read: a few bytes of
    schema (`printf('%.*c', 200000000, 'x')`) made 200 MB a row, so a 32 KB file of 40
    events took more than 5.6 GB and ended in a MemoryError traceback. No OCEL 2.0 log holds
    one: refused before a row is read, naming the table and the column."""
    copy = tmp_path / "computed.sqlite"
    shutil.copyfile(shared("ocel", "ocel20_example.sqlite"), copy)
    with closing(sqlite3.connect(copy)) as connection:
        connection.execute(f'ALTER TABLE "{table}" ADD COLUMN padding TEXT GENERATED ALWAYS '
                           "AS (printf('%.*c', 100000, 'x')) VIRTUAL")
        connection.commit()
    with pytest.raises(InputError) as caught:
        read_ocel(copy, "Invoice")
    message = str(caught.value)
    assert message.startswith(f"{copy}: ")
    assert f"table {table}: column padding is computed as it is read" in message


def test_ocel_sqlite_whose_schema_is_not_utf8_is_refused(tmp_path: Path) -> None:
    """A table name that is not UTF-8 (a damaged file): sqlite3's error message quotes it,
    and decoding that message raised UnicodeDecodeError, a traceback (found by
    tests/fuzz_imports.py). An input error naming the file."""
    other = tmp_path / "other.sqlite"
    with closing(sqlite3.connect(other)) as connection:
        connection.execute("CREATE TABLE extra (a TEXT)")
        connection.commit()
        connection.execute("PRAGMA writable_schema = ON")
        connection.execute("UPDATE sqlite_master SET name = CAST(x'6578747261ff' AS TEXT), "
                           "tbl_name = CAST(x'6578747261ff' AS TEXT) WHERE name = 'extra'")
        connection.commit()
    with pytest.raises(InputError, match="not UTF-8") as caught:
        read_ocel(other, "Invoice")
    assert caught.value.file == str(other)


def _ocel_json(events: str, objects: str) -> str:
    return ('{"objectTypes": [{"name": "order", "attributes": []}], "eventTypes": [], '
            f'"objects": [{objects}], "events": [{events}]}}')


_ORDER_OBJECTS = ('{"id": "o1", "type": "order", "attributes": [{"name": "%s", '
                  '"time": "1970-01-01T00:00:00Z", "value": "EU"}]}, '
                  '{"id": "o2", "type": "order"}')


def _event(eid: str, oid: str, attributes: str = "") -> str:
    return (f'{{"id": "{eid}", "type": "pay", "time": "2022-01-0{eid[1]}T10:00:00Z", '
            f'"attributes": [{attributes}], "relationships": [{{"objectId": "{oid}"}}]}}')


def test_ocel_attributes_stay_on_their_own_event_and_object(tmp_path: Path) -> None:
    """Each row holds its own event's and object's values (before: a name given twice in
    one row appended two values to its column, so every later row took the value of the
    row before it, e2 the approver of e1 and o2 the region of o1; an object attribute
    named concept:name crashed the reading).

    - An event attribute given twice with different values is an input error naming the
      event and the attribute; given twice alike, it is read once.
    - An event attribute `case:region` beside the object's `region` gives way to the
      object's (the case's attributes are its object's), with a note.
    - An object attribute named `concept:name` (the case column's name once prefixed) is
      left out, with a note."""
    twice = '{"name": "approver", "value": "alice"}, {"name": "approver", "value": "%s"}'
    path = write(tmp_path / "twice.jsonocel", _ocel_json(
        f'{_event("e1", "o1", twice % "bob")}, {_event("e2", "o2")}', _ORDER_OBJECTS % "x"))
    with pytest.raises(InputError, match="event 'e1': attribute 'approver' is given twice"
                       ) as caught:
        read_ocel(path, "order")
    assert (caught.value.row, caught.value.field) == (1, "approver")
    path.write_text(_ocel_json(f'{_event("e1", "o1", twice % "alice")}, {_event("e2", "o2")}',
                               _ORDER_OBJECTS % "x"), encoding="utf-8")
    frame = read_ocel(path, "order").frame
    assert frame["approver"].fillna("").tolist() == ["alice", ""]

    clash = '{"name": "case:region", "value": "US"}'
    table = read_ocel(write(tmp_path / "clash.jsonocel", _ocel_json(
        f'{_event("e1", "o1", clash)}, {_event("e2", "o2")}', _ORDER_OBJECTS % "region")),
        "order")
    assert table.frame["case:region"].fillna("").tolist() == ["EU", ""]
    assert "event attributes named like flattening columns or the object's attributes " \
           "were dropped: case:region" in table.notes

    table = read_ocel(write(tmp_path / "named.jsonocel", _ocel_json(
        f'{_event("e1", "o1")}, {_event("e2", "o2")}, {_event("e3", "o1")}',
        _ORDER_OBJECTS % "concept:name")), "order")
    assert table.frame["case:concept:name"].tolist() == ["o1", "o2", "o1"]
    assert "object attributes named like flattening columns were dropped: concept:name" \
        in table.notes


def test_an_ocel_id_given_twice_is_refused(tmp_path: Path) -> None:
    """OCEL 2.0 ids are unique. Before, two events under one id were read as two rows with
    one event id (one event to the rules and to a waiver naming it), and an object id given
    twice took the later object's type, so the first object's events left the case."""
    path = write(tmp_path / "events.jsonocel", _ocel_json(
        f'{_event("e1", "o1")}, {_event("e2", "o2")}, {_event("e1", "o2")}',
        _ORDER_OBJECTS % "x"))
    with pytest.raises(InputError, match=r"event id 'e1' is given to two events \(events 1 "
                       r"and 3 of the file\)") as caught:
        read_ocel(path, "order")
    assert (caught.value.record, caught.value.field) == (3, "id")
    assert "events.jsonocel: record 3 (line 1): field 'id'" in str(caught.value)
    objects = _ORDER_OBJECTS % "x" + ', {"id": "o1", "type": "item"}'
    path = write(tmp_path / "objects.jsonocel", _ocel_json(_event("e1", "o1"), objects))
    with pytest.raises(InputError, match="object id 'o1' is given to two objects \\(of types "
                       "'order' and 'item'\\)"):
        read_ocel(path, "order")
    # Ids are read without surrounding white space: " e1" is e1, " o2 " is o2.
    path = write(tmp_path / "spaced.jsonocel", _ocel_json(
        f'{_event("e1", "o1")}, {_event(" e1", "o2")}', _ORDER_OBJECTS % "x"))
    with pytest.raises(InputError, match="event id ' e1' is given to two events"):
        read_ocel(path, "order")
    path = write(tmp_path / "spaced-objects.jsonocel", _ocel_json(
        _event("e1", "o1"), _ORDER_OBJECTS % "x" + ', {"id": " o2 ", "type": "order"}'))
    with pytest.raises(InputError, match="object id ' o2 ' is given to two objects"):
        read_ocel(path, "order")
    # (An OCEL SQLite file's tables key events and objects by their ids.)


def test_an_ocel_json_integer_beyond_64_bits_keeps_its_digits(tmp_path: Path) -> None:
    """JSON numbers have no width: an OCEL attribute of 10^23 crashed the reading (an
    OverflowError building an Int64 column); then its column held the Python integers, which
    crashed `import` writing them to Parquet (no 64-bit integer holds them). Its column is
    now the numbers' digits as text, with a note."""
    big, small = (f'{{"name": "ref", "value": {n}}}' for n in ("123456789012345678901234", "4"))
    path = write(tmp_path / "big.jsonocel", _ocel_json(
        f'{_event("e1", "o1", big)}, {_event("e2", "o2", small)}', _ORDER_OBJECTS % "x"))
    table = read_ocel(path, "order")
    assert table.frame["ref"].tolist() == ["123456789012345678901234", "4"]
    assert "big.jsonocel: column 'ref' holds integers beyond 64 bits: kept as text" \
        in table.notes
    log, _output = _written(tmp_path, path, "--object-type", "order")
    assert log["ref"].tolist() == ["123456789012345678901234", "4"]


def test_an_event_attribute_named_like_its_traces_keeps_its_value_where_the_trace_has_none(
        tmp_path: Path) -> None:
    """Trace attributes become the events' `case:` columns. An event's own attribute of that
    name was overwritten by its trace's, even where the trace has none: the second trace's
    event, named by its own case:concept:name, was quarantined as nameless and EV-CASE2 lost.
    The trace's value wins where there is one (with a note where they differ); the event's
    own fills in elsewhere."""
    text = ('<log>\n<trace><string key="concept:name" value="T1"/>'
            '<string key="status" value="trace-status"/>\n'
            '<event><string key="concept:name" value="a"/><string key="case:concept:name" '
            'value="EV-CASE"/><string key="case:status" value="event-status"/>'
            '<date key="time:timestamp" value="2020-01-01T00:00:00Z"/></event></trace>\n'
            '<trace><event><string key="concept:name" value="b"/><string key="case:concept:name"'
            ' value="EV-CASE2"/><date key="time:timestamp" value="2020-01-01T00:00:00Z"/>'
            '</event></trace>\n</log>')
    table = read_xes(write(tmp_path / "clash.xes", text))
    assert table.frame["case:concept:name"].tolist() == ["T1", "EV-CASE2"]
    assert table.frame["case:status"].fillna("").tolist() == ["trace-status", ""]
    assert "1 event's own 'case:concept:name' differs from its trace's 'concept:name', " \
           "which is taken" in table.notes
    assert "1 event's own 'case:status' differs from its trace's 'status', which is taken" \
        in table.notes


def test_ocel_attribute_changes_without_a_zone_are_read_in_assume_tz(tmp_path: Path) -> None:
    """An object's `blocked` changes to Yes at 07:30 without a zone (06:30 UTC in Berlin);
    the event at 07:00Z comes after it. Before: the change was read as 07:30 UTC whatever
    --assume-tz said, so the event saw No; and without --assume-tz the mix was accepted."""
    objects = ('{"id": "o1", "type": "order", "attributes": ['
               '{"name": "blocked", "time": "1970-01-01T00:00:00Z", "value": "No"}, '
               '{"name": "blocked", "time": "2022-02-03T07:30:00", "value": "Yes"}]}')
    events = ('{"id": "e1", "type": "pay", "time": "2022-02-03T07:00:00Z", '
              '"relationships": [{"objectId": "o1"}]}')
    path = write(tmp_path / "naive.jsonocel", _ocel_json(events, objects))
    assert read_ocel(path, "order", assume_tz="Europe/Berlin").frame[
        "case:blocked"].tolist() == ["Yes"]
    assert read_ocel(path, "order", assume_tz="UTC").frame["case:blocked"].tolist() == ["No"]
    with pytest.raises(InputError, match="times have no time zone beside times with one"):
        read_ocel(path, "order")


# --- attributes whose type varies between events ----------------------------------------------


def _xes_events(*attributes: str, trace: str = "") -> str:
    """An XES log of one trace (with `trace`'s attributes), an event per attribute list."""
    events = "".join(
        f'<event><string key="concept:name" value="a"/>'
        f'<date key="time:timestamp" value="2026-08-0{n}T10:00:00Z"/>{own}</event>\n'
        for n, own in enumerate(attributes, 1))
    return f'<log>\n<trace><string key="concept:name" value="T1"/>{trace}\n{events}</trace>\n</log>'


def _written(tmp_path: Path, source: Path, *args: str) -> tuple[pd.DataFrame, str]:
    """`import SOURCE` through the CLI: the canonical log written and the output."""
    from click.testing import CliRunner

    from audit.cli import main

    out = tmp_path / "out" / "log.parquet"
    result = CliRunner().invoke(main, ["import", str(source), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return pd.read_parquet(out), result.output


@pytest.mark.parametrize(("attributes", "kept", "kinds"), [
    (('<int key="priority" value="7"/>', '<string key="priority" value="high"/>'),
     ["7", "high"], "int, string"),
    (('<boolean key="priority" value="1"/>', '<int key="priority" value="1"/>'),
     ["true", "1"], "boolean, int"),
    (('<date key="priority" value="2026-08-01T10:00:00.500+02:00"/>',
      '<float key="priority" value="2.50"/>'), ["2026-08-01T10:00:00.500+02:00", "2.5"],
     "date, float"),
])
def test_an_xes_attribute_of_several_types_is_imported_as_text(
        tmp_path: Path, attributes: tuple[str, str], kept: list[str], kinds: str) -> None:
    """An attribute given as an int in one event and a string in another (or a boolean beside
    an int: a boolean is no number here) crashed `import` writing the Parquet log (Arrow:
    "Could not convert 'high' ... to int64"), a traceback and an empty output folder, while
    `check` ran. Such a column is text: strings and dates as written, numbers in decimal
    (Python's repr of a float, which reads back as the same number), booleans as
    true/false; a note names the column and its types."""
    path = write(tmp_path / "mixed.xes", _xes_events(*attributes))
    table = read_xes(path)
    assert table.frame["priority"].tolist() == kept
    note = f"mixed.xes: column 'priority' holds values of several types ({kinds}): kept as text"
    assert note in table.notes
    log, output = _written(tmp_path, path)
    assert log["priority"].tolist() == kept
    assert note in output


def test_xes_integers_and_decimals_stay_numbers_where_exact(tmp_path: Path) -> None:
    """An int beside a float is a float column, where every integer is one exactly; an
    integer beyond 2^53 that a float would round makes the column text, its digits kept."""
    exact = read_xes(write(tmp_path / "exact.xes", _xes_events(
        '<int key="n" value="9007199254740992"/>', '<float key="n" value="0.5"/>')))
    assert exact.frame["n"].tolist() == [2.0**53, 0.5] and exact.notes == []
    path = write(tmp_path / "inexact.xes", _xes_events(
        '<int key="n" value="9007199254740993"/>', '<float key="n" value="0.5"/>'))
    table = read_xes(path)
    assert table.frame["n"].tolist() == ["9007199254740993", "0.5"]
    assert ("inexact.xes: column 'n' holds integers and decimals, some integers beyond what a "
            "decimal (float64) holds exactly: kept as text") in table.notes
    assert _written(tmp_path, path)[0]["n"].tolist() == ["9007199254740993", "0.5"]


def test_xes_trace_attributes_of_several_types_are_imported_as_text(tmp_path: Path) -> None:
    """The same for a trace attribute (an event's `case:` column): of several types across
    traces, or of another type than an event's own attribute of its `case:` name (the two
    are merged, the trace's value first)."""
    text = ('<log>\n<trace><string key="concept:name" value="T1"/><int key="tier" value="1"/>'
            '<event><string key="concept:name" value="a"/>'
            '<date key="time:timestamp" value="2026-08-01T10:00:00Z"/>'
            '<string key="case:region" value="EU"/></event></trace>\n'
            '<trace><string key="concept:name" value="T2"/><string key="tier" value="gold"/>'
            '<float key="region" value="2.5"/><event><string key="concept:name" value="a"/>'
            '<date key="time:timestamp" value="2026-08-02T10:00:00Z"/></event></trace>\n</log>')
    path = write(tmp_path / "traces.xes", text)
    table = read_xes(path)
    assert table.frame["case:tier"].tolist() == ["1", "gold"]
    assert table.frame["case:region"].tolist() == ["EU", "2.5"]
    assert list(table.frame.columns) == ["concept:name", "time:timestamp", "case:region",
                                         "case:concept:name", "case:tier"]
    for note in ("column 'case:tier' holds values of several types (int, string)",
                 "column 'case:region' holds values of several types (float, string)"):
        assert f"traces.xes: {note}: kept as text" in table.notes
    log, _output = _written(tmp_path, path)
    assert log["case:tier"].tolist() == ["1", "gold"]


def test_ocel_attributes_of_several_types_are_imported_as_text(tmp_path: Path) -> None:
    """OCEL JSON values have their JSON types: 7 beside "high" (an event's attribute), true
    beside 1 or an object beside a list (an object's, its `case:` column) crashed the import
    as in XES; each such column is text (JSON objects and lists as JSON), with a note."""
    events = ", ".join(_event(f"e{n}", f"o{n}", f'{{"name": "priority", "value": {value}}}')
                       for n, value in ((1, "7"), (2, '"high"'), (3, "null")))
    objects = ", ".join(
        f'{{"id": "o{n}", "type": "order", "attributes": [{{"name": "{name}", '
        f'"time": "1970-01-01T00:00:00Z", "value": {value}}}]}}'
        for n, name, value in ((1, "vip", "true"), (2, "vip", "1"), (1, "ref", '{"a": 1}'),
                               (3, "ref", "[1, 2]")) if (n, name) != (1, "ref"))
    objects = objects.replace('"value": true}]', '"value": true}, {"name": "ref", '
                              '"time": "1970-01-01T00:00:00Z", "value": {"a": 1}}]')
    path = write(tmp_path / "mixed.jsonocel", _ocel_json(events, objects))
    table = read_ocel(path, "order")
    assert table.frame["priority"].tolist()[:2] == ["7", "high"]
    assert pd.isna(table.frame["priority"].iloc[2])
    assert table.frame["case:vip"].fillna("").tolist() == ["true", "1", ""]
    assert table.frame["case:ref"].fillna("").tolist() == ['{"a": 1}', "", "[1, 2]"]
    for name, kinds in (("priority", "int, string"), ("case:vip", "boolean, int"),
                        ("case:ref", "list, object")):
        assert (f"mixed.jsonocel: column '{name}' holds values of several types ({kinds}): "
                "kept as text") in table.notes
    log, output = _written(tmp_path, path, "--object-type", "order")
    assert log["priority"].tolist()[:2] == ["7", "high"]
    assert "column 'priority' holds values of several types (int, string)" in output


def test_ocel_xml_attributes_declared_of_several_types_are_imported_as_text(
        tmp_path: Path) -> None:
    """OCEL XML values are typed by their event type's declaration: `priority` an integer
    for one event type and a string for another is a column of two types, kept as text."""
    text = ('<?xml version="1.0"?>\n<log>\n<object-types><object-type name="order"/>'
            '</object-types>\n<event-types>'
            '<event-type name="a"><attributes><attribute name="priority" type="integer"/>'
            '</attributes></event-type>'
            '<event-type name="b"><attributes><attribute name="priority" type="string"/>'
            '</attributes></event-type></event-types>\n'
            '<objects><object id="o1" type="order"/></objects>\n<events>'
            '<event id="e1" type="a" time="2026-08-01T10:00:00Z"><attributes>'
            '<attribute name="priority">7</attribute></attributes>'
            '<objects><relationship object-id="o1"/></objects></event>'
            '<event id="e2" type="b" time="2026-08-02T10:00:00Z"><attributes>'
            '<attribute name="priority">high</attribute></attributes>'
            '<objects><relationship object-id="o1"/></objects></event>'
            '</events>\n</log>')
    path = write(tmp_path / "mixed.xmlocel", text)
    table = read_ocel(path, "order")
    assert table.frame["priority"].tolist() == ["7", "high"]
    assert ("mixed.xmlocel: column 'priority' holds values of several types (int, string): "
            "kept as text") in table.notes
    assert _written(tmp_path, path, "--object-type", "order")[0]["priority"].tolist() == [
        "7", "high"]


def test_a_column_parquet_cannot_hold_is_an_input_error_naming_it(tmp_path: Path) -> None:
    """The net under the readers: a column Arrow cannot write (here numbers beside text in
    an object column) is an input error naming the log and the column, not a traceback."""
    import numpy as np

    from audit.ingest import ImportResult
    from audit.ingest.normalise import empty_quarantine
    from audit.store import write_import

    values = np.empty(2, dtype=object)
    values[:] = [7, "high"]
    result = ImportResult(log=pd.DataFrame({"priority": values}),
                          quarantine=empty_quarantine(), files=[])
    out = tmp_path / "log.parquet"
    with pytest.raises(InputError, match="cannot write the canonical log as Parquet: Could "
                       "not convert 'high'") as caught:
        write_import(result, out)
    assert (caught.value.file, caught.value.field) == (str(out), "priority")


@pytest.mark.parametrize("written", ["NaN", "nan", "-NaN"])
def test_an_xes_amount_of_nan_is_quarantined_not_missing(tmp_path: Path, written: str) -> None:
    """`<float key="refund:amount" value="NaN"/>` became a float NaN, which the import took
    for an amount not recorded: the event was imported with no amount and no quarantine
    line (an infinite one was quarantined, and a CSV amount "NaN" is). Now a NaN the file
    wrote is kept apart from a missing value (<NA>) and quarantined naming the field; an
    event without the attribute keeps a missing amount."""
    path = write(tmp_path / "nan.xes", _xes_events(
        f'<float key="refund:amount" value="{written}"/>', "",
        '<float key="refund:amount" value="5.5"/>'))
    assert read_xes(path).frame["refund:amount"].isna().tolist() == [False, True, False]
    log, output = _written(tmp_path, path)
    assert "read 3 = imported 2 + quarantined 1" in output
    assert log["refund:amount"].isna().tolist() == [True, False]
    assert log["refund:amount"].iloc[1] == 5.5
    quarantine = pd.read_csv(tmp_path / "out" / "log.quarantine.csv", dtype=str,
                             keep_default_na=False)
    assert quarantine.to_dict("records") == [
        {"file": "nan.xes", "row": "1", "field": "refund:amount", "value": "nan",
         "reason": "not a finite number", "case": "T1", "record_read": "no"}]  # (its trace's case)


def test_xes_lists_containers_and_repeated_keys_are_told(tmp_path: Path) -> None:
    """A `list` or `container` attribute (no value of its own) was left out without a word,
    and a key given twice in one event silently kept the later value (as pm4py does): both
    are now in the import's notes, counted, with their keys."""
    path = write(tmp_path / "lists.xes", _xes_events(
        '<list key="items"><values><string key="item" value="x"/></values></list>'
        '<container key="box"><string key="inner" value="y"/></container>',
        '<list key="items"><values/></list>'
        '<string key="concept:name" value="b"/>',
        trace='<list key="tags"><values/></list>'))
    table = read_xes(path)
    assert table.frame["concept:name"].tolist() == ["a", "b"]  # (the later value)
    assert table.notes == [
        "lists.xes: 3 event list or container attribute(s) left out (no value of their "
        "own): 'box' (1), 'items' (2)",
        "lists.xes: a key given twice in one event (1 time(s)): the later value is taken: "
        "'concept:name' (1)",
        "lists.xes: 1 trace list or container attribute(s) left out (no value of their "
        "own): 'tags' (1)"]


def _declared(value: object, *, qualifier: object = None, oid: object = "o1",
              target: object = "o1") -> str:
    """One `pay` event of order `oid` (related to `target`), its `priority` declared a
    string and given `value`."""
    relation: dict[str, object] = {"objectId": target}
    if qualifier is not None:
        relation["qualifier"] = qualifier
    return json.dumps({
        "objectTypes": [{"name": "order", "attributes": []}],
        "eventTypes": [{"name": "pay", "attributes": [{"name": "priority", "type": "string"}]}],
        "objects": [{"id": oid, "type": "order"}],
        "events": [{"id": "e1", "type": "pay", "time": "2022-01-01T10:00:00Z",
                    "attributes": [{"name": "priority", "value": value}],
                    "relationships": [relation]}]})


@pytest.mark.parametrize(("value", "text"), [
    (True, "true"), ({"a": 1}, '{"a": 1}'), (["a", None], '["a", null]'), (5, "5")])
def test_ocel_json_value_declared_a_string_is_its_json_text(
        tmp_path: Path, value: object, text: str) -> None:
    # (not Python's "True" or "{'a': 1}", as an undeclared value of several types)
    table = read_ocel(write(tmp_path / "declared.jsonocel", _declared(value)), "order")
    assert table.frame["priority"].tolist() == [text]


@pytest.mark.parametrize("qualifier", [True, {"a": 1}, ["x"]])
def test_ocel_json_qualifier_that_is_no_text_is_refused(tmp_path: Path,
                                                        qualifier: object) -> None:
    path = write(tmp_path / "qualified.jsonocel", _declared("x", qualifier=qualifier))
    with pytest.raises(InputError) as caught:
        read_ocel(path, "order")
    assert (caught.value.row, caught.value.field) == (1, "qualifier")
    assert "not text" in caught.value.message


def test_ocel_json_whole_float_id_is_the_integer_id(tmp_path: Path) -> None:
    # (an object id 1000.0 and a relation to 1000 name one object, not "1000.0" and "1000")
    path = write(tmp_path / "float.jsonocel", _declared("x", oid=1000.0, target=1000))
    assert read_ocel(path, "order").frame["case:concept:name"].tolist() == ["1000"]


@pytest.mark.parametrize(("change", "why"), [
    ("2026-10-25T02:30:00", "2026-10-25 02:30:00 occurs twice there"),
    ("2026-03-29T02:30:00", "2026-03-29 02:30:00 does not exist there"),
    ("not a time", "'not a time' is no ISO 8601 time"),
])
def test_an_ocel_attribute_change_at_a_time_that_cannot_be_placed_is_refused(
        tmp_path: Path, change: str, why: str) -> None:
    """An object's `blocked` changes to Yes at a time that is no instant: a Berlin time
    the clocks show twice (00:30 or 01:30 UTC) or skip, or no time at all. The event at
    01:00Z sees Yes or No by which is meant. Before: the first reading was taken (Yes,
    silently), a skipped time moved an hour, and an unreadable one made every event see
    the first value, No, with the change dropped unsaid."""
    objects = ('{"id": "o1", "type": "order", "attributes": ['
               '{"name": "blocked", "time": "1970-01-01T00:00:00Z", "value": "No"}, '
               f'{{"name": "blocked", "time": "{change}", "value": "Yes"}}]}}')
    events = ('{"id": "e1", "type": "pay", "time": "2026-10-25T01:00:00Z", '
              '"relationships": [{"objectId": "o1"}]}')
    path = write(tmp_path / "dst.jsonocel", _ocel_json(events, objects))
    with pytest.raises(InputError, match=f"object 'o1': attribute 'blocked' changes to "
                       f"'Yes' at a time that cannot be placed .*{why}") as caught:
        read_ocel(path, "order", assume_tz="Europe/Berlin")
    assert caught.value.field == "blocked"
    # With its offset, the time says which: 02:30+01:00 is 01:30 UTC, after the event.
    written = change.replace("02:30:00", "02:30:00+01:00")
    if written != change:
        objects = objects.replace(change, written)
        path = write(tmp_path / "offset.jsonocel", _ocel_json(events, objects))
        expected = ["No"] if change.startswith("2026-10") else ["Yes"]
        assert read_ocel(path, "order", assume_tz="Europe/Berlin").frame[
            "case:blocked"].tolist() == expected


def test_ocel_json_not_utf8_names_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    """The error said only "not UTF-8 JSON text: invalid start byte", naming no place in
    the file (found by tests/fuzz_imports.py)."""
    path = tmp_path / "bad.jsonocel"
    path.write_bytes(_ocel_json('{"id": "e1", "type": "a", "time": "2026-07-01T00:00:00Z"}',
                                '{"id": "o1", "type": "order"}').replace(
        "{", "\n{", 3).encode().replace(b'"e1"', b'"e\xff1"'))
    with pytest.raises(InputError, match="byte 0xff at line") as caught:
        read_ocel(path, "order")
    text = path.read_bytes()
    assert caught.value.row == text[:text.index(b"\xff")].count(b"\n") + 1 > 1


def test_ocel_relations_to_undefined_objects_name_the_first(tmp_path: Path) -> None:
    """An event relating to an object the file does not define (a hostile or cut export)
    was noted only as '1 event-object relations name objects the file does not define':
    the note names the first such event, its row and the object id, in the singular."""
    document = json.loads(shared("ocel", "ocel20_example.jsonocel").read_text(encoding="utf-8"))
    invoices = {o["id"] for o in document["objects"] if o["type"] == "Invoice"}
    event = next(e for e in document["events"]
                 if any(r["objectId"] in invoices for r in e["relationships"]))
    event["relationships"].append({"objectId": "R404", "qualifier": "lost"})
    row = document["events"].index(event) + 1
    path = tmp_path / "dangling.jsonocel"
    path.write_text(json.dumps(document), encoding="utf-8")
    notes = read_ocel(path, "Invoice").notes
    assert (f"1 event-object relation names an object the file does not define (the "
            f"first: event '{event['id']}' (row {row}) relates to 'R404')") in notes


def test_an_ocel_event_of_several_objects_of_the_type_is_told(tmp_path: Path) -> None:
    """An event relating to several objects of the chosen type (one payout of two refunds)
    is a row in each of their cases, its amount copied into each: the note counts such
    events and names the first (before, nothing said so, and `read` counted more rows than
    the file has events without a word why)."""
    def paid(eid: str, objects: list[str], amount: str) -> str:
        related = ", ".join(f'{{"objectId": "{oid}", "qualifier": "refund"}}'
                            for oid in objects)
        return (f'{{"id": "{eid}", "type": "pay", "time": "2022-01-0{eid[1]}T10:00:00Z", '
                f'"attributes": [{{"name": "refund:amount", "value": {amount}}}], '
                f'"relationships": [{related}]}}')
    objects = ", ".join(f'{{"id": "{oid}", "type": "order"}}' for oid in ("o1", "o2", "o3"))
    events = ", ".join([paid("e1", ["o1"], "5"), paid("e2", ["o1", "o2"], "30"),
                        paid("e3", ["o3", "o2", "o1"], "7")])
    table = read_ocel(write(tmp_path / "batch.jsonocel", _ocel_json(events, objects)),
                      "order")
    frame = table.frame
    # Known ground truth: 1 + 2 + 3 rows; e2's 30 in both its cases.
    assert len(frame) == 6
    assert frame.loc[frame["ocel:eid"] == "e2", "refund:amount"].tolist() == [30, 30]
    assert ("2 events relate to several (up to 3) 'order' objects and are each an event of "
            "each of their cases, every attribute copied (an amount too: counted in each "
            "case): 6 rows from 3 events (the first: event 'e2' (row 2), objects 'o1', "
            "'o2')") in table.notes
    # One shared event, of two objects: said so.
    events = ", ".join([paid("e1", ["o1"], "5"), paid("e2", ["o1", "o2"], "30")])
    table = read_ocel(write(tmp_path / "pair.jsonocel", _ocel_json(events, objects)),
                      "order")
    assert [n for n in table.notes if "objects and" in n] == [
        "1 event relates to two 'order' objects and is an event of each of their cases, "
        "every attribute copied (an amount too: counted in each case): 3 rows from 2 "
        "events (the first: event 'e2' (row 2), objects 'o1', 'o2')"]
    # None shared: no note.
    events = ", ".join([paid("e1", ["o1"], "5"), paid("e2", ["o2"], "30")])
    table = read_ocel(write(tmp_path / "own.jsonocel", _ocel_json(events, objects)), "order")
    assert not [n for n in table.notes if "objects and" in n]


def test_ocel_times_without_a_zone_beside_ones_with_one_are_named(tmp_path: Path) -> None:
    """The error of times without a zone beside times with one names the first of each,
    and whose they are: an object's attribute, or an event (its record and line). Before,
    the file alone: the OCEL 2.0 example's XML encoding (initial values at 1970 with `Z`,
    changes and events without a zone) said nothing of where to look."""
    with pytest.raises(InputError) as caught:
        read_ocel(shared("ocel", "ocel20_example.xmlocel"), "Invoice")
    assert ("times have no time zone beside times with one: '2022-02-03T07:30:00' (object "
            "'R3', attribute 'is_blocked') beside '1970-01-01T00:00:00Z' (object 'R3', "
            "attribute 'is_blocked')") in caught.value.message
    assert "with --assume-tz" in caught.value.message
    assert caught.value.field == "is_blocked"
    # An event's time without a zone: its record, line and field.
    objects = ('{"id": "o1", "type": "order", "attributes": ['
               '{"name": "blocked", "time": "1970-01-01T00:00:00Z", "value": "No"}, '
               '{"name": "blocked", "time": "2022-02-03T07:30:00Z", "value": "Yes"}]}')
    events = ('{"id": "e1", "type": "pay", "time": "2022-02-03T07:00:00Z",\n'
              '"relationships": [{"objectId": "o1"}]},\n'
              '{"id": "e2", "type": "pay", "time": "2022-02-04T07:00:00",\n'
              '"relationships": [{"objectId": "o1"}]}')
    path = write(tmp_path / "event.jsonocel", _ocel_json(events, objects))
    with pytest.raises(InputError) as caught:
        read_ocel(path, "order")
    assert (caught.value.record, caught.value.row, caught.value.field) == (
        2, 3, "time:timestamp")
    assert str(caught.value).startswith(
        f"{path}: record 2 (line 3): field 'time:timestamp': times have no time zone beside "
        "times with one: '2022-02-04T07:00:00' (event 'e2') beside '1970-01-01T00:00:00Z' "
        "(object 'o1', attribute 'blocked')")
    assert read_ocel(path, "order", assume_tz="UTC").frame["ocel:eid"].tolist() == [
        "e1", "e2"]
