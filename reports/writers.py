"""Report writers, one per format, registered by name: JSON, CSV, XLSX, HTML and graphs.

Each takes the finished CheckRun and a folder, writes its file(s), and returns the main path.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import operator
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import NoneType
from typing import TYPE_CHECKING, Any

from audit.csvtext import csv_lines
from audit.currency import CURRENCIES, minor_units
from audit.findings import Finding, Source, json_source
from audit.forked import Forked, can_fork
from audit.gcpause import gc_paused, paused_gc
from audit.memory import return_free_memory
from audit.safety import FORMULA_START, PASSED_OVER, needs_apostrophe, neutralise_cell
from reports.graphs import write_graphs
from reports.html import write_html
from reports.records import FINDING_COLUMNS, StrictJSON, flat_texts, flat_value, json_encoder
from reports.xlsx import write_xlsx

if TYPE_CHECKING:
    from audit.checkrun import CheckRun

CSV_COLUMNS = FINDING_COLUMNS


_FIELDS = tuple(f.name for f in dataclasses.fields(Finding))
_fields_of = operator.attrgetter(*_FIELDS)
_columns_of = operator.attrgetter(*CSV_COLUMNS)


def _record(finding: Finding) -> dict[str, Any]:
    """`finding.as_dict()` without its copies of the lists and the evidence, for a writer
    that only reads it; its sources as findings.json writes them (`Source.as_json`)."""
    record = dict(zip(_FIELDS, _fields_of(finding), strict=True))
    record["sources"] = list(map(json_source, record["sources"]))
    return record


def findings_document(run: CheckRun) -> dict[str, Any]:
    """The content of findings.json: manifest, summary, findings, suppressed, errors,
    judged_cases (`CheckRun.judged_cases`), not_due_cases (`CheckRun.not_due_case_ids`),
    unjudged_cases (`CheckRun.unjudged_case_ids`), running_cases
    (`CheckRun.running_case_ids`)."""
    run.finding_channels()  # (each finding's channel set, where not yet: once per run)
    run.finding_sources()  # (each finding's sources, the same way)
    return {
        "manifest": run.manifest(),
        "summary": run.summary(),
        "findings": [{**f.as_dict(), "sources": list(map(json_source, f.sources))}
                     for f in run.result.findings],
        # (the findings precedence suppressed: counted in summary.suppressed_by_precedence)
        "suppressed": list(run.result.suppressed_findings),
        "errors": _errors(run),
        "judged_cases": run.judged_cases(),
        "not_due_cases": run.not_due_case_ids(),
        "unjudged_cases": run.unjudged_case_ids(),
        "running_cases": run.running_case_ids(),
    }


def _errors(run: CheckRun) -> list[dict[str, str]]:
    return [{"rule": e.rule, "name": e.name, "error": e.error, "traceback": e.traceback}
            for e in run.result.errors]


def _record_encoder() -> StrictJSON:
    """``JSONEncoder(ensure_ascii=False, default=str).encode`` for a finding's record, made
    once, a NaN or infinity null (`records.json_encoder`)."""
    return json_encoder()


def _finding_encoder() -> Callable[[Finding], bytes]:
    """A finding as one line of findings.json, UTF-8: msgspec's encoder (BSD-3-Clause)
    reads the dataclass's fields in their order, about 3x faster than json's C encoder
    of `_record` (235,008 findings at 1M cases: 0.44-0.52 s against 1.63-1.66 s). Its JSON
    is compact (no space after ':' and ','); a value JSON has no literal for (NaN,
    Infinity) is null, where json writes a non-standard NaN that strict parsers refuse; a
    value of a type it does not know is its str(), as json's `default=str` gives (so is a
    dict key that is not a text or number: json writes True and None keys as "true" and
    "null" and refuses others; the rules' evidence has text keys), but a source, a text of
    its own type, is its object (`Source.as_json`). A finding msgspec refuses goes to
    json's encoder, which gives its text (a NaN or infinity null there too:
    `records.StrictJSON`) or its error."""
    import msgspec

    fast = msgspec.json.Encoder(enc_hook=_unknown_json).encode
    slow = _record_encoder()

    def encoded(finding: Finding) -> bytes:
        try:
            return fast(finding)
        except (msgspec.EncodeError, TypeError, ValueError, OverflowError):
            return slow(_record(finding)).encode("utf-8")

    return encoded


def _unknown_json(value: Any) -> Any:
    """What msgspec writes for a value of a type it does not know: a source's object
    (`Source.as_json`), else its str()."""
    return value.as_json() if type(value) is Source else str(value)


_JSON_BLOCK = 10_000
"""Findings whose lines `write_json` joins into one write."""


def write_json(run: CheckRun, out: Path) -> Path:
    """Writer: findings.json, the content of `findings_document`; manifest, summary and
    errors indented, one finding per line (`_finding_encoder`: compact), the lines
    written _JSON_BLOCK at a time; the judged cases' ids on one line, then the running
    cases' ids on one line."""
    path = out / "findings.json"
    run.finding_channels()  # (each finding's channel set, where not yet: once per run)
    run.finding_sources()  # (each finding's sources, the same way)
    head = json.dumps({"manifest": run.manifest(), "summary": run.summary()}, indent=2,
                      ensure_ascii=False, default=str)
    tail = json.dumps(_errors(run), indent=2, ensure_ascii=False,
                      default=str).replace("\n", "\n  ")
    encode = _finding_encoder()
    findings = run.result.findings
    with path.open("wb") as handle:
        handle.write((head[:-2] + ',\n  "findings": [').encode("utf-8"))  # head ends "\n}"
        for start in range(0, len(findings), _JSON_BLOCK):
            lines = [encode(f) for f in findings[start:start + _JSON_BLOCK]]
            handle.write((b"\n    " if start == 0 else b",\n    ") + b",\n    ".join(lines))
        handle.write(b"\n  ],\n" if findings else b"],\n")
        # The findings precedence suppressed (a few percent of the findings): one a line.
        suppressed = run.result.suppressed_findings
        handle.write(b'  "suppressed": [')
        if suppressed:
            handle.write(b"\n    " + ",\n    ".join(
                json.dumps(entry, ensure_ascii=False) for entry in suppressed).encode("utf-8")
                + b"\n  ")
        handle.write(b"],\n")
        handle.write(f'  "errors": {tail},\n'.encode())
        # The ids of the cases the rules judged, on one line (`CheckRun.judged_cases`),
        # compact, by msgspec (1M ids: json.dumps took 0.24-0.36 s, msgspec 0.01-0.03 s).
        import msgspec

        handle.write(b'  "judged_cases": ' + msgspec.json.encode(run.judged_cases())
                     + b",\n")
        # Per rule, the cases it left for a later clock (`CheckRun.not_due_case_ids`), on
        # one line the same way.
        handle.write(b'  "not_due_cases": ' + msgspec.json.encode(run.not_due_case_ids())
                     + b",\n")
        # Per rule and reason, the cases holding events it could not judge (a role not
        # recorded: `CheckRun.unjudged_case_ids`), the same way.
        handle.write(b'  "unjudged_cases": ' + msgspec.json.encode(run.unjudged_case_ids())
                     + b",\n")
        # The ids of the cases running at the clock (`CheckRun.running_case_ids`), the same
        # way: summary.running_cases counts them.
        handle.write(b'  "running_cases": ' + msgspec.json.encode(run.running_case_ids())
                     + b"\n}\n")
    return path


def csv_row(finding: Finding) -> list[Any]:
    """One finding as the fixed CSV columns, formula-like cells neutralised, the amount at
    risk in its currency's minor units (`amount_text`)."""
    return [amount_text(value, finding.currency) if name == _AMOUNT
            else _csv_text(neutralise_cell(flat_value(value)))
            for name, value in zip(CSV_COLUMNS, _columns_of(finding), strict=True)]


_AMOUNT = "amount_at_risk"


def amount_text(amount: object, currency: str | None) -> str:
    """An amount as findings.csv writes it: with its currency's minor units where the
    currency is known (`77.80` GBP, not `77.8`; `7208` JPY, not `7208.0`), as the XLSX
    shows it; else (no or an unknown currency) as Python writes the number; empty where
    there is none."""
    if type(amount) in (float, int) and type(currency) is str and currency in CURRENCIES:
        return f"{amount:.{minor_units(currency)}f}"
    return _csv_text(neutralise_cell(flat_value(amount)))  # (None empty; a text neutralised)


def _csv_text(cell: Any) -> str:
    """A cell of `csv_row` as csv.writer writes it: a text (a str subclass too) as it is,
    None empty, other values by str()."""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool):
        return _BOOL_TEXT[cell]
    return "" if cell is None else str(cell)


_BOOL_TEXT = {True: "TRUE", False: "FALSE"}
"""A boolean cell (`waived`) as findings.csv writes it: TRUE or FALSE, as the Columns sheet
and docs/reports.md name it and as a spreadsheet writes one to CSV (not Python's True)."""


_FORMULA_AFTER = re.compile("\x00'*[\\s" + PASSED_OVER + "]*(?:" + "|".join(
    re.escape(start) for start in FORMULA_START if start != "\x00") + ")")
"""A formula start after a separator (and apostrophes, and white space or control
characters: `needs_apostrophe`), found in one pass (six substring searches of a 20,000
findings' column of messages took 8.5 ms, this 0.6 ms). A NUL, the separator, is also a
formula start and passed over before one: a column with one in a text is judged text by
text."""


def _neutralised(texts: list[str]) -> list[str]:
    """`neutralise_cell` of each text; the column is searched as a whole first (a formula
    start after each separator): most columns have no text to neutralise."""
    joined = "\x00" + "\x00".join(texts)
    if joined.count("\x00") == len(texts) and _FORMULA_AFTER.search(joined) is None:
        return texts
    return ["'" + text if needs_apostrophe(text) else text for text in texts]


def _csv_cells(values: list[Any]) -> list[str]:
    """`_csv_text(neutralise_cell(flat_value(value)))` of each value of one column. A column
    of one kind, as the findings' fields are (texts, texts or None, lists of texts, amounts,
    booleans, the evidence's dicts), is made text and neutralised as a whole, in C calls;
    any other value by those functions themselves."""
    flat = flat_texts(values)  # texts, texts or None, lists of texts, the evidence's dicts
    if flat is not None:
        return _neutralised(flat)
    kinds = set(map(type, values))
    if kinds == {bool}:  # never a formula
        return [_BOOL_TEXT[v] for v in values]
    if kinds <= {float, int, NoneType}:  # never a formula
        return (list(map(str, values)) if NoneType not in kinds else
                ["" if v is None else str(v) for v in values])
    return [_csv_text(neutralise_cell(flat_value(value))) for value in values]


def _csv_columns(findings: Sequence[Finding],
                 sources: list[str] | None = None) -> list[list[str]]:
    """The findings' CSV columns: each `_csv_cells` of one field of every finding (the
    amount at risk by `amount_text`, with its finding's currency); the sources, where
    `sources` gives them (per finding its sources' texts joined, `CheckRun.source_texts`),
    those texts neutralised, which is what `_csv_cells` makes of the findings' lists."""
    return [_csv_cells(list(map(operator.attrgetter(name), findings)))
            if name != _AMOUNT and (name != _SOURCES or sources is None)
            else _neutralised(sources) if name == _SOURCES and sources is not None
            else list(map(amount_text, map(operator.attrgetter(name), findings),
                          map(operator.attrgetter("currency"), findings)))
            for name in CSV_COLUMNS]


_SOURCES = "sources"


def csv_rows(findings: Sequence[Finding]) -> Iterator[tuple[str, ...]]:
    """`csv_row` of each finding as the texts csv.writer would write, built column by
    column."""
    return zip(*_csv_columns(findings), strict=True)


_CSV_BLOCK = 20_000
"""Findings whose cells `write_csv` builds and writes at a time: their cells, not all
235,008 findings' (1M cases), are held at once, beside the forked copy's XLSX."""


def write_csv(run: CheckRun, out: Path) -> Path:
    path = out / "findings.csv"
    run.finding_channels()  # (each finding's channel set, where not yet: once per run)
    # Each finding's sources' texts joined, made by Arrow from the run's source table
    # where the findings' sources are not set yet (as after write_reports' fork), not 650k
    # Sources at 1M cases; else (set, or the log has none) the findings' own.
    texts = run.source_texts()
    findings = run.result.findings
    with path.open("w", newline="", encoding="utf-8") as handle:
        handle.write(csv_lines([[name] for name in CSV_COLUMNS]))
        for start in range(0, len(findings), _CSV_BLOCK):
            handle.write(csv_lines(_csv_columns(
                findings[start:start + _CSV_BLOCK],
                None if texts is None else texts[start:start + _CSV_BLOCK])))
    return path


def _then_freed(writer: Callable[[CheckRun, Path], Path]) -> Callable[[CheckRun, Path], Path]:
    """`writer`, then its rows, cells and strings' memory given back (see audit.memory)."""
    @functools.wraps(writer)
    def wrapper(run: CheckRun, out: Path) -> Path:
        try:
            return writer(run, out)
        finally:
            return_free_memory()

    return wrapper


WRITERS: dict[str, Callable[[CheckRun, Path], Path]] = {
    name: _then_freed(gc_paused(writer)) for name, writer in (
        ("json", write_json), ("csv", write_csv), ("xlsx", write_xlsx),
        ("graphs", write_graphs), ("html", write_html))}
"""Writers by `--format` name, in the order `all` runs them; each runs with the cyclic
garbage collector paused (a row, a dict or a string per finding, none in cycles) and gives
the memory it freed back when done."""


FORK_XLSX_FROM = 20_000
"""Findings from which `write_reports` writes findings.xlsx in a forked copy of the process
while this one writes the other reports (where processes fork: Linux)."""

WRITER_COST = {"xlsx": 8.0, "csv": 4.5, "html": 4.1, "json": 1.8, "graphs": 3.3}
"""A writer's seconds at 1M cases (235,008 findings; whole audits, both processes busy,
the graphs' data computed beside the copy and counted as the graphs'; the new code's
medians of `ab-20261203T191020Z`; the JSON's 3.4 s scaled by its ratio in
`ab-20261204T184727Z`, 0.54, once msgspec encoded its findings; the XLSX's 13.1 s scaled
by the CPU its writer took alone at 1M cases before and after its text columns were put
together a column at a time and ISA-L deflated its sheets, 7.8-8.2 s -> 4.8-4.9 s):
what `write_reports` balances the two processes by. Only the ratios matter. (On
2026-12-03, the HTML then taking 6.1 s, writing the JSON here rather than in the copy after
the XLSX took the 1M run's reports from 9.8-11.3 s to 9.1-10.5 s; with the faster XLSX,
the copy writes the JSON after it again.)"""


def _shares(chosen: list[str]) -> list[str]:
    """The writers the forked copy runs, in this order: the XLSX, then each of JSON and CSV
    that makes the longer of the two processes' shares (by WRITER_COST) shorter. The graphs
    and the HTML stay here: they draw the graphs computed in this process."""
    copy = ["xlsx"]
    here = [name for name in chosen if name != "xlsx"]
    for name in ("json", "csv"):
        if name not in here:
            continue
        before = max(_cost(copy), _cost(here))
        if max(_cost([*copy, name]), _cost([n for n in here if n != name])) < before:
            copy.append(name)
            here.remove(name)
    return copy


def _cost(names: list[str]) -> float:
    return sum(WRITER_COST.get(name, 1.0) for name in names)


def _write_in_copy(run: CheckRun, out: Path, names: list[str]) -> dict[str, tuple[Path, float]]:
    """In the forked copy: the writers `names`, one after another; each one's path and
    seconds. The XLSX writer is `write_xlsx` itself (the copy runs without the cyclic
    collector, see audit.forked); the others as WRITERS has them."""
    done: dict[str, tuple[Path, float]] = {}
    for name in names:
        start = time.perf_counter()
        path = write_xlsx(run, out) if name == "xlsx" else WRITERS[name](run, out)
        done[name] = (path, time.perf_counter() - start)
    return done


def write_reports(run: CheckRun, out: Path, names: Sequence[str] | None = None, *,
                  seconds: dict[str, float] | None = None) -> list[Path]:
    """The reports `names` (default: all, in WRITERS order) of `run`, written into `out`;
    their main paths, in the order of `names`. Each writer's seconds go into `seconds`.

    findings.xlsx is the slowest report (8.0 s of 21.7, by WRITER_COST, at 1M cases). With
    at least FORK_XLSX_FROM findings and another report to write, a forked copy of this
    process writes it, and the JSON or CSV where that evens out the two processes' work
    (`_shares`; at 1M cases, with every report chosen: the XLSX and the JSON), while this one
    writes the others. The copy shares the run's memory and copies only the pages it touches (the
    findings: about 0.3 GB at 1M cases). The run's summary, which every report shows, is
    counted before the fork, and the findings' sources as arrays (`CheckRun.source_table`):
    the copy makes the findings' `sources` of them for its writers, this process only
    findings.csv's texts (`CheckRun.source_texts`), so its findings' `sources` stay as they
    were (`run.finding_sources()` sets them); 1M cases' 650k Sources and 260k lists made
    before the fork took 0.4 s more of it, and findings.csv's column of them 0.2 s more.
    The graphs' data (about 0.35 GB at its peak at 1M cases) is
    computed here, beside the copy, first: 3 s that used to run on one core before the
    fork. The process tree's PSS peaked in the reports then (2,735-2,787 MiB in five runs
    at 1M cases; 3 GB is 2,861 MiB), at the HTML's end beside the copy's last XLSX sheets;
    since the XLSX sets its rows aside in a file and the HTML is streamed, the reports
    peak at about 2,520 MiB and the tree's peak is in the rules (2,683-2,745 MiB). The
    seconds of a writer in the copy are its own there. An error in the copy is raised
    here, once the other reports are written."""
    from audit.progress import current

    chosen = list(WRITERS) if names is None else list(names)
    run.memo["formats"] = chosen  # (the HTML names the findings files this run writes)
    timings = {} if seconds is None else seconds
    progress = current()
    written: dict[str, Path] = {}

    before: dict[str, float] = {}  # a writer's seconds spent on the graphs' data

    def write(name: str) -> None:
        progress.stage(f"writing the {name} report")
        start = time.perf_counter()
        written[name] = WRITERS[name](run, out)
        timings[name] = before.get(name, 0.0) + time.perf_counter() - start

    if not ("xlsx" in chosen and len(chosen) > 1 and can_fork()
            and len(run.result.findings) >= FORK_XLSX_FROM):
        for name in chosen:
            write(name)
        return [written[name] for name in chosen]
    # The counts every report shows, computed once here, before the fork: the copy's
    # reports find them made (each process would otherwise count them: about 0.7 s at 1M).
    with paused_gc():
        run.summary()
        # The run's warnings, which the copy's JSON (its manifest) and this process's HTML
        # (its notes) show: computed once, here (0.39 s of CPU at 1M cases, in each
        # process before; with the log as it stood at the clock, when the clock cuts it).
        run.warnings()
        # The findings' sources as arrays, computed once, here, for both; each process
        # makes what its writers need of them (findings.csv no Source at all).
        run.source_table()
    copied = _shares(chosen)
    progress.stage(f"writing the {' and '.join(copied)} report{'s' if len(copied) > 1 else ''}"
                   " in a second process")
    child: Forked[dict[str, tuple[Path, float]]] = Forked(
        _write_in_copy, run, out, copied, doing="writing a report")
    try:
        drawn = [name for name in chosen if name in ("graphs", "html")]
        if drawn:
            # The graphs' DOT text, computed here beside the copy, before the reports that
            # draw them; the seconds count as the first of the two writers'.
            from reports.graphs import run_graphs

            progress.stage("computing the graphs")
            start = time.perf_counter()
            with paused_gc():
                run_graphs(run)
            return_free_memory()
            before[drawn[0]] = time.perf_counter() - start
        # The graphs and the HTML first, then the rest: the HTML's memory (about 0.1 GB at
        # 1M cases) is then held while the copy writes the XLSX, not at the end.
        for name in sorted((n for n in chosen if n not in copied), key=lambda n: n not in drawn):
            write(name)
        for name, (path, spent) in child.result().items():
            written[name] = path
            timings[name] = spent
    except BaseException:  # a writer here failed, or an interrupt while waiting for the copy
        child.stop()
        raise
    return [written[name] for name in chosen]
