"""Mutation fuzzing of every importer, run by hand (pytest does not collect this file: its
name does not start with `test_`).

    cd <worktree> && .venv/bin/python tests/fuzz_imports.py [--per-format N] [--seed S]
        [--only FORMAT[,FORMAT...]] [--keep DIR] [--timeout SECONDS]

Each seed input (the bundled sample exports, cut to their first records so a run stays
short, the small exports under tests/data/sources, and small XES, OCEL 2.0 JSON/XML/SQLite,
Parquet and generic CSV logs made here) is mutated N times with a fixed seed, one to three
mutations at a time (truncated at a byte; a column or JSON key deleted, repeated or
swapped; a cell or value replaced by '', blanks, a long text, 1e400, -0, NaN, 1.5, a
nested object or list, null, true; invalid UTF-8; a BOM in the middle; CRLF or CR line
ends; a quote left open; an XML element removed or its namespace changed; a Parquet
column cast to another type) and imported through the
CLI in-process (`refund-audit import --source FORMAT:FILE --out LOG.parquet`, click's
CliRunner). Each outcome is one of:

- `imported`: exit code 0, and the counts add up (see `_losses`);
- `refused`: exit code 2 with one `error:` line that names the input file;
- `crash`: a Python exception out of the command, or an exit code other than 0, 1 or 2;
- `vague`: exit code 2 whose error names no file, or is not one line;
- `hang`: no answer within --timeout seconds;
- `loss`: imported, but a count does not add up: an input's `read` is not `imported + quarantined +
  duplicates_dropped`, the quarantine file's rows of the input are not its `quarantined`, the log
  holds fewer of its rows than `imported - left_out`, or the records counted here (a CSV's rows, of
  a generic log or a payment export; a Zendesk audits file's audits; a Jira file's issues and their
  changelog histories; an XES file's events; a Parquet file's rows) are not `read` (duplicates
  dropped included) + updates that state no activity; or the log holds a blank case, activity,
  resource or role (a blank one is missing).

The counts per format and outcome are printed; each input that crashed, hung, was vague or
lost rows is written to --keep (default /tmp/fuzz-imports) with the command and the error,
so it can be minimised into a test. The same arguments give the same mutations.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from audit.cli import main  # noqa: E402

EXPORTS = ROOT / "sample_logs" / "refund-sample" / "exports"
DATA = ROOT / "tests" / "data"

LONG = "x" * 200_000
JUNK_TEXT = ["", " ", "\t \t", LONG, "1e400", "-0", "NaN", "1.5", "-1", "inf", "null", "true",
             '{"a": [1]}', "[1, 2]", "0x1F", "2026-13-45T99:99:99Z", "=1+1", "\u0000", "\ufeff",
             "\U0001F600", "é" * 3, "9" * 40, "1,5", "\u0661\u0662"]
JUNK_JSON: list[Any] = [None, True, False, "", " ", LONG, 1.5, float("inf"), float("nan"), -0.0,
                        0, -1, 2**70, {"a": {"b": [1]}}, [1, [2]], [], {}, "NaN", "1e400",
                        "\ud800", "x", "9" * 40]


@dataclass
class Seed:
    name: str
    fmt: str
    """The CLI's system or format name (`--source FMT:FILE`)."""
    suffix: str
    data: bytes
    kind: str
    """csv, json, jsonl, xml, parquet or sqlite: which mutations apply."""
    args: list[str] = field(default_factory=list)
    beside: tuple[str, str, bytes] | None = None
    """An input given beside, unmutated (format, file name, bytes): a role history needs
    events."""


# ---------------------------------------------------------------- seeds


def _head_csv(path: Path, rows: int) -> bytes:
    lines = path.read_bytes().splitlines(keepends=True)
    return b"".join(lines[: rows + 1])


def _csv_page(path: Path, first: int, last: int) -> bytes:
    """The header and data rows `first` to `last` (1-based) of a CSV: a page of an export
    paged by row count (which may cut an update in two)."""
    lines = path.read_bytes().splitlines(keepends=True)
    return lines[0] + b"".join(lines[first:last + 1])


def _head_json(path: Path, key: str, records: int) -> bytes:
    document = json.loads(path.read_text(encoding="utf-8"))
    document[key] = document[key][:records]
    return json.dumps(document, indent=1).encode()


GENERIC_CSV = (
    "case_id,activity,timestamp,resource,amount,currency,channel\n"
    "c1,Request refund,2026-07-01T09:00:00Z,amira,49.90,EUR,ecommerce\n"
    "c1,Approve refund,2026-07-01T10:00:00+02:00,nadia,49.90,EUR,ecommerce\n"
    "c1,Pay refund,2026-07-02T08:30:00Z,felix,49.90,EUR,ecommerce\n"
    "c2,Request refund,2026-07-03T11:00:00Z,ben,1200,JPY,offline\n"
    "c2,Reject refund,2026-07-03T12:15:00Z,nadia,1200,JPY,offline\n"
    "c3,Request refund,2026-07-04T09:00:00Z,chloe,10.10,USD,subscription\n"
)

XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <trace>
    <string key="concept:name" value="c1"/>
    <string key="refund:channel" value="ecommerce"/>
    <event>
      <string key="concept:name" value="Request refund"/>
      <string key="org:resource" value="amira"/>
      <date key="time:timestamp" value="2026-07-01T09:00:00.000+02:00"/>
      <float key="refund:amount" value="49.90"/>
      <string key="refund:currency" value="EUR"/>
      <int key="step" value="1"/>
    </event>
    <event>
      <string key="concept:name" value="Approve refund"/>
      <string key="org:resource" value="nadia"/>
      <date key="time:timestamp" value="2026-07-01T10:00:00.000+02:00"/>
      <boolean key="urgent" value="true"/>
      <int key="step" value="2"/>
    </event>
  </trace>
  <trace>
    <string key="concept:name" value="c2"/>
    <event>
      <string key="concept:name" value="Request refund"/>
      <date key="time:timestamp" value="2026-07-02T09:00:00Z"/>
      <float key="refund:amount" value="1200"/>
      <string key="refund:currency" value="JPY"/>
    </event>
  </trace>
</log>
"""


def _parquet_seed() -> bytes:
    frame = pd.read_csv(io.StringIO(GENERIC_CSV), dtype=str)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["amount"] = frame["amount"].astype(float)
    frame["step"] = pd.array(range(len(frame)), dtype="int64")
    frame["channel"] = frame["channel"].astype("category")
    sink = io.BytesIO()
    frame.to_parquet(sink, index=False)
    return sink.getvalue()


def _ocel_sqlite(source: Path) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "o.sqlite"
        shutil.copyfile(source, copy)
        return copy.read_bytes()


def _servicenow_json(path: Path, rows: int) -> bytes:
    with path.open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))[:rows]
    return json.dumps({"result": [{k: {"display_value": v, "value": v} if i % 2 else v
                                   for k, v in r.items()}
                                  for i, r in enumerate(records)]}, indent=1).encode()


def seeds() -> list[Seed]:
    ocel = Path("/work/shared/data/pm4py-tests/ocel")
    found = [
        Seed("sample-zendesk", "zendesk", ".json",
             _head_json(EXPORTS / "zendesk_ticket_audits.json", "audits", 25), "json"),
        Seed("zendesk", "zendesk", ".json",
             (DATA / "sources/zendesk/ticket_audits.json").read_bytes(), "json"),
        Seed("zendesk-jsonl", "zendesk", ".jsonl",
             (DATA / "sources/zendesk/ticket_audits.jsonl").read_bytes(), "jsonl"),
        Seed("zendesk-events", "zendesk", ".json",
             (DATA / "zendesk_ticket_events/synthetic_pair_ticket_events.json").read_bytes(),
             "json"),
        Seed("sample-jira", "jira", ".json",
             _head_json(EXPORTS / "jira_issues.json", "issues", 8), "json"),
        Seed("jira", "jira", ".json", (DATA / "sources/jira/issues.json").read_bytes(), "json"),
        Seed("sample-servicenow", "servicenow", ".csv",
             _head_csv(EXPORTS / "servicenow_sys_audit.csv", 60), "csv"),
        Seed("servicenow", "servicenow", ".csv",
             (DATA / "sources/servicenow/sys_audit.csv").read_bytes(), "csv"),
        Seed("servicenow-page2", "servicenow", ".csv", _csv_page(
            EXPORTS / "servicenow_sys_audit.csv", 31, 60), "csv",
             beside=("servicenow", "page1.csv",
                     _csv_page(EXPORTS / "servicenow_sys_audit.csv", 1, 30))),
        Seed("servicenow-json", "servicenow", ".json",
             _servicenow_json(DATA / "sources/servicenow/sys_audit.csv", 40), "json"),
        Seed("sample-stripe-charges", "stripe", ".csv",
             _head_csv(EXPORTS / "stripe_charges.csv", 30), "csv"),
        Seed("sample-stripe-refunds", "stripe", ".csv",
             _head_csv(EXPORTS / "stripe_refunds.csv", 30), "csv"),
        Seed("sample-stripe-refunds-beside-charges", "stripe", ".csv",
             _head_csv(EXPORTS / "stripe_refunds.csv", 30), "csv",
             beside=("stripe", "charges.csv", (EXPORTS / "stripe_charges.csv").read_bytes())),
        Seed("stripe-charges", "stripe", ".csv",
             (DATA / "sources/stripe/charges.csv").read_bytes(), "csv"),
        Seed("stripe-refunds", "stripe", ".csv",
             (DATA / "sources/stripe/refunds.csv").read_bytes(), "csv"),
        Seed("stripe-balance", "stripe", ".csv",
             (DATA / "sources/stripe/balance_itemized.csv").read_bytes(), "csv"),
        Seed("sample-paypal", "paypal", ".csv",
             _head_csv(EXPORTS / "paypal_activity.csv", 30), "csv"),
        Seed("paypal", "paypal", ".csv", (DATA / "sources/paypal/activity.csv").read_bytes(),
             "csv"),
        Seed("sample-adyen", "adyen", ".csv",
             _head_csv(EXPORTS / "adyen_settlement_details.csv", 30), "csv"),
        Seed("adyen-accounting", "adyen", ".csv",
             (DATA / "sources/adyen/payment_accounting.csv").read_bytes(), "csv"),
        Seed("sample-roles", "roles", ".csv", (EXPORTS / "role_history.csv").read_bytes(),
             "csv", beside=("servicenow", "events.csv",
                            _head_csv(EXPORTS / "servicenow_sys_audit.csv", 60))),
        Seed("csv", "csv", ".csv", GENERIC_CSV.encode(), "csv"),
        Seed("running-example-csv", "csv", ".csv",
             _head_csv(Path("/work/shared/data/pm4py-tests/running-example.csv"), 20), "csv"),
        Seed("xes", "xes", ".xes", XES.encode(), "xml"),
        Seed("parquet", "parquet", ".parquet", _parquet_seed(), "parquet"),
    ]
    if ocel.is_dir():
        found += [
            Seed("ocel-json", "ocel", ".jsonocel", (ocel / "ocel20_example.jsonocel").read_bytes(),
                 "json", ["--object-type", "Invoice"]),
            Seed("ocel-xml", "ocel", ".xmlocel", (ocel / "ocel20_example.xmlocel").read_bytes(),
                 "xml", ["--object-type", "Invoice", "--assume-tz", "Europe/Amsterdam"]),
            Seed("ocel-sqlite", "ocel", ".sqlite", _ocel_sqlite(ocel / "ocel20_example.sqlite"),
                 "sqlite", ["--object-type", "Invoice", "--assume-tz", "Europe/Amsterdam"]),
        ]
    return found


# ---------------------------------------------------------------- mutations


def _bytes_mutation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    how = rng.choice(["truncate", "invalid-utf8", "bom-inside", "crlf", "cr", "flip"])
    if how == "truncate":
        at = rng.randrange(len(data) + 1)
        return data[:at], f"truncated at byte {at}"
    if how == "invalid-utf8":
        at = rng.randrange(len(data) + 1)
        bad = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe2\x82", b"\x80\x80"])
        return data[:at] + bad + data[at:], f"{bad!r} inserted at byte {at}"
    if how == "bom-inside":
        lines = data.split(b"\n")
        k = rng.randrange(len(lines))
        at = rng.randrange(len(lines[k]) + 1)
        lines[k] = lines[k][:at] + "\ufeff".encode() + lines[k][at:]
        return b"\n".join(lines), f"BOM inserted in line {k + 1} at {at}"
    if how == "crlf":
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), "CRLF line ends"
    if how == "cr":
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r"), "CR line ends"
    flipped = bytearray(data)
    at = rng.randrange(len(data))
    flipped[at] = rng.randrange(256)
    return bytes(flipped), f"byte {at} set to {flipped[at]}"


def _csv_mutation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    text = data.decode("utf-8")
    csv.field_size_limit(max(len(data), 131_072))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if len(rows) < 2:
        return _bytes_mutation(data, rng)
    width = len(rows[0])
    how = rng.choice(["cell", "cell", "cell", "delete-column", "duplicate-column",
                      "swap-columns", "rename-column", "open-quote", "extra-cell",
                      "missing-cell", "duplicate-row"])
    r = rng.randrange(1, len(rows))
    c = rng.randrange(width)
    note = ""
    if how == "cell":
        value = rng.choice(JUNK_TEXT)
        rows[r][c:c + 1] = [value]
        note = f"row {r + 1} column {rows[0][c]!r} = {value[:20]!r}"
    elif how == "delete-column":
        for row in rows:
            del row[c:c + 1]
        note = f"column {c} deleted"
    elif how == "duplicate-column":
        for row in rows:
            row[c:c + 1] = row[c:c + 1] * 2
        note = f"column {c} repeated"
    elif how == "swap-columns":
        d = rng.randrange(width)
        with_names = rng.random() < 0.5  # else the values alone, under the old names
        for row in rows[0 if with_names else 1:]:
            if max(c, d) < len(row):
                row[c], row[d] = row[d], row[c]
        note = f"columns {c} and {d} swapped" + (" with their names" if with_names else "")
    elif how == "rename-column":
        rows[0][c] = rows[0][c] + rng.choice(["x", " ", "", "\u00a0"]) if rng.random() < 0.5 \
            else rows[0][c].upper()
        note = f"column {c} renamed {rows[0][c]!r}"
    elif how == "extra-cell":
        rows[r].append(rng.choice(JUNK_TEXT[:6]))
        note = f"row {r + 1} one cell more"
    elif how == "missing-cell":
        rows[r] = rows[r][:-1]
        note = f"row {r + 1} one cell fewer"
    elif how == "duplicate-row":
        rows.insert(r, list(rows[r]))
        note = f"row {r + 1} repeated"
    sink = io.StringIO(newline="")
    csv.writer(sink, lineterminator="\n").writerows(rows)
    out = sink.getvalue()
    if how == "open-quote":
        lines = out.split("\n")
        k = rng.randrange(1, max(2, len(lines) - 1))
        cells = lines[k].split(",")
        j = rng.randrange(len(cells))
        cells[j] = '"' + cells[j]
        lines[k] = ",".join(cells)
        out = "\n".join(lines)
        note = f"quote opened in line {k + 1} cell {j}"
    return out.encode("utf-8", "surrogatepass"), note


def _json_slots(value: Any, path: str = "") -> Iterator[tuple[Any, Any, str]]:
    if isinstance(value, dict):
        for key in list(value):
            yield value, key, f"{path}.{key}"
            yield from _json_slots(value[key], f"{path}.{key}")
    elif isinstance(value, list):
        for k, item in enumerate(value):
            yield value, k, f"{path}[{k}]"
            yield from _json_slots(item, f"{path}[{k}]")


def _json_document_mutation(document: Any, rng: random.Random) -> str:
    slots = list(_json_slots(document))
    if not slots:
        return "nothing to mutate"
    holder, key, where = rng.choice(slots)
    how = rng.choice(["value", "value", "value", "delete", "duplicate", "swap"])
    if how == "value" or (how in ("duplicate", "swap") and not isinstance(holder, dict)):
        value = rng.choice(JUNK_JSON)
        holder[key] = value
        return f"{where} = {json.dumps(value)[:30]}"
    if how == "delete":
        del holder[key]
        return f"{where} deleted"
    if how == "duplicate":
        # a key given twice in the text: JSON keeps the later; moved to the end
        value = holder.pop(key)
        holder[key] = value
        return f"{where} moved last"
    others = [k for k in holder if k != key]
    if not others:
        return f"{where} alone, kept"
    other = rng.choice(others)
    holder[key], holder[other] = holder[other], holder[key]
    return f"{where} swapped with {other}"


def _json_mutation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    if rng.random() < 0.3:
        return _bytes_mutation(data, rng)
    try:
        document = json.loads(data)
    except ValueError:
        return _bytes_mutation(data, rng)
    note = _json_document_mutation(document, rng)
    text = json.dumps(document, indent=1, ensure_ascii=rng.random() < 0.5, allow_nan=True)
    if rng.random() < 0.15:  # a key given twice, as text
        k = text.find('": ')
        if k > 0:
            start = text.rfind('"', 0, k) + 0
            end = text.find(",\n", k)
            if end > 0:
                text = text[:end + 2] + text[start:end] + ",\n" + text[end + 2:]
                note += "; a key given twice"
    return text.encode("utf-8", "surrogatepass"), note


def _jsonl_mutation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    if rng.random() < 0.3:
        return _bytes_mutation(data, rng)
    lines = data.decode("utf-8").splitlines()
    k = rng.randrange(len(lines))
    document = json.loads(lines[k])
    note = _json_document_mutation(document, rng)
    lines[k] = json.dumps(document)
    return "\n".join(lines).encode("utf-8", "surrogatepass"), f"line {k + 1}: {note}"


def _xml_mutation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    import re

    if rng.random() < 0.3:
        return _bytes_mutation(data, rng)
    text = data.decode("utf-8")
    how = rng.choice(["remove-element", "namespace", "attribute", "attribute", "rename-tag"])
    elements = list(re.finditer(r"<([A-Za-z:]+)\b[^<>]*/>", text))
    if how == "remove-element" and elements:
        e = rng.choice(elements)
        return (text[:e.start()] + text[e.end():]).encode(), f"removed {e.group(0)[:60]}"
    if how == "namespace":
        m = re.search(r'xmlns(:\w+)?="[^"]*"', text)
        if m:
            new = rng.choice(['xmlns="http://example.org/other"', "", 'xmlns:x="urn:x"'])
            return (text[:m.start()] + new + text[m.end():]).encode(), f"namespace -> {new!r}"
        m2 = re.search(r"<(\w+)", text[text.find("?>") + 2:] if "?>" in text else text)
        if m2:
            return text.replace(f"<{m2.group(1)}", f'<{m2.group(1)} xmlns="urn:other"', 1
                                ).encode(), "a namespace added to the root"
    attributes = list(re.finditer(r'(\w[\w:-]*)="([^"]*)"', text))
    if how == "attribute" and attributes:
        m = rng.choice(attributes)
        value = rng.choice(JUNK_TEXT)
        escaped = (value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
                   .replace("\u0000", "&#0;"))
        return (text[:m.start(2)] + escaped + text[m.end(2):]).encode(
            "utf-8", "surrogatepass"), f"{m.group(1)}={value[:20]!r}"
    tags = list(re.finditer(r"<(\w+)", text))
    if tags:
        m = rng.choice(tags)
        new = rng.choice(["string", "int", "float", "date", "boolean", "list", "x"])
        return (text[:m.start(1)] + new + text[m.end(1):]).encode(), \
            f"<{m.group(1)}> at {m.start()} -> <{new}> (its end tag left)"
    return _bytes_mutation(data, rng)


def _parquet_mutation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    if rng.random() < 0.15:
        return _bytes_mutation(data, rng)
    table = pq.read_table(io.BytesIO(data))
    names = table.column_names
    c = rng.randrange(len(names))
    name = names[c]
    how = rng.choice(["cast", "cast", "values", "delete", "duplicate", "nested"])
    note = ""
    if how == "cast":
        column = table.column(c)
        kind = rng.choice(["string", "int64", "float64", "bool", "timestamp-naive",
                           "timestamp-ms-tz", "timestamp-far", "date", "binary", "dictionary",
                           "decimal", "large_string", "null", "uint64", "list", "duration"])
        try:
            if kind == "string":
                new = pa.array([None if v is None else str(v) for v in column.to_pylist()])
            elif kind == "int64":
                new = pa.array([rng.choice([0, -1, 2**62, None]) for _ in range(len(column))],
                               pa.int64())
            elif kind == "float64":
                new = pa.array([rng.choice([1.5, float("nan"), float("inf"), -0.0, None, 1e300])
                                for _ in range(len(column))], pa.float64())
            elif kind == "bool":
                new = pa.array([rng.choice([True, False, None]) for _ in range(len(column))])
            elif kind == "timestamp-naive":
                new = pa.array([pd.Timestamp("2026-07-01 10:00") for _ in range(len(column))],
                               pa.timestamp("ns"))
            elif kind == "timestamp-ms-tz":
                new = pa.array([pd.Timestamp("2999-07-01 10:00", tz="UTC")
                                for _ in range(len(column))], pa.timestamp("ms", "UTC"))
            elif kind == "timestamp-far":  # (beyond Python's years 1-9999)
                new = pa.array([rng.choice([-646 * 10**15, 400 * 10**15, 1782900000 * 10**6,
                                            None]) for _ in range(len(column))],
                               pa.int64()).cast(pa.timestamp("us", rng.choice(["UTC", None])))
            elif kind == "uint64":
                new = pa.array([rng.choice([0, 2**64 - 1, None]) for _ in range(len(column))],
                               pa.uint64())
            elif kind == "list":
                new = pa.array([rng.choice([["a"], [], None, ["1.5", "2"]])
                                for _ in range(len(column))], pa.list_(pa.string()))
            elif kind == "duration":
                new = pa.array([rng.choice([0, -1, 2**62, None]) for _ in range(len(column))],
                               pa.duration("us"))
            elif kind == "date":
                new = pa.array([pd.Timestamp("2026-07-01").date()] * len(column))
            elif kind == "binary":
                new = pa.array([rng.choice([b"ok", b"\xff\xfe", None])
                                for _ in range(len(column))], pa.binary())
            elif kind == "dictionary":
                new = pa.array([None if v is None else str(v) for v in column.to_pylist()]
                               ).dictionary_encode()
            elif kind == "decimal":
                from decimal import Decimal

                new = pa.array([Decimal(rng.choice(["1.50", "-0.01", "12345678.123"]))
                                for _ in range(len(column))], pa.decimal128(20, 3))
            elif kind == "large_string":
                new = pa.array([None if v is None else str(v) for v in column.to_pylist()],
                               pa.large_string())
            else:
                new = pa.nulls(len(column))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return data, "cast failed: unchanged"
        table = table.set_column(c, name, new)
        note = f"column {name!r} made {kind}"
    elif how == "values":
        values = table.column(c).to_pylist()
        k = rng.randrange(len(values))
        junk = rng.choice(["", " ", LONG, None, "\ufeff", "\u0000"])
        values[k] = junk if isinstance(values[k], str) or values[k] is None else values[k]
        try:
            table = table.set_column(c, name, pa.array(values, table.column(c).type))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return data, "value failed: unchanged"
        note = f"column {name!r} row {k} = {str(junk)[:10]!r}"
    elif how == "delete":
        table = table.remove_column(c)
        note = f"column {name!r} deleted"
    elif how == "duplicate":
        table = pa.Table.from_arrays([*table.columns, table.column(c)], [*names, name])
        note = f"column {name!r} repeated"
    else:
        new = pa.array([{"a": [1, 2]} for _ in range(table.num_rows)])
        table = table.set_column(c, name, new)
        note = f"column {name!r} made a struct of a list"
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue(), note


def _sqlite_mutation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    if rng.random() < 0.2:
        return _bytes_mutation(data, rng)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "o.sqlite"
        path.write_bytes(data)
        with contextlib.closing(sqlite3.connect(path)) as db:
            tables = [r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")]
            table = rng.choice(tables)
            columns = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
            how = rng.choice(["value", "value", "drop-table", "drop-column", "null-row"])
            if how == "drop-table":
                db.execute(f'DROP TABLE "{table}"')
                note = f"table {table} dropped"
            elif how == "drop-column" and len(columns) > 1:
                column = rng.choice(columns)
                try:
                    db.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
                except sqlite3.DatabaseError:
                    return data, "drop failed: unchanged"
                note = f"{table}.{column} dropped"
            else:
                column = rng.choice(columns)
                value = rng.choice([None, "", " ", LONG, 1.5, -0.0, float("nan"), 2**62,
                                    b"\xff\xfe", "2026-13-45 99:99:99", "1e400", 1e308])
                db.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE rowid IN '
                           f'(SELECT rowid FROM "{table}" ORDER BY random() LIMIT 1)',
                           (value,))
                note = f"{table}.{column} of a row = {str(value)[:20]!r}"
            db.commit()
        return path.read_bytes(), note


MUTATORS: dict[str, Callable[[bytes, random.Random], tuple[bytes, str]]] = {
    "csv": _csv_mutation, "json": _json_mutation, "jsonl": _jsonl_mutation,
    "xml": _xml_mutation, "parquet": _parquet_mutation, "sqlite": _sqlite_mutation,
}


def _mutate_once(seed: Seed, data: bytes, rng: random.Random) -> tuple[bytes, str]:
    mutator = MUTATORS[seed.kind]
    if seed.kind == "csv" and rng.random() < 0.3:
        return _bytes_mutation(data, rng)
    try:
        return mutator(data, rng)
    except (ValueError, OSError, csv.Error, pa.ArrowException, sqlite3.Error,
            RecursionError):
        return _bytes_mutation(data, rng)  # (an earlier mutation made it unreadable here)


def mutate(seed: Seed, rng: random.Random) -> tuple[bytes, str]:
    """One to three mutations of `seed`, one after another."""
    data, notes = seed.data, []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        data, note = _mutate_once(seed, data, rng)
        notes.append(note)
    return data, "; ".join(notes)


# ---------------------------------------------------------------- running and judging


class Hang(BaseException):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise Hang()


def _csv_records(data: bytes) -> int | None:
    """The records after the header as Python's csv module reads the file (the import's
    reference reading), blank lines aside, or None where it cannot say (not UTF-8, a
    quote left open, nothing before the first record)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    csv.field_size_limit(max(len(data), 131_072))
    stream = io.StringIO(text, newline="")
    rows, start = [], 0
    try:
        # (a blank line, or one of blanks alone, is no record: it holds nothing; a line with
        # a quote that the csv module reads as one blank cell, '""' or a lone '"' on the
        # last line, is one)
        for r in csv.reader(stream):
            end = stream.tell()
            if r and not (len(r) == 1 and not r[0].strip() and '"' not in text[start:end]):
                rows.append(r)
            start = end
    except csv.Error:
        return None
    if rows and rows[0] and rows[0][0].startswith("sep="):
        rows = rows[1:]
    return len(rows) - 1 if rows else None


def _expected_records(seed: Seed, data: bytes) -> int | None:
    """The records of the input as counted here, independently of the import, where a
    simple count is the import's `read` (+ duplicates dropped + updates stating nothing):
    a CSV's data rows (a generic log or a payment export, a record a row), a Zendesk
    audits file's audits, a Jira file's issues and their histories, an XES file's events,
    a Parquet file's rows; else None."""
    import re

    if seed.kind == "csv" and seed.fmt in ("csv", "stripe", "paypal", "adyen"):
        return _csv_records(data)
    if seed.kind == "parquet":
        return int(pq.read_metadata(io.BytesIO(data)).num_rows)
    if seed.kind == "xml" and seed.fmt == "xes":
        text = data.decode("utf-8", "replace")
        text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
        return len(re.findall(r"<event[\s>/]", text))
    if seed.fmt == "jira" and seed.kind == "json":
        try:
            document = json.loads(data)
        except ValueError:
            return None
        issues = document.get("issues") if isinstance(document, dict) else None
        if not isinstance(issues, list) or not all(isinstance(i, dict) for i in issues):
            return None
        count = 0
        for issue in issues:  # its creation, and each history of its changelog
            changelog = issue.get("changelog")
            histories = changelog.get("histories") if isinstance(changelog, dict) else None
            if not isinstance(histories, list):
                return None
            count += 1 + len(histories)
        return count
    if seed.fmt == "zendesk" and seed.kind == "json":
        try:
            document = json.loads(data)
        except ValueError:
            return None
        audits = document.get("audits") if isinstance(document, dict) else None
        return len(audits) if isinstance(audits, list) else None
    return None


def _losses(out: Path, seed: Seed, data: bytes, label: str, output: str) -> list[str]:
    """What does not add up in an import that succeeded."""
    import re

    problems: list[str] = []
    texts = ["case:concept:name", "concept:name", "org:resource", "org:role"]
    events = pd.read_parquet(out, columns=texts)
    for name in texts:  # (read trimmed, a blank one missing: never an empty text)
        values = events[name].dropna().astype(str)
        if (values.str.strip() == "").any():
            problems.append(f"blank {name} in the log")
    if seed.fmt == "roles":  # no events of its own: its periods are used or refused
        return problems
    meta = pq.read_schema(out).metadata or {}
    record = json.loads(meta[b"refund-audit:import"])
    inputs = [i for i in record["inputs"] if i["file"] == label]
    if len(inputs) != 1:
        return [f"the log's record names no input {label!r}: {record['inputs']}"]
    counts = inputs[0]
    if counts["read"] != (counts["imported"] + counts["quarantined"]
                          + counts["duplicates_dropped"]):
        problems.append(f"read {counts['read']} != imported {counts['imported']} + "
                        f"quarantined {counts['quarantined']} + duplicates dropped "
                        f"{counts['duplicates_dropped']}")
    quarantine = pd.read_csv(out.with_name(out.stem + ".quarantine.csv"), dtype=str,
                             keep_default_na=False)
    mine = quarantine[quarantine["file"] == label]
    if (mine["reason"].str.strip() == "").any():
        problems.append("a quarantine line without a reason")
    lines = mine["row"].nunique() if len(mine) else 0
    if lines != counts["quarantined"]:
        problems.append(f"quarantine file holds {lines} row(s) of it, the record says "
                        f"{counts['quarantined']}")
    log = pd.read_parquet(out, columns=["source:file", "source:row"])
    logged = log.loc[log["source:file"] == label, "source:row"]
    if logged.nunique() < counts["imported"] - counts["left_out"]:
        problems.append(f"the log holds {logged.nunique()} row(s) of it, imported "
                        f"{counts['imported']} - left out {counts['left_out']}")
    expected = _expected_records(seed, data)
    if expected is not None:
        skipped = sum(int(m) for m in re.findall(
            rf"^{re.escape(label)}: (\d+) record\(s\) state no activity", output, re.M))
        accounted = counts["read"] + skipped  # (`read` holds the duplicates dropped)
        if accounted != expected:
            problems.append(f"{expected} record(s) counted here, the import accounts for "
                            f"{accounted} (read {counts['read']}, duplicates dropped "
                            f"{counts['duplicates_dropped']} among them, + stating no "
                            f"activity {skipped})")
    return problems


@dataclass
class Outcome:
    kind: str
    detail: str = ""


def run_one(seed: Seed, data: bytes, folder: Path, timeout: float) -> Outcome:
    label = f"input{seed.suffix}"
    source = folder / label
    source.write_bytes(data)
    out = folder / "log.parquet"
    for stale in folder.glob("log*"):
        stale.unlink()
    args = ["import", "--source", f"{seed.fmt}:{source}", *seed.args, "--out", str(out)]
    if seed.beside is not None:
        fmt, name, content = seed.beside
        (folder / name).write_bytes(content)
        args[1:1] = ["--source", f"{fmt}:{folder / name}"]
    runner = CliRunner()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        result = runner.invoke(main, args, catch_exceptions=True)
    except Hang:
        return Outcome("hang", f"no answer in {timeout} s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if isinstance(result.exception, Hang):
        return Outcome("hang", f"no answer in {timeout} s")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert result.exc_info is not None
        return Outcome("crash", "".join(traceback.format_exception(*result.exc_info))[-3000:])
    code = result.exit_code
    if code == 2:
        error = result.stderr.strip()
        if label not in error or len(error.splitlines()) != 1:
            return Outcome("vague", error)
        return Outcome("refused", error)
    if code not in (0, 1):
        return Outcome("crash", f"exit code {code}: {result.output[-2000:]}")
    try:
        problems = _losses(out, seed, data, label, result.output)
    except Exception:  # (reading what the import wrote failed: a finding)
        return Outcome("loss", "reading the output failed: " + traceback.format_exc()[-1500:])
    if problems:
        return Outcome("loss", "; ".join(problems) + "\n" + result.output[-1500:])
    return Outcome("imported")


def main_(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-format", type=int, default=150,
                        help="mutations per seed format (spread over its seeds)")
    parser.add_argument("--seed", type=int, default=37)
    parser.add_argument("--only", default="", help="formats, comma-separated")
    parser.add_argument("--keep", type=Path, default=Path("/tmp/fuzz-imports"))
    parser.add_argument("--timeout", type=float, default=30.0)
    options = parser.parse_args(argv)
    chosen = set(filter(None, options.only.split(",")))
    all_seeds = [s for s in seeds() if not chosen or s.fmt in chosen]
    by_format: dict[str, list[Seed]] = {}
    for s in all_seeds:
        by_format.setdefault(f"{s.fmt}/{s.kind}", []).append(s)
    options.keep.mkdir(parents=True, exist_ok=True)
    counts: dict[str, Counter[str]] = {}
    kept = 0
    started = time.process_time()
    with tempfile.TemporaryDirectory() as work, \
            (options.keep / "refused.txt").open("w", encoding="utf-8") as refusals:
        folder = Path(work)
        for s in all_seeds:  # the unmutated seeds must import cleanly, or a check is wrong
            outcome = run_one(s, s.data, folder, options.timeout)
            if outcome.kind != "imported":
                print(f"seed {s.name} itself: {outcome.kind}: {outcome.detail}", flush=True)
        for fmt, group in by_format.items():
            tally = counts.setdefault(fmt, Counter())
            for k in range(options.per_format):
                s = group[k % len(group)]
                rng = random.Random(f"{options.seed}:{s.name}:{k}")
                data, note = mutate(s, rng)
                outcome = run_one(s, data, folder, options.timeout)
                tally[outcome.kind] += 1
                if outcome.kind == "refused":
                    refusals.write(f"{s.name} #{k}: {note}: {outcome.detail}\n")
                if outcome.kind in ("crash", "vague", "hang", "loss"):
                    kept += 1
                    stem = options.keep / f"{outcome.kind}-{s.name}-{k}"
                    stem.with_suffix(s.suffix).write_bytes(data)
                    stem.with_suffix(".txt").write_text(
                        f"seed {s.name} ({s.fmt}) mutation {k}: {note}\n"
                        f"args: {' '.join(s.args)}\n\n{outcome.detail}\n", encoding="utf-8")
                    print(f"{outcome.kind}: {s.name} #{k}: {note}: "
                          f"{outcome.detail.strip().splitlines()[-1][:200]}", flush=True)
    print(f"\n{'format':<22} " + " ".join(f"{k:>9}" for k in
                                            ("imported", "refused", "crash", "vague", "hang",
                                             "loss", "total")))
    for fmt, tally in counts.items():
        print(f"{fmt:<22} " + " ".join(f"{tally[k]:>9}" for k in
                                       ("imported", "refused", "crash", "vague", "hang",
                                        "loss")) + f" {sum(tally.values()):>9}")
    print(f"\n{kept} input(s) kept in {options.keep} (the errors of those refused in "
          f"refused.txt there); CPU {time.process_time() - started:.0f} s")
    return 1 if kept else 0


if __name__ == "__main__":
    sys.exit(main_())
